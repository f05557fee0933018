"""χ(k) of the MD-EXAFS engine: from the histograms (fast), with sampled MS amplitudes, and exact FEFF.

χ(k) follows larch's path formula with σ² = 0 (the disorder comes from the snapshots):
χ = Σ_paths S0² N amp(q)/(q R²) e^{−2R/λ(q)} sin(2qR + φ(q)), q = sqrt(k² − 2m E0/ħ²); FEFF's
amplitude, phase and mean-free-path tables come from the set-up (:mod:`benchmarks.exafs.setup`).
Single scattering is interpolated in R on each class's table grid; multiple scattering takes the
class geometry's tables with the member's instantaneous half path length in 2kR, 1/R² and e^{−2R/λ},
or, with :class:`MSAmplitudes`, the mean complex amplitude over sampled instantaneous geometries.
k in Å⁻¹, R in Å.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .feff import onepath_tables
from .histograms import SnapshotHistograms
from .setup import KSTEP


@dataclass
class MSAmplitudes:
    """Per MS class (FEFF index): mean complex amplitude × e^{−iφ_class} over sampled geometries, its standard error."""

    factor: dict = field(default_factory=dict)
    se: dict = field(default_factory=dict)
    samples_per_class: int = 0
    seconds: float = 0.0


@dataclass
class Spectrum:
    k: np.ndarray
    chi: np.ndarray
    ms_noise: np.ndarray | None = None   # standard error of χ from the MS sampling
    seconds: float = 0.0


def chi(histograms: SnapshotHistograms, kgrid, ms: MSAmplitudes | None = None, s02: float = 1.0) -> Spectrum:
    """Configuration-averaged χ(k) of the accumulated snapshots (E0 shift 0; shift later with ``shift_e0``)."""
    t0 = time.perf_counter()
    factor, factor_se = (ms.factor, ms.se) if ms is not None else ({}, {})
    kk = np.asarray(kgrid)
    q = np.maximum(kk, KSTEP / 2)
    total = np.zeros_like(kk)
    norm = histograms.n_frames * histograms.n_absorbers
    if norm == 0:
        raise ValueError("no snapshots accumulated")
    noise2 = np.zeros_like(kk)
    bin_width = histograms.bin_width
    for n, c in enumerate(histograms.classes):
        w = histograms.hist[n] / norm
        nz = np.flatnonzero(w)
        if not len(nz):
            continue
        # each bin: χ at its centre plus the first-order term in Σ(R − R_centre), so the result is
        # linear in the accumulated histograms (exact averaging) and exact to O((k·bin)²)
        R = histograms.r0[n] + (nz + 0.5) * bin_width
        dR = (histograms.hist_r[n, nz] - histograms.hist[n, nz] * R) / norm
        if c.nleg == 2:
            grid, stack = c.table
            f = (R - grid[0]) / (grid[1] - grid[0])
            i0 = np.clip(np.floor(f).astype(int), 0, len(grid) - 2)
            f = (f - i0)[:, None]
            amp = (1 - f) * stack["amp"][i0] + f * stack["amp"][i0 + 1]
            pha = (1 - f) * stack["pha"][i0] + f * stack["pha"][i0 + 1]
            lam = (1 - f) * stack["lam"][i0] + f * stack["lam"][i0 + 1]
        else:
            t = c.table
            if c.index in factor:   # mean complex amplitude over sampled instantaneous geometries
                z = factor[c.index]
                amp, pha = np.abs(z)[None], (t["pha"] + np.angle(z))[None]
            else:
                amp, pha = t["amp"][None], t["pha"][None]
            lam = t["lam"][None]
        Rc = R[:, None]
        base = amp * np.exp(-2 * Rc / lam) / (q * Rc ** 2)
        arg = 2 * q * Rc + pha
        sin, cos = np.sin(arg), np.cos(arg)
        deriv = base * (2 * q * cos - (2 / Rc + 2 / lam) * sin)
        total += (w[nz, None] * base * sin + dR[:, None] * deriv).sum(axis=0)
        if c.index in factor_se:
            # the sampled amplitude's error, damped like the class term; half its variance (the part in
            # phase with the sine) reaches χ
            damped = np.abs((w[nz, None] * base / np.maximum(amp, 1e-30) * np.exp(2j * q * Rc)).sum(axis=0))
            noise2 += 0.5 * (factor_se[c.index] * damped) ** 2
    total[0] = 2 * total[1] - total[2]
    noise = s02 * np.sqrt(noise2) if factor_se else None
    return Spectrum(k=kk.copy(), chi=s02 * total, ms_noise=noise, seconds=time.perf_counter() - t0)


def sample_ms_amplitudes(setup, frames, positions, samples_per_class: int = 16, seed: int = 0) -> MSAmplitudes:
    """MS amplitudes for what the fast mode ignores: an MS path's FEFF amplitude and phase depend on the
    angles of the instantaneous geometry, not only on its length (focusing paths near 180° lose
    amplitude under disorder).  For ``samples_per_class`` members drawn at random snapshots FEFF runs
    at the instantaneous geometry; the mean complex amplitude amp e^{iφ} over them replaces the class
    geometry's in :func:`chi`, whose length dependence (2kR, 1/R², e^{−2R/λ}) stays with the histograms.
    The amplitude is smooth in k, so a few samples suffice (a per-member difference of χ itself
    oscillates with R and needs far more).  Costs samples × MS classes FEFF paths, independent of the
    snapshot count.  ``positions``: unwrapped, aligned to the set-up structure."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    jobs, owner = [], []
    for c in setup.classes:
        if c.nleg == 2 or not len(c.members):
            continue
        for m, t in zip(rng.integers(len(c.members), size=samples_per_class),
                        rng.integers(len(frames), size=samples_per_class)):
            x = positions[t][c.members[m]] + c.shifts[m] @ frames[t].cell.array
            jobs.append((c.ipots, x - x[0]))
            owner.append(c)
    tables = onepath_tables(setup.folder, jobs) if jobs else []
    samples = {}
    for tab, c in zip(tables, owner):
        t = setup.on_grid(tab)
        samples.setdefault(c.index, []).append(t["amp"] * np.exp(1j * (t["pha"] - c.table["pha"])))
    # e^{iφ_class} is factored out only to keep the phase on the class table's branch
    out = MSAmplitudes(samples_per_class=samples_per_class)
    for c in setup.classes:
        z = np.array(samples.get(c.index, []))
        if len(z):
            out.factor[c.index] = z.mean(axis=0)
            out.se[c.index] = (np.abs(z.std(axis=0, ddof=1)) / np.sqrt(len(z)) if len(z) > 1
                               else np.zeros(len(setup.kgrid)))
    out.seconds = time.perf_counter() - t0
    return out


