"""Learning curve: parity on a fixed test set vs the number of DFT frames used for fine-tuning.

For each N in ``sizes`` and each seed, N frames are drawn (without
replacement, seeded) from the training pool, CHGNet is fine-tuned on all of
them (no validation split) and evaluated with :func:`benchmarks.parity.parity`
on the fixed test set, which is never used for training.  Single-frame results
depend on which frame was drawn, hence several seeds and the spread.

Named out-of-distribution test sets (``test_sets={"c-strain": frames, ...}``)
are scored beside the fixed in-distribution split, each on its own curve, so
a model that only fits its own distribution shows it.

The default split of a frame file is by index — frame i is a test frame when
``i % test_every == 0`` — so it stays the same while a DFT generator appends
frames.  With ``cache_dir`` every fine-tuned model (``n<N>_seed<s>.pt``) and
its test metrics (``n<N>_seed<s>.json``) are kept; a re-run reuses them, and an
interrupted fine-tuning resumes from its checkpoint.  The files live in a
sub-folder of ``cache_dir`` named by a hash of the frames, split and settings.
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.frames import frame_label
from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult, jsonable
from .parity import METRICS, parity

DEFAULT_SIZES = (1, 5, 10, 20, 40, "all")


def fixed_split(n_frames: int, test_every: int = 5) -> tuple[list[int], list[int]]:
    """(training pool, test set) indices: frame i is a test frame when i % test_every == 0."""
    if test_every < 2:
        raise ValueError("test_every must be >= 2")
    test = [i for i in range(n_frames) if i % test_every == 0]
    pool = [i for i in range(n_frames) if i % test_every != 0]
    return pool, test


def frames_digest(frames) -> str:
    """sha256 over numbers, positions, cell and DFT labels of the frames."""
    h = hashlib.sha256()
    for atoms in frames:
        for arr in (atoms.numbers, atoms.positions, atoms.cell.array,
                    *(frame_label(atoms, k) for k in ("energy", "forces", "stress"))):
            h.update(np.ascontiguousarray(arr if arr is not None else np.zeros(0), dtype=np.float64).tobytes())
    return h.hexdigest()


def resolve_sizes(sizes, pool_size: int) -> list[int]:
    out = []
    for s in sizes:
        n = pool_size if s in ("all", None, -1) else int(s)
        if n < 1:
            raise ValueError(f"training-set size {s!r} must be >= 1")
        if n > pool_size:
            warnings.warn(f"training-set size {n} > pool of {pool_size} frames: skipped", stacklevel=3)
            continue
        if n not in out:
            out.append(n)
    if not out:
        raise ValueError(f"no training-set size fits the pool of {pool_size} frames")
    return sorted(out)


@dataclass
class LearningCurveResult(JSONResult):
    n_pool: int
    n_test: int
    test_indices: list
    sizes: list
    seeds: list
    fine_tune_settings: dict
    base: dict = field(default_factory=dict)     # metric -> parity stats of the base model (N = 0)
    runs: list = field(default_factory=list)     # {"n", "seed", "train_indices", "metrics", "set_metrics", ...}
    cache_dir: str | None = None
    aggregate: list = field(default_factory=list)  # per test set, N and metric: mean/std/min/max of MAE, slopes
    test_sets: dict = field(default_factory=dict)  # name -> number of frames ("in-distribution": the fixed split)
    base_sets: dict = field(default_factory=dict)  # test set -> metric -> parity stats of the base model

    def table(self) -> list[dict]:
        return self.aggregate

    def summary(self) -> str:
        sets = ", ".join(f"{k} {v}" for k, v in self.test_sets.items()) or f"in-distribution {self.n_test}"
        lines = [f"learning curve: pool {self.n_pool} frames, test sets ({sets} frames), seeds {self.seeds}",
                 f"{'set':<18} {'N':>5} {'metric':<20} {'MAE mean':>10} {'± std':>9} {'slope0 mean':>11} {'± std':>7}"]
        base_sets = self.base_sets or ({"in-distribution": self.base} if self.base else {})
        for set_name, base in base_sets.items():
            for metric, s in base.items():
                lines.append(f"{set_name:<18} {'base':>5} {metric:<20} {s['mae']:>10.4g} {'':>9} "
                             f"{s['slope_origin']:>11.3f}")
        for row in self.aggregate:
            lines.append(f"{row.get('test_set', 'in-distribution'):<18} {row['n']:>5} {row['metric']:<20} "
                         f"{row['mae_mean']:>10.4g} {row['mae_std']:>9.2g} "
                         f"{row['slope_origin_mean']:>11.3f} {row['slope_origin_std']:>7.3f}")
        return "\n".join(lines)


def _run_metrics(run, set_name):
    return run["metrics"] if set_name == "in-distribution" else run.get("set_metrics", {}).get(set_name, {})


def _aggregate(runs, sizes, set_names=("in-distribution",)) -> list[dict]:
    rows = []
    for set_name in set_names:
        rows += _aggregate_set(runs, sizes, set_name)
    return rows


def _aggregate_set(runs, sizes, set_name) -> list[dict]:
    rows = []
    for n in sizes:
        for metric in METRICS:
            stats = [_run_metrics(r, set_name)[metric] for r in runs
                     if r["n"] == n and metric in _run_metrics(r, set_name)]
            if not stats:
                continue
            row = {"test_set": set_name, "n": n, "metric": metric, "n_runs": len(stats)}
            for key in ("mae", "rmse", "r2", "slope_origin", "slope"):
                vals = np.array([s[key] if s[key] is not None else np.nan for s in stats], float)
                row[f"{key}_mean"] = float(np.nanmean(vals))
                row[f"{key}_std"] = float(np.nanstd(vals))
                row[f"{key}_min"] = float(np.nanmin(vals))
                row[f"{key}_max"] = float(np.nanmax(vals))
            rows.append(row)
    return rows


def learning_curve(frames, *, sizes=DEFAULT_SIZES, seeds=(0, 1, 2), test_every: int = 5,
                   test_indices=None, pool_indices=None, epochs: int = 5, base_model="0.3.0",
                   include_base: bool = True, cache_dir=None, fine_tune_kwargs: dict | None = None,
                   progress: bool = False, test_sets: dict | None = None) -> LearningCurveResult:
    """Fine-tune on N frames for each N and seed and evaluate parity on a fixed test set.

    ``frames``: DFT-labelled ASE Atoms.  The test set is ``test_indices`` or, by
    default, every ``test_every``-th frame (see module doc); the pool is the
    rest (or ``pool_indices``).  ``fine_tune_kwargs`` go to
    :func:`ase_ftcalc.fine_tune` (learning rate, freezing, ...).  ``test_sets``:
    ``{name: frames}`` scored beside the fixed split (named ``in-distribution``).
    """
    from tqdm.auto import tqdm

    from ase_ftcalc import FTCalculator, fine_tune

    frames = list(frames)
    if test_indices is None:
        pool_default, test_indices = fixed_split(len(frames), test_every)
    else:
        pool_default = [i for i in range(len(frames)) if i not in set(test_indices)]
    pool = list(pool_indices) if pool_indices is not None else pool_default
    test_indices = [int(i) for i in test_indices]
    if set(pool) & set(test_indices):
        raise ValueError("training pool and test set overlap")
    if not test_indices:
        raise ValueError("empty test set")
    sizes = resolve_sizes(sizes, len(pool))
    seeds = [int(s) for s in seeds]
    test = [frames[i] for i in test_indices]
    extra = {name: list(f) for name, f in (test_sets or {}).items()}
    if "in-distribution" in extra:
        raise ValueError("'in-distribution' names the fixed split; give the other test sets other names")
    settings = {"epochs": epochs, "base_model": str(base_model), **(fine_tune_kwargs or {})}
    cache = None
    if cache_dir:
        # one sub-folder per (frames, split, settings): more frames appended to a file or other
        # settings start a fresh curve instead of mixing with finished runs
        manifest = {"frames_sha256": frames_digest(frames), "pool": [int(i) for i in pool],
                    "test": test_indices, "fine_tune_settings": jsonable(settings)}
        if extra:
            manifest["test_sets_sha256"] = {name: frames_digest(f) for name, f in extra.items()}
        key = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12]
        cache = Path(cache_dir) / key
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "manifest.json").write_text(json.dumps(manifest, indent=2))

    result = LearningCurveResult(n_pool=len(pool), n_test=len(test), test_indices=test_indices, sizes=sizes,
                                 seeds=seeds, fine_tune_settings=jsonable(settings))
    result.cache_dir = str(cache) if cache else None
    result.test_sets = {"in-distribution": len(test), **{name: len(f) for name, f in extra.items()}}
    if include_base:
        base_json = cache / "base.json" if cache else None
        if base_json is not None and base_json.exists():
            stored = json.loads(base_json.read_text())
            result.base_sets = stored if "in-distribution" in stored else {"in-distribution": stored}  # older caches
        else:
            base = FTCalculator(base_model)
            result.base_sets = {name: jsonable(parity({"base": base}, f, keep_values=False).calculators["base"].stats)
                                for name, f in {"in-distribution": test, **extra}.items()}
            if base_json is not None:
                base_json.write_text(json.dumps(result.base_sets, indent=2))
        result.base = result.base_sets["in-distribution"]
    jobs = [(n, s) for n in sizes for s in seeds]
    for n, seed in tqdm(jobs, desc="learning curve", disable=not progress, unit="model"):
        t0 = time.perf_counter()
        chosen = sorted(int(i) for i in np.random.default_rng(seed).choice(pool, n, replace=False))
        stem = f"n{n}_seed{seed}"
        run = {"n": n, "seed": seed, "train_indices": chosen, "reused": False}
        metrics_path = cache / f"{stem}.json" if cache else None
        model_path = cache / f"{stem}.pt" if cache else None
        if metrics_path is not None and metrics_path.exists():
            run.update(json.loads(metrics_path.read_text()), reused=True)
            result.runs.append(run)
            continue
        if model_path is not None and model_path.exists():
            calc = FTCalculator(model_path)
            run["reused"] = True
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*too few for an 8:1:1 split")
                ft = fine_tune([frames[i] for i in chosen], model_path, epochs=epochs, base_model=base_model,
                               split=(1.0, 0.0, 0.0), seed=seed, progress=False, **(fine_tune_kwargs or {}))
            calc = ft.calculator()
            run["train_seconds"] = ft.train_seconds
        res = parity({stem: calc}, test, keep_values=False).calculators[stem]
        run["metrics"] = jsonable(res.stats)
        run["skipped"] = res.skipped
        run["set_metrics"] = {name: jsonable(parity({stem: calc}, f, keep_values=False).calculators[stem].stats)
                              for name, f in extra.items()}
        run["seconds"] = time.perf_counter() - t0
        if metrics_path is not None:
            metrics_path.write_text(json.dumps(jsonable(run), indent=2))
        result.runs.append(run)
    result.aggregate = _aggregate(result.runs, sizes, list(result.test_sets))
    return result


def plot_learning_curve(result: LearningCurveResult, path=None):
    """MAE (top) and slope through the origin (bottom) vs N, log x, error bars = std over seeds;
    one colour per test set, its base model as a dashed line of the same colour."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    units = {"energy_ev_per_atom": ("energy", "meV/atom", 1000), "forces_ev_per_a": ("forces", "eV/Å", 1),
             "stress_gpa": ("stress", "GPa", 1)}
    metrics = [m for m in METRICS if any(r["metric"] == m for r in result.aggregate)]
    set_names = list(result.test_sets) or ["in-distribution"]
    base_sets = result.base_sets or ({"in-distribution": result.base} if result.base else {})
    fig, axes = plt.subplots(2, max(len(metrics), 1), figsize=(4.2 * max(len(metrics), 1), 6.5), squeeze=False)
    colors = color_cycle(len(set_names))
    for col, metric in enumerate(metrics):
        name, unit, scale = units[metric]
        for row_i, (key, label) in enumerate((("mae", f"{name} MAE ({unit})"), ("slope_origin", f"{name} slope"))):
            ax = axes[row_i, col]
            k = scale if key == "mae" else 1
            for color, set_name in zip(colors, set_names):
                rows = [r for r in result.aggregate if r["metric"] == metric
                        and r.get("test_set", "in-distribution") == set_name]
                if not rows:
                    continue
                n = [r["n"] for r in rows]
                ax.errorbar(n, [r[f"{key}_mean"] * k for r in rows], yerr=[r[f"{key}_std"] * k for r in rows],
                            marker="o", capsize=3, color=color, label=f"{set_name} (mean ± std over seeds)")
                for run in result.runs:
                    m = _run_metrics(run, set_name).get(metric, {})
                    if m.get(key) is not None:
                        ax.plot(run["n"], m[key] * k, ".", color=color, alpha=0.4, ms=4)
                base = base_sets.get(set_name, {}).get(metric, {}).get(key)
                if base is not None:
                    ax.axhline(base * k, color=color, ls="--", lw=0.8)
                ax.set_xticks(n, [str(v) for v in n])
            if key == "slope_origin":
                ax.axhline(1.0, color="0.6", lw=0.6)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel("DFT frames used for fine-tuning")
            ax.set_ylabel(label)
            if row_i == 0 and col == 0:
                ax.legend(fontsize=7, title="test set (dashed: base model)", title_fontsize=7)
    return finish(fig, path)
