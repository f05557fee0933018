"""The one result base class and the one JSON serialiser of the benchmarks.

Units inside results: eV, Å, eV/Å³ (ASE).  Conversions to GPa / cm⁻¹ / THz happen only
where a result is reported, and the field names say so (``stress_gpa``, ``freq_cm1``).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path

import numpy as np


def jsonable(obj):
    """Plain-Python copy of ``obj`` for json.dump: results (``to_dict``) and dataclasses -> dicts,
    numpy -> lists/floats, NaN/inf -> None (strict JSON)."""
    if isinstance(obj, JSONResult):
        return obj.to_dict()
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
    """Base of the result dataclasses: ``to_dict()``, ``save_json(path)``, ``load_json(path)`` and the
    table rows of per-calculator entries (``calculator_rows``)."""

    def calculator_rows(self, rows_of, entries: dict | None = None) -> list[dict]:
        """Rows of ``entries`` (default ``self.calculators``): ``rows_of(name, entry)`` (a list of dicts) for
        a calculator that ran, one ``{"calculator", "error"}`` row for one that failed."""
        rows = []
        for name, entry in (self.calculators if entries is None else entries).items():
            if "error" in entry:
                rows.append({"calculator": name, "error": entry["error"]})
            else:
                rows += rows_of(name, entry)
        return rows

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
