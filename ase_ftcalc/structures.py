"""Structure builders and geometry shared by the DFT generator, benchmarks and examples.

2H-MX2 bulk (hexagonal 6-atom cell or the 12-atom orthorhombic one), MX2
bilayers with a sliding shift and a chosen interlayer distance.  Units: Å.

A quasi-1D moiré surrogate of a bilayer (:func:`quasi1d_moire`): a cell one a wide in which the
stacking runs once through all registries along y.

Stacking families and the names of the high-symmetry points along the
sliding path ``shift = t * (1/3, 2/3)`` (fractional, t = 0, 1, 2, 3 ≡ 0):

* ``'R'`` (parallel layers, 3R-like): t=0 AA (eclipsed), t=1 AB (top M over
  bottom X), t=2 BA (top X over bottom M).
* ``'H'`` (antiparallel, 2H-like): t=0 AB' (M over M), t=1 AA' (the 2H
  stacking: M over X and X over M), t=2 A'B (X over X).

Geometry of a layered MX2: :func:`layered_parameters` (d_MX, z_vdW) and
:func:`structure_parameters` (a, b, c, angles, volume per atom and those).
"""
from __future__ import annotations

import numpy as np
from ase import Atoms

from .reference_values import EXPERIMENT_2H

STACKING_NAMES = {"R": ("AA", "AB", "BA"), "H": ("AB'", "AA'", "A'B")}
SLIDE_DIRECTION = np.array([1 / 3, 2 / 3])  # fractional shift per unit of t: A -> B -> C -> A


def bulk_2h(compound: str, orthorhombic: bool = False, *, a: float | None = None,
            c: float | None = None) -> Atoms:
    """2H-MX2 bulk at the experimental lattice (or ``a``, ``c`` in Å): 6-atom cell or 12-atom a x sqrt(3)a."""
    from ase.build import make_supercell
    from ase.spacegroup import crystal

    if compound not in EXPERIMENT_2H:
        raise ValueError(f"unknown 2H compound {compound!r} (known: {', '.join(EXPERIMENT_2H)})")
    p = EXPERIMENT_2H[compound]
    atoms = crystal(
        [p["metal"], p["chalcogen"]],
        basis=[(1 / 3, 2 / 3, 1 / 4), (1 / 3, 2 / 3, p["z_x"])],
        spacegroup=194,
        cellpar=[a or p["a"], a or p["a"], c or p["c"], 90, 90, 120],
    )
    if orthorhombic:
        atoms = make_supercell(atoms, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
        atoms.wrap()
    atoms.info.clear()  # drop crystal()'s spacegroup bookkeeping; frames carry their own provenance
    return atoms


def monolayer_geometry(compound: str) -> dict:
    """a (Å), X–X thickness of one layer (Å) and the bulk M–M interlayer distance c/2 (Å)."""
    p = EXPERIMENT_2H[compound]
    return {"metal": p["metal"], "chalcogen": p["chalcogen"], "a": p["a"],
            "thickness": 2 * (0.75 - p["z_x"]) * p["c"], "separation": p["c"] / 2}


def bilayer(compound: str = "MoS2", t: float = 1.0, *, stacking: str = "H", separation: float | None = None,
            vacuum: float = 15.0, a: float | None = None, shift=None, size=(1, 1)) -> Atoms:
    """Bilayer MX2 with the top layer slid by ``t`` along the AA→AB→BA path (or by fractional ``shift``).

    ``separation``: metal–metal interlayer distance (Å, default the bulk c/2).
    Tags: 1 = bottom layer, 2 = top layer.  ``info`` records compound,
    stacking, t, shift and separation.
    """
    if stacking not in STACKING_NAMES:
        raise ValueError(f"stacking must be 'R' or 'H', not {stacking!r}")
    g = monolayer_geometry(compound)
    a = a or g["a"]
    d = g["separation"] if separation is None else float(separation)
    half = g["thickness"] / 2
    frac_shift = np.asarray(shift, dtype=float) if shift is not None else t * SLIDE_DIRECTION
    cell = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, 2 * half + d + vacuum]])
    z0 = vacuum / 2 + half
    B = np.array([1 / 3, 2 / 3])
    x_top = B if stacking == "R" else -B  # antiparallel layer: X on the C site
    frac = [
        (0, 0, z0), (*B, z0 - half), (*B, z0 + half),  # bottom: M on A, X on B
        (*frac_shift, z0 + d), (*(frac_shift + x_top), z0 + d - half), (*(frac_shift + x_top), z0 + d + half),
    ]
    pos = np.array([[f[0], f[1], 0.0] for f in frac]) @ cell
    pos[:, 2] = [f[2] for f in frac]
    atoms = Atoms([g["metal"], g["chalcogen"], g["chalcogen"]] * 2, positions=pos, cell=cell, pbc=True,
                  tags=[1, 1, 1, 2, 2, 2])
    atoms.wrap()
    if tuple(size) != (1, 1):
        atoms = atoms.repeat((size[0], size[1], 1))
    atoms.info.update(compound=compound, bilayer_stacking=stacking, bilayer_t=float(t) if shift is None else None,
                      bilayer_shift_frac=[float(x) for x in frac_shift], bilayer_separation=d,
                      bilayer_vacuum=float(vacuum))
    return atoms


