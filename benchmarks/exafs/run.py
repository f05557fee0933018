"""MD-EXAFS of snapshots: :func:`md_exafs` (and :func:`static_exafs`) and their :class:`ExafsResult`.

1. **Once**: FEFF8L on a cluster of the average structure of the snapshots (or a given reference
   structure, or the structure of a reused engine): potentials, path classes and their members for
   every absorber (:mod:`benchmarks.exafs.setup`).
2. **Per snapshot, only geometry**: the half path length of every member, histogrammed per class
   (:mod:`benchmarks.exafs.histograms`).
3. **At the end**: χ(k) from FEFF's tables (:mod:`benchmarks.exafs.spectra`), multiple scattering
   with amplitudes averaged over sampled instantaneous geometries; optionally the exact per-path FEFF
   on a few (snapshot, absorber) pairs, and the comparison with a measured spectrum.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.results import JSONResult
from . import spectra
from .engine import MDExafs
from .experiment import read_experiment
from .histograms import SnapshotHistograms, align_to, unwrapped
from .transforms import compare, relative_rms_percent


@dataclass
class ExafsResult(JSONResult):
    label: str
    absorber: str
    edge: str
    n_snapshots: int
    n_absorbers: int
    rmax: float
    nleg: int
    k: list                               # Å⁻¹, step 0.05
    chi: list                             # configuration-averaged χ(k), S0² = 1, E0 shift 0
    classes: list                         # per class: index, nleg, reff, degen, members per absorber
    timings_s: dict
    feff_static_k: list = field(default_factory=list)    # FEFF's own chi.dat on the average structure
    feff_static_chi: list = field(default_factory=list)
    exact: dict = field(default_factory=dict)            # exact-mode χ and its rms deviation from the fast mode
    comparison: dict = field(default_factory=dict)       # vs experiment
    settings: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.label or self.absorber} {self.edge}-edge MD-EXAFS: {self.n_snapshots} snapshots × "
                 f"{self.n_absorbers} absorbers, {len(self.classes)} path classes (≤ {self.rmax} Å, ≤ {self.nleg} legs); "
                 + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings_s.items())]
        if "ms_correction_noise_percent" in self.settings:
            lines.append(f"  MS amplitudes averaged over {self.settings['ms_samples_per_class']} sampled geometries per "
                         f"class (statistical error ≈ {self.settings['ms_correction_noise_percent']:.2f} % rms of k²χ)")
        if self.exact:
            corr = " (MS amplitudes sampled)" if self.exact.get("ms_corrected") else ""
            lines.append(f"  fast{corr} vs exact FEFF ({self.exact['n_snapshots']} snapshots × "
                         f"{self.exact['n_absorbers']} absorbers): rms(k²χ) {self.exact['rms_percent']:.2f} % over "
                         f"k={self.exact['k_range']}")
        c = self.comparison
        if c:
            lines.append(f"  vs {c['experiment']}: E0 shift {c['e0']:+.2f} eV, S0² {c['s02']:.3f}, "
                         f"MSE(k²χ) {c['mse_k2chi']:.4g}, MSE(envelope) {c['mse_envelope']:.4g} "
                         f"(relative {c['relative_mse_k2chi']:.3f} / {c['relative_mse_envelope']:.3f}) over k={c['k_range']}")
        return "\n".join(lines)


def md_exafs(frames, *, absorber: str | None = None, edge: str = "K", rmax: float = 6.0, nleg: int = 4,
             scf_radius: float | None = None, experiment=None, kmin: float = 3.0, kmax: float = 16.0,
             e0="fit", s02="fit", exact_snapshots: int = 0, exact_absorbers: int = 1, ms_samples: int = 32,
             seed: int = 0, folder=None, tolerance: float = 0.05, bin_width: float = 0.002, label: str = "",
             progress: bool = False, reference=None, engine: MDExafs | None = None) -> ExafsResult:
    """Configuration-averaged EXAFS of ``frames`` (ASE Atoms, same atoms; e.g. read_snapshots(traj)).

    ``experiment``: a file for ``read_experiment`` or a dict with "k", "chi".  ``exact_snapshots``/
    ``exact_absorbers`` > 0 also run the slow exact mode on the first snapshots/absorbers and report
    the rms deviation of k²χ (fast mode restricted to the same absorbers and snapshots).
    ``ms_samples`` > 0: per multiple-scattering class, that many members at random snapshots (``seed``)
    correct the fast mode for angular disorder (:func:`spectra.sample_ms_amplitudes`; 0 switches it off).
    ``reference``: the structure for the FEFF potentials and path classes instead of the average structure
    (same atoms; e.g. the ideal lattice the MD started from): a short trajectory leaves thermal noise in
    the average that splits FEFF's shells into spurious classes.
    ``engine``: reuse the FEFF set-up (potentials, classes, members) of an ``MDExafs`` built for the same
    atoms, e.g. to compare trajectories of several calculators with identical potentials; its set-up
    (absorber, edge, rmax, nleg, SCF, tolerance, bin width, structure) is what the result records.
    """
    frames = list(frames)
    positions = unwrapped(frames)
    numbers = frames[0].numbers
    if engine is None:
        if absorber is None:
            raise ValueError("give the absorbing element (absorber='W') or an engine")
        if reference is not None:
            positions = align_to(positions, numbers, reference)
            structure, kind = reference.copy(), "reference"
        else:
            from ..dynamics.rdf import mean_structure

            structure, kind = mean_structure(frames, positions)[0], "average"
        engine = MDExafs(structure, absorber=absorber, edge=edge, rmax=rmax, nleg=nleg, scf_radius=scf_radius,
                         folder=folder, tolerance=tolerance, bin_width=bin_width, structure_kind=kind)
    else:
        positions = align_to(positions, numbers, engine.structure)
    setup = engine.setup
    hist = SnapshotHistograms(setup.classes, len(setup.absorbers), r_window=setup.r_window,
                              bin_width=engine.bin_width)
    hist.accumulate_frames(frames, positions, progress=progress)
    timings = {**setup.timings, "geometry": hist.seconds}
    ms = None
    if ms_samples:
        ms = spectra.sample_ms_amplitudes(setup, frames, positions, samples_per_class=ms_samples, seed=seed)
        timings["ms_correction"] = ms.seconds
    spectrum = spectra.chi(hist, setup.kgrid, ms)
    timings["chi"] = spectrum.seconds
    k, chi = spectrum.k, spectrum.chi
    warnings = list(setup.warnings)
    if hist.out_of_range:
        warnings.append(f"{hist.out_of_range} half path lengths outside ±{setup.r_window} Å × legs/2 of their class "
                        "(clipped into the edge bins): the snapshots are far from the average structure")
    classes = [{"index": c.index, "feff_paths": c.feff_paths, "nleg": c.nleg, "reff": c.reff, "degen": c.degen,
                "members_per_absorber": len(c.members) / len(setup.absorbers), "ipots": c.ipots,
                "filtered_paths": c.filtered_paths} for c in setup.classes]
    result = ExafsResult(label=label, absorber=setup.absorber, edge=setup.edge, n_snapshots=len(frames),
                         n_absorbers=len(setup.absorbers), rmax=setup.rmax, nleg=setup.nleg, k=k, chi=chi,
                         classes=classes, timings_s=timings, feff_static_k=setup.static_k,
                         feff_static_chi=setup.static_chi,
                         settings={**setup.provenance, "bin_width": engine.bin_width,
                                   "ms_samples_per_class": ms_samples, "notes": list(setup.notes)},
                         warnings=warnings)
    if spectrum.ms_noise is not None:
        result.settings["ms_correction_noise_percent"] = relative_rms_percent(k, spectrum.ms_noise, chi, kmin, kmax)
    if exact_snapshots and exact_absorbers:
        t0 = time.perf_counter()
        pairs = [(t, int(a)) for t in range(min(exact_snapshots, len(frames))) for a in setup.absorbers[:exact_absorbers]]
        ke, chie = spectra.exact_chi(setup, frames, positions, pairs)
        chif = spectra.fast_chi_pairs(setup, frames, positions, pairs, ms, engine.bin_width)
        result.exact = {"n_snapshots": len({t for t, _ in pairs}), "n_absorbers": len({a for _, a in pairs}),
                        "pairs": pairs, "k": ke, "chi_exact": chie,
                        "chi_fast": chif, "rms_percent": relative_rms_percent(ke, chif - chie, chie, kmin, kmax),
                        "k_range": [kmin, kmax],
                        "ms_corrected": bool(ms is not None and ms.factor), "seconds": time.perf_counter() - t0}
    if experiment is not None:
        exp = experiment if isinstance(experiment, dict) else read_experiment(experiment)
        cmp = compare(k, chi, exp["k"], exp["chi"], kmin=kmin, kmax=kmax, e0=e0, s02=s02,
                      label=Path(str(exp.get("source", "experiment"))).name)
        cmp["experiment_e0_ev"] = exp.get("e0")
        result.comparison = cmp
    return result


def static_exafs(atoms, **kwargs) -> ExafsResult:
    """EXAFS of one structure without disorder (a single 'snapshot'; every member has its class geometry,
    so there is nothing for the MS sampling to correct)."""
    kwargs.setdefault("ms_samples", 0)
    return md_exafs([atoms], **kwargs)
