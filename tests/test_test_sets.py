"""Named test sets and leakage: parity and learning curves score each set apart; seen frames are left out."""
import numpy as np
import pytest

from ase_ftcalc import FTCalculator, fine_tune
from benchmarks.fit.learning_curve import learning_curve
from benchmarks.fit.parity import parity, parity_sets


@pytest.fixture(scope="module")
def small_model(ws2_frames, tmp_path_factory):
    path = tmp_path_factory.mktemp("ts") / "m.pt"
    result = fine_tune(ws2_frames[:20], path, epochs=1, progress=False)
    return result, path


def test_parity_leaves_out_frames_a_model_trained_on(small_model, ws2_frames, vanilla):
    result, path = small_model
    tuned = FTCalculator(path)
    frames = ws2_frames[:20] + ws2_frames[40:44]
    seen = set(result.split["train"]) | set(result.split["val"])
    with pytest.warns(UserWarning, match=f"{len(seen)} frame\\(s\\) were seen"):
        out = parity({"vanilla": vanilla, "tuned": tuned}, frames)
    assert out.n_excluded == len(seen) and out.n_frames == len(frames) - len(seen)
    assert len(out.seen_frames["tuned"]) == len(seen) and "vanilla" not in out.seen_frames
    # every calculator is scored on the same unseen frames
    assert {r.n_frames for r in out.calculators.values()} == {out.n_frames}
    assert out.calculators["tuned"].stats["energy_ev_per_atom"]["n"] == out.n_frames
    with pytest.warns(UserWarning, match="kept"):
        flagged = parity({"tuned": tuned}, frames, seen="flag")
    assert flagged.n_frames == len(frames) and flagged.n_excluded == 0
    assert "KEPT" in flagged.summary()


def test_named_test_sets_are_scored_separately(ws2_frames, vanilla):
    out = parity_sets({"vanilla": vanilla}, {"a": ws2_frames[:3], "b": ws2_frames[10:15]})
    assert [r.n_frames for r in out.sets.values()] == [3, 5]
    fa = out.sets["a"].calculators["vanilla"].stats["forces_ev_per_a"]
    fb = out.sets["b"].calculators["vanilla"].stats["forces_ev_per_a"]
    assert fa["n"] == 3 * 6 * 3 and fb["n"] == 5 * 6 * 3 and fa["mae"] != fb["mae"]
    assert {row["test_set"] for row in out.table()} == {"a", "b"}


def test_learning_curve_scores_every_named_set(ws2_frames, tmp_path):
    extra = {"later": ws2_frames[40:44]}
    res = learning_curve(ws2_frames[:20], sizes=[4], seeds=[0], epochs=1, test_every=5, test_sets=extra,
                         cache_dir=tmp_path)
    assert res.test_sets == {"in-distribution": 4, "later": 4}
    sets = {row["test_set"] for row in res.aggregate}
    assert sets == {"in-distribution", "later"}
    later = next(r for r in res.aggregate if r["test_set"] == "later" and r["metric"] == "forces_ev_per_a")
    assert np.isfinite(later["mae_mean"]) and res.base_sets["later"]["forces_ev_per_a"]["mae"] > 0
    again = learning_curve(ws2_frames[:20], sizes=[4], seeds=[0], epochs=1, test_every=5, test_sets=extra,
                           cache_dir=tmp_path)
    assert again.runs[0]["reused"] and again.aggregate == res.aggregate
