"""Measured EXAFS spectra: XDI, plain columns (E, μ) or (k, χ), larch .chi, Athena .prj -> χ(k)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def read_experiment(path, *, group: str | None = None, e0: float | None = None, rbkg: float = 1.0,
                    kweight: int = 2) -> dict:
    """Measured χ(k) from XDI, plain columns (E, μ) or (k, χ), larch .chi, or an Athena .prj.

    μ(E) goes through larch's ``pre_edge`` and ``autobk`` (``rbkg``, ``kweight``, ``e0`` if given).
    Returns {"k", "chi", "source", "e0"}.
    """
    from larch import Group
    from larch.xafs import autobk, pre_edge

    path = Path(path)
    text_suffix = path.suffix.lower()
    energy = mu = None
    if text_suffix == ".prj":
        from larch.io import read_athena

        prj = read_athena(str(path), do_preedge=False, do_bkg=False)
        names = [n for n in dir(prj) if not n.startswith("_")]
        name = group or names[0]
        g = getattr(prj, name)
        energy, mu = np.asarray(g.energy), np.asarray(g.mu)
    elif text_suffix == ".xdi":
        from larch.io import read_xdi

        g = read_xdi(str(path))
        energy = np.asarray(g.energy)
        labels = {lab.lower(): lab for lab in g.array_labels}
        if "mutrans" in labels:
            mu = np.asarray(getattr(g, labels["mutrans"]))
        elif "mu" in labels:
            mu = np.asarray(getattr(g, labels["mu"]))
        elif "itrans" in labels and "i0" in labels:
            mu = np.log(np.asarray(g.i0) / np.asarray(getattr(g, labels["itrans"])))
        elif "mufluor" in labels:
            mu = np.asarray(getattr(g, labels["mufluor"]))
        else:
            raise ValueError(f"{path}: no mu/mutrans/itrans+i0/mufluor column in {g.array_labels}")
    else:
        from larch.io import read_ascii

        g = read_ascii(str(path))
        labels = [lab.lower() for lab in g.array_labels]
        data = np.asarray(g.data)
        x = data[0]
        if (labels and labels[0] == "k") or x.max() < 40:
            return {"k": x, "chi": data[1], "source": str(path), "e0": None}
        energy, mu = x, data[1]
    grp = Group(energy=energy, mu=mu)
    kws = {"e0": e0} if e0 else {}
    pre_edge(grp, **kws)
    autobk(grp, rbkg=rbkg, kweight=kweight, **kws)
    return {"k": np.asarray(grp.k), "chi": np.asarray(grp.chi), "source": str(path), "e0": float(grp.e0)}
