"""benchmarks.fit.select: farthest-point sampling, committee force disagreement, selected-vs-random fine-tuning."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from scaled_emt import ScaledEMT

from benchmarks.fit.select import (SelectionComparison, crystal_features, farthest_point_sampling, force_disagreement,
                               plot_selection, select_frames, selected_vs_random)


@pytest.fixture(scope="module")
def candidates():
    out = []
    for i in range(8):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        if i % 2:
            atoms[0].symbol = "Au"
        atoms.rattle(0.02 + 0.02 * i, seed=i)
        out.append(atoms)
    return out


def test_fps_on_a_line_and_a_square():
    line = [0.0, 1.0, 2.0, 10.0, 4.0]
    assert farthest_point_sampling(line, 3, first=0) == [0, 3, 4]   # 0, then 10 (farthest), then 4 (4 from 0)
    assert farthest_point_sampling(line, 2, first=3) == [3, 0]
    # already-labelled points count: with 10 labelled, start nowhere else but the farthest from it
    assert farthest_point_sampling(line, 2, already=[3]) == [0, 4]
    square = [[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5], [0.9, 0.9]]
    assert farthest_point_sampling(square, 2, first=0) == [0, 3]
    assert sorted(farthest_point_sampling(square, 4, first=0)) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        farthest_point_sampling(line, 6)


def test_disagreement_is_zero_for_identical_members_and_analytic_for_scaled_forces(candidates):
    same = force_disagreement({"a": EMT(), "b": EMT()}, candidates)
    assert max(same["force_max_ev_per_a"]) == 0.0 and max(same["energy_std_ev_per_atom"]) == 0.0
    s = 1.4
    dis = force_disagreement({"a": EMT(), "b": ScaledEMT(s)}, candidates)
    for atoms, fmax, fmean, estd in zip(candidates, dis["force_max_ev_per_a"], dis["force_mean_ev_per_a"],
                                        dis["energy_std_ev_per_atom"]):
        work = atoms.copy()
        work.calc = EMT()
        norms = np.linalg.norm(work.get_forces(), axis=1)
        # two members F and sF: population std of each component is |s − 1| |F_c| / 2
        assert fmax == pytest.approx(abs(s - 1) / 2 * norms.max(), rel=1e-9)
        assert fmean == pytest.approx(abs(s - 1) / 2 * norms.mean(), rel=1e-9)
        assert estd == pytest.approx(abs(s - 1) / 2 * abs(work.get_potential_energy()) / len(work), rel=1e-9)
    with pytest.raises(ValueError, match="two"):
        force_disagreement({"a": EMT()}, candidates)


def test_selection_prefers_disputed_then_diverse(candidates, tmp_path):
    committee = {"a": EMT(), "b": ScaledEMT(1.4)}
    # descriptor: candidate index on a line; disagreement grows with the rattle, so the top 4 are 4..7
    sel = select_frames(candidates, committee, 2, descriptor=np.arange(8.0)[:, None], preselect=2)
    dis = np.asarray(sel.force_max_ev_per_a)
    assert sel.preselected == [int(i) for i in np.argsort(-dis)[:4]]
    assert sel.selected[0] == int(np.argmax(dis))
    assert set(sel.selected) <= set(sel.preselected)
    far = max(sel.preselected, key=lambda i: abs(i - sel.selected[0]))
    assert sel.selected[1] == far
    again = select_frames(candidates, committee, 2, descriptor="energy", already=[sel.selected[0]])
    assert sel.selected[0] not in again.selected
    assert "selected 2 of 8" in sel.summary()
    plot_selection(sel, tmp_path / "sel.png")
    assert (tmp_path / "sel.png").stat().st_size > 1000


def test_chgnet_crystal_features_as_descriptor(candidates):
    feats = crystal_features(candidates[:4])
    assert feats.shape == (4, 64) and np.all(np.isfinite(feats))
    assert np.linalg.norm(feats[0] - feats[1]) > 1e-4     # Cu4 vs Cu3Au differ
    sel = select_frames(candidates[:6], {"a": EMT(), "b": ScaledEMT(0.8)}, 3, descriptor="crystal")
    assert sel.descriptor == "chgnet_crystal_features" and len(set(sel.selected)) == 3


def test_selected_vs_random_on_bundled_frames(tmp_path):
    from ase_ftcalc.data import bundled_frames

    frames = bundled_frames("WS2")[:7]
    result = selected_vs_random(frames, 1, epochs=1, random_seeds=(0,), test_every=5)
    assert result.test_indices == [0, 5] and result.n_pool == 5
    assert len(result.selected_frames) == 1 and not set(result.selected_frames) & set(result.test_indices)
    assert result.random_runs[0]["frames"][0] in result.pool_indices
    assert set(result.selected_metrics) == {"energy_ev_per_atom", "forces_ev_per_a", "stress_gpa"}
    assert result.random_mean["forces_ev_per_a"] == result.random_runs[0]["metrics"]["forces_ev_per_a"]["mae"]
    back = SelectionComparison.load_json(result.save_json(tmp_path / "cmp.json"))
    assert back.table()[1]["metric"] == "forces_ev_per_a" and "selected MAE" in back.summary()
    plot_selection(back, tmp_path / "cmp.png")


def test_cli_select(candidates, tmp_path, capsys):
    import argparse

    from ase.io import read, write

    from benchmarks.cli import register

    parser = argparse.ArgumentParser(prog="ftcalc")
    register(parser.add_subparsers(dest="command"))
    write(tmp_path / "cands.extxyz", candidates)
    args = parser.parse_args(["select", str(tmp_path / "cands.extxyz"), "--calc", "a=emt",
                              "--calc", "b=emt", "-n", "2", "--descriptor", "energy",
                              "-o", str(tmp_path / "out")])
    assert args.func(args) == 0
    assert len(read(tmp_path / "out" / "selected.extxyz", index=":")) == 2
    assert "selected 2 of 8" in capsys.readouterr().out
