"""Parity of ASE calculators against DFT-labelled frames: energies, forces, stresses.

Energies are compared per atom after removing the constant offset between
model and DFT (absolute energies differ by element-dependent references):
one offset per composition, or, when the frames have several compositions and
``energy_offset="element"`` (the default "auto" picks it then), per-element
reference energies fitted by least squares.  The reported energy values are
relative to the reference's own per-composition (per-element) baseline, so
that the slope through the origin measures how the model scales energy
differences (vanilla CHGNet vs PBE-D3 on WS2: ≈ 0.6).  Forces: all Cartesian
components (eV/Å).  Stress: the six Voigt components (xx, yy, zz, yz, xz, xy)
in GPa, ASE's sign (positive = tensile).

Calculators that fail on a frame are recorded per frame and the run goes on;
a metric whose labels are missing from all frames is skipped with a reason.

Leakage: a fine-tuned model file records fingerprints of the frames it trained
and validated on (``FTCalculator.training_fingerprints``).  A frame seen by any
of the calculators is left out for all of them (``seen="exclude"``, the
default, so every calculator is scored on the same unseen frames) or kept and
marked (``seen="flag"``); either way a warning names how many, and the result
lists them in ``seen_frames``.  :func:`parity_sets` scores named test sets
(e.g. ``in-distribution``, ``c-strain``, ``md-600K``) separately.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.frames import frame_label
from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult
from ..core.runner import Kernel, calculator_set, run_calculators

METRICS = ("energy_ev_per_atom", "forces_ev_per_a", "stress_gpa")


@dataclass
class CalculatorParity(JSONResult):
    """Parity of one calculator; ``stats[metric]`` from :func:`ase_ftcalc.metrics.parity_stats`."""

    n_frames: int
    stats: dict = field(default_factory=dict)              # metric -> mae, rmse, r2, slope_origin, slope, intercept, n
    energy_offset_mode: str = "composition"
    energy_offsets_ev_per_atom: dict = field(default_factory=dict)  # composition (or element) -> model - DFT
    skipped: dict = field(default_factory=dict)            # metric -> reason
    failures: list = field(default_factory=list)           # {"frame": i, "source": ..., "error": ...}
    seconds: float = 0.0
    batch_error: str | None = None                         # why batched evaluation failed (then frame by frame)
    values: dict = field(default_factory=dict)             # metric -> {"reference": [...], "predicted": [...]}


@dataclass
class ParityResult(JSONResult):
    n_frames: int
    frame_sources: list
    calculators: dict                                       # name -> CalculatorParity
    seen_frames: dict = field(default_factory=dict)         # calculator -> sources of frames it trained/validated on
    seen_policy: str = "exclude"                            # "exclude": left out for every calculator; "flag": kept
    n_excluded: int = 0

    def to_dict(self, values: bool = True) -> dict:
        out = super().to_dict()
        if not values:
            for calc in out["calculators"].values():
                calc.pop("values", None)
        return out

    @classmethod
    def from_dict(cls, data: dict):
        calcs = {name: CalculatorParity.from_dict(c) for name, c in data["calculators"].items()}
        return cls(n_frames=data["n_frames"], frame_sources=data["frame_sources"], calculators=calcs,
                   seen_frames=data.get("seen_frames", {}), seen_policy=data.get("seen_policy", "exclude"),
                   n_excluded=data.get("n_excluded", 0))

    def table(self) -> list[dict]:
        """One row per calculator and metric (MAE in eV/atom, eV/Å, GPa)."""
        rows = []
        for name, res in self.calculators.items():
            for metric in METRICS:
                if metric in res.stats:
                    rows.append({"calculator": name, "metric": metric, **res.stats[metric]})
                else:
                    rows.append({"calculator": name, "metric": metric,
                                 "skipped": res.skipped.get(metric, "not computed")})
        return rows

    def summary(self) -> str:
        lines = [f"parity on {self.n_frames} frames"]
        if self.seen_frames:
            seen = ", ".join(f"{name}: {len(v)}" for name, v in self.seen_frames.items())
            what = (f"left out {self.n_excluded} frame(s)" if self.seen_policy == "exclude"
                    else "KEPT (scores include training frames)")
            lines.append(f"  frames a model trained/validated on ({seen}): {what}")
        for name, res in self.calculators.items():
            parts = []
            for metric, unit, scale in (("energy_ev_per_atom", "meV/atom", 1000), ("forces_ev_per_a", "eV/Å", 1),
                                        ("stress_gpa", "GPa", 1)):
                s = res.stats.get(metric)
                if s is None:
                    parts.append(f"{metric}: skipped ({res.skipped.get(metric)})")
                else:
                    parts.append(f"{metric.split('_')[0]} MAE {s['mae'] * scale:.3g} {unit}, "
                                 f"slope0 {s['slope_origin']:.3f} (n = {s['n']}), R² {s['r2']:.3f}")
            fail = f"; {len(res.failures)} failed frame(s)" if res.failures else ""
            lines.append(f"  {name}: " + "; ".join(parts) + fail)
        return "\n".join(lines)


def _composition(atoms) -> str:
    from ase.formula import Formula

    return Formula(atoms.get_chemical_formula()).reduce()[0].format("metal")


@dataclass
class Predictions(Kernel):
    """Energy, forces and stress of every frame with one calculator: ``{"frames": [...], "batch_error": ...}``.

    Each entry of ``frames`` is a dict (energy eV, forces eV/Å, stress eV/Å³ or the exception the
    calculator raised for stress alone) or the exception raised for that frame.  A calculator that
    evaluates many structures at once offers ``predict_batch(frames, batch_size=, stress=, progress=)``
    (e.g. :class:`ase_ftcalc.FTCalculator`); if that fails, the frames are evaluated one by one and the
    batch error is kept in ``batch_error`` (and warned about), so one bad frame does not hide the others.
    """

    batch_size: int = 16
    progress: bool = False
    desc = "parity"

    def calc(self, frames, calculator, label: str = "") -> dict:
        batch = getattr(calculator, "predict_batch", None)
        batch_error = None
        if callable(batch):
            try:
                res = batch(frames, batch_size=self.batch_size, stress=True, progress=self.progress)
                return {"frames": [{"energy": r["energy"], "forces": r["forces"], "stress": r["stress"]}
                                   for r in res], "batch_error": None}
            except Exception as err:  # noqa: BLE001 - one bad frame spoils a batch: go on frame by frame
                batch_error = f"{type(err).__name__}: {err}"
                warnings.warn(f"{label}: batched evaluation failed ({batch_error}); evaluating frame by frame",
                              RuntimeWarning, stacklevel=2)
        return {"frames": self._one_by_one(frames, calculator, label), "batch_error": batch_error}

    def _one_by_one(self, frames, calculator, label):
        from tqdm.auto import tqdm

        out = []
        for atoms in tqdm(frames, desc=f"{self.desc} {label}", disable=not self.progress, unit="frame"):
            work = atoms.copy()
            work.calc = calculator
            try:
                energy = float(work.get_potential_energy())
                forces = np.array(work.get_forces(), dtype=float)
            except Exception as err:  # noqa: BLE001 - any calculator error is recorded, the run goes on
                out.append(err)
                continue
            try:
                stress = np.array(work.get_stress(voigt=True), dtype=float)
            except Exception as err:  # noqa: BLE001 - e.g. PropertyNotImplementedError
                stress = err
            out.append({"energy": energy, "forces": forces, "stress": stress})
        return out


def _energy_design(frames, mode: str):
    """Design matrix of the offset fit: one-hot composition, or element fractions."""
    if mode == "composition":
        keys = sorted({_composition(a) for a in frames})
        design = np.array([[float(_composition(a) == k) for k in keys] for a in frames])
    else:
        keys = sorted({s for a in frames for s in a.get_chemical_symbols()})
        design = np.array([[a.get_chemical_symbols().count(k) / len(a) for k in keys] for a in frames])
    return keys, design


def offset_corrected_energies(frames, e_ref, e_pred, mode: str = "auto"):
    """Offset-corrected per-atom energies (reference, predicted) and the fitted offsets (eV/atom).

    ``e_ref``/``e_pred``: per-atom energies.  Both returned arrays are relative to
    the reference's least-squares baseline (per composition or per element), the
    prediction additionally shifted by the fitted model - DFT offset.
    """
    e_ref, e_pred = np.asarray(e_ref, float), np.asarray(e_pred, float)
    if mode == "auto":
        mode = "composition" if len({_composition(a) for a in frames}) == 1 else "element"
    if mode == "none":
        return e_ref, e_pred, mode, {}
    if mode not in ("composition", "element"):
        raise ValueError(f"energy_offset must be auto, composition, element or none, not {mode!r}")
    keys, design = _energy_design(frames, mode)
    offset = np.linalg.lstsq(design, e_pred - e_ref, rcond=None)[0]
    baseline = np.linalg.lstsq(design, e_ref, rcond=None)[0]
    x = e_ref - design @ baseline
    y = e_pred - design @ offset - design @ baseline
    return x, y, mode, {k: float(v) for k, v in zip(keys, offset)}


def seen_by(calculators: dict, frames) -> dict[str, list[int]]:
    """``{name: [frame indices]}`` of the frames each calculator trained or validated on (models that say)."""
    from ase_ftcalc.frames import seen_mask

    out = {}
    for name, calc in calculators.items():
        prints = getattr(calc, "training_fingerprints", None)
        if prints:
            idx = [i for i, m in enumerate(seen_mask(frames, prints)) if m]
            if idx:
                out[name] = idx
    return out


def parity(calculators, frames, *, energy_offset: str = "auto", batch_size: int = 16,
           progress: bool = False, keep_values: bool = True, seen: str = "exclude") -> ParityResult:
    """Parity statistics of each calculator against the DFT labels of ``frames``.

    ``calculators``: ``{name: ASE calculator}`` (or one calculator).  ``frames``:
    ASE Atoms whose calculator/info holds DFT energy (eV), forces (eV/Å) and
    optionally stress (eV/Å³, ASE sign).  Calculators with a ``predict_batch`` method
    (FTCalculator) are evaluated in batches (see :class:`Predictions`).
    ``seen``: what to do with frames a fine-tuned model trained or validated on
    (see module doc): ``"exclude"`` (default) or ``"flag"``.
    """
    from ase import units

    from ase_ftcalc.metrics import parity_stats

    if seen not in ("exclude", "flag"):
        raise ValueError(f"seen must be 'exclude' or 'flag', not {seen!r}")
    frames = list(frames)
    if not frames:
        raise ValueError("parity: no frames")
    calculators = calculator_set(calculators)
    all_sources = [str(a.info.get("source", f"frame {i}")) for i, a in enumerate(frames)]
    seen_idx = seen_by(calculators, frames)
    seen_frames = {name: [all_sources[i] for i in idx] for name, idx in seen_idx.items()}
    n_excluded = 0
    if seen_idx:
        union = sorted({i for idx in seen_idx.values() for i in idx})
        who = ", ".join(f"{name} ({len(idx)})" for name, idx in seen_idx.items())
        if seen == "exclude":
            n_excluded = len(union)
            frames = [a for i, a in enumerate(frames) if i not in set(union)]
            warnings.warn(f"parity: {len(union)} frame(s) were seen in training/validation by {who}: left out "
                          "for every calculator", stacklevel=2)
            if not frames:
                raise ValueError("parity: every frame was seen in training by a model; no unseen frame to score on")
        else:
            warnings.warn(f"parity: {len(union)} frame(s) were seen in training/validation by {who}: kept, so "
                          "these scores include training frames", stacklevel=2)
    sources = [str(a.info.get("source", f"frame {i}")) for i, a in enumerate(frames)]
    labels = [{k: frame_label(a, k) for k in ("energy", "forces", "stress")} for a in frames]
    results = {}
    outcomes = run_calculators(calculators, Predictions(batch_size=batch_size, progress=progress), frames)
    for name, outcome in outcomes.items():
        res = CalculatorParity(n_frames=len(frames), seconds=outcome.seconds)
        # an error of the whole calculator (not of one frame) fails every frame alike
        preds = outcome.value["frames"] if outcome.ok else [outcome.error] * len(frames)
        res.batch_error = outcome.value["batch_error"] if outcome.ok else None
        ok = []
        for i, p in enumerate(preds):
            if isinstance(p, (Exception, str)):
                error = p if isinstance(p, str) else f"{type(p).__name__}: {p}"
                res.failures.append({"frame": i, "source": sources[i], "error": error})
            else:
                ok.append(i)
        # energies
        e_idx = [i for i in ok if labels[i]["energy"] is not None]
        if not e_idx:
            res.skipped["energy_ev_per_atom"] = ("no frame has a DFT energy" if all(
                lab["energy"] is None for lab in labels) else "the calculator failed on every frame with an energy")
        else:
            sub = [frames[i] for i in e_idx]
            e_ref = [float(labels[i]["energy"]) / len(frames[i]) for i in e_idx]
            e_pred = [preds[i]["energy"] / len(frames[i]) for i in e_idx]
            x, y, mode, offsets = offset_corrected_energies(sub, e_ref, e_pred, energy_offset)
            res.energy_offset_mode, res.energy_offsets_ev_per_atom = mode, offsets
            res.stats["energy_ev_per_atom"] = parity_stats(x, y)
            res.values["energy_ev_per_atom"] = {"reference": x, "predicted": y}
        # forces
        f_idx = [i for i in ok if labels[i]["forces"] is not None]
        bad_shape = [sources[i] for i in f_idx if np.shape(labels[i]["forces"]) != (len(frames[i]), 3)]
        if bad_shape:
            raise ValueError(f"{bad_shape[0]}: forces do not have shape (n_atoms, 3)")
        if not f_idx:
            res.skipped["forces_ev_per_a"] = "no frame has DFT forces" if all(
                lab["forces"] is None for lab in labels) else "the calculator failed on every frame with forces"
        else:
            x = np.concatenate([labels[i]["forces"].ravel() for i in f_idx])
            y = np.concatenate([np.asarray(preds[i]["forces"]).ravel() for i in f_idx])
            res.stats["forces_ev_per_a"] = parity_stats(x, y)
            res.values["forces_ev_per_a"] = {"reference": x, "predicted": y}
        # stress
        s_lab = [i for i in ok if labels[i]["stress"] is not None and frames[i].pbc.all()]
        s_idx = [i for i in s_lab if not isinstance(preds[i]["stress"], Exception)]
        if not any(lab["stress"] is not None and a.pbc.all() for lab, a in zip(labels, frames)):
            res.skipped["stress_gpa"] = "no periodic frame has a DFT stress"
        elif not s_lab:
            res.skipped["stress_gpa"] = "the calculator failed on every frame with a stress"
        elif not s_idx:
            err = preds[s_lab[0]]["stress"]
            res.skipped["stress_gpa"] = f"the calculator gives no stress ({type(err).__name__}: {err})"
        else:
            x = np.concatenate([labels[i]["stress"] for i in s_idx]) / units.GPa
            y = np.concatenate([preds[i]["stress"] for i in s_idx]) / units.GPa
            res.stats["stress_gpa"] = parity_stats(x, y)
            res.values["stress_gpa"] = {"reference": x, "predicted": y}
            if len(s_idx) < len(frames):
                res.stats["stress_gpa"]["note"] = f"{len(s_idx)} of {len(frames)} frames have stress"
        if not keep_values:
            res.values = {}
        results[name] = res
    return ParityResult(n_frames=len(frames), frame_sources=sources, calculators=results, seen_frames=seen_frames,
                        seen_policy=seen, n_excluded=n_excluded)


@dataclass
class ParitySetsResult(JSONResult):
    """Parity on several named test sets, each scored separately (like the seed paper's TS1–TS4)."""

    sets: dict                                               # name -> ParityResult

    @classmethod
    def from_dict(cls, data: dict):
        return cls(sets={name: ParityResult.from_dict(r) for name, r in data["sets"].items()})

    def to_dict(self, values: bool = True) -> dict:
        return {"sets": {name: r.to_dict(values=values) for name, r in self.sets.items()}}

    def table(self) -> list[dict]:
        return [{"test_set": name, **row} for name, r in self.sets.items() for row in r.table()]

    def summary(self) -> str:
        return "\n".join(f"[{name}] " + r.summary() for name, r in self.sets.items())


def parity_sets(calculators, test_sets: dict, **kwargs) -> ParitySetsResult:
    """:func:`parity` on each named test set ``{name: frames}``; the calculators are built once."""
    if not test_sets:
        raise ValueError("parity_sets: no test sets")
    calculators = calculator_set(calculators)
    return ParitySetsResult(sets={name: parity(calculators, frames, **kwargs) for name, frames in test_sets.items()})


PANELS = (("energy_ev_per_atom", "energy (eV/atom, offset-corrected)", "meV/atom", 1000),
          ("forces_ev_per_a", "force component (eV/Å)", "eV/Å", 1),
          ("stress_gpa", "stress component (GPa)", "GPa", 1))


def _panel(ax, result: ParityResult, metric, label, unit, scale, colors, rng, max_points):
    lo, hi = np.inf, -np.inf
    for color, (name, res) in zip(colors, result.calculators.items()):
        vals, stats = res.values.get(metric), res.stats.get(metric)
        if vals is None or stats is None:
            continue
        x, y = np.asarray(vals["reference"]), np.asarray(vals["predicted"])
        if x.size > max_points:
            keep = rng.choice(x.size, max_points, replace=False)
            x, y = x[keep], y[keep]
        ax.scatter(x, y, s=6, alpha=0.6, color=color,
                   label=f"{name}: slope {stats['slope_origin']:.2f} (n={stats['n']}), "
                         f"MAE {stats['mae'] * scale:.3g} {unit}")
        lo, hi = min(lo, x.min(), y.min()), max(hi, x.max(), y.max())
    if np.isfinite(lo):
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, label="y = x")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.legend(fontsize=7, loc="upper left")
    else:
        ax.text(0.5, 0.5, "skipped", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(f"DFT {label}")
    ax.set_ylabel(f"model {label}")
    ax.set_aspect("equal", adjustable="box")


def plot_parity(result: ParityResult, path=None, *, max_points: int = 20000):
    """Three panels (E, F, σ), one colour per calculator, y = x, slope (with n) and MAE in the legend."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    colors = color_cycle(len(result.calculators))
    rng = np.random.default_rng(0)
    for ax, panel in zip(axes, PANELS):
        _panel(ax, result, *panel, colors, rng, max_points)
    return finish(fig, path)


def plot_parity_sets(result: ParitySetsResult, path=None, *, max_points: int = 20000):
    """One row of (E, F, σ) panels per named test set, titled with the set and its frame count."""
    import matplotlib.pyplot as plt

    n = len(result.sets)
    fig, axes = plt.subplots(n, 3, figsize=(13, 4.4 * n), squeeze=False)
    rng = np.random.default_rng(0)
    for row, (name, res) in zip(axes, result.sets.items()):
        colors = color_cycle(len(res.calculators))
        for ax, panel in zip(row, PANELS):
            _panel(ax, res, *panel, colors, rng, max_points)
        row[0].set_title(f"test set {name}: {res.n_frames} frames"
                         + (f" ({res.n_excluded} seen in training left out)" if res.n_excluded else ""),
                         loc="left", fontsize=10)
    return finish(fig, path)
