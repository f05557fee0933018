"""Stacking energy of a bilayer: sliding path AA→AB→BA→AA and binding curve, calculators side by side.

Rigid monolayers (:func:`ase_ftcalc.dft.bilayer.bilayer`): the top layer slides
by ``t·(1/3, 2/3)`` (fractional) at a fixed metal–metal separation, then the
separation is scanned at one stacking point.  For each calculator:

* sliding energies in meV/atom relative to the natural stacking (t = 1: AB for
  R, AA' = 2H for H), energies of the named points and the AB–BA difference
  (R: E(AB) − E(BA), zero by symmetry for an ideal bilayer; H: E(AB') − E(AA'),
  the two low-energy domains of near-60° twisted bilayers);
* binding curve in meV/atom relative to the largest separation, equilibrium
  separation (parabola through the lowest three points) in Å.

Reference points: PBE-D3 frames from :mod:`ase_ftcalc.dft.bilayer` (each
carries ``bilayer_t`` / ``bilayer_separation`` in ``info``) are put on the same
scales.  Units: eV and Å inside, meV/atom in the result fields that say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult
from ..core.runner import Kernel, run_calculators

NATURAL_T = 1.0  # t of the AB (R) / AA' (H) stacking


def ab_ba_names(stacking: str) -> tuple[str, str]:
    return ("AB", "BA") if stacking == "R" else ("AB'", "AA'")


@dataclass
class StackingResult(JSONResult):
    compound: str
    stacking: str
    n_atoms: int
    separation_sliding_a: float          # Å, metal–metal distance of the sliding scan
    t_sliding: list                      # path parameter, shift = t·(1/3, 2/3) fractional
    path_length_a: list                  # Å along the path
    named_t: dict                        # {name: t}
    t_separation: float                  # stacking point of the separation scan
    separations_a: list                  # Å
    calculators: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    def table(self) -> list[dict]:
        entries = dict(self.calculators)
        if self.reference:
            entries["DFT reference"] = self.reference
        a_name, b_name = ab_ba_names(self.stacking)

        def row(name, res):
            named = {f"E({k}) meV/atom": v for k, v in (res.get("named_mev_per_atom") or {}).items()}
            return [{"calculator": name, **named,
                     f"E({a_name})-E({b_name}) meV/atom": res.get("ab_minus_ba_mev_per_atom"),
                     "binding meV/atom": res.get("binding_mev_per_atom"),
                     "d_eq Å": res.get("equilibrium_separation_a")}]

        return self.calculator_rows(row, entries)

    def summary(self) -> str:
        a_name, b_name = ab_ba_names(self.stacking)
        lines = [f"{self.compound} bilayer, {self.stacking} stacking, {self.n_atoms} atoms, sliding at "
                 f"d(M–M) = {self.separation_sliding_a:.3f} Å (energies meV/atom, relative to t=1)"]
        for row in self.table():
            if "error" in row:
                lines.append(f"  {row['calculator']:<16} failed: {row['error']}")
                continue
            named = "  ".join(f"{k.split()[0]} {v:+.3f}" for k, v in row.items()
                              if k.startswith("E(") and "-" not in k and v is not None)
            diff = row[f"E({a_name})-E({b_name}) meV/atom"]
            binding, d_eq = row["binding meV/atom"], row["d_eq Å"]
            lines.append(f"  {row['calculator']:<16} {named}  {a_name}−{b_name} {diff:+.3f}"
                         + (f"  binding {binding:.2f}" if binding is not None else "")
                         + (f"  d_eq {d_eq:.3f} Å" if d_eq is not None else ""))
        return "\n".join(lines)


def _energy(calc, atoms) -> float:
    work = atoms.copy()
    work.calc = calc
    return float(work.get_potential_energy())


def _equilibrium(seps, energies):
    seps, energies = np.asarray(seps, float), np.asarray(energies, float)
    k = int(np.argmin(energies))
    if k == 0 or k == len(seps) - 1:
        return None  # minimum at the edge of the scan
    x, y = seps[k - 1:k + 2], energies[k - 1:k + 2]
    c2, c1, _ = np.polyfit(x, y, 2)
    return float(-c1 / (2 * c2)) if c2 > 0 else None


def _analyse(ts, e_slide, seps, e_sep, n_atoms, stacking, named_t) -> dict:
    """meV/atom curves and derived numbers from absolute energies (eV) on (possibly sparse) grids."""
    out: dict = {}
    ts = np.asarray(ts, float)
    if len(ts):
        e_slide = np.asarray(e_slide, float)
        at = np.flatnonzero(np.isclose(ts, NATURAL_T))
        zero = e_slide[at[0]] if len(at) else e_slide.min()
        rel = 1000 * (e_slide - zero) / n_atoms
        out.update(t_sliding=ts.tolist(), sliding_ev=e_slide.tolist(), sliding_mev_per_atom=rel.tolist())
        named = {}
        for name, t in named_t.items():
            hit = np.flatnonzero(np.isclose(ts, t))
            if len(hit):
                named[name] = float(rel[hit[0]])
        out["named_mev_per_atom"] = named
        a_name, b_name = ab_ba_names(stacking)
        out["ab_minus_ba_mev_per_atom"] = (named[a_name] - named[b_name]
                                           if a_name in named and b_name in named else None)
        out["sliding_barrier_mev_per_atom"] = float(rel.max() - rel.min())
    if len(seps):
        e_sep = np.asarray(e_sep, float)
        far = int(np.argmax(seps))
        rel = 1000 * (e_sep - e_sep[far]) / n_atoms
        out.update(separations_a=list(map(float, seps)), separation_ev=e_sep.tolist(),
                   separation_mev_per_atom=rel.tolist(), binding_mev_per_atom=float(rel.min()),
                   equilibrium_separation_a=_equilibrium(seps, e_sep))
    return out


def reference_from_frames(frames, stacking: str, named_t: dict, t_separation: float) -> dict:
    """Sliding and separation points of labelled bilayer frames (``info['bilayer_t']``, ``bilayer_separation``)."""
    if not frames:
        return {}
    seps_slide = [f.info.get("bilayer_separation") for f in frames]
    # sliding frames: the separation most frames share; separation frames: the t of the scan
    values, counts = np.unique(np.round(np.asarray(seps_slide, float), 4), return_counts=True)
    d_slide = values[np.argmax(counts)]
    ts, e_ts, seps, e_seps = [], [], [], []
    n_atoms = len(frames[0])
    for f in frames:
        if f.info.get("bilayer_stacking", stacking) != stacking:
            continue
        t, d, e = f.info.get("bilayer_t"), float(f.info["bilayer_separation"]), f.get_potential_energy()
        if t is not None and np.isclose(d, d_slide, atol=1e-4):
            ts.append(float(t))
            e_ts.append(e)
        if t is not None and np.isclose(t, t_separation):
            seps.append(d)
            e_seps.append(e)
    if len(seps) < 2:
        seps, e_seps = [], []
    order = np.argsort(ts)
    res = _analyse(np.asarray(ts)[order], np.asarray(e_ts)[order], seps, e_seps, n_atoms, stacking, named_t)
    res["separation_sliding_a"] = float(d_slide)
    return res


@dataclass
class BilayerScan(Kernel):
    """Energies of one calculator along the sliding path and the binding curve (frames given), analysed."""

    ts: list
    separations: list
    stacking: str
    named_t: dict
    progress: bool = False
    desc = "stacking"

    def calc(self, frames, calculator, label: str = "") -> dict:
        from tqdm.auto import tqdm

        e_slide = [_energy(calculator, f) for f in tqdm(frames["sliding"], desc=f"{label} sliding",
                                                        disable=not self.progress)]
        e_sep = [_energy(calculator, f) for f in tqdm(frames["separation"], desc=f"{label} separation",
                                                      disable=not self.progress)]
        return _analyse(self.ts, e_slide, self.separations, e_sep, len(frames["sliding"][0]), self.stacking,
                        self.named_t)


def stacking(calculators, *, compound: str = "MoS2", stacking: str = "H", n_per_segment: int = 6,
             separation: float | None = None, separations=None, t_separation: float = NATURAL_T,
             vacuum: float = 15.0, reference_frames=None, progress: bool = False) -> StackingResult:
    """Sliding path and binding curve of a rigid bilayer for each calculator (see module doc).

    ``separations``: Å (default bulk d(M–M) − 0.6 … + 3.0); ``reference_frames``:
    labelled frames from :func:`ase_ftcalc.dft.bilayer.generate_bilayer` /
    :func:`~ase_ftcalc.dft.bilayer.label_frames`.
    """
    from ase_ftcalc.structures import STACKING_NAMES, bilayer, monolayer_geometry, sliding_ts

    geo = monolayer_geometry(compound)
    d0 = geo["separation"] if separation is None else float(separation)
    if separations is None:
        separations = d0 + np.array([-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.7, 1.0, 1.5, 2.0, 3.0])
    separations = [float(x) for x in separations]
    ts = sliding_ts(n_per_segment)
    named_t = {name: float(i) for i, name in enumerate(STACKING_NAMES[stacking])}
    slide_frames = [bilayer(compound, t, stacking=stacking, separation=d0, vacuum=vacuum) for t in ts]
    sep_frames = [bilayer(compound, t_separation, stacking=stacking, separation=d, vacuum=vacuum)
                  for d in separations]
    n_atoms = len(slide_frames[0])
    a = geo["a"]
    result = StackingResult(compound=compound, stacking=stacking, n_atoms=n_atoms, separation_sliding_a=d0,
                            t_sliding=ts.tolist(), path_length_a=(ts * a / np.sqrt(3)).tolist(),
                            named_t=named_t, t_separation=float(t_separation), separations_a=separations)
    kernel = BilayerScan(ts=ts.tolist(), separations=separations, stacking=stacking, named_t=named_t,
                         progress=progress)
    for name, outcome in run_calculators(calculators, kernel, {"sliding": slide_frames, "separation": sep_frames}
                                         ).items():
        result.calculators[name] = outcome.value if outcome.ok else {"error": outcome.error}
        result.seconds[name] = outcome.seconds
    if reference_frames:
        result.reference = reference_from_frames(list(reference_frames), stacking, named_t, float(t_separation))
    return result


def plot_stacking(result: StackingResult):
    """Two panels: sliding path (meV/atom vs Å along the path) and binding curve (meV/atom vs Å)."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    a_over_sqrt3 = result.path_length_a[1] / result.t_sliding[1] if len(result.t_sliding) > 1 else 1.0
    colors = color_cycle(len(result.calculators) + 1)
    for (name, res), color in zip(result.calculators.items(), colors):
        if "error" in res:
            continue
        x = np.append(res["t_sliding"], 3.0) * a_over_sqrt3
        y = np.append(res["sliding_mev_per_atom"], res["sliding_mev_per_atom"][0])  # periodic: back to t=0
        ax1.plot(x, y, "-", color=color, label=name)
        ax2.plot(res["separations_a"], res["separation_mev_per_atom"], "-o", ms=3, color=color, label=name)
    ref = result.reference
    if ref:
        if ref.get("t_sliding"):
            ax1.plot(np.asarray(ref["t_sliding"]) * a_over_sqrt3, ref["sliding_mev_per_atom"], "k*", ms=9,
                     label="DFT reference")
        if ref.get("separations_a"):
            ax2.plot(ref["separations_a"], ref["separation_mev_per_atom"], "k*", ms=9, label="DFT reference")
    for name, t in result.named_t.items():
        ax1.axvline(t * a_over_sqrt3, color="0.8", lw=0.8, zorder=0)
        ax1.text(t * a_over_sqrt3, 1.0, name, transform=ax1.get_xaxis_transform(), ha="center", va="bottom",
                 fontsize=9)
    ax1.set_xlabel("sliding distance (Å)")
    ax1.set_ylabel("E − E(t=1) (meV/atom)")
    ax1.set_title(f"{result.compound} {result.stacking}-stacked bilayer, d = {result.separation_sliding_a:.2f} Å",
                  fontsize=10, pad=16)
    ax2.set_xlabel("metal–metal interlayer distance (Å)")
    ax2.set_ylabel("E − E(far) (meV/atom)")
    names = list(result.named_t)
    ax2.set_title(f"binding curve at {names[int(round(result.t_separation)) % 3]}", fontsize=10, pad=16)
    ax2.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax1.legend(fontsize=8)
    return finish(fig)
