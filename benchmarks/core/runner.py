"""Calculators for a benchmark: from a dict, a list, one calculator or spec strings."""
from __future__ import annotations


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
