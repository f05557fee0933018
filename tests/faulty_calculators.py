"""Calculators that return NaN or infinity: the faulty input the LAMMPS bridge must refuse.

EMT with one result spoiled after a real computation.  Importable by the embedded Python of a
plain `lmp` run as specs 'faulty_calculators:nan_energy' etc. (the tests put this folder on
ASE_FTCALC_PYTHONPATH).
"""
from __future__ import annotations

import numpy as np
from ase.calculators.emt import EMT


class Faulty(EMT):
    """EMT, but ``spoil`` ('energy', 'forces', 'stress' or 'energies') is made non-finite
    (on atom index ``atom``), from calculation ``after`` + 1 on."""

    def __init__(self, spoil: str, value: float = np.nan, atom: int = 4, after: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.spoil, self.value, self.atom, self.after = spoil, value, atom, after
        self.ncalc = 0

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        self.ncalc += 1
        if self.ncalc <= self.after:  # good results for the first `after` calculations
            return
        if self.spoil == "energy":
            self.results["energy"] = self.value
            self.results["free_energy"] = self.value
        elif self.spoil == "stress":
            if "stress" not in self.results:  # not asked for this time
                return
            self.results["stress"] = self.results["stress"].copy()
            self.results["stress"][2] = self.value
        else:  # one atom's row of forces or its per-atom energy
            self.results[self.spoil] = self.results[self.spoil].copy()
            self.results[self.spoil][self.atom] = self.value


def nan_energy():
    return Faulty("energy")


def nan_forces():
    return Faulty("forces")


def inf_stress():
    return Faulty("stress", np.inf)
