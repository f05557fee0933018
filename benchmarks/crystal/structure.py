"""Relaxed structure of a crystal for several calculators, compared with reference values.

Full relaxation of cell and positions (ASE ``FrechetCellFilter``, symmetry kept
with ``FixSymmetry``, tight fmax), then lattice parameters a, b, c, α, β, γ,
volume per atom; for a layered MX2 (one metal, one chalcogen, X–M–X sandwiches
stacked along c) also the M–X bond length d_MX and the vdW gap z_vdW — the
distance between the facing chalcogen planes of neighbouring layers.
Lengths in Å, angles in degrees.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ase_ftcalc.structures import structure_parameters

from ..core.plotting import color_cycle, finish
from ..core.relax import relax
from ..core.results import JSONResult
from ..core.runner import Kernel, run_calculators

@dataclass
class StructureResult(JSONResult):
    formula: str
    initial: dict                      # parameters of the input structure
    reference: dict                    # user reference values (Å, degrees)
    calculators: dict                  # name -> {"parameters", "relaxation", "comparison"} or {"error"}
    relaxed_structures: dict = field(default_factory=dict)  # name -> {"cell", "positions", "numbers"}

    def table(self) -> list[dict]:
        """Rows: calculator, quantity, value, reference, difference, relative error (%)."""
        keys = list(self.reference) or ["a", "c", "d_MX", "z_vdW"]
        return self.calculator_rows(lambda name, res: [
            {"calculator": name, "quantity": key, **res["comparison"].get(key, {"value": res["parameters"][key]})}
            for key in keys if key in res["parameters"]])

    def atoms(self, name: str):
        from ase import Atoms

        s = self.relaxed_structures[name]
        return Atoms(numbers=s["numbers"], positions=s["positions"], cell=s["cell"], pbc=True)


def compare(parameters: dict, reference: dict) -> dict:
    out = {}
    for key, ref in reference.items():
        if key in parameters and ref is not None:
            value = parameters[key]
            out[key] = {"value": value, "reference": float(ref), "difference": value - ref,
                        "relative_error_percent": 100.0 * (value - ref) / ref}
    return out


@dataclass
class RelaxedStructure(Kernel):
    """Relax one structure with one calculator: its structure parameters, compared with ``reference``."""

    reference: dict = field(default_factory=dict)
    fmax: float = 0.002
    steps: int = 500
    symmetry: bool = True
    layered: bool | None = None
    desc = "relax"

    def calc(self, atoms, calculator, label: str = "") -> dict:
        relaxed, info = relax(atoms, calculator, fmax=self.fmax, steps=self.steps, symmetry=self.symmetry)
        params = structure_parameters(relaxed, self.layered)
        return {"parameters": params, "relaxation": info, "comparison": compare(params, self.reference),
                "structure": {"cell": relaxed.cell.array.copy(), "positions": relaxed.positions.copy(),
                              "numbers": relaxed.numbers.copy()}}


def structure(calculators, atoms, *, reference: dict | None = None, fmax: float = 0.002,
              steps: int = 500, symmetry: bool = True, layered: bool | None = None,
              progress: bool = False) -> StructureResult:
    """Relax ``atoms`` with each calculator and report its structure parameters vs ``reference``.

    ``reference``: e.g. ``ase_ftcalc.reference_values.experiment_structure("WS2")`` =
    {"a": 3.153, "c": 12.323, "d_MX": 2.405, "z_vdW": 3.019}.
    ``layered``: None detects a layered MX2, True requires one, False reports lattice parameters only.
    A calculator that fails is recorded with its error; the others still run.
    """
    kernel = RelaxedStructure(reference=dict(reference or {}), fmax=fmax, steps=steps, symmetry=symmetry,
                              layered=layered)
    out, structures = {}, {}
    for name, outcome in run_calculators(calculators, kernel, atoms, progress=progress).items():
        if not outcome.ok:
            out[name] = {"error": outcome.error}
            continue
        value = dict(outcome.value)
        structures[name] = value.pop("structure")
        value["relaxation"]["seconds"] = outcome.seconds
        out[name] = value
    return StructureResult(formula=atoms.get_chemical_formula("metal"), initial=structure_parameters(atoms, layered),
                           reference=kernel.reference, calculators=out, relaxed_structures=structures)


def plot_structure(result: StructureResult, path=None, keys=None):
    """Relative error (%) of each parameter vs the reference, one bar colour per calculator."""
    import matplotlib.pyplot as plt

    keys = list(keys or result.reference or ["a", "c", "d_MX", "z_vdW"])
    names = [n for n, r in result.calculators.items() if "parameters" in r]
    fig, ax = plt.subplots(figsize=(1.4 * len(keys) + 3, 3.8))
    width = 0.8 / max(len(names), 1)
    for k, (color, name) in enumerate(zip(color_cycle(len(names)), names)):
        comp = result.calculators[name]["comparison"]
        vals = [comp[key]["relative_error_percent"] if key in comp else np.nan for key in keys]
        ax.bar(np.arange(len(keys)) + (k - (len(names) - 1) / 2) * width, vals, width, color=color, label=name)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(keys)), keys)
    ax.set_ylabel("deviation from reference (%)")
    ax.legend(fontsize=8)
    return finish(fig, path)
