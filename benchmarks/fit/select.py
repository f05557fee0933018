"""Choosing the frames to label next with DFT: committee disagreement + farthest-point sampling.

Given candidate structures (e.g. MD snapshots) and a committee of two or more
calculators (fine-tuned models from different seeds or subsets, or different
pretrained versions), :func:`force_disagreement` measures for each candidate
how much the members' forces disagree (per atom, the norm of the standard
deviation over the committee of the force vector, eV/Å; its maximum and mean
over atoms).  :func:`select_frames` keeps the most disputed candidates and
picks a diverse subset of them by :func:`farthest_point_sampling` on a
descriptor — CHGNet's crystal features (the pooled atom features the readout
sees) or the committee's energies per atom.

:func:`selected_vs_random` is the check that it pays off: fine-tune on the
selected frames and on random frames of the same number (several seeds) and
compare parity on a fixed test set.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult
from ..core.runner import calculator_set


def farthest_point_sampling(points, n: int, *, first: int | None = 0, already=()) -> list[int]:
    """Greedy max–min selection of ``n`` rows of ``points`` (Euclidean).

    Starts from row ``first`` (ignored when ``already`` — indices treated as
    selected before, e.g. frames labelled earlier — is given); each next pick is
    the row farthest from everything picked so far.  Ties go to the lower index.
    """
    x = np.asarray(points, float)
    if x.ndim == 1:
        x = x[:, None]
    m = len(x)
    if not 0 < n <= m - len(already):
        raise ValueError(f"cannot pick {n} of {m} points ({len(already)} already taken)")
    chosen: list[int] = []
    dist = np.full(m, np.inf)
    seeds = [int(i) for i in already] or [int(first if first is not None else 0)]
    for i in seeds:
        dist = np.minimum(dist, np.linalg.norm(x - x[i], axis=1))
    if not already:
        chosen.append(seeds[0])
    taken = set(seeds)
    while len(chosen) < n:
        d = dist.copy()
        d[list(taken)] = -np.inf
        j = int(np.argmax(d))
        chosen.append(j)
        taken.add(j)
        dist = np.minimum(dist, np.linalg.norm(x - x[j], axis=1))
    return chosen


def _committee_predictions(calculators, candidates, progress):
    from ..core.runner import run_calculators
    from .parity import Predictions

    preds = {}
    for name, outcome in run_calculators(calculators, Predictions(progress=progress), candidates).items():
        out = outcome.value["frames"] if outcome.ok else [outcome.error]
        bad = [i for i, p in enumerate(out) if isinstance(p, (Exception, str))]
        if bad:
            raise ValueError(f"committee member {name} failed on candidate {bad[0]}: {out[bad[0]]}")
        preds[name] = out
    return preds


def force_disagreement(calculators, candidates, *, progress: bool = False, _preds=None) -> dict:
    """Per candidate: max and mean over atoms of |std over the committee of F_atom| (eV/Å); energy std (eV/atom).

    The standard deviation is the population one (divide by the committee size).
    """
    calculators = calculator_set(calculators)
    if len(calculators) < 2:
        raise ValueError("a committee needs at least two calculators")
    preds = _preds or _committee_predictions(calculators, candidates, progress)
    fmax, fmean, estd = [], [], []
    for i, atoms in enumerate(candidates):
        forces = np.stack([preds[n][i]["forces"] for n in calculators])          # (k, N, 3)
        per_atom = np.sqrt(forces.var(axis=0).sum(axis=1))
        fmax.append(float(per_atom.max()))
        fmean.append(float(per_atom.mean()))
        estd.append(float(np.std([preds[n][i]["energy"] / len(atoms) for n in calculators])))
    return {"force_max_ev_per_a": fmax, "force_mean_ev_per_a": fmean, "energy_std_ev_per_atom": estd}


def crystal_features(candidates, model="0.3.0") -> np.ndarray:
    """CHGNet crystal features (n_candidates, 64): the pooled atom features before the readout."""
    from ase_ftcalc.calculator import FTCalculator
    from ase_ftcalc.model import atoms_to_graph, load_model, predict_graphs

    net = model.net if isinstance(model, FTCalculator) else load_model(model)[0]
    out = []
    for start in range(0, len(candidates), 16):
        graphs = [atoms_to_graph(net, a) for a in candidates[start:start + 16]]
        out += [r["crystal_fea"] for r in predict_graphs(net, graphs, forces=False, magmoms=False,
                                                         site_energies=False, crystal_features=True)]
    return np.array(out)


@dataclass
class SelectionResult(JSONResult):
    n_candidates: int
    n_selected: int
    committee: list
    descriptor: str
    preselected: list            # candidate indices kept by disagreement, most disputed first
    selected: list               # candidate indices in pick order
    force_max_ev_per_a: list
    force_mean_ev_per_a: list
    energy_std_ev_per_atom: list
    sources: list = field(default_factory=list)

    def summary(self) -> str:
        fm = np.asarray(self.force_max_ev_per_a)
        lines = [f"selected {self.n_selected} of {self.n_candidates} candidates (committee {self.committee}, "
                 f"descriptor {self.descriptor}); max force disagreement: all {fm.mean():.4f} eV/Å mean, "
                 f"selected {fm[self.selected].mean():.4f} eV/Å mean"]
        for i in self.selected:
            lines.append(f"  #{i:<5} {self.sources[i] if self.sources else ''}  max ΔF {fm[i]:.4f} eV/Å")
        return "\n".join(lines)


def select_frames(candidates, calculators, n: int, *, descriptor: str = "crystal", model="0.3.0",
                  preselect: float = 3.0, already=(), progress: bool = False) -> SelectionResult:
    """Pick ``n`` candidates to label: the ``ceil(preselect·n)`` most disputed, then FPS among them.

    ``descriptor``: ``"crystal"`` (CHGNet crystal features of ``model``, a
    version, model file or FTCalculator), ``"energy"`` (the committee's
    energies per atom), or an array (n_candidates, d).  Descriptors are
    standardised per column before distances.  FPS starts from the most
    disputed candidate.  ``already``: candidate indices labelled before (not
    picked again, and distances are measured from them too).
    """
    candidates = list(candidates)
    calculators = calculator_set(calculators)
    if not 0 < n <= len(candidates) - len(already):
        raise ValueError(f"cannot select {n} of {len(candidates)} candidates")
    preds = _committee_predictions(calculators, candidates, progress)
    dis = force_disagreement(calculators, candidates, _preds=preds)
    if isinstance(descriptor, str) and descriptor == "crystal":
        x, kind = crystal_features(candidates, model), "chgnet_crystal_features"
    elif isinstance(descriptor, str) and descriptor == "energy":
        x = np.array([[preds[m][i]["energy"] / len(a) for m in calculators] for i, a in enumerate(candidates)])
        kind = "committee_energy_per_atom"
    elif isinstance(descriptor, str):
        raise ValueError(f"descriptor must be 'crystal', 'energy' or an array, not {descriptor!r}")
    else:
        x, kind = np.asarray(descriptor, float), "given"
    if len(x) != len(candidates):
        raise ValueError("descriptor rows do not match the candidates")
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    order = [int(i) for i in np.argsort(-np.asarray(dis["force_max_ev_per_a"]), kind="stable")
             if int(i) not in set(already)]
    keep = order[:max(n, int(np.ceil(preselect * n)))]
    if already:  # distances from frames labelled earlier count too
        pool = [int(i) for i in already] + keep
        selected = [pool[i] for i in farthest_point_sampling(x[pool], n, already=range(len(already)))]
    else:
        selected = [keep[i] for i in farthest_point_sampling(x[keep], n, first=0)]
    return SelectionResult(n_candidates=len(candidates), n_selected=n, committee=list(calculators), descriptor=kind,
                           preselected=keep, selected=selected,
                           sources=[str(a.info.get("source", f"candidate {i}")) for i, a in enumerate(candidates)],
                           **dis)


@dataclass
class SelectionComparison(JSONResult):
    """Fine-tuning on selected vs random frames; metrics are parity stats on the fixed test set."""

    n: int
    n_pool: int
    test_indices: list
    pool_indices: list
    selection: dict              # SelectionResult over the pool (indices into pool_indices)
    selected_frames: list        # frame indices
    selected_metrics: dict
    random_runs: list            # {"seed", "frames", "metrics"}
    random_mean: dict            # metric -> mean MAE over the random runs
    random_std: dict
    fine_tune_settings: dict
    seconds: float = 0.0

    def table(self) -> list[dict]:
        rows = []
        for metric, s in self.selected_metrics.items():
            rows.append({"metric": metric, "selected_mae": s["mae"], "random_mae_mean": self.random_mean.get(metric),
                         "random_mae_std": self.random_std.get(metric),
                         "random_runs_worse": sum(r["metrics"][metric]["mae"] > s["mae"] for r in self.random_runs),
                         "n_random_runs": len(self.random_runs)})
        return rows

    def summary(self) -> str:
        scale = {"energy_ev_per_atom": (1000, "meV/atom"), "forces_ev_per_a": (1, "eV/Å"), "stress_gpa": (1, "GPa")}
        lines = [f"fine-tuning on {self.n} selected frames {self.selected_frames} vs {len(self.random_runs)} random "
                 f"draws of {self.n} (pool {self.n_pool}, test {len(self.test_indices)} frames):"]
        for row in self.table():
            k, unit = scale.get(row["metric"], (1, ""))
            lines.append(f"  {row['metric']:<20} selected MAE {k * row['selected_mae']:.4g} {unit}  random "
                         f"{k * row['random_mae_mean']:.4g} ± {k * row['random_mae_std']:.2g} {unit}  "
                         f"(selected better than {row['random_runs_worse']}/{row['n_random_runs']} random)")
        return "\n".join(lines)


def selected_vs_random(frames, n: int, *, committee=None, descriptor: str = "crystal", random_seeds=(0, 1, 2, 3, 4),
                       test_every: int = 5, epochs: int = 5, base_model="0.3.0", preselect: float = 3.0,
                       fine_tune_kwargs: dict | None = None, progress: bool = False) -> SelectionComparison:
    """Fine-tune on ``n`` frames picked by :func:`select_frames` and on random ``n`` frames; test parity.

    ``frames``: DFT-labelled frames; frame i is a test frame when
    ``i % test_every == 0`` (as in the learning curve), the rest is the pool
    the frames are picked from — by the committee without looking at the
    labels.  ``committee``: calculators (default: pretrained CHGNet 0.3.0 and
    0.2.0).  Every fine-tuning uses all chosen frames (no validation split) and
    seed 0.
    """
    from tqdm.auto import tqdm

    from ase_ftcalc import FTCalculator, fine_tune

    from .learning_curve import fixed_split
    from .parity import parity

    t0 = time.perf_counter()
    frames = list(frames)
    pool, test = fixed_split(len(frames), test_every)
    if n > len(pool):
        raise ValueError(f"n = {n} is larger than the pool of {len(pool)} frames")
    committee = committee or {"chgnet-0.3.0": FTCalculator("0.3.0"), "chgnet-0.2.0": FTCalculator("0.2.0")}
    pool_frames = [frames[i] for i in pool]
    sel = select_frames(pool_frames, committee, n, descriptor=descriptor, model=base_model, preselect=preselect)
    settings = {"epochs": epochs, "base_model": str(base_model), "split": [1.0, 0.0, 0.0], "seed": 0,
                **(fine_tune_kwargs or {})}
    test_frames = [frames[i] for i in test]

    def train_and_test(indices):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*too few for an 8:1:1 split")
            ft = fine_tune([frames[i] for i in indices], None, epochs=epochs, base_model=base_model,
                           split=(1.0, 0.0, 0.0), seed=0, progress=False, **(fine_tune_kwargs or {}))
        res = parity({"ft": ft.calculator()}, test_frames, keep_values=False).calculators["ft"]
        return res.stats

    chosen = sorted(pool[i] for i in sel.selected)
    jobs = [("selected", chosen)] + [(s, sorted(int(i) for i in np.random.default_rng(s).choice(pool, n, replace=False)))
                                    for s in random_seeds]
    selected_metrics, runs = {}, []
    for seed, idx in tqdm(jobs, desc="selected vs random", disable=not progress, unit="model"):
        stats = train_and_test(idx)
        if seed == "selected":
            selected_metrics = stats
        else:
            runs.append({"seed": int(seed), "frames": idx, "metrics": stats})
    mean = {m: float(np.mean([r["metrics"][m]["mae"] for r in runs])) for m in selected_metrics} if runs else {}
    std = {m: float(np.std([r["metrics"][m]["mae"] for r in runs])) for m in selected_metrics} if runs else {}
    return SelectionComparison(n=n, n_pool=len(pool), test_indices=test, pool_indices=pool, selection=sel.to_dict(),
                               selected_frames=chosen, selected_metrics=selected_metrics, random_runs=runs,
                               random_mean=mean, random_std=std, fine_tune_settings=settings,
                               seconds=time.perf_counter() - t0)


def plot_selection(result, path=None):
    """SelectionResult: disagreement per candidate, selected marked.  SelectionComparison: MAE bars."""
    import matplotlib.pyplot as plt

    if isinstance(result, SelectionComparison):
        rows = result.table()
        fig, axes = plt.subplots(1, max(len(rows), 1), figsize=(3.6 * max(len(rows), 1), 3.8), squeeze=False)
        scale = {"energy_ev_per_atom": (1000, "meV/atom"), "forces_ev_per_a": (1, "eV/Å"), "stress_gpa": (1, "GPa")}
        c = color_cycle(2)
        for ax, row in zip(axes[0], rows):
            k, unit = scale.get(row["metric"], (1, ""))
            ax.bar([0], [k * row["selected_mae"]], color=c[0], label="selected")
            ax.bar([1], [k * row["random_mae_mean"]], yerr=[k * row["random_mae_std"]], color=c[1], capsize=4,
                   label="random (mean ± std)")
            ax.plot(np.ones(len(result.random_runs)),
                    [k * r["metrics"][row["metric"]]["mae"] for r in result.random_runs], "k.", ms=4)
            ax.set_xticks([0, 1], ["selected", "random"])
            ax.set_ylabel(f"{row['metric'].split('_')[0]} MAE ({unit})")
        axes[0][0].set_title(f"fine-tuned on {result.n} frames", fontsize=9)
    else:
        fig, ax = plt.subplots(figsize=(6, 3.8))
        fm = np.asarray(result.force_max_ev_per_a)
        ax.plot(np.arange(len(fm)), fm, "o", color="0.6", ms=4, label="candidates")
        ax.plot(result.selected, fm[result.selected], "o", color=color_cycle(1)[0], ms=7, label="selected")
        ax.set_xlabel("candidate")
        ax.set_ylabel("max force disagreement (eV/Å)")
        ax.legend(fontsize=8)
    return finish(fig, path)
