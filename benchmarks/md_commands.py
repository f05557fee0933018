"""`ftcalc md`, `ftcalc exafs` (= `ftcalc bench exafs`), `ftcalc bench rdf|exafs-goals`: argument parsing only;
work is imported lazily.

Register with ``register_md(sub)`` on the ``ftcalc`` sub-parsers (adds ``md``, ``exafs`` and, under an
existing ``bench`` group, ``rdf``, ``exafs`` and ``exafs-goals``).
"""
from __future__ import annotations

import argparse


def _find_bench(sub):
    for name, parser in sub.choices.items():
        if name == "bench":
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    return action
    return None


def register_md(sub: argparse._SubParsersAction) -> None:
    """Add ``md`` to the ``ftcalc`` sub-parsers and ``rdf``/``exafs`` to ``bench`` (created if absent)."""
    p = sub.add_parser("md", help="NVT/NVE molecular dynamics with any calculator (trajectory, restart, guard)",
                       description="Nosé–Hoover chain NVT (ASE), Langevin or NVE; equilibration then production "
                       "with snapshots every --stride steps in --trajectory (.traj or .extxyz). Rerunning the "
                       "same command continues from the checkpoint. --engine lammps runs NVT in LAMMPS "
                       "(fix nvt) with --calc through pair_style ase, or native --lammps-pair / --layered-tmd.")
    p.add_argument("structure", nargs="?", help="structure file (default: 2H cell of --compound)")
    p.add_argument("--compound", default="WS2", choices=["WS2", "MoS2"])
    p.add_argument("--supercell", default="1,1,1", help="repeat, e.g. 8,8,2")
    p.add_argument("--calc", default="chgnet", help="calculator spec (default chgnet): chgnet, model.pt, emt, module:factory")
    p.add_argument("--ensemble", default="nvt", choices=["nvt", "langevin", "nve"])
    p.add_argument("--engine", default="ase", choices=["ase", "lammps"],
                   help="ase (default) or lammps: fix nvt in LAMMPS, --calc through pair_style ase")
    p.add_argument("--lammps-pair", action="append", default=[], metavar="CMD",
                   help="with --engine lammps: native pair commands instead of --calc, repeated or ';'-separated, "
                   "e.g. 'pair_style eam; pair_coeff * * Cu_u3.eam'; {elements} = element of each atom type")
    p.add_argument("--layered-tmd", action="store_true",
                   help="with --engine lammps: sw/mod per layer + ilp/tmd between layers (MoS2/WS2)")
    p.add_argument("-T", "--temperature", type=float, default=300.0, help="K (default 300)")
    p.add_argument("--dt", type=float, default=1.0, help="timestep, fs (default 1)")
    p.add_argument("--equilibration", type=int, default=1000, help="steps (default 1000)")
    p.add_argument("--production", type=int, default=5000, help="steps (default 5000)")
    p.add_argument("--stride", type=int, default=10, help="snapshot every N production steps (default 10)")
    p.add_argument("--tdamp", type=float, default=None, help="Nosé–Hoover time constant, fs (default 100 dt)")
    p.add_argument("--friction", type=float, default=0.01, help="Langevin friction, 1/fs (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-force", type=float, default=50.0, help="blow-up guard, eV/Å (default 50)")
    p.add_argument("--max-temperature", type=float, default=None, help="blow-up guard, K")
    p.add_argument("--no-restart", action="store_true", help="refuse to continue an existing trajectory")
    p.add_argument("-o", "--trajectory", default="md.traj", help="trajectory (.traj or .extxyz; default md.traj)")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_md)

    bench = _find_bench(sub)
    if bench is None:
        parser = sub.add_parser("bench", help="benchmark ASE calculators against DFT and experiment")
        bench = parser.add_subparsers(dest="bench_command", metavar="BENCHMARK")

    p = bench.add_parser("rdf", help="partial RDFs and MSRD σ² per shell from MD trajectories",
                         description="g_ij(r) averaged over snapshots; per coordination shell of the mean "
                         "structure σ² from Gaussian fits of RDF peaks, from displacements about the mean "
                         "positions and the distance variance; intra/interlayer for layered crystals.")
    p.add_argument("trajectories", nargs="+", metavar="[NAME=]TRAJ", help="MD trajectories (one per calculator)")
    p.add_argument("--rmax", type=float, default=6.0, help="Å (default 6)")
    p.add_argument("--dr", type=float, default=0.01, help="bin, Å (default 0.01)")
    p.add_argument("--skip", type=int, default=0, help="drop the first N snapshots")
    p.add_argument("-o", "--output", default="bench-rdf", help="output folder (default bench-rdf)")
    p.set_defaults(func=_rdf)

    _add_exafs_parser(sub, "exafs")
    _add_exafs_parser(bench, "exafs")
    p = bench.add_parser("exafs-goals", help="the MD-EXAFS engine against its goals (768-atom WS2, W L3, 8 Å)",
                         description="NVT 300 K of 8x8x2 2H-WS2 in LAMMPS (sw/mod + ilp/tmd), then the engine's "
                         "speed (5000 snapshots x 256 absorbers, goal <= 60 s) and accuracy (fast vs exact FEFF, "
                         "goal <= 3 %% rms of k²χ). Exit status 1 if a goal is missed.")
    add_goals_arguments(p)
    p.set_defaults(func=_exafs_goals)


