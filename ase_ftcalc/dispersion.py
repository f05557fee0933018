"""Grimme D3 dispersion: on its own, added to any calculator, and subtracted from DFT labels.

The bundled frames are GPAW PBE + D3 with zero damping (VASP IVDW=11, the seed
paper's choice).  CHGNet was trained on PBE(+U) without dispersion, so the
interlayer binding of a layered crystal is exactly what it lacks; adding D3
on top (``chgnet+d3``) or training on labels minus D3 and adding it back
(Δ-learning, ``fine_tune(..., dispersion="d3")``) gives it back.

Backend: the ``dftd3`` package (simple-dftd3, Fortran/C with OpenMP).
Units: eV, eV/Å, eV/Å³ (ASE sign).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DAMPINGS = ("d3zero", "d3bj", "d3mzero", "d3mbj", "d3op")


@dataclass(frozen=True)
class D3Settings:
    method: str = "PBE"          # the functional whose D3 parameters are used
    damping: str = "d3zero"      # d3zero (IVDW=11), d3bj (IVDW=12), ...

    def __post_init__(self):
        if self.damping not in DAMPINGS:
            raise ValueError(f"D3 damping must be one of {', '.join(DAMPINGS)}, not {self.damping!r}")

    def todict(self) -> dict:
        return {"kind": "d3", **asdict(self)}

    @classmethod
    def parse(cls, value) -> "D3Settings | None":
        """None/'none' -> None; 'd3' -> zero damping; 'd3bj', 'd3zero', a dict or D3Settings."""
        if value is None or isinstance(value, D3Settings):
            return value
        if isinstance(value, dict):
            return cls(**{k: v for k, v in value.items() if k != "kind"})
        text = str(value).strip().lower()
        if text in ("", "none", "off", "false"):
            return None
        if text == "d3":
            return cls()
        return cls(damping=text)


def d3_calculator(settings: D3Settings | str = "d3"):
    """An ASE calculator of the D3 energy, forces and stress alone."""
    from dftd3.ase import DFTD3

    settings = D3Settings.parse(settings)
    return DFTD3(method=settings.method, damping=settings.damping)


def with_dispersion(calculator, settings: D3Settings | str = "d3"):
    """``calculator`` + D3 as one ASE calculator (energy, forces, stress summed)."""
    from ase.calculators.mixing import SumCalculator

    return SumCalculator([calculator, d3_calculator(settings)])


def d3_labels(atoms, settings: D3Settings | str = "d3") -> dict:
    """D3 energy (eV), forces (eV/Å) and stress (Voigt-6, eV/Å³) of one structure."""
    work = atoms.copy()
    work.calc = d3_calculator(settings)
    out = {"energy": float(work.get_potential_energy()), "forces": np.array(work.get_forces())}
    if work.pbc.all():
        out["stress"] = np.array(work.get_stress(voigt=True))
    return out


def d3_site_energies(atoms, settings: D3Settings | str = "d3") -> np.ndarray:
    """Per-atom D3 energies (eV): half of every pair (and triple) energy the atom takes part in."""
    from ase.units import Bohr, Hartree
    from dftd3 import interface

    settings = D3Settings.parse(settings)
    param_class = {"d3zero": interface.ZeroDampingParam, "d3bj": interface.RationalDampingParam,
                   "d3mzero": interface.ModifiedZeroDampingParam, "d3mbj": interface.ModifiedRationalDampingParam,
                   "d3op": interface.OptimizedPowerDampingParam}[settings.damping]
    model = interface.DispersionModel(atoms.numbers, atoms.positions / Bohr, atoms.cell.array / Bohr, atoms.pbc)
    pair = model.get_pairwise_dispersion(param_class(method=settings.method))
    return (pair["additive pairwise energy"].sum(axis=1) + pair["non-additive pairwise energy"].sum(axis=1)) * Hartree
