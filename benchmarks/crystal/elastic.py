"""Elastic constants Cij (6x6, Voigt, GPa) of a crystal for several calculators.

The structure is first relaxed (cell and positions), then strained along the
six triclinic strain patterns and the stress–strain lines are fitted by
matscipy's ``fit_elastic_constants`` (its linear regression, its strain
patterns).  Relaxed-ion constants (atoms relaxed at every strain) by default,
clamped-ion with ``relaxed_ion=False``.  For hexagonal and cubic crystals in the
standard orientation (c along z, a along x) a symmetry-reduced summary is
given; bulk and shear moduli (Voigt–Reuss–Hill) come from pymatgen.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.relax import relax
from ..core.results import JSONResult
from ..core.runner import Kernel, run_calculators

# 2H-WS2 measured elastic constants are scarce; no default reference is implied.
HEXAGONAL_KEYS = ("C11", "C12", "C13", "C33", "C44", "C66")
CUBIC_KEYS = ("C11", "C12", "C44")


def crystal_family(atoms, symprec: float = 1e-3) -> str:
    """'cubic', 'hexagonal' (incl. trigonal), 'tetragonal', 'orthorhombic', 'monoclinic' or 'triclinic'."""
    import spglib

    dataset = spglib.get_symmetry_dataset((atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers),
                                          symprec=symprec)
    number = dataset.number if dataset is not None else 1
    for upper, name in ((2, "triclinic"), (15, "monoclinic"), (74, "orthorhombic"), (142, "tetragonal"),
                        (194, "hexagonal"), (230, "cubic")):
        if number <= upper:
            return name
    return "triclinic"


def symmetry_summary(c_gpa, family: str) -> dict:
    """Independent constants (GPa), averaged over the entries symmetry makes equal."""
    c = np.asarray(c_gpa, float)
    if family == "hexagonal":
        return {"C11": (c[0, 0] + c[1, 1]) / 2, "C12": c[0, 1], "C13": (c[0, 2] + c[1, 2]) / 2,
                "C33": c[2, 2], "C44": (c[3, 3] + c[4, 4]) / 2, "C66": c[5, 5],
                "C66_from_(C11-C12)/2": ((c[0, 0] + c[1, 1]) / 2 - c[0, 1]) / 2}
    if family == "cubic":
        return {"C11": np.trace(c[:3, :3]) / 3, "C12": (c[0, 1] + c[0, 2] + c[1, 2]) / 3,
                "C44": np.trace(c[3:, 3:]) / 3}
    return {f"C{i + 1}{j + 1}": c[i, j] for i in range(6) for j in range(i, 6)}


def moduli(c_gpa) -> dict:
    """Voigt–Reuss–Hill bulk and shear moduli (GPa) from pymatgen's ElasticTensor."""
    from pymatgen.analysis.elasticity import ElasticTensor

    tensor = ElasticTensor.from_voigt(np.asarray(c_gpa, float))
    out = {"bulk_voigt": tensor.k_voigt, "bulk_reuss": tensor.k_reuss, "bulk_vrh": tensor.k_vrh,
           "shear_voigt": tensor.g_voigt, "shear_reuss": tensor.g_reuss, "shear_vrh": tensor.g_vrh}
    return {k: float(v) for k, v in out.items()}


@dataclass
class ElasticResult(JSONResult):
    formula: str
    family: str
    relaxed_ion: bool
    max_strain: float
    n_steps: int
    reference_gpa: dict
    calculators: dict = field(default_factory=dict)
    # name -> {"C_gpa": 6x6, "C_err_gpa": 6x6, "summary_gpa": {...}, "moduli_gpa": {...},
    #          "comparison": {...}, "relaxation": {...}, "lattice": {...}, "seconds": s} or {"error": ...}

    def table(self) -> list[dict]:
        return self.calculator_rows(lambda name, res: [
            {"calculator": name, "constant": key, "value_gpa": value, **res["comparison"].get(key, {})}
            for key, value in res["summary_gpa"].items()])


def elastic_constants(calc, atoms, *, relaxed_ion: bool = True, max_strain: float = 0.01, n_steps: int = 5,
                      relax_first: bool = True, fmax: float = 0.002, ion_fmax: float = 0.001,
                      steps: int = 500, symmetry: bool = True, progress: bool = False, desc: str = "strains"):
    """(C_gpa, C_err_gpa, relaxed_atoms, relaxation_info) for one calculator.

    Strains run from -max_strain to +max_strain in ``n_steps`` steps per pattern.
    """
    from ase import units
    from ase.optimize import BFGS
    from matscipy.elasticity import fit_elastic_constants, generate_strained_configs
    from tqdm.auto import tqdm

    if n_steps < 2:
        raise ValueError("n_steps must be at least 2")
    if relax_first:
        start, info = relax(atoms, calc, fmax=fmax, steps=steps, symmetry=symmetry)
    else:
        start, info = atoms.copy(), {}
        start.calc = calc
    start.set_constraint()
    delta = 2.0 * max_strain / (n_steps - 1)
    configs = list(generate_strained_configs(start, "triclinic", n_steps, delta))
    optimizer = functools.partial(BFGS, maxstep=0.05) if relaxed_ion else None
    kwargs = {"fmax": ion_fmax, "steps": steps} if relaxed_ion else {}
    bar = tqdm(configs, desc=desc, disable=not progress, unit="strain")
    c, c_err = fit_elastic_constants(bar, symmetry="triclinic", N_steps=n_steps, delta=delta,
                                     optimizer=optimizer, verbose=False, **kwargs)
    return c / units.GPa, c_err / units.GPa, start, info