def add_goals_arguments(p) -> None:
    p.add_argument("--snapshots", type=int, default=5000, help="default 5000")
    p.add_argument("--stride", type=int, default=1, help="MD steps between snapshots (default 1)")
    p.add_argument("--equilibration", type=int, default=1000, help="MD steps (default 1000)")
    p.add_argument("--supercell", default="8,8,2", help="repeat of the 6-atom cell (default 8,8,2: 768 atoms)")
    p.add_argument("--rmax", type=float, default=8.0, help="Å (default 8)")
    p.add_argument("--exact-pairs", type=int, default=6, help="(snapshot, absorber) pairs for exact FEFF (default 6)")
    p.add_argument("--ms-samples", type=int, default=32, help="per MS class (default 32)")
    p.add_argument("--trajectory", default=None, help="reuse this trajectory instead of running MD")
    p.add_argument("--reference", action="store_true",
                   help="FEFF potentials and path classes on the ideal lattice, not the average structure")
    p.add_argument("-o", "--output", default="bench-exafs-goals")


def _add_exafs_parser(group, name: str) -> None:
    p = group.add_parser(name, help="MD-averaged EXAFS (FEFF8L) vs a measured spectrum: MSE, FT, plots",
                         description="Potentials and paths once on the average structure, per-snapshot "
                         "geometry for all absorbers, χ(k) at the end; compared with a measured spectrum "
                         "(XDI/columns/.chi/.prj) over k=3-16 Å⁻¹ with fitted E0 shift and S0².")
    p.add_argument("trajectories", nargs="+", metavar="[NAME=]TRAJ", help="MD trajectories (or one structure)")
    p.add_argument("--absorber", required=True, help="absorbing element, e.g. Cu, W")
    p.add_argument("--edge", default="K", help="K, L3, ... (default K)")
    p.add_argument("--rmax", type=float, default=6.0, help="largest half path length, Å (default 6)")
    p.add_argument("--nleg", type=int, default=4, help="legs per path (default 4)")
    p.add_argument("--scf", type=float, default=None, help="SCF radius, Å (default: no SCF)")
    p.add_argument("--reference", help="structure file for the FEFF potentials and path classes instead of the "
                   "average structure (e.g. the MD's starting lattice; for short trajectories)")
    p.add_argument("--experiment", help="measured spectrum: .xdi, .chi, .prj or columns (E, mu) / (k, chi)")
    p.add_argument("--kmin", type=float, default=3.0, help="Å⁻¹ (default 3)")
    p.add_argument("--kmax", type=float, default=16.0, help="Å⁻¹ (default 16)")
    p.add_argument("--e0", default="fit", help="E0 shift in eV or 'fit' (default)")
    p.add_argument("--s02", default="fit", help="S0² or 'fit' (default)")
    p.add_argument("--exact", type=int, default=0, help="also run the exact mode on N snapshots (1 absorber)")
    p.add_argument("--ms-samples", type=int, default=32,
                   help="FEFF runs per multiple-scattering class at sampled instantaneous geometries, to correct "
                   "the MS amplitudes for angular disorder (default 32; 0 = off)")
    p.add_argument("--skip", type=int, default=0, help="drop the first N snapshots")
    p.add_argument("--every", type=int, default=1, help="use every N-th snapshot")
    p.add_argument("-o", "--output", default="bench-exafs", help="output folder (default bench-exafs)")
    p.add_argument("--progress", action="store_true")
    p.set_defaults(func=_exafs)


def _exafs_goals(args) -> int:
    from .exafs_goals import run_from_args

    return run_from_args(args)


# ---------------------------------------------------------------- commands (run time)

def _named(items):
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            from pathlib import Path

            name, path = Path(item).stem, item
        out[name] = path
    return out


