"""benchmarks.exafs: FEFF8L engine on a small Cu cluster (3 path classes, no SCF).

Checks: the fast mode on one static structure equals FEFF's own chi.dat of that structure and the exact
per-path mode; fast vs exact on disordered snapshots; linearity of the configuration average; reading
measured spectra; disorder brings the spectrum closer to the measured room-temperature Cu foil.
"""
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from benchmarks.exafs import (ETOK, ExafsResult, MDExafs, compare, fourier_transform, md_exafs, plot_exafs,
                              read_experiment, shift_e0, taper_window)

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "exafs"
A = 3.61
RMAX = 4.0


def rms_percent(k, a, b, kmin=3.0, kmax=16.0):
    m = (k >= kmin) & (k <= kmax)
    return 100 * np.sqrt(np.mean(((a - b) * k ** 2)[m] ** 2) / np.mean((b * k ** 2)[m] ** 2))


@pytest.fixture(scope="module")
def cu():
    return bulk("Cu", "fcc", a=A, cubic=True).repeat(3)


@pytest.fixture(scope="module")
def disordered(cu):
    rng = np.random.default_rng(1)
    frames = []
    for _ in range(4):
        f = cu.copy()
        f.positions += rng.normal(scale=0.065, size=f.positions.shape)  # σ²_∥ ≈ 2·0.065² ≈ 0.0085 Å²
        frames.append(f)
    return frames


@pytest.fixture(scope="module")
def engine(cu, tmp_path_factory):
    return MDExafs(cu, absorber="Cu", edge="K", rmax=RMAX, nleg=4, folder=tmp_path_factory.mktemp("feff"))


def test_static_structure_equals_direct_feff(engine, cu):
    assert [c.nleg for c in engine.classes] == [2, 2, 3]
    for c in engine.classes:                       # members per absorber = FEFF degeneracy
        assert len(c.members) / len(engine.absorbers) == c.degen
    assert not engine.warnings
    res = md_exafs([cu], absorber="Cu", engine=engine)
    k, chi = np.array(res.k), np.array(res.chi)
    feff = np.interp(k, res.feff_static_k, res.feff_static_chi)   # FEFF8L's own chi.dat of this structure
    assert rms_percent(k, chi, feff) < 1.0
    assert isinstance(ExafsResult.from_dict(res.to_dict()), ExafsResult)
    # a reused engine: the result records the engine's set-up, not md_exafs' defaults
    assert res.settings["feff_structure"] == "reference" and res.settings["feff_folder"] == str(engine.folder)


def test_average_is_linear(engine, disordered):
    def chi_of(frames):
        engine.reset()
        engine.accumulate_frames(frames)
        return engine.chi()[1]

    a, b, both = chi_of(disordered[:2]), chi_of(disordered[2:]), chi_of(disordered)
    assert np.allclose(both, 0.5 * (a + b), atol=1e-12)


def test_fast_mode_matches_exact_feff_on_disordered_snapshots(engine, disordered):
    res = md_exafs(disordered[:2], absorber="Cu", engine=engine, ms_samples=0, exact_snapshots=2, exact_absorbers=1)
    assert res.exact["rms_percent"] < 3.0, res.exact["rms_percent"]
    # disorder damps the high-k amplitude relative to the static structure
    k = np.array(res.k)
    hi = (k > 12) & (k < 16)
    static = np.interp(k, res.feff_static_k, res.feff_static_chi)
    assert np.abs(np.array(res.chi)[hi]).max() < 0.7 * np.abs(static[hi]).max()


