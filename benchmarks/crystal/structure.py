"""Relaxed structure of a crystal for several calculators, compared with reference values.

Full relaxation of cell and positions (ASE ``FrechetCellFilter``, symmetry kept
with ``FixSymmetry``, tight fmax), then lattice parameters a, b, c, α, β, γ,
volume per atom; for a layered MX2 (one metal, one chalcogen, X–M–X sandwiches
stacked along c) also the M–X bond length d_MX and the vdW gap z_vdW — the
distance between the facing chalcogen planes of neighbouring layers.
Lengths in Å, angles in degrees.

Every calculator is compared with one or several named references (e.g.
``{"experiment": ..., "PBE-D3": ...}``).  A relaxed structure is a result
only if it does not depend on the optimiser's threshold or starting point:
with ``check=True`` (the default) each calculator also relaxes to a looser
threshold and from starts with c scaled by ``check_c_scales``, and the largest
spread of a, c, d_MX, z_vdW is reported; above ``plateau_tolerance`` (Å) the
result is flagged as a plateau (an energy surface too flat to pin the
structure), not reported as a value one can trust.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ase_ftcalc.structures import structure_parameters

from ..core.plotting import color_cycle, finish
from ..core.relax import relax
from ..core.results import JSONResult
from ..core.runner import Kernel, run_calculators

CHECK_KEYS = ("a", "c", "d_MX", "z_vdW")


@dataclass
class StructureResult(JSONResult):
    formula: str
    initial: dict                      # parameters of the input structure
    reference: dict                    # the first reference's values (Å, degrees)
    calculators: dict                  # name -> {"parameters", "relaxation", "comparison", "comparisons",
                                       #          "robustness"} or {"error"}
    relaxed_structures: dict = field(default_factory=dict)  # name -> {"cell", "positions", "numbers"}
    references: dict = field(default_factory=dict)          # reference name -> values (Å, degrees)

    def table(self) -> list[dict]:
        """Rows: calculator, quantity, value, then reference, difference, relative error (%) per reference."""
        refs = self.references or ({"reference": self.reference} if self.reference else {})
        keys = list(dict.fromkeys(k for r in refs.values() for k in r)) or list(CHECK_KEYS)

        def rows(name, res):
            out = []
            for key in keys:
                if key not in res["parameters"]:
                    continue
                row = {"calculator": name, "quantity": key, "value": res["parameters"][key]}
                for ref_name, comp in res.get("comparisons", {"reference": res["comparison"]}).items():
                    if key in comp:
                        row.update({f"{ref_name} ({ref_name_unit})": comp[key][field_key]
                                    for field_key, ref_name_unit in (("reference", "Å"),
                                                                      ("difference", "Å, Δ"),
                                                                      ("relative_error_percent", "%"))})
                spread = res.get("robustness", {}).get("spread", {}).get(key)
                if spread is not None:
                    row["spread over thresholds/starts (Å)"] = spread
                out.append(row)
            return out

        return self.calculator_rows(rows)

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
    """Relax one structure with one calculator: its structure parameters, compared with each reference,
    and (``check``) their spread over a looser threshold and other starting cells."""

    reference: dict = field(default_factory=dict)
    fmax: float = 0.002
    steps: int = 500
    symmetry: bool = True
    layered: bool | None = None
    references: dict = field(default_factory=dict)
    check: bool = False
    loose_fmax: float = 0.005
    check_c_scales: tuple = (1.05, 0.96)
    plateau_tolerance: float = 0.02
    desc = "relax"

    def calc(self, atoms, calculator, label: str = "") -> dict:
        relaxed, info = relax(atoms, calculator, fmax=self.fmax, steps=self.steps, symmetry=self.symmetry)
        params = structure_parameters(relaxed, self.layered)
        refs = self.references or ({"reference": self.reference} if self.reference else {})
        out = {"parameters": params, "relaxation": info, "comparison": compare(params, self.reference),
               "comparisons": {name: compare(params, ref) for name, ref in refs.items()},
               "structure": {"cell": relaxed.cell.array.copy(), "positions": relaxed.positions.copy(),
                             "numbers": relaxed.numbers.copy()}}
        if self.check:
            out["robustness"] = self._robustness(atoms, calculator, params)
        return out

    def _robustness(self, atoms, calculator, params) -> dict:
        runs = {f"fmax {self.fmax}": params}
        loose, _ = relax(atoms, calculator, fmax=self.loose_fmax, steps=self.steps, symmetry=self.symmetry)
        runs[f"fmax {self.loose_fmax}"] = structure_parameters(loose, self.layered)
        for scale in self.check_c_scales:
            start = atoms.copy()
            cell = start.cell.array.copy()
            cell[2] *= scale
            start.set_cell(cell, scale_atoms=True)
            relaxed, _ = relax(start, calculator, fmax=self.fmax, steps=self.steps, symmetry=self.symmetry)
            runs[f"start c x {scale}"] = structure_parameters(relaxed, self.layered)
        keys = [k for k in CHECK_KEYS if all(k in r for r in runs.values())]
        spread = {k: float(max(r[k] for r in runs.values()) - min(r[k] for r in runs.values())) for k in keys}
        worst = max(spread.values()) if spread else 0.0
        return {"runs": {name: {k: r[k] for k in keys} for name, r in runs.items()}, "spread": spread,
                "max_spread": worst, "plateau": worst > self.plateau_tolerance,
                "tolerance": self.plateau_tolerance}


def structure(calculators, atoms, *, reference: dict | None = None, fmax: float = 0.002,
              steps: int = 500, symmetry: bool = True, layered: bool | None = None,
              progress: bool = False, references: dict | None = None, check: bool = False,
              loose_fmax: float = 0.005, plateau_tolerance: float = 0.02) -> StructureResult:
    """Relax ``atoms`` with each calculator and report its structure parameters vs the references.

    ``reference``: e.g. ``ase_ftcalc.reference_values.experiment_structure("WS2")`` =
    {"a": 3.153, "c": 12.323, "d_MX": 2.405, "z_vdW": 3.019}; ``references``: several named ones, e.g.
    ``{"experiment": ..., "PBE-D3": ase_ftcalc.reference_values.pbe_d3_structure("WS2")}``.
    ``layered``: None detects a layered MX2, True requires one, False reports lattice parameters only.
    ``check``: also relax to ``loose_fmax`` and from starts with c scaled (see module doc).
    A calculator that fails is recorded with its error; the others still run.
    """
    references = {k: dict(v) for k, v in (references or {}).items() if v}
    if reference is None and references:
        reference = next(iter(references.values()))
    kernel = RelaxedStructure(reference=dict(reference or {}), fmax=fmax, steps=steps, symmetry=symmetry,
                              layered=layered, references=references, check=check, loose_fmax=loose_fmax,
                              plateau_tolerance=plateau_tolerance)
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
                           reference=kernel.reference, calculators=out, relaxed_structures=structures,
                           references=references)


def plot_structure(result: StructureResult, path=None, keys=None):
    """Deviation (%) of each parameter from each reference (one panel per reference), one bar colour per
    calculator; a hatched bar marks a plateau (result depends on threshold or start)."""
    import matplotlib.pyplot as plt

    refs = result.references or {"reference": result.reference}
    keys = list(keys or next(iter(refs.values()), None) or CHECK_KEYS)
    names = [n for n, r in result.calculators.items() if "parameters" in r]
    fig, axes = plt.subplots(1, len(refs), figsize=((1.4 * len(keys) + 3) * len(refs), 3.8), squeeze=False)
    width = 0.8 / max(len(names), 1)
    for ax, (ref_name, ref) in zip(axes[0], refs.items()):
        for k, (color, name) in enumerate(zip(color_cycle(len(names)), names)):
            res = result.calculators[name]
            comp = res.get("comparisons", {}).get(ref_name, res["comparison"])
            vals = [comp[key]["relative_error_percent"] if key in comp else np.nan for key in keys]
            plateau = res.get("robustness", {}).get("plateau", False)
            ax.bar(np.arange(len(keys)) + (k - (len(names) - 1) / 2) * width, vals, width, color=color,
                   hatch="//" if plateau else None, edgecolor="k" if plateau else color,
                   label=name + (" (plateau: depends on threshold/start)" if plateau else ""))
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(keys)), keys)
        ax.set_ylabel(f"deviation from {ref_name} (%)")
        ax.set_title(f"vs {ref_name}: " + ", ".join(f"{k} {v:.3f} Å" for k, v in ref.items() if k in keys),
                     fontsize=8)
        ax.legend(fontsize=7)
    return finish(fig, path)
