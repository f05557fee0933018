"""Dynamics and sampling: MD engines (ASE and LAMMPS), partial RDFs/MSRDs of snapshots, Metropolis Monte Carlo."""
