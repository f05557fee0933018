"""Plot helpers.  Plot functions return a Figure and never choose a backend: the CLI does that once."""
from __future__ import annotations


def color_cycle(n: int):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]
