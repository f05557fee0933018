"""Plots of MD-EXAFS results: k^w χ(k) and |χ(R)| with Im χ(R), against a measured spectrum."""
from __future__ import annotations

import numpy as np

from ..core.plotting import color_cycle, finish
from .run import ExafsResult
from .transforms import fourier_transform, shift_e0


def plot_exafs(results, experiment=None, *, kweight: int = 2, kmin: float = 3.0, kmax: float = 16.0,
               rmax: float = 6.0):
    """k^w χ(k) and |χ(R)| with Im χ(R) for several results (dict name -> ExafsResult, or a list) and
    the experiment (dict with k, chi; or taken from the first result's comparison)."""
    import matplotlib.pyplot as plt

    if isinstance(results, ExafsResult):
        results = [results]
    items = list(results.items()) if isinstance(results, dict) else [(r.label or r.absorber, r) for r in results]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7))
    colors = color_cycle(len(items) + 1)
    if experiment is None:
        for _, r in items:
            c = r.comparison
            if c:
                experiment = {"k": np.asarray(c["k"]),
                              "chi": np.asarray(c["experiment_kwchi"]) / np.maximum(np.asarray(c["k"]), 1e-9) ** c["kweight"],
                              "label": c["experiment"]}
                break
    if experiment is not None:
        ke, ce = np.asarray(experiment["k"]), np.asarray(experiment["chi"])
        m = (ke >= 1) & (ke <= kmax + 1)
        ax1.plot(ke[m], (ce * ke ** kweight)[m], "k-", lw=1.3, label=experiment.get("label", "experiment"))
        ft = fourier_transform(ke, ce, kweight=kweight, kmin=kmin, kmax=kmax, rmax=rmax)
        ax2.plot(ft["r"], ft["mag"], "k-", lw=1.3, label=f"|χ(R)| {experiment.get('label', 'experiment')}")
        ax2.plot(ft["r"], ft["im"], "k:", lw=0.8)
    for (name, r), col in zip(items, colors[1:]):
        k, chi = np.asarray(r.k), np.asarray(r.chi)
        c = r.comparison or {}
        if c:  # plot with the fitted E0 shift and S0²
            chi = c.get("s02", 1.0) * shift_e0(k, chi, c.get("e0", 0.0))
            name = f"{name} (ΔE0 {c['e0']:+.1f} eV, S0² {c['s02']:.2f}, MSE {c['mse_k2chi']:.3g})"
        m = (k >= 1) & (k <= kmax + 1)
        ax1.plot(k[m], (chi * k ** kweight)[m], color=col, lw=1, label=name)
        ft = fourier_transform(k, chi, kweight=kweight, kmin=kmin, kmax=kmax, rmax=rmax)
        ax2.plot(ft["r"], ft["mag"], color=col, lw=1, label=name)
        ax2.plot(ft["r"], ft["im"], color=col, lw=0.6, ls=":")
    for kk in (kmin, kmax):
        ax1.axvline(kk, color="0.7", lw=0.6)
    ax1.set_xlabel("k (Å⁻¹)")
    ax1.set_ylabel(f"k$^{kweight}$χ(k) (Å$^{{-{kweight}}}$)")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("R (Å)")
    ax2.set_ylabel(f"|χ(R)|, Im χ(R) (Å$^{{-{kweight + 1}}}$)")
    ax2.legend(fontsize=7)
    return finish(fig)
