"""EOS mode of the DFT generator: GPAW PBE-D3 energies of a crystal over a range of volumes.

Each volume is one isotropically scaled copy of the crystal (linear strain per
lattice vector), labelled with :func:`ase_ftcalc.dft.labelling.label` and appended to an
extxyz file frame by frame, so an interrupted run resumes and every frame on
disk is complete.  :func:`eos_reference` turns such a file into the
``{"volumes_per_atom", "energies_per_atom"}`` that ``benchmarks.eos.eos`` takes
as ``reference_points``.  Units: Å³, eV.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

DEFAULT_STRAINS = tuple(np.round(np.arange(-0.10, 0.2001, 0.02), 4))


def dft_eos_points(atoms, output: str | os.PathLike, strains=DEFAULT_STRAINS, *, settings=None,
                   log=sys.stderr) -> Path:
    """Label ``atoms`` scaled by each linear strain with GPAW PBE-D3; append to ``output`` (resumable).

    ``settings``: :class:`ase_ftcalc.dft.DFTSettings` (default ones).  The
    k-point grid follows each scaled cell (same density).  Frames already in
    ``output`` (matched by their ``eos_linear_strain``) are not recomputed.
    """
    from .labelling import DFTSettings, append_frame, label, read_done

    settings = settings or DFTSettings()
    output = Path(output)
    done = {round(float(a.info.get("eos_linear_strain", np.nan)), 6) for a in read_done(output)}
    for i, s in enumerate(float(x) for x in strains):
        if round(s, 6) in done:
            continue
        cell = atoms.copy()
        cell.calc = None
        cell.set_cell(atoms.cell * (1.0 + s), scale_atoms=True)
        cell.info["eos_linear_strain"] = s
        framed = label(cell, settings, txt=os.devnull)
        append_frame(output, framed)
        print(f"[dft-eos] strain {s:+.3f} ({i + 1}/{len(strains)}): V {cell.get_volume() / len(cell):.3f} Å³/atom, "
              f"E {framed.get_potential_energy() / len(cell):.5f} eV/atom", file=log, flush=True)
    return output


def eos_reference(frames) -> dict:
    """``{"volumes_per_atom", "energies_per_atom", "strains"}`` sorted by volume, from labelled frames or a file."""
    if isinstance(frames, (str, os.PathLike)):
        from ase.io import read

        frames = read(frames, index=":")
    rows = sorted((float(a.get_volume() / len(a)), float(a.get_potential_energy() / len(a)),
                   a.info.get("eos_linear_strain")) for a in frames)
    return {"volumes_per_atom": [r[0] for r in rows], "energies_per_atom": [r[1] for r in rows],
            "strains": [None if r[2] is None else float(r[2]) for r in rows]}
