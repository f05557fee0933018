"""`ftcalc` command line: a thin layer over the Python API.

Sub-commands come from the packages that provide them: every entry of the ``ftcalc.commands``
entry-point group (``[project.entry-points."ftcalc.commands"]`` in pyproject.toml) is a function
``register(subparsers)`` whose parsers set ``func(args) -> int | None``.  This package's own commands
(``finetune``, ``dft``, ``info``) register first; it names no other package.  Registration modules
import only argparse; the heavy imports (torch, CHGNet, LAMMPS) happen inside the command that needs
them, so ``ftcalc --help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

GROUP = "ftcalc.commands"
OWN = "ase_ftcalc.commands:register"


def command_entry_points() -> list[tuple[str, str]]:
    """(name, "module:function") of the ``ftcalc.commands`` group of every installed distribution.

    Read from the ``entry_points.txt`` files on ``sys.path`` directly: ``importlib.metadata`` costs
    ~0.1 s to import, half of the start-up budget of ``ftcalc --help``.  The first distribution of a
    name on the path wins, as with ``importlib.metadata``.
    """
    found, seen = [], set()
    for folder in sys.path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for dist in names:
            if not dist.endswith(".dist-info"):
                continue
            project = dist.partition("-")[0].lower().replace("_", "-").replace(".", "-")
            if project in seen:
                continue
            seen.add(project)
            try:
                with open(os.path.join(folder or ".", dist, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            found += _group_entries(text, GROUP)
    return sorted(found)


def _group_entries(text: str, group: str) -> list[tuple[str, str]]:
    out, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


def _register(sub, target: str) -> None:
    module, _, function = target.partition(":")
    getattr(importlib.import_module(module), function or "register")(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftcalc",
        description="Fine-tunable CHGNet for ASE, a LAMMPS pair_style for any ASE calculator, "
        "and benchmarks against DFT and experiment. Units: eV, Å, eV/Å³ (GPa where named).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register(sub, OWN)
    for _, target in command_entry_points():
        if target != OWN:
            _register(sub, target)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    # Commands write figures to files: one non-interactive backend for the whole run, chosen here
    # (plot functions never switch backends; a user's MPLBACKEND wins).
    os.environ.setdefault("MPLBACKEND", "Agg")
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
