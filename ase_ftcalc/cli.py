"""`ftcalc` command line: a thin layer over the Python API.

This is the one module that reaches into every package of the project
(ase_ftcalc, lammps_plugin, benchmarks).  Subcommands live in small
registration modules that import only argparse at start-up; the heavy
imports (torch, CHGNet, LAMMPS) happen inside the command that needs them,
so `ftcalc --help` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand group -> module with `register(subparsers)`; each registered
# parser sets `func(args) -> int | None`.
COMMAND_MODULES = (
    "ase_ftcalc.commands",
    "lammps_plugin.commands",
    "benchmarks.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftcalc",
        description="Fine-tunable CHGNet for ASE, a LAMMPS pair_style for any ASE calculator, "
        "and benchmarks against DFT and experiment. Units: eV, Å, eV/Å³ (GPa where named).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        # Bad input is the user's to fix: one clear line, no traceback.
        print(f"ftcalc {args.command}: error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        # A run that went non-finite (fine-tuning diverged): it says where; a traceback adds nothing.
        print(f"ftcalc {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
