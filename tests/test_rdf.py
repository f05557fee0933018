"""benchmarks.dynamics.rdf: fcc Cu shells, MSRD two ways, intra/interlayer classes of 2H-WS2 (real computations)."""
import numpy as np
import pytest
from ase.build import bulk

from ase_ftcalc.layered import separate_layers
from benchmarks.dynamics.rdf import RDFResult, mean_structure, plot_msrd, plot_rdf, rdf, unwrap

A = 3.61


def _gaussian_frames(atoms, n, s, seed=0):
    """Snapshots with independent isotropic Gaussian displacements (per-component std s): σ²_∥ = 2 s²."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        f = atoms.copy()
        f.positions += rng.normal(scale=s, size=f.positions.shape)
        frames.append(f)
    return frames


def test_fcc_cu_shells_coordination_and_msrd():
    cu = bulk("Cu", "fcc", a=A, cubic=True).repeat(3)
    s = 0.06
    res = rdf(_gaussian_frames(cu, 40, s), rmax=5.5, dr=0.005)
    shells = [sh for sh in res.shells if sh["pair"] == "Cu-Cu"]
    assert [round(sh["r_mean_structure"], 2) for sh in shells[:3]] == [round(A / np.sqrt(2), 2), A,
                                                                      round(A * np.sqrt(1.5), 2)]
    first = shells[0]
    assert first["kind"] == "bulk" and first["coordination_mean_structure"] == pytest.approx(12)
    assert first["n_fit"] == pytest.approx(12, rel=0.03)
    assert first["r_fit"] == pytest.approx(A / np.sqrt(2), abs=0.01)
    # g(r) peak position and running coordination number
    r, g = np.array(res.r), np.array(res.g["Cu-Cu"])
    assert r[np.argmax(g)] == pytest.approx(A / np.sqrt(2), abs=0.03)
    n = np.array(res.coordination["Cu-Cu"])
    assert n[np.searchsorted(r, 3.1)] == pytest.approx(12, abs=0.05)
    for sh in shells[:3]:
        # σ² from displacements equals the Gaussian fit within sampling error, and both equal 2 s²
        assert sh["sigma2_displacement"] == pytest.approx(2 * s * s, rel=0.08)
        assert sh["sigma2_fit"] == pytest.approx(sh["sigma2_displacement"], rel=0.12)
        assert sh["sigma2_distance"] == pytest.approx(sh["sigma2_displacement"], rel=0.12)
    back = RDFResult.from_dict(res.to_dict())
    assert back.shells[0]["pair"] == "Cu-Cu"
    plot_rdf(res), plot_msrd(res)


def test_msrd_from_emt_md_fit_equals_displacements(tmp_path):
    from ase.calculators.emt import EMT

    from benchmarks.dynamics.md import read_snapshots, run_md

    cu = bulk("Cu", "fcc", a=3.59, cubic=True).repeat(2)
    run_md(cu, EMT(), ensemble="langevin", temperature_K=300, timestep_fs=5.0, friction_per_fs=0.02,
           equilibration_steps=100, production_steps=500, snapshot_stride=5, trajectory=tmp_path / "md.traj",
           progress=False)
    res = rdf(read_snapshots(tmp_path / "md.traj"), rmax=4.5, dr=0.005)
    first = res.shells[0]
    assert first["n_fit"] == pytest.approx(12, rel=0.05)
    assert 0.002 < first["sigma2_displacement"] < 0.015
    assert first["sigma2_fit"] == pytest.approx(first["sigma2_displacement"], rel=0.2)
    # second shell: less correlated motion than the first (the usual MSRD ordering in fcc metals)
    assert res.shells[1]["sigma2_displacement"] > first["sigma2_displacement"]


def test_unwrap_and_mean_structure_across_the_boundary():
    cu = bulk("Cu", "fcc", a=A, cubic=True)
    frames = []
    for x in (-0.05, 0.05, -0.05, 0.05):
        f = cu.copy()
        f.positions[0, 0] = x
        f.wrap()
        frames.append(f)
    avg, pos = mean_structure(frames)
    assert np.ptp(unwrap(frames)[:, 0, 0]) == pytest.approx(0.1)
    assert abs((avg.positions[0, 0] + 0.5) % A - 0.5) < 1e-9   # mean at x = 0 (modulo the cell)


def test_ws2_intra_and_interlayer_classes():
    from ase_ftcalc.structures import bulk_2h

    ws2 = bulk_2h("WS2").repeat((3, 3, 1))
    layers = separate_layers(ws2)
    assert layers is not None and len(set(layers)) == 2
    res = rdf(_gaussian_frames(ws2, 6, 0.04), rmax=7.0, dr=0.01)
    kinds = {(sh["pair"], sh["kind"]) for sh in res.shells}
    assert ("S-W", "intralayer") in kinds and ("S-S", "interlayer") in kinds and ("W-W", "interlayer") in kinds
    ws = [sh for sh in res.shells if sh["pair"] == "S-W" and sh["kind"] == "intralayer"][0]
    assert ws["r_mean_structure"] == pytest.approx(2.41, abs=0.03)
    ww_inter = [sh for sh in res.shells if sh["pair"] == "W-W" and sh["kind"] == "interlayer"][0]
    assert ww_inter["r_mean_structure"] > 6.0
    assert bulk("Cu", "fcc", a=A) is not None and separate_layers(bulk("Cu", "fcc", a=A, cubic=True)) is None
