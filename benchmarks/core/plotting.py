"""Plot helpers.  Plot functions return a Figure and never choose a backend: the CLI does that once."""
from __future__ import annotations


def color_cycle(n: int):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def finish(fig, path=None):
    """Tight layout; saved to ``path`` (PNG, 130 dpi) when given; the figure back."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=130)
    return fig
