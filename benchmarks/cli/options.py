"""Options and run-time helpers shared by the benchmark commands.

``add_*`` functions declare options (argparse only, imported by ``ftcalc --help``); the others run when a
command runs and import what they need then.  Calculators are spec strings (``ase_ftcalc.spec``),
optionally named: ``--calc chgnet --calc ft=model.pt --calc emt``.  Commands write ``<name>.json``,
``<name>.csv`` and ``<name>.png`` into ``--output``.
"""
from __future__ import annotations


# ---------------------------------------------------------------- declaring options

def add_calculators(p) -> None:
    p.add_argument("--calc", action="append", metavar="[NAME=]SPEC",
                   help="calculator spec (repeatable): chgnet, chgnet:0.2.0, model.pt, emt, module:factory; "
                   "NAME=SPEC names it in tables and plots (default: chgnet)")


def add_structure(p) -> None:
    p.add_argument("--structure", help="structure file ase.io.read understands (default: the 6-atom 2H cell "
                   "of --compound)")
    p.add_argument("--compound", default="WS2", choices=["WS2", "MoS2"], help="bundled 2H-MX2 (default WS2)")


def add_output(p, default: str) -> None:
    p.add_argument("-o", "--output", default=default, help=f"output folder (default {default})")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--progress", action="store_true", help="progress bars")


# ---------------------------------------------------------------- parsing values

def key_values(text: str, *, allow_plain: bool = False):
    """'a=1,b=2' -> {'a': 1.0, 'b': 2.0}; '1,2' -> [1.0, 2.0] when allow_plain."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if allow_plain and all("=" not in t for t in items):
        return [float(t) for t in items]
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not KEY=VALUE")
        out[key.strip()] = float(value)
    return out


def floats(text):
    """'1,2.5' -> [1.0, 2.5]; None or '' -> None."""
    return [float(x) for x in text.split(",") if x.strip()] if text else None


def integers(text: str) -> tuple:
    """'8,8,2' -> (8, 8, 2)."""
    return tuple(int(x) for x in text.split(","))


def counts(text: str) -> dict:
    """'W=7,X=1' -> {'W': 7, 'X': 1}."""
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not SPECIES=N")
        out[key.strip()] = int(value)
    return out


def named_paths(items) -> dict:
    """['name=path', 'path', ...] -> {name: path}; an unnamed path is named by its stem."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            from pathlib import Path

            name, path = Path(item).stem, item
        out[name] = path
    return out


# ---------------------------------------------------------------- at run time

def set_threads(threads) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def prepare_output(args):
    """Torch threads from ``--threads``; the ``--output`` folder, created."""
    from pathlib import Path

    set_threads(args.threads)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    return out


def calculators(args) -> dict:
    """``{name: calculator}`` of the ``--calc`` specs (default chgnet); a bad spec is a ValueError."""
    from ..core.runner import calculators_from_specs

    return calculators_from_specs(args.calc or ["chgnet"])


def structure_atoms(args):
    """``--structure`` read by ASE, else the 2H cell of ``--compound``."""
    if args.structure:
        from ase.io import read

        return read(args.structure)
    from ase_ftcalc.structures import bulk_2h

    return bulk_2h(args.compound)


def load_frames(args):
    """``--frames`` files, else the bundled WS2 frames."""
    if args.frames:
        from ase_ftcalc.frames import read_frames

        return read_frames(args.frames)
    from ase_ftcalc.data import bundled_frames

    return bundled_frames("WS2")


def write_outputs(out, stem: str, result, rows, fig) -> None:
    """``stem``.json (the result), .csv (the rows) and .png (the figure, then closed) in ``out``."""
    import csv

    result.save_json(out / f"{stem}.json")
    if rows:
        keys = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        with open(out / f"{stem}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
    fig.savefig(out / f"{stem}.png", dpi=130)
    import matplotlib.pyplot as plt

    plt.close(fig)  # CLI functions run many times in one process (tests, scripts): free the figure
    print(f"wrote {out / stem}.json, .csv, .png")
