"""Parity statistics shared by fine-tuning reports and the benchmarks."""
from __future__ import annotations

import numpy as np


def parity_stats(reference, predicted) -> dict[str, float]:
    """MAE, RMSE, R², slope through the origin and ordinary slope/intercept of predicted vs reference."""
    x = np.asarray(reference, dtype=float).ravel()
    y = np.asarray(predicted, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("parity statistics of an empty set")
    diff = y - x
    ss_tot = float(np.sum((x - x.mean()) ** 2))
    xx = float(np.dot(x, x))
    slope, intercept = (np.polyfit(x, y, 1) if x.size > 1 and ss_tot > 0 else (np.nan, np.nan))
    return {
        "mae": float(np.mean(np.abs(diff))),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "r2": float(1 - np.sum(diff**2) / ss_tot) if ss_tot > 0 else float("nan"),
        "slope_origin": float(np.dot(x, y) / xx) if xx > 0 else float("nan"),
        "slope": float(slope),
        "intercept": float(intercept),
        "n": int(x.size),
    }