@dataclass
class ElasticConstants(Kernel):
    """Cij of one structure with one calculator, its symmetry summary, moduli and the comparison."""

    family: str
    relaxed_ion: bool = True
    max_strain: float = 0.01
    n_steps: int = 5
    relax_first: bool = True
    fmax: float = 0.002
    ion_fmax: float = 0.001
    steps: int = 500
    symmetry: bool = True
    reference_gpa: dict = field(default_factory=dict)
    progress: bool = False
    desc = "elastic"

    def calc(self, atoms, calculator, label: str = "") -> dict:
        c, c_err, relaxed, info = elastic_constants(
            calculator, atoms, relaxed_ion=self.relaxed_ion, max_strain=self.max_strain, n_steps=self.n_steps,
            relax_first=self.relax_first, fmax=self.fmax, ion_fmax=self.ion_fmax, steps=self.steps,
            symmetry=self.symmetry, progress=self.progress, desc=f"elastic {label}")
        summary = symmetry_summary(c, self.family)
        comparison = {}
        for key, ref in self.reference_gpa.items():
            value = summary.get(key)
            if value is None and len(key) == 3 and key[0] == "C" and key[1:].isdigit():
                value = c[int(key[1]) - 1, int(key[2]) - 1]
            if value is not None:
                comparison[key] = {"value_gpa": float(value), "reference_gpa": float(ref),
                                   "difference_gpa": float(value - ref),
                                   "relative_error_percent": float(100 * (value - ref) / ref) if ref else None}
        try:
            mod = moduli(c)
        except Exception as err:  # noqa: BLE001 - e.g. a singular matrix
            mod = {"error": f"{type(err).__name__}: {err}"}
        a, b, cc, alpha, beta, gamma = relaxed.cell.cellpar()
        return {"C_gpa": c, "C_err_gpa": c_err, "summary_gpa": summary, "moduli_gpa": mod,
                "comparison": comparison, "relaxation": info,
                "lattice": {"a": a, "b": b, "c": cc, "alpha": alpha, "beta": beta, "gamma": gamma}}


def elastic(calculators, atoms, *, relaxed_ion: bool = True, max_strain: float = 0.01, n_steps: int = 5,
            relax_first: bool = True, fmax: float = 0.002, ion_fmax: float = 0.001, steps: int = 500,
            symmetry: bool = True, reference_gpa: dict | None = None, family: str | None = None,
            progress: bool = False) -> ElasticResult:
    """Full 6x6 Cij (GPa) of ``atoms`` for each calculator, with a symmetry summary and comparison.

    ``reference_gpa``: e.g. {"C11": 236, "C33": 60, ...}; compared with the summary
    (or with any ``Cij`` of the full matrix).  ``family`` overrides the detected
    crystal family used for the summary.  A calculator that fails is recorded.
    """
    kernel = ElasticConstants(family=family or crystal_family(atoms), relaxed_ion=relaxed_ion,
                              max_strain=max_strain, n_steps=n_steps, relax_first=relax_first, fmax=fmax,
                              ion_fmax=ion_fmax, steps=steps, symmetry=symmetry,
                              reference_gpa=dict(reference_gpa or {}), progress=progress)
    result = ElasticResult(formula=atoms.get_chemical_formula("metal"), family=kernel.family,
                           relaxed_ion=relaxed_ion, max_strain=max_strain, n_steps=n_steps,
                           reference_gpa=kernel.reference_gpa)
    # the elastic fit shows its own progress bar per calculator
    for name, outcome in run_calculators(calculators, kernel, atoms).items():
        result.calculators[name] = outcome.record()
    return result


def plot_elastic(result: ElasticResult, path=None):
    """Bars of the summary constants (GPa) per calculator, reference as black markers."""
    import matplotlib.pyplot as plt

    names = [n for n, r in result.calculators.items() if "summary_gpa" in r]
    keys = [k for k in (next(iter(result.calculators[n]["summary_gpa"] for n in names), {}))
            if not k.startswith("C66_from")] if names else []
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(keys) + 2), 3.8))
    width = 0.8 / max(len(names), 1)
    for k, (color, name) in enumerate(zip(color_cycle(len(names)), names)):
        vals = [result.calculators[name]["summary_gpa"][key] for key in keys]
        errs = [result.calculators[name]["C_err_gpa"][int(key[1]) - 1][int(key[2]) - 1] for key in keys]
        ax.bar(np.arange(len(keys)) + (k - (len(names) - 1) / 2) * width, vals, width, yerr=errs,
               color=color, label=name, capsize=2)
    ref = [result.reference_gpa.get(key, np.nan) for key in keys]
    if np.isfinite(ref).any():
        ax.plot(range(len(keys)), ref, "k_", ms=18, mew=2, ls="none", label="reference")
    ax.set_xticks(range(len(keys)), keys)
    ax.set_ylabel("elastic constant (GPa)")
    ax.set_title(f"{result.formula}, {'relaxed' if result.relaxed_ion else 'clamped'}-ion")
    ax.legend(fontsize=8)
    return finish(fig, path)
