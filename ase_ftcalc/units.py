"""The one place where stress units and signs change.

ASE: stress in eV/Å³, positive when the cell pulls inward (tensile), i.e.
sigma = (1/V) dE/d(strain).  CHGNet's network: the same sign, in GPa.
VASP/CHGNet datasets: kBar with the opposite sign (pressure positive);
ASE's VASP readers already convert to the ASE convention, so frames read
with ``ase.io.read`` are in ASE units and sign.
"""
from __future__ import annotations

import numpy as np
from ase import units

GPA_IN_EV_PER_A3 = units.GPa  # 1 GPa = 0.006241509 eV/Å³


def ase_stress_to_chgnet_gpa(stress_ev_per_a3) -> np.ndarray:
    """ASE stress (Voigt 6 or 3x3, eV/Å³) -> 3x3 tensor in GPa, ASE sign (CHGNet's network output)."""
    stress = np.asarray(stress_ev_per_a3, dtype=float)
    if stress.shape == (6,):
        from ase.stress import voigt_6_to_full_3x3_stress

        stress = voigt_6_to_full_3x3_stress(stress)
    if stress.shape != (3, 3):
        raise ValueError(f"stress must be Voigt-6 or 3x3, got shape {stress.shape}")
    return stress / GPA_IN_EV_PER_A3


def chgnet_gpa_to_ase_stress(stress_gpa) -> np.ndarray:
    """CHGNet 3x3 stress in GPa -> ASE Voigt-6 stress in eV/Å³ (same sign; xx, yy, zz, yz, xz, xy)."""
    from ase.stress import full_3x3_to_voigt_6_stress

    return full_3x3_to_voigt_6_stress(np.asarray(stress_gpa, dtype=float) * GPA_IN_EV_PER_A3)


def ase_stress_to_vasp_kbar(stress_ev_per_a3) -> np.ndarray:
    """ASE stress -> 3x3 kBar with VASP's sign, the input convention of CHGNet's StructureData."""
    return -10.0 * ase_stress_to_chgnet_gpa(stress_ev_per_a3)
