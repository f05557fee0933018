"""Fourier transform and metrics of EXAFS spectra: taper window, χ(R), envelope, E0 shift, comparison.

k in Å⁻¹ on the engine's grid (step 0.05 from 0), R in Å, E0 in eV.
"""
from __future__ import annotations

import numpy as np

from .setup import KSTEP

ETOK = 0.2624682843   # 2m/ħ² in eV⁻¹ Å⁻²: k² = ETOK · E


def taper_window(k, kmin: float = 3.0, kmax: float = 16.0, fraction: float = 0.1) -> np.ndarray:
    """1 on [kmin + w, kmax − w], Gaussian tapers of standard deviation w/3 over the w = fraction·(kmax − kmin)
    at both ends (down to e^{−4.5} ≈ 0.011 at kmin and kmax), 0 outside [kmin, kmax]."""
    k = np.asarray(k, dtype=float)
    w = fraction * (kmax - kmin)
    out = np.ones_like(k)
    lo, hi = kmin + w, kmax - w
    s = w / 3.0
    out = np.where(k < lo, np.exp(-0.5 * ((k - lo) / s) ** 2), out)
    out = np.where(k > hi, np.exp(-0.5 * ((k - hi) / s) ** 2), out)
    out[(k < kmin) | (k > kmax)] = 0.0
    return out


def fourier_transform(k, chi, *, kweight: int = 2, kmin: float = 3.0, kmax: float = 16.0, fraction: float = 0.1,
                      rmax: float = 10.0, nfft: int = 2048) -> dict:
    """χ(R) = (δk/√π) Σ w(k) k^w χ(k) e^{2ikR} (larch's normalisation) on a uniform k grid from 0."""
    kk = KSTEP * np.arange(int(round(max(k) / KSTEP)) + 1)
    y = np.interp(kk, k, chi, left=0.0, right=0.0) * kk ** kweight * taper_window(kk, kmin, kmax, fraction)
    buf = np.zeros(nfft, dtype=complex)
    buf[:len(y)] = y
    out = KSTEP / np.sqrt(np.pi) * np.fft.fft(buf)[: nfft // 2]
    r = np.pi / (KSTEP * nfft) * np.arange(nfft // 2)
    m = r <= rmax
    # e^{+2ikR} convention: conjugate numpy's e^{−2πi…}
    out = np.conj(out[m])
    return {"r": r[m], "mag": np.abs(out), "re": out.real, "im": out.imag}


def envelope(y) -> np.ndarray:
    """|analytic signal| of ``y`` (Hilbert transform): the envelope of an oscillating spectrum."""
    from scipy.signal import hilbert

    return np.abs(hilbert(y))


def shift_e0(k, chi, e0: float):
    """χ evaluated with an E0 shift: χ_e0(k) = χ(q), q = sqrt(k² − ETOK·E0) (0 where k² < ETOK·E0)."""
    q2 = np.asarray(k) ** 2 - ETOK * e0
    q = np.sqrt(np.clip(q2, 0, None))
    return np.where(q2 > 0, np.interp(q, k, chi), 0.0)


def compare(k, chi, k_exp, chi_exp, *, kmin: float = 3.0, kmax: float = 16.0, kweight: int = 2,
            e0="fit", s02="fit", e0_range=(-10.0, 10.0), label: str = "experiment") -> dict:
    """MSE of k^w χ and of its envelope (Hilbert transform) over [kmin, kmax]; E0 shift and S0² optional fits."""
    kk = KSTEP * np.arange(int(round(min(max(k), max(k_exp)) / KSTEP)) + 1)
    model0 = np.interp(kk, k, chi)
    exp = np.interp(kk, k_exp, chi_exp, left=0.0) * kk ** kweight
    m = (kk >= kmin) & (kk <= kmax)
    env_exp = envelope(exp * (kk >= 1.0))

    def evaluate(e):
        mod = shift_e0(kk, model0, e) * kk ** kweight
        if s02 == "fit":
            s = float(np.dot(mod[m], exp[m]) / max(np.dot(mod[m], mod[m]), 1e-30))
        else:
            s = float(s02)
        return float(np.mean((s * mod[m] - exp[m]) ** 2)), s, mod

    if e0 == "fit":
        grid = np.arange(e0_range[0], e0_range[1] + 1e-9, 0.1)
        errs = [evaluate(e)[0] for e in grid]
        e_best = float(grid[int(np.argmin(errs))])
    else:
        e_best = float(e0)
    mse, s, mod = evaluate(e_best)
    mod = s * mod
    env_mod = envelope(mod * (kk >= 1.0))
    mse_env = float(np.mean((env_mod[m] - env_exp[m]) ** 2))
    ref = float(np.mean(exp[m] ** 2))
    ref_env = float(np.mean(env_exp[m] ** 2))
    return {"experiment": label, "k_range": [kmin, kmax], "kweight": kweight, "e0": e_best, "s02": s,
            "mse_k2chi": mse, "mse_envelope": mse_env, "relative_mse_k2chi": mse / ref,
            "relative_mse_envelope": mse_env / ref_env, "k": kk, "model_kwchi": mod, "experiment_kwchi": exp,
            "model_envelope": env_mod, "experiment_envelope": env_exp}


def relative_rms_percent(k, deviation, reference, kmin: float = 3.0, kmax: float = 16.0) -> float:
    """100 · rms(k² deviation) / rms(k² reference) over [kmin, kmax]: how the goals and checks measure χ errors."""
    k = np.asarray(k)
    m = (k >= kmin) & (k <= kmax)
    return float(100 * np.sqrt(np.mean((np.asarray(deviation) * k ** 2)[m] ** 2)
                               / np.mean((np.asarray(reference) * k ** 2)[m] ** 2)))
