"""Bilayer MX2 sliding and separation scans and their GPAW PBE-D3 reference energies.

The bilayer/sliding mode of the DFT generator: rigid monolayers
(:func:`ase_ftcalc.structures.bilayer`, the experimental 2H bulk geometry)
stacked with an in-plane shift of the top layer and a metal–metal interlayer
distance, in a cell with vacuum along c.  Frames are labelled with :func:`ase_ftcalc.dft.label` (energy,
forces, stress) and appended one by one to an extxyz file, so a run resumes.

Stacking names: :mod:`ase_ftcalc.structures`.
Units: Å and eV.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

from ..structures import STACKING_NAMES, bilayer, monolayer_geometry, sliding_ts
from .labelling import DFTSettings, append_frame, label, read_done

__all__ = ["STACKING_NAMES", "bilayer", "bilayer_frames", "generate_bilayer", "label_frames",
           "monolayer_geometry", "quick_settings", "sliding_ts"]


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
    settings = settings or quick_settings()
    done: list[Atoms] = read_done(output) if output is not None else []
    out = list(done)
    for i in range(len(done), len(frames)):
        framed = label(frames[i], settings, txt=os.devnull)
        if output is not None:
            append_frame(output, framed)
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
