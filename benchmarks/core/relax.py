"""Relaxation of a copy of a structure with any ASE calculator, as the benchmarks use it."""
from __future__ import annotations

import warnings

import numpy as np


def relax(atoms, calc, *, fmax: float = 0.002, steps: int = 500, cell: bool = True,
          symmetry: bool = True, symprec: float = 1e-3, optimizer: str = "BFGS",
          logfile=None) -> tuple:
    """Relax positions (and the cell, through ASE's FrechetCellFilter) of a copy of ``atoms``.

    ``symmetry`` keeps the space group with ASE's FixSymmetry.  Returns
    ``(relaxed_atoms, info)`` where ``relaxed_atoms`` carries ``calc`` and no
    constraints, and ``info`` has steps, converged, fmax and the residual
    max force (eV/Å) and stress (GPa).
    """
    import ase.optimize
    from ase import units
    from ase.filters import FrechetCellFilter

    work = atoms.copy()
    work.calc = calc
    if symmetry:
        from ase.constraints import FixSymmetry

        work.set_constraint(FixSymmetry(work, symprec=symprec))
    target = FrechetCellFilter(work) if cell else work
    opt = getattr(ase.optimize, optimizer)(target, logfile=logfile)
    with warnings.catch_warnings():
        # CHGNet's graph builder goes through pymatgen, which warns about FixSymmetry
        warnings.filterwarnings("ignore", message="Only FixAtoms and FixCartesian")
        converged = bool(opt.run(fmax=fmax, steps=steps))
    work.set_constraint()
    forces = work.get_forces()
    stress = work.get_stress() if cell else np.zeros(6)
    info = {"steps": int(opt.nsteps), "converged": converged, "fmax_ev_per_a": fmax,
            "residual_max_force_ev_per_a": float(np.linalg.norm(forces, axis=1).max()),
            "residual_max_stress_gpa": float(np.abs(stress).max() / units.GPa)}
    return work, info


def relax_positions(atoms, calc, *, fmax: float = 1e-3, steps: int = 2000, logfile=None):
    """FIRE on positions (cell fixed) of a copy; returns (relaxed atoms, info)."""
    from ase.optimize import FIRE

    work = atoms.copy()
    work.calc = calc
    opt = FIRE(work, logfile=logfile)
    converged = bool(opt.run(fmax=fmax, steps=steps))
    forces = work.get_forces()
    return work, {"steps": int(opt.nsteps), "converged": converged, "fmax_ev_per_a": fmax,
                  "residual_max_force_ev_per_a": float(np.linalg.norm(forces, axis=1).max()),
                  "energy_ev": float(work.get_potential_energy())}
