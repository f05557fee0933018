"""Bilayer MX2 structures (sliding and separation scans) and their GPAW PBE-D3 reference energies.

The bilayer/sliding mode of the bundled DFT generator (:mod:`ase_ftcalc.dft`):
rigid monolayers (the experimental 2H bulk geometry) stacked with an in-plane
shift of the top layer and a metal–metal interlayer distance, in a cell with
vacuum along c.  Frames are labelled with :func:`ase_ftcalc.dft.label` (energy,
forces, stress) and appended one by one to an extxyz file, so a run resumes.

Stacking families and the names of the high-symmetry points along the
sliding path ``shift = t * (1/3, 2/3)`` (fractional, t = 0, 1, 2, 3 ≡ 0):

* ``'R'`` (parallel layers, 3R-like): t=0 AA (eclipsed), t=1 AB (top M over
  bottom X), t=2 BA (top X over bottom M).
* ``'H'`` (antiparallel, 2H-like): t=0 AB' (M over M), t=1 AA' (the 2H
  stacking: M over X and X over M), t=2 A'B (X over X).

Units: Å and eV.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

from .dft import COMPOUNDS, DFTSettings, label

STACKING_NAMES = {"R": ("AA", "AB", "BA"), "H": ("AB'", "AA'", "A'B")}
SLIDE_DIRECTION = np.array([1 / 3, 2 / 3])  # fractional shift per unit of t: A -> B -> C -> A


def monolayer_geometry(compound: str) -> dict:
    """a (Å), X–X thickness of one layer (Å) and the bulk M–M interlayer distance c/2 (Å)."""
    p = COMPOUNDS[compound]
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


def quick_settings() -> DFTSettings:
    """Cheap PBE-D3 settings for tests and previews: 300 eV, 2x2x1 k-points for a 1x1 MX2 bilayer."""
    return DFTSettings(ecut_ev=300.0, kpt_density_angstrom=5.0, scf_energy_tol_ev=1e-5)


def bilayer_frames(compound: str = "MoS2", *, mode: str = "sliding", stacking: str = "H",
                   ts=None, separations=None, t: float | None = None, vacuum: float = 15.0) -> list[Atoms]:
    """Structures of a sliding scan (``ts``) or a separation scan (``separations`` at stacking point ``t``)."""
    if mode == "sliding":
        ts = sliding_ts(2) if ts is None else ts
        return [bilayer(compound, float(x), stacking=stacking, vacuum=vacuum) for x in ts]
    if mode == "separation":
        g = monolayer_geometry(compound)
        seps = g["separation"] + np.array([-0.5, 0.0, 0.5, 1.0, 2.0]) if separations is None else separations
        t = 1.0 if t is None else t
        return [bilayer(compound, t, stacking=stacking, separation=float(d), vacuum=vacuum) for d in seps]
    raise ValueError(f"mode must be 'sliding' or 'separation', not {mode!r}")


def label_frames(frames, settings: DFTSettings | None = None, output: str | os.PathLike | None = None,
                 log=sys.stderr) -> list[Atoms]:
    """PBE-D3 labels for ``frames``; with ``output`` appended frame by frame (a re-run resumes)."""
    from ase.io import read, write

    settings = settings or quick_settings()
    done: list[Atoms] = []
    if output is not None:
        output = Path(output)
        if output.exists() and output.stat().st_size:
            done = read(output, index=":")
    out = list(done)
    for i in range(len(done), len(frames)):
        framed = label(frames[i], settings, txt=os.devnull)
        if output is not None:
            tmp = output.with_suffix(output.suffix + ".part")
            write(tmp, framed, format="extxyz")
            with open(output, "a") as dst, open(tmp) as src:
                dst.write(src.read())
            tmp.unlink()
        out.append(framed)
        print(f"[dft-bilayer] frame {i + 1}/{len(frames)}: t={framed.info.get('bilayer_t')}, "
              f"d={framed.info['bilayer_separation']:.3f} Å, E = {framed.get_potential_energy():.5f} eV",
              file=log, flush=True)
    return out


def generate_bilayer(compound: str, output: str | os.PathLike, *, mode: str = "sliding", stacking: str = "H",
                     ts=None, separations=None, t: float | None = None, vacuum: float = 15.0,
                     settings: DFTSettings | None = None, log=sys.stderr) -> Path:
    """Write labelled bilayer frames of a sliding or separation scan to ``output`` (extxyz, resumable)."""
    frames = bilayer_frames(compound, mode=mode, stacking=stacking, ts=ts, separations=separations, t=t,
                            vacuum=vacuum)
    label_frames(frames, settings, output, log=log)
    return Path(output)
