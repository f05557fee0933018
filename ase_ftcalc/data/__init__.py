"""Bundled GPAW PBE-D3 frames of 2H-WS2 and 2H-MoS2 (see README.md beside this file)."""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
FILES = {"WS2": DATA_DIR / "ws2_pbe_d3.extxyz", "MoS2": DATA_DIR / "mos2_pbe_d3.extxyz"}


def bundled_frames(compound: str = "WS2"):
    """All bundled DFT frames of a compound as ASE Atoms (energy eV, forces eV/Å, stress eV/Å³)."""
    from ase.io import read

    if compound not in FILES:
        raise ValueError(f"no bundled frames for {compound!r}; have {sorted(FILES)}")
    return read(FILES[compound], index=":")
