"""Write the data files of the example decks and run them for a few steps.

    python -m lammps_plugin.examples [--out DIR] [--steps 5] [--model chgnet]
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_data(out: Path) -> None:
    from ase.build import mx2
    from ase.io.lammpsdata import write_lammps_data

    from ase_ftcalc.structures import bulk_2h
    from lammps_plugin.calculators import write_layered_tmd_data

    ws2 = bulk_2h("WS2") * (4, 4, 4)
    write_lammps_data(out / "ws2_384.data", ws2, specorder=["W", "S"], masses=True, units="metal")
    bottom = mx2("MoS2", a=3.16, thickness=3.17, size=(2, 2, 1), vacuum=10.0)
    top = bottom.copy()
    top.positions[:, 2] += 6.15
    top.positions[:, :2] += bottom.cell[0, :2] / 3 + bottom.cell[1, :2] / 3  # 2H-like stacking shift
    bilayer = bottom + top
    bilayer.center(vacuum=10.0, axis=2)
    bilayer.pbc = True
    write_layered_tmd_data(bilayer, out / "mos2_bilayer.data")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="lammps-examples")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--model", default="chgnet")
    ap.add_argument("--only", choices=["ws2_nvt", "mos2_bilayer_ilp"], default=None)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_data(out)
    from ase_ftcalc.cli import main as ftcalc

    from lammps_plugin.calculators import potential_path

    rc = 0
    for name in ("ws2_nvt", "mos2_bilayer_ilp"):
        if args.only and name != args.only:
            continue
        deck = out / f"in.{name}.lmp"
        shutil.copy(HERE / deck.name, deck)
        argv = ["lammps", "run", str(deck), "--var", "steps", str(args.steps),
                "--var", "model", args.model, "--var", "potdir", str(potential_path("TMD.ILP").parent)]
        print(f"== {deck}", flush=True)
        rc = ftcalc(argv) or rc
    return rc


if __name__ == "__main__":
    sys.exit(main())
