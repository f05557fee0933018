"""Experimental and reference values the package compares against, in one place.

Lengths in Å, frequencies in cm⁻¹, moduli in GPa.  Each entry names its source.
PBE-D3 reference structures computed by this package's own generator live in
``ase_ftcalc/data/reference_pbe_d3.json`` (see :func:`pbe_d3_structure`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

# 2H (P6_3/mmc) lattices: a, c, the chalcogen Wyckoff z (4f; the metal sits on 2c),
# the M–X bond and the vdW gap between facing chalcogen planes.
# WS2: Schutte, Weber & Rieck (1987); MoS2: Schönfeld, Huang & Moss (1983).
EXPERIMENT_2H = {
    "WS2": {"metal": "W", "chalcogen": "S", "a": 3.153, "c": 12.323, "z_x": 0.6224,
            "d_MX": 2.405, "z_vdW": 3.019, "source": "Schutte et al., J. Solid State Chem. 70, 207 (1987)"},
    "MoS2": {"metal": "Mo", "chalcogen": "S", "a": 3.160, "c": 12.294, "z_x": 0.6219,
             "d_MX": 2.412, "z_vdW": 2.997, "source": "Schönfeld et al., Acta Cryst. B 39, 404 (1983)"},
}

# Bulk Raman-active Γ modes (cm⁻¹): interlayer shear E2g^2, in-plane E2g^1, out-of-plane A1g.
RAMAN_CM1 = {
    "WS2": {"E2g^2": 27.0, "E2g^1": 356.0, "A1g": 421.0,
            "source": "Berkdemir et al., Sci. Rep. 3, 1755 (2013); Zhao et al., Nano Lett. 13, 1007 (2013)"},
    "MoS2": {"E2g^2": 32.0, "E2g^1": 383.0, "A1g": 408.0,
             "source": "Lee et al., ACS Nano 4, 2695 (2010); Verble & Wieting, PRL 25, 362 (1970)"},
}

# Bulk modulus from high-pressure diffraction (GPa).
BULK_MODULUS_GPA = {
    "WS2": {"B0": 61.0, "source": "Selvi et al., J. Phys.: Condens. Matter 18, 2183 (2006)"},
    "MoS2": {"B0": 53.4, "source": "Aksoy et al., J. Phys. Chem. Solids 67, 1914 (2006)"},
}

LENGTH_KEYS = ("a", "c", "d_MX", "z_vdW")


def experiment_structure(compound: str) -> dict:
    """Experimental a, c, d_MX, z_vdW (Å) of a bundled 2H compound."""
    try:
        entry = EXPERIMENT_2H[compound]
    except KeyError:
        raise ValueError(f"no experimental structure for {compound!r} (known: {', '.join(EXPERIMENT_2H)})") from None
    return {k: entry[k] for k in LENGTH_KEYS}


def raman_lines(compound: str) -> dict:
    """Raman Γ lines (cm⁻¹) by mode name, without the source."""
    return {k: v for k, v in RAMAN_CM1[compound].items() if k != "source"}


@lru_cache(maxsize=None)
def _pbe_d3_table() -> dict:
    path = Path(__file__).parent / "data" / "reference_pbe_d3.json"
    return json.loads(path.read_text()) if path.exists() else {}


def pbe_d3_structure(compound: str) -> dict | None:
    """Relaxed a, c, d_MX, z_vdW (Å) of the bundled GPAW PBE-D3 reference, or None if not computed."""
    entry = _pbe_d3_table().get(compound)
    return None if entry is None else {k: entry["structure"][k] for k in LENGTH_KEYS}