def test_sampled_ms_amplitudes_fix_focusing_paths(cu, disordered, tmp_path):
    """To 5.2 Å the collinear Cu–Cu–Cu focusing paths (fourth shell) lose amplitude under angular disorder,
    which the class geometry's FEFF amplitude misses; sampled instantaneous geometries restore it."""
    engine = MDExafs(cu, absorber="Cu", edge="K", rmax=5.2, nleg=4, folder=tmp_path / "feff")
    assert sum(c.nleg > 2 for c in engine.classes) >= 8
    res = md_exafs(disordered, absorber="Cu", engine=engine, ms_samples=32, exact_snapshots=4, exact_absorbers=2)
    assert res.exact["ms_corrected"]
    plain = engine.fast_chi_pairs(disordered, None, res.exact["pairs"])  # no MS amplitudes: the class geometry's
    k, exact = np.array(res.exact["k"]), np.array(res.exact["chi_exact"])
    plain_rms = rms_percent(k, plain, exact)
    assert res.exact["rms_percent"] < 2.5 < plain_rms, (res.exact["rms_percent"], plain_rms)
    assert 0 < res.settings["ms_correction_noise_percent"] < 5


def test_experiment_readers_and_metrics(engine, cu, disordered):
    xdi = read_experiment(DATA / "cu_metal_rt.xdi")
    chi10k = read_experiment(DATA / "cu10k.chi")
    for exp in (xdi, chi10k):
        assert exp["k"].max() > 16 and np.all(np.isfinite(exp["chi"]))
    assert 8970 < xdi["e0"] < 8990
    static = md_exafs([cu], absorber="Cu", engine=engine, experiment=xdi)
    md = md_exafs(disordered, absorber="Cu", engine=engine, experiment=xdi)
    # three shells only (RMAX 4 Å): the disordered spectrum still fits the RT foil far better than the static one
    assert md.comparison["mse_k2chi"] < 0.6 * static.comparison["mse_k2chi"]
    assert md.comparison["mse_envelope"] < 0.6 * static.comparison["mse_envelope"]
    assert -10 <= md.comparison["e0"] <= 10 and 0.3 < md.comparison["s02"] < 1.5
    plot_exafs({"static": static, "disordered": md})


def test_window_fourier_transform_and_e0_shift():
    k = 0.05 * np.arange(401)
    w = taper_window(k, 3.0, 16.0, 0.1)
    assert w[(k > 4.4) & (k < 14.6)].min() == 1.0 and w[k < 2.99].max() == 0 and w[k > 16.01].max() == 0
    assert w[np.argmin(abs(k - 3.0))] == pytest.approx(np.exp(-4.5), rel=1e-6)
    chi = np.sin(2 * k * 2.5) / np.maximum(k, 0.05) ** 2
    ft = fourier_transform(k, chi, kweight=2)
    assert ft["r"][np.argmax(ft["mag"])] == pytest.approx(2.5, abs=0.04)
    shifted = shift_e0(k, chi, 5.0)
    i = np.searchsorted(k, 10.0)
    assert shifted[i] == pytest.approx(np.interp(np.sqrt(k[i] ** 2 - ETOK * 5.0), k, chi))
    res = compare(k, chi, k, 0.8 * chi, e0=0.0, s02="fit")
    assert res["s02"] == pytest.approx(0.8) and res["mse_k2chi"] < 1e-20


def test_three_readers_give_the_same_chi(tmp_path):
    """The same RT Cu-foil scan as XDI, as plain (E, μ) columns and inside an Athena project (written with
    larch's own Athena writer) goes through pre_edge/autobk to the same χ(k)."""
    from larch import Group
    from larch.io import create_athena, read_xdi

    xdi = read_xdi(str(DATA / "cu_metal_rt.xdi"))
    project = create_athena(str(tmp_path / "cu_foil.prj"))
    project.add_group(Group(energy=np.asarray(xdi.energy), mu=np.asarray(xdi.mutrans), filename="cu_metal_rt"))
    project.save()
    k = np.arange(3.0, 14.0, 0.05)
    ref = read_experiment(DATA / "cu_metal_rt.xdi")
    for path in (tmp_path / "cu_foil.prj", DATA / "cu_rt01.xmu"):
        exp = read_experiment(path)
        assert exp["e0"] == pytest.approx(ref["e0"], abs=0.5)
        assert rms_percent(k, np.interp(k, exp["k"], exp["chi"]), np.interp(k, ref["k"], ref["chi"]), 3, 14) < 1.0