def _md(args) -> int:
    from ase.io import read

    from ase_ftcalc.spec import calculator_from_spec

    from .md import run_md

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.structure:
        atoms = read(args.structure)
    else:
        from ase_ftcalc.structures import bulk_2h

        atoms = bulk_2h(args.compound)
    atoms = atoms.repeat([int(x) for x in args.supercell.split(",")])
    if args.engine == "lammps":
        result = _md_lammps(args, atoms)
    else:
        if args.lammps_pair or args.layered_tmd:
            raise ValueError("--lammps-pair and --layered-tmd need --engine lammps")
        result = run_md(atoms, calculator_from_spec(args.calc), ensemble=args.ensemble,
                        temperature_K=args.temperature, timestep_fs=args.dt, equilibration_steps=args.equilibration,
                        production_steps=args.production, snapshot_stride=args.stride, trajectory=args.trajectory,
                        tdamp_fs=args.tdamp, friction_per_fs=args.friction, seed=args.seed,
                        restart=not args.no_restart, max_force_ev_per_a=args.max_force,
                        max_temperature_K=args.max_temperature, progress=not args.quiet, calculator_name=args.calc)
    result.save_json(str(args.trajectory) + ".json")
    print(result.summary())
    return 0 if result.completed else 2


def _md_lammps(args, atoms):
    from .md_lammps import run_lammps_md, tmd_pair_setup

    if args.ensemble != "nvt":
        raise ValueError("--engine lammps runs NVT (fix nvt) only")
    if args.lammps_pair and args.layered_tmd:
        raise ValueError("give --lammps-pair or --layered-tmd, not both")
    source = {}
    if args.layered_tmd:
        source["system"] = tmd_pair_setup(atoms)
    elif args.lammps_pair:
        source["pair_commands"] = [c.strip() for item in args.lammps_pair for c in item.split(";") if c.strip()]
    else:
        source["spec"] = args.calc
    return run_lammps_md(atoms, **source, temperature_K=args.temperature, timestep_fs=args.dt,
                         equilibration_steps=args.equilibration, production_steps=args.production,
                         snapshot_stride=args.stride, trajectory=args.trajectory, tdamp_fs=args.tdamp, seed=args.seed,
                         restart=not args.no_restart, max_force_ev_per_a=args.max_force,
                         max_temperature_K=args.max_temperature, progress=not args.quiet,
                         calculator_name="" if source.keys() != {"spec"} else args.calc)


def _rdf(args) -> int:
    from pathlib import Path

    from .md import read_snapshots
    from .rdf import plot_msrd, plot_rdf, rdf

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, path in _named(args.trajectories).items():
        frames = read_snapshots(path)[args.skip:]
        res = rdf(frames, rmax=args.rmax, dr=args.dr, label=name)
        res.save_json(out / f"rdf_{name}.json")
        print(res.summary())
        results.append(res)
    plot_rdf(results).savefig(out / "rdf.png", dpi=130)
    plot_msrd(results).savefig(out / "msrd.png", dpi=130)
    print(f"wrote {out}/rdf_*.json, rdf.png, msrd.png")
    return 0


def _exafs(args) -> int:
    from pathlib import Path

    from .exafs import md_exafs, plot_exafs, read_experiment
    from .md import read_snapshots

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    experiment = read_experiment(args.experiment) if args.experiment else None
    reference = None
    if args.reference:
        from ase.io import read

        reference = read(args.reference)
    e0 = args.e0 if args.e0 == "fit" else float(args.e0)
    s02 = args.s02 if args.s02 == "fit" else float(args.s02)
    results = {}
    for name, path in _named(args.trajectories).items():
        frames = read_snapshots(path)[args.skip::args.every]
        res = md_exafs(frames, absorber=args.absorber, edge=args.edge, rmax=args.rmax, nleg=args.nleg,
                       scf_radius=args.scf, experiment=experiment, kmin=args.kmin, kmax=args.kmax, e0=e0, s02=s02,
                       exact_snapshots=args.exact, ms_samples=args.ms_samples, folder=out / f"feff_{name}", label=name,
                       reference=reference, progress=args.progress)
        res.save_json(out / f"exafs_{name}.json")
        print(res.summary())
        for w in res.warnings:
            print(f"  warning: {w}")
        results[name] = res
    if experiment is not None:
        experiment = dict(experiment, label=Path(args.experiment).name)
    plot_exafs(results, experiment, kmin=args.kmin, kmax=args.kmax).savefig(out / "exafs.png", dpi=130)
    print(f"wrote {out}/exafs_*.json, exafs.png")
    return 0
