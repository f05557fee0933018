"""benchmarks.dynamics.md: NVT temperature, exact restart, NVE energy conservation, blow-up guard (EMT Cu, real MD)."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from benchmarks.dynamics.md import MDResult, read_snapshots, run_md


@pytest.fixture
def cu32():
    return bulk("Cu", "fcc", a=3.59, cubic=True).repeat(2)


def test_nvt_nose_hoover_reaches_target_temperature(cu32, tmp_path):
    res = run_md(cu32, EMT(), ensemble="nvt", temperature_K=300, timestep_fs=4.0, tdamp_fs=40.0,
                 equilibration_steps=150, production_steps=600, snapshot_stride=5,
                 trajectory=tmp_path / "nvt.traj", progress=False)
    assert res.completed and res.stopped_reason is None
    assert res.n_snapshots == 120
    assert res.snapshot_steps[0] == 155 and res.snapshot_steps[-1] == 750
    assert abs(res.mean_temperature_K - 300) < 45, res.mean_temperature_K
    frames = read_snapshots(tmp_path / "nvt.traj")
    assert len(frames) == 120 and frames[0].info["md_step"] == 155
    assert np.allclose(frames[-1].cell.array, cu32.cell.array)        # fixed cell
    # JSON round trip
    back = MDResult.load_json(res.save_json(tmp_path / "md.json"))
    assert back.n_snapshots == res.n_snapshots


@pytest.mark.parametrize("ensemble", ["nvt", "langevin"])
def test_restart_continues_the_same_trajectory(cu32, tmp_path, ensemble):
    kw = dict(ensemble=ensemble, temperature_K=300, timestep_fs=4.0, equilibration_steps=10, production_steps=30,
              snapshot_stride=5, progress=False, seed=3)
    whole = run_md(cu32, EMT(), trajectory=tmp_path / "whole.traj", **kw)
    first = run_md(cu32, EMT(), trajectory=tmp_path / "parts.traj", max_new_steps=17, **kw)
    assert not first.completed and "max_new_steps" in first.stopped_reason
    second = run_md(cu32, EMT(), trajectory=tmp_path / "parts.traj", **kw)
    assert second.completed and second.restarted_from_step == 17
    assert second.snapshot_steps == whole.snapshot_steps == [15, 20, 25, 30, 35, 40]
    a, b = read_snapshots(tmp_path / "whole.traj"), read_snapshots(tmp_path / "parts.traj")
    for fa, fb in zip(a, b):
        assert np.abs(fa.positions - fb.positions).max() < 1e-10
        assert abs(fa.get_potential_energy() - fb.get_potential_energy()) < 1e-9
    with pytest.raises(ValueError, match="other settings"):
        run_md(cu32, EMT(), trajectory=tmp_path / "parts.traj", **dict(kw, temperature_K=500))
    with pytest.raises(FileExistsError):
        run_md(cu32, EMT(), trajectory=tmp_path / "parts.traj", restart=False, **kw)


def test_nve_conserves_energy(cu32, tmp_path):
    res = run_md(cu32, EMT(), ensemble="nve", temperature_K=300, timestep_fs=2.0, equilibration_steps=0,
                 production_steps=200, snapshot_stride=10, trajectory=tmp_path / "nve.extxyz", progress=False)
    e = np.array(res.snapshot_conserved_energy_ev)
    assert res.completed and np.ptp(e) / len(cu32) < 2e-4
    assert len(read_snapshots(tmp_path / "nve.extxyz")) == 20


def test_blow_up_guard_stops_with_message_and_keeps_data(cu32, tmp_path):
    traj = tmp_path / "bad.traj"
    with pytest.warns(RuntimeWarning, match="blow-up guard"):
        res = run_md(cu32, EMT(), ensemble="nve", temperature_K=300, timestep_fs=60.0, equilibration_steps=0,
                     production_steps=60, snapshot_stride=1, trajectory=traj, progress=False)
    assert not res.completed
    assert "blow-up guard" in res.stopped_reason and "eV/Å" in res.stopped_reason
    assert res.n_snapshots >= 1 and len(read_snapshots(traj)) == res.n_snapshots
    assert (tmp_path / "bad.traj.ckpt.npz").exists()
