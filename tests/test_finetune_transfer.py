"""Fine-tuning that transfers: D3 Δ-learning, leakage flags, duplicate frames, group splits, divergence."""
import numpy as np
import pytest
from ase.io import read, write

from ase_ftcalc import FTCalculator, calculator_from_spec, fine_tune
from ase_ftcalc.dispersion import d3_labels
from ase_ftcalc.finetune import split_indices, subtract_dispersion
from ase_ftcalc.frames import seen_mask, structure_fingerprints, validate_frames

FAST = dict(epochs=1, batch_size=4, progress=False)


def test_delta_labels_plus_d3_give_back_the_labels(ws2_frames):
    frame_set = validate_frames(ws2_frames[:3])
    delta, parts = subtract_dispersion(frame_set, "d3")
    for orig, d, p, atoms in zip(frame_set.frames, delta.frames, parts, ws2_frames[:3]):
        assert d.energy + p["energy"] == pytest.approx(orig.energy, abs=1e-10)
        assert np.abs(d.forces + p["forces"] - orig.forces).max() < 1e-12
        assert np.abs(d.stress + p["stress"] - orig.stress).max() < 1e-12
        # D3 binds: it lowers the energy by a real amount (~0.25 eV/atom for WS2)
        assert -0.4 < p["energy"] / len(atoms) < -0.1
        assert p["energy"] == pytest.approx(d3_labels(atoms)["energy"], abs=1e-12)


@pytest.fixture(scope="module")
def delta_model(ws2_frames, tmp_path_factory):
    out = tmp_path_factory.mktemp("delta") / "ws2_d3.pt"
    result = fine_tune(ws2_frames[:20], out, dispersion="d3", **FAST)
    return result, out


def test_d3_is_restored_on_reload_and_recorded(delta_model, ws2_frames):
    result, path = delta_model
    atoms = ws2_frames[30].copy()
    with_d3, bare = FTCalculator(path), FTCalculator(path, dispersion=None)
    assert with_d3.parameters["dispersion"] == {"kind": "d3", "method": "PBE", "damping": "d3zero"}
    assert bare.parameters["dispersion"] is None
    assert len(with_d3.todict()["model_sha256"]) == 64
    d3 = d3_labels(atoms)
    atoms.calc = with_d3
    e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    atoms.calc = bare
    assert e == pytest.approx(atoms.get_potential_energy() + d3["energy"], abs=1e-8)
    assert np.abs(f - atoms.get_forces() - d3["forces"]).max() < 1e-8
    assert np.abs(s - atoms.get_stress() - d3["stress"]).max() < 1e-10
    # the in-memory result and the spec give the same total; D3 is never added twice
    assert calculator_from_spec(str(path)).get_potential_energy(atoms.copy()) == pytest.approx(e, abs=1e-6)
    with pytest.raises(ValueError, match="adds D3 itself"):
        calculator_from_spec(f"{path}+d3")
    # the fit is scored on totals: its test energy error is small on the DFT scale
    assert result.test_metrics["forces_ev_per_a"]["mae"] < 0.3


def test_chgnet_plus_d3_spec_adds_d3(ws2_frames, vanilla):
    atoms = ws2_frames[0].copy()
    e_plain = vanilla.get_potential_energy(atoms)
    calc = calculator_from_spec("chgnet+d3")
    assert calc.parameters["dispersion"]["damping"] == "d3zero"
    assert calc.get_potential_energy(atoms) == pytest.approx(e_plain + d3_labels(atoms)["energy"], abs=1e-6)


def test_leakage_is_flagged_and_left_out(delta_model, ws2_frames, tmp_path):
    result, path = delta_model
    calc = FTCalculator(path)
    seen_idx = result.split["train"][0]
    # a file round trip (extxyz) keeps the fingerprint
    write(tmp_path / "mixed.extxyz", [ws2_frames[seen_idx], ws2_frames[40]])
    mixed = read(tmp_path / "mixed.extxyz", ":")
    assert seen_mask(mixed, calc.training_fingerprints) == [True, False]
    # test sets given to fine_tune leave seen frames out and say so
    out = fine_tune(ws2_frames[:20], None, test_sets={"mixed": mixed}, **FAST)
    assert out.test_set_metrics["mixed"]["n_seen_excluded"] == 1
    assert out.test_set_metrics["mixed"]["n_frames"] == 1
    assert out.test_set_metrics["mixed"]["forces_ev_per_a"]["n"] == 1


def test_exact_duplicates_are_dropped_with_a_warning(ws2_frames):
    frames = ws2_frames[:10] + [ws2_frames[3].copy()]
    frames[-1].calc = ws2_frames[3].calc
    with pytest.warns(UserWarning, match="dropped 1 duplicate"):
        out = fine_tune(frames, None, **FAST)
    assert out.n_train + out.n_val + out.n_test == 10


def test_group_split_keeps_groups_whole():
    groups = [f"traj{k}" for k in range(8) for _ in range(6)] + [f"md{k}" for k in range(12)]
    train, val, test = split_indices(len(groups), (0.8, 0.1, 0.1), seed=3, groups=groups)
    assert sorted(train + val + test) == list(range(len(groups)))
    side = {}
    for name, idx in (("train", train), ("val", val), ("test", test)):
        for i in idx:
            assert side.setdefault(groups[i], name) == name
    assert len(val) >= 6 and len(test) >= 6 and len(train) >= 40


def test_fine_tune_splits_by_group_when_frames_have_groups(ws2_frames):
    frames = [f.copy() for f in ws2_frames[:20]]
    for i, (f, orig) in enumerate(zip(frames, ws2_frames)):
        f.calc = orig.calc
        f.info["group"] = f"g{i // 4}"
    out = fine_tune(frames, None, **FAST)
    by_side = {side: {frames[i].info["group"] for i in idx} for side, idx in out.split.items()}
    assert not (by_side["train"] & by_side["test"]) and not (by_side["train"] & by_side["val"])


def test_diverging_fine_tune_stops_and_writes_no_model(ws2_frames, tmp_path):
    out = tmp_path / "nan.pt"
    with pytest.raises(FloatingPointError, match=r"epoch \d+, batch \d+"):
        fine_tune(ws2_frames[:12], out, epochs=3, learning_rate=1e6, freeze="none", progress=False)
    assert not out.exists()


def test_fingerprints_ignore_labels_and_wrapping(ws2_frames):
    a = ws2_frames[5].copy()
    b = a.copy()
    b.positions += a.cell[0]          # the same structure, one lattice vector away
    assert set(structure_fingerprints(a)) & set(structure_fingerprints(b))
    c = a.copy()
    c.positions[0, 0] += 0.01
    assert not set(structure_fingerprints(a)) & set(structure_fingerprints(c))
