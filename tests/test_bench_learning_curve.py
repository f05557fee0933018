"""benchmarks.fit.learning_curve: fixed test split, seeded subsets, cached models, resume."""
import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from benchmarks.fit.learning_curve import fixed_split, learning_curve, plot_learning_curve


@pytest.fixture(scope="module")
def cu_frames():
    """Small EMT-labelled Cu cells: a fast stand-in for DFT frames."""
    rng = np.random.default_rng(5)
    frames = []
    for i in range(7):
        atoms = bulk("Cu", cubic=True)
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-0.015, 0.015)), scale_atoms=True)
        atoms.rattle(0.06, seed=i)
        atoms.calc = EMT()
        labels = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress())
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def test_fixed_split_is_stable_when_frames_are_appended():
    pool, test = fixed_split(12, test_every=5)
    assert test == [0, 5, 10] and not set(pool) & set(test) and len(pool) + len(test) == 12
    pool2, test2 = fixed_split(20, test_every=5)
    assert test2[:3] == test and pool2[:len(pool)] == pool


def test_learning_curve_runs_caches_and_resumes(cu_frames, tmp_path):
    cache = tmp_path / "cache"
    kwargs = dict(sizes=[1, 2, "all"], seeds=[0, 1], epochs=1, test_every=4, cache_dir=cache)
    result = learning_curve(cu_frames, **kwargs)
    assert result.test_indices == [0, 4] and result.n_pool == 5 and result.sizes == [1, 2, 5]
    assert len(result.runs) == 6 and not any(r["reused"] for r in result.runs)
    for run in result.runs:
        assert len(run["train_indices"]) == run["n"]
        assert not set(run["train_indices"]) & set(result.test_indices)  # the test set is never trained on
        assert set(run["metrics"]) == {"energy_ev_per_atom", "forces_ev_per_a", "stress_gpa"}
        assert (Path(result.cache_dir) / f"n{run['n']}_seed{run['seed']}.pt").exists()
    # different seeds draw different single frames
    singles = [tuple(r["train_indices"]) for r in result.runs if r["n"] == 1]
    assert len(set(singles)) == 2
    # aggregate = mean/std over seeds of the per-run numbers
    row = next(r for r in result.aggregate if r["n"] == 1 and r["metric"] == "forces_ev_per_a")
    maes = [r["metrics"]["forces_ev_per_a"]["mae"] for r in result.runs if r["n"] == 1]
    assert row["mae_mean"] == pytest.approx(np.mean(maes)) and row["mae_std"] == pytest.approx(np.std(maes))
    assert row["n_runs"] == 2
    assert result.base["forces_ev_per_a"]["n"] == 2 * 4 * 3

    # a re-run reuses every finished piece and reports the same numbers
    again = learning_curve(cu_frames, **kwargs)
    assert all(r["reused"] for r in again.runs)
    assert again.aggregate == json.loads(json.dumps(result.aggregate))
    # a run that lost its metrics file (but kept its model) is re-evaluated from the cached model
    (Path(result.cache_dir) / "n2_seed1.json").unlink()
    third = learning_curve(cu_frames, **kwargs)
    rerun = next(r for r in third.runs if r["n"] == 2 and r["seed"] == 1)
    old = next(r for r in result.runs if r["n"] == 2 and r["seed"] == 1)
    assert rerun["reused"] and "train_seconds" not in rerun
    assert rerun["metrics"]["forces_ev_per_a"]["mae"] == pytest.approx(old["metrics"]["forces_ev_per_a"]["mae"],
                                                                       rel=1e-5)
    # other frames or settings do not reuse these runs: they get their own cache folder
    other = learning_curve(cu_frames[:6], **{**kwargs, "sizes": [1], "seeds": [0]})
    assert other.cache_dir != result.cache_dir and not other.runs[0]["reused"]
    assert Path(result.cache_dir).parent == cache
    result.save_json(tmp_path / "lc.json")
    assert json.loads((tmp_path / "lc.json").read_text())["sizes"] == [1, 2, 5]
    plot_learning_curve(result, tmp_path / "lc.png")
    assert (tmp_path / "lc.png").stat().st_size > 10_000
    assert "N" in result.summary()
