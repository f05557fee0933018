"""Relaxed structure of a crystal for several calculators, compared with reference values.

Full relaxation of cell and positions (ASE ``FrechetCellFilter``, symmetry kept
with ``FixSymmetry``, tight fmax), then lattice parameters a, b, c, α, β, γ,
volume per atom; for a layered MX2 (one metal, one chalcogen, X–M–X sandwiches
stacked along c) also the M–X bond length d_MX and the vdW gap z_vdW — the
distance between the facing chalcogen planes of neighbouring layers.
Lengths in Å, angles in degrees.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._common import JSONResult, calculator_set, color_cycle, relax

CHALCOGENS = ("O", "S", "Se", "Te")
# 2H-WS2, experiment (the reference; Schutte et al. 1987)
WS2_EXPERIMENT = {"a": 3.153, "c": 12.323, "d_MX": 2.405, "z_vdW": 3.019}


def layered_parameters(atoms, *, metal: str | None = None, chalcogen: str | None = None) -> dict:
    """d_MX (shortest M–X distance) and z_vdW (mean X–X interlayer plane spacing), Å.

    Heights are measured along the normal of the a–b plane; the vdW gaps are the
    spacings between consecutive atomic planes that are both chalcogen planes.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    kinds = sorted(set(symbols))
    if chalcogen is None:
        found = [s for s in kinds if s in CHALCOGENS]
        if len(found) != 1:
            raise ValueError(f"cannot tell the chalcogen among {kinds}; pass chalcogen=")
        chalcogen = found[0]
    if metal is None:
        others = [s for s in kinds if s != chalcogen]
        if len(others) != 1:
            raise ValueError(f"cannot tell the metal among {kinds}; pass metal=")
        metal = others[0]
    m_idx = np.flatnonzero(symbols == metal)
    x_idx = np.flatnonzero(symbols == chalcogen)
    d_mx = float(min(atoms.get_distances(i, x_idx, mic=True).min() for i in m_idx))

    cell = atoms.cell.array
    normal = np.cross(cell[0], cell[1])
    normal /= np.linalg.norm(normal)
    period = abs(float(np.dot(cell[2], normal)))
    heights = np.mod(atoms.positions @ normal, period)
    order = np.argsort(heights)
    h, s = heights[order], symbols[order]
    # merge atoms into planes (0.3 Å tolerance); a plane's kind is its element
    planes = []
    for height, sym in zip(h, s):
        if planes and height - planes[-1][0] < 0.3 and planes[-1][1] == sym:
            continue
        planes.append((height, sym))
    gaps = []
    for k, (height, sym) in enumerate(planes):
        nxt_h, nxt_s = planes[(k + 1) % len(planes)]
        gap = nxt_h - height if k + 1 < len(planes) else nxt_h + period - height
        if sym == chalcogen and nxt_s == chalcogen:
            gaps.append(gap)
    if not gaps:
        raise ValueError("no pair of facing chalcogen planes: not a layered MX2 along c")
    # within a sandwich X–M–X there is a metal plane between the two X planes, so
    # consecutive X–X planes are the interlayer gaps
    return {"d_MX": d_mx, "z_vdW": float(np.mean(gaps)), "metal": str(metal), "chalcogen": str(chalcogen),
            "n_layers": len(gaps)}


def structure_parameters(atoms, layered: bool | None = None) -> dict:
    """Lattice parameters (Å, degrees), volume per atom (Å³) and, for layered MX2, d_MX and z_vdW."""
    a, b, c, alpha, beta, gamma = atoms.cell.cellpar()
    out = {"a": a, "b": b, "c": c, "alpha": alpha, "beta": beta, "gamma": gamma,
           "volume_per_atom": atoms.get_volume() / len(atoms)}
    if layered is None:
        try:
            out.update(layered_parameters(atoms))
        except ValueError:
            pass
    elif layered:
        out.update(layered_parameters(atoms))
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


@dataclass
class StructureResult(JSONResult):
    formula: str
    initial: dict                      # parameters of the input structure
    reference: dict                    # user reference values (Å, degrees)
    calculators: dict                  # name -> {"parameters", "relaxation", "comparison"} or {"error"}
    relaxed_structures: dict = field(default_factory=dict)  # name -> {"cell", "positions", "numbers"}

    def table(self) -> list[dict]:
        """Rows: calculator, quantity, value, reference, difference, relative error (%)."""
        rows = []
        for name, res in self.calculators.items():
            if "error" in res:
                rows.append({"calculator": name, "error": res["error"]})
                continue
            keys = list(self.reference) or ["a", "c", "d_MX", "z_vdW"]
            for key in keys:
                if key in res["parameters"]:
                    rows.append({"calculator": name, "quantity": key, **res["comparison"].get(
                        key, {"value": res["parameters"][key]})})
        return rows

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


def structure(calculators, atoms, *, reference: dict | None = None, fmax: float = 0.002,
              steps: int = 500, symmetry: bool = True, layered: bool | None = None,
              progress: bool = False) -> StructureResult:
    """Relax ``atoms`` with each calculator and report its structure parameters vs ``reference``.

    ``reference``: e.g. ``WS2_EXPERIMENT`` = {"a": 3.153, "c": 12.323, "d_MX": 2.405, "z_vdW": 3.019}.
    ``layered``: None detects a layered MX2, True requires one, False reports lattice parameters only.
    A calculator that fails is recorded with its error; the others still run.
    """
    from tqdm.auto import tqdm

    calculators = calculator_set(calculators)
    reference = dict(reference or {})
    out, structures = {}, {}
    for name, calc in tqdm(calculators.items(), desc="relax", disable=not progress):
        t0 = time.perf_counter()
        try:
            relaxed, info = relax(atoms, calc, fmax=fmax, steps=steps, symmetry=symmetry)
            params = structure_parameters(relaxed, layered)
        except Exception as err:  # noqa: BLE001 - recorded, the other calculators still run
            out[name] = {"error": f"{type(err).__name__}: {err}"}
            continue
        info["seconds"] = time.perf_counter() - t0
        out[name] = {"parameters": params, "relaxation": info, "comparison": compare(params, reference)}
        structures[name] = {"cell": relaxed.cell.array.copy(), "positions": relaxed.positions.copy(),
                            "numbers": relaxed.numbers.copy()}
    return StructureResult(formula=atoms.get_chemical_formula("metal"), initial=structure_parameters(atoms, layered),
                           reference=reference, calculators=out, relaxed_structures=structures)


def plot_structure(result: StructureResult, path=None, keys=None):
    """Relative error (%) of each parameter vs the reference, one bar colour per calculator."""
    import matplotlib

    matplotlib.use("Agg")
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
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=130)
    return fig
