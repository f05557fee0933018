"""DFT labels (energy, forces, stress) stored on frames, read the way fine-tuning reads them."""
from __future__ import annotations

import numpy as np


def frame_label(atoms, name: str):
    """A DFT label (energy, forces, stress) stored on a frame, or None (calc results, info or arrays)."""
    from ase_ftcalc.frames import stored_label

    value = stored_label(atoms, name)
    if value is None:
        return None
    value = np.asarray(value, dtype=float)
    if name == "stress" and value.shape == (3, 3):
        from ase.stress import full_3x3_to_voigt_6_stress

        value = full_3x3_to_voigt_6_stress(value)
    return value
