"""Shared pieces of the benchmark modules: JSON-savable results, calculator sets, labels, relaxation.

Units inside: eV, Å, eV/Å³ (ASE).  Conversions to GPa / cm⁻¹ / THz happen only
where a result is reported, and the names say so (``stress_gpa``, ``freq_cm1``).
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path

import numpy as np

THZ_TO_CM1 = 33.35640951981521  # 1 THz in cm⁻¹ (1e12 / c[cm/s])


def jsonable(obj):
    """Plain-Python copy of ``obj`` for json.dump: numpy -> lists/floats, NaN/inf -> None."""
    if is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


class JSONResult:
    """Mixin for result dataclasses: ``to_dict()`` and ``save_json(path)``."""

    def to_dict(self) -> dict:
        return jsonable({f.name: getattr(self, f.name) for f in fields(self)})

    def save_json(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load_json(cls, path):
        """The result written by ``save_json`` (arrays come back as lists), e.g. to re-plot it."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_dict(cls, data: dict):
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def calculator_set(calculators) -> dict:
    """``{name: calculator}`` from a dict, a single calculator or a list of them."""
    if isinstance(calculators, dict):
        if not calculators:
            raise ValueError("no calculators given")
        return dict(calculators)
    if isinstance(calculators, (list, tuple)):
        return {f"{type(c).__name__}-{i}": c for i, c in enumerate(calculators)}
    return {type(calculators).__name__: calculators}


def calculators_from_specs(specs) -> dict:
    """CLI helper: ``["name=spec", "spec", ...]`` -> ``{name: calculator}`` via calculator_from_spec."""
    from ase_ftcalc.spec import calculator_from_spec

    out = {}
    for item in specs:
        name, sep, spec = item.partition("=")
        if not sep or ":" in name or "?" in name:  # "chgnet:0.2.0" has no name=
            name, spec = item, item
        if name in out:
            raise ValueError(f"calculator name {name!r} given twice")
        out[name] = calculator_from_spec(spec)
    return out


def frame_label(atoms, name: str):
    """A DFT label (energy, forces, stress) stored on a frame, or None (calc results, info or arrays)."""
    from ase_ftcalc.frames import _label

    value = _label(atoms, name)
    if value is None:
        return None
    value = np.asarray(value, dtype=float)
    if name == "stress" and value.shape == (3, 3):
        from ase.stress import full_3x3_to_voigt_6_stress

        value = full_3x3_to_voigt_6_stress(value)
    return value


def relax(atoms, calc, *, fmax: float = 0.002, steps: int = 500, cell: bool = True,
          symmetry: bool = True, symprec: float = 1e-3, optimizer: str = "BFGS",
          logfile=None) -> tuple:
    """Relax positions (and the cell, through ASE's FrechetCellFilter) of a copy of ``atoms``.

    ``symmetry`` keeps the space group with ASE's FixSymmetry.  Returns
    ``(relaxed_atoms, info)`` where ``relaxed_atoms`` carries ``calc`` and no
    constraints, and ``info`` has steps, converged, fmax and the residual
    max force (eV/Å) and stress (GPa).
    """
    import ase.optimize
    from ase import units
    from ase.filters import FrechetCellFilter

    work = atoms.copy()
    work.calc = calc
    if symmetry:
        from ase.constraints import FixSymmetry

        work.set_constraint(FixSymmetry(work, symprec=symprec))
    target = FrechetCellFilter(work) if cell else work
    opt = getattr(ase.optimize, optimizer)(target, logfile=logfile)
    with warnings.catch_warnings():
        # CHGNet's graph builder goes through pymatgen, which warns about FixSymmetry
        warnings.filterwarnings("ignore", message="Only FixAtoms and FixCartesian")
        converged = bool(opt.run(fmax=fmax, steps=steps))
    work.set_constraint()
    forces = work.get_forces()
    stress = work.get_stress() if cell else np.zeros(6)
    info = {"steps": int(opt.nsteps), "converged": converged, "fmax_ev_per_a": fmax,
            "residual_max_force_ev_per_a": float(np.linalg.norm(forces, axis=1).max()),
            "residual_max_stress_gpa": float(np.abs(stress).max() / units.GPa)}
    return work, info


def color_cycle(n: int):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]
