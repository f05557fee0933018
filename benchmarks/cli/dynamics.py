"""`ftcalc md`, `ftcalc mc` and `ftcalc bench rdf`: dynamics, sampling and the structure of snapshots."""
from __future__ import annotations

from .options import add_output, integers, named_paths, prepare_output, set_threads, write_outputs


def register(sub, bench) -> None:
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

    p = sub.add_parser("mc", help="Metropolis Monte Carlo / simulated annealing of site occupations and volume",
                       description="Swap moves within species groups (X = vacancy), NPT volume moves, geometric "
                       "temperature schedule with restarts, optional capped relaxation; trajectory, acceptance "
                       "statistics; resumable through OUTPUT/checkpoint.json.")
    p.add_argument("structure", help="structure file (atoms with symbol X are vacancies)")
    p.add_argument("--calc", default="chgnet", metavar="SPEC", help="calculator spec (default chgnet)")
    p.add_argument("--supercell", default="1,1,1")
    p.add_argument("--vacancies", help="ELEMENT=N: turn N random atoms of ELEMENT into vacancies first")
    p.add_argument("--swap", action="append", default=[], metavar="A,B",
                   help="species that may exchange sites (repeatable), e.g. Cu,Au or Cr,X")
    p.add_argument("--steps", type=int, default=1000, help="steps per anneal")
    p.add_argument("--restarts", type=int, default=1, help="anneals (default 1)")
    p.add_argument("--restart-from", default="best", choices=["best", "current", "random"])
    p.add_argument("--t-start", type=float, default=1000.0, help="K")
    p.add_argument("--t-end", type=float, default=10.0, help="K")
    p.add_argument("--volume-prob", type=float, default=0.0, help="probability of a volume move")
    p.add_argument("--max-dlnv", type=float, default=0.02, help="largest |Δ ln V| of a volume move")
    p.add_argument("--pressure-gpa", type=float, default=0.0)
    p.add_argument("--relax-steps", type=int, default=0, help="capped relaxation after each move (0: none)")
    p.add_argument("--relax-cell", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    add_output(p, "mc")
    p.set_defaults(func=_mc)

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


def _md(args) -> int:
    from ase.io import read

    from ase_ftcalc.spec import calculator_from_spec

    from ..dynamics.md import run_md

    set_threads(args.threads)
    if args.structure:
        atoms = read(args.structure)
    else:
        from ase_ftcalc.structures import bulk_2h

        atoms = bulk_2h(args.compound)
    atoms = atoms.repeat(list(integers(args.supercell)))
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
    from lammps_plugin.system import tmd_pair_setup

    from ..dynamics.md_lammps import run_lammps_md

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


def _mc(args) -> int:
    from ase.io import read, write

    from ase_ftcalc.spec import calculator_from_spec

    from ..dynamics.mc import monte_carlo, plot_mc, with_vacancies

    out = prepare_output(args)
    atoms = read(args.structure) * integers(args.supercell)
    if args.vacancies:
        element, _, n = args.vacancies.partition("=")
        atoms = with_vacancies(atoms, element, int(n), seed=args.seed)
    swaps = [tuple(s.strip() for s in group.split(",")) for group in args.swap]
    result = monte_carlo(atoms, calculator_from_spec(args.calc), swaps=swaps, n_steps=args.steps,
                         t_start_k=args.t_start, t_end_k=args.t_end, n_restarts=args.restarts,
                         restart_from=args.restart_from, volume_move_prob=args.volume_prob,
                         max_log_volume_step=args.max_dlnv, pressure_gpa=args.pressure_gpa,
                         relax_steps=args.relax_steps, relax_cell=args.relax_cell, seed=args.seed,
                         checkpoint=out / "checkpoint.json", trajectory=out / "trajectory.extxyz",
                         progress=args.progress)
    print(result.summary())
    write(out / "best.extxyz", result.best_atoms(), format="extxyz")
    rows = [dict(zip(result.records, values)) for values in zip(*result.records.values())]
    write_outputs(out, "mc", result, rows, plot_mc(result))
    return 0


def _rdf(args) -> int:
    from pathlib import Path

    import matplotlib.pyplot as plt

    from ..dynamics.md import read_snapshots
    from ..dynamics.rdf import plot_msrd, plot_rdf, rdf

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, path in named_paths(args.trajectories).items():
        frames = read_snapshots(path)[args.skip:]
        res = rdf(frames, rmax=args.rmax, dr=args.dr, label=name)
        res.save_json(out / f"rdf_{name}.json")
        print(res.summary())
        results.append(res)
    for stem, fig in (("rdf", plot_rdf(results)), ("msrd", plot_msrd(results))):
        fig.savefig(out / f"{stem}.png", dpi=130)
        plt.close(fig)
    print(f"wrote {out}/rdf_*.json, rdf.png, msrd.png")
    return 0
