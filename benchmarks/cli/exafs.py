"""`ftcalc exafs` (= `ftcalc bench exafs`) and `ftcalc bench exafs-goals`: MD-EXAFS with FEFF8L."""
from __future__ import annotations

from .options import integers, named_paths


def register(sub, bench) -> None:
    _add_exafs_parser(sub, "exafs")
    _add_exafs_parser(bench, "exafs")
    p = bench.add_parser("exafs-goals", help="the MD-EXAFS engine against its goals (768-atom WS2, W L3, 8 Å)",
                         description="NVT 300 K of 8x8x2 2H-WS2 in LAMMPS (sw/mod + ilp/tmd), then the engine's "
                         "speed (5000 snapshots x 256 absorbers, goal <= 60 s) and accuracy (fast vs exact FEFF, "
                         "goal <= 3 %% rms of k²χ). Exit status 1 if a goal is missed.")
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
    p.set_defaults(func=_exafs_goals)


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


def _exafs(args) -> int:
    from pathlib import Path

    import matplotlib.pyplot as plt

    from ..dynamics.md import read_snapshots
    from ..exafs import md_exafs, plot_exafs, read_experiment

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
    for name, path in named_paths(args.trajectories).items():
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
    fig = plot_exafs(results, experiment, kmin=args.kmin, kmax=args.kmax)
    fig.savefig(out / "exafs.png", dpi=130)
    plt.close(fig)
    print(f"wrote {out}/exafs_*.json, exafs.png")
    return 0


def _exafs_goals(args) -> int:
    from ..exafs.goals import run_goals

    res = run_goals(args.output, snapshots=args.snapshots, stride=args.stride,
                    equilibration_steps=args.equilibration, supercell=integers(args.supercell), rmax=args.rmax,
                    exact_pairs=args.exact_pairs, ms_samples=args.ms_samples, trajectory=args.trajectory,
                    use_reference=args.reference)
    print(res.summary())
    print(f"wrote {args.output}/results.json, goals.png")
    return 0 if all(ok for *_, ok in res.goals()) else 1
