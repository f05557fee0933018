"""Bundled GPAW PBE-D3 frames of 2H-WS2 and 2H-MoS2 (see README.md beside this file).

Training frames come from several sampling protocols (rattle, relax, interlayer, md); the named test
sets are separate runs of the generator (other seeds, other protocols) that no bundled recipe trains on.
"""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
FILES = {"WS2": DATA_DIR / "ws2_pbe_d3.extxyz", "MoS2": DATA_DIR / "mos2_pbe_d3.extxyz"}
# every training file of a compound, the first one being FILES' (rattled 6- and 12-atom cells)
TRAINING_FILES = {
    "WS2": ["ws2_pbe_d3.extxyz", "ws2_relax.extxyz", "ws2_interlayer.extxyz", "ws2_md.extxyz"],
    "MoS2": ["mos2_pbe_d3.extxyz"],
}
# named out-of-distribution test sets: name -> (file, info key, value) or file
TEST_SET_FILES = {
    "WS2": {
        "c-strain": ("ws2_test_cstrain.extxyz", None, None),
        "md-300K": ("ws2_test_md.extxyz", "md_temperature_K", 300.0),
        "md-600K": ("ws2_test_md.extxyz", "md_temperature_K", 600.0),
        "strained-supercell": ("ws2_test_strained.extxyz", None, None),
    },
    "MoS2": {},
}


def _read(name: str):
    from ase.io import read

    path = DATA_DIR / name
    if not path.exists() or not path.stat().st_size:
        return []
    frames = read(path, index=":")
    for i, atoms in enumerate(frames):
        atoms.info.setdefault("source", f"{name}:{i}")
    return frames


def _check(compound: str) -> None:
    if compound not in FILES:
        raise ValueError(f"no bundled frames for {compound!r}; have {sorted(FILES)}")


def bundled_frames(compound: str = "WS2"):
    """The first bundled DFT frames of a compound (rattled cells) as ASE Atoms (eV, eV/Å, eV/Å³)."""
    from ase.io import read

    _check(compound)
    return read(FILES[compound], index=":")


def bundled_training_frames(compound: str = "WS2"):
    """Every bundled training frame of a compound (rattle, relax, interlayer and md protocols)."""
    _check(compound)
    return [a for name in TRAINING_FILES[compound] for a in _read(name)]


def bundled_test_sets(compound: str = "WS2") -> dict:
    """``{name: frames}`` of the bundled out-of-distribution test sets (only those present)."""
    _check(compound)
    out = {}
    for name, (filename, key, value) in TEST_SET_FILES[compound].items():
        frames = [a for a in _read(filename) if key is None or a.info.get(key) == value]
        if frames:
            out[name] = frames
    return out