def path_chi(table: dict, R: float, kgrid) -> np.ndarray:
    q = np.maximum(kgrid, KSTEP / 2)
    return table["amp"] * np.exp(-2 * R / table["lam"]) * np.sin(2 * q * R + table["pha"]) / (q * R ** 2)


def exact_chi(setup, frames, positions, pairs) -> tuple[np.ndarray, np.ndarray]:
    """FEFF per member path at its instantaneous geometry (same potentials, same members, no
    per-snapshot filter), averaged over ``pairs`` [(snapshot, absorber index), ...]: the reference
    the fast mode is checked against (slow)."""
    jobs = []
    for t, a in pairs:
        cell = frames[t].cell.array
        for c in setup.classes:
            sel = c.members[:, 0] == a
            x = positions[t][c.members[sel]] + c.shifts[sel] @ cell
            for geom in x:
                jobs.append((c.ipots, geom - geom[0]))
    tables = onepath_tables(setup.folder, jobs) if jobs else []
    kk = setup.kgrid
    total = np.zeros_like(kk)
    for (ipots, geom), tab in zip(jobs, tables):
        R = 0.5 * np.linalg.norm(np.roll(geom, -1, axis=0) - geom, axis=1).sum()
        total += path_chi(setup.on_grid(tab), R, kk)
    total /= len(pairs)
    total[0] = 2 * total[1] - total[2]
    return kk.copy(), total


def fast_chi_pairs(setup, frames, positions, pairs, ms: MSAmplitudes | None = None,
                   bin_width: float = 0.002) -> np.ndarray:
    """The fast mode restricted to (snapshot, absorber) ``pairs``, for comparisons with :func:`exact_chi`."""
    total = np.zeros_like(setup.kgrid)
    for t, a in pairs:
        hist = SnapshotHistograms([c.restricted([a]) for c in setup.classes], 1, r_window=setup.r_window,
                                  bin_width=bin_width)
        hist.accumulate(positions[t], frames[t].cell.array)
        total += chi(hist, setup.kgrid, ms).chi
    return total / len(pairs)