def sliding_ts(n_per_segment: int = 6) -> np.ndarray:
    """t values along AA→AB→BA→(AA): 3·n points in [0, 3), the named points t = 0, 1, 2 included."""
    n = int(n_per_segment)
    if n < 1:
        raise ValueError("n_per_segment must be >= 1")
    return np.arange(3 * n) / n


def _monolayer_rect(compound: str, antiparallel: bool):
    """One MX2 layer in an a x sqrt(3)a rectangle (2 f.u.), M at z=0, X at ±thickness/2 (Å)."""
    g = monolayer_geometry(compound)
    a, half = g["a"], g["thickness"] / 2
    s3 = np.sqrt(3)
    # hex sites in the rectangle: A=(0,0), (a/2, s3 a/2); B = A + (a/2, a/(2 s3)); C = A + (0, a/s3)
    metal = np.array([[0, 0], [a / 2, s3 * a / 2]])
    x_off = np.array([0, a / s3]) if antiparallel else np.array([a / 2, a / (2 * s3)])
    xs = metal + x_off
    pos = [[*m, 0.0] for m in metal] + [[*x, z] for x in xs for z in (-half, half)]
    syms = [g["metal"]] * 2 + [g["chalcogen"]] * 4
    return Atoms(syms, positions=pos, cell=[a, s3 * a, 1.0], pbc=True), g


def quasi1d_moire(compound: str = "MoS2", n_cells: int = 12, *, stacking: str = "R", separation: float | None = None,
                  vacuum: float = 15.0, strain_split: float = 0.5, shift=(0.0, 0.0)):
    """Quasi-1D moiré surrogate: one a x sqrt(3)a cell wide along x, N (bottom) and N+1 (top) cells along y.

    Both layers are strained along y only (uniaxial heterostrain ε ≈ 1/N) so
    that they share the length L = (N + strain_split)·sqrt(3)·a; the relative
    shift then grows by sqrt(3)·a along y, i.e. the stacking runs once through
    AA→AB→BA→AA (R) or AB'→AA'→A'B (H): a moiré of period L in a cell of
    width a.  Tags 1 (bottom), 2 (top); ``info['moire']`` records N, L and the strains.
    """
    base, g = _monolayer_rect(compound, antiparallel=False)
    top_unit, _ = _monolayer_rect(compound, antiparallel=(stacking == "H"))
    a = g["a"]
    ly = np.sqrt(3) * a
    n = int(n_cells)
    if n < 2:
        raise ValueError("n_cells must be >= 2")
    if not 0.0 <= strain_split <= 1.0:
        raise ValueError("strain_split must be in [0, 1]")
    length = ly * (n + strain_split)  # between N (top takes all strain) and N+1 cells (bottom takes all)
    eps_bottom = length / (n * ly) - 1
    eps_top = length / ((n + 1) * ly) - 1
    d = g["separation"] if separation is None else float(separation)
    half = g["thickness"] / 2

    bottom = base.repeat((1, n, 1))
    bottom.positions[:, 1] *= 1 + eps_bottom
    top = top_unit.repeat((1, n + 1, 1))
    top.positions[:, 1] *= 1 + eps_top
    top.positions[:, :2] += np.asarray(shift, float)
    z0 = vacuum / 2 + half
    bottom.positions[:, 2] += z0
    top.positions[:, 2] += z0 + d
    cell = [a, length, 2 * half + d + vacuum]
    bottom.set_cell(cell)
    top.set_cell(cell)
    bottom.set_tags(1)
    top.set_tags(2)
    atoms = bottom + top
    atoms.wrap()
    atoms.info["moire"] = {"compound": compound, "n_cells": n, "length_a": float(length), "stacking": stacking,
                           "strain_axis": "y", "strain_bottom": float(eps_bottom), "strain_top": float(eps_top),
                           "separation_a": d}
    return atoms


CHALCOGENS = ("O", "S", "Se", "Te")


def layered_parameters(atoms, *, metal: str | None = None, chalcogen: str | None = None) -> dict:
    """d_MX (shortest M–X distance) and z_vdW (mean X–X interlayer plane spacing), Å.

    Heights are measured along the normal of the a–b plane; the vdW gaps are the
    spacings between consecutive atomic planes that are both chalcogen planes.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    kinds = sorted(set(symbols))
    if chalcogen is None:
        found = [s for s in kinds if s in CHALCOGENS]
        if len(found) != 1:
            raise ValueError(f"cannot tell the chalcogen among {kinds}; pass chalcogen=")
        chalcogen = found[0]
    if metal is None:
        others = [s for s in kinds if s != chalcogen]
        if len(others) != 1:
            raise ValueError(f"cannot tell the metal among {kinds}; pass metal=")
        metal = others[0]
    m_idx = np.flatnonzero(symbols == metal)
    x_idx = np.flatnonzero(symbols == chalcogen)
    d_mx = float(min(atoms.get_distances(i, x_idx, mic=True).min() for i in m_idx))

    cell = atoms.cell.array
    normal = np.cross(cell[0], cell[1])
    normal /= np.linalg.norm(normal)
    period = abs(float(np.dot(cell[2], normal)))
    heights = np.mod(atoms.positions @ normal, period)
    order = np.argsort(heights)
    h, s = heights[order], symbols[order]
    # merge atoms into planes (0.3 Å tolerance); a plane's kind is its element
    planes = []
    for height, sym in zip(h, s):
        if planes and height - planes[-1][0] < 0.3 and planes[-1][1] == sym:
            continue
        planes.append((height, sym))
    gaps = []
    for k, (height, sym) in enumerate(planes):
        nxt_h, nxt_s = planes[(k + 1) % len(planes)]
        gap = nxt_h - height if k + 1 < len(planes) else nxt_h + period - height
        if sym == chalcogen and nxt_s == chalcogen:
            gaps.append(gap)
    if not gaps:
        raise ValueError("no pair of facing chalcogen planes: not a layered MX2 along c")
    # within a sandwich X–M–X there is a metal plane between the two X planes, so
    # consecutive X–X planes are the interlayer gaps
    return {"d_MX": d_mx, "z_vdW": float(np.mean(gaps)), "metal": str(metal), "chalcogen": str(chalcogen),
            "n_layers": len(gaps)}


def structure_parameters(atoms, layered: bool | None = None) -> dict:
    """Lattice parameters (Å, degrees), volume per atom (Å³) and, for layered MX2, d_MX and z_vdW."""
    a, b, c, alpha, beta, gamma = atoms.cell.cellpar()
    out = {"a": a, "b": b, "c": c, "alpha": alpha, "beta": beta, "gamma": gamma,
           "volume_per_atom": atoms.get_volume() / len(atoms)}
    if layered is None:
        try:
            out.update(layered_parameters(atoms))
        except ValueError:
            pass
    elif layered:
        out.update(layered_parameters(atoms))
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}
