"""Build an ASE calculator from a short text spec, for CLIs and LAMMPS decks.

    chgnet                  pretrained CHGNet 0.3.0
    chgnet:0.2.0            another pretrained version
    chgnet:/path/model.pt   a model file written by ase_ftcalc
    emt                     ASE's EMT (tests, quick checks)
    package.module:factory  any importable callable returning a calculator
    path/to/model.pt        shorthand for chgnet:path/to/model.pt
    SPEC+d3                 any of these with Grimme D3 (PBE, zero damping) added;
                            +d3bj for Becke–Johnson damping (e.g. chgnet+d3, model.pt+d3)

Options follow after '?' as key=value pairs joined by '&', e.g.
``chgnet?num_threads=2&device=cpu``; values are parsed as Python literals
where possible.
"""
from __future__ import annotations

import ast
import importlib


def _options(query: str) -> dict:
    options = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"calculator option {item!r} is not key=value")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return options


def split_dispersion(spec: str) -> tuple[str, str | None]:
    """``'chgnet+d3?x=1'`` -> (``'chgnet?x=1'``, ``'d3'``); no suffix -> (spec, None)."""
    text, sep, query = spec.strip().partition("?")
    base, plus, suffix = text.rpartition("+")
    if plus and suffix.lower().startswith("d3"):
        return base + sep + query, suffix.lower()
    return spec.strip(), None


def calculator_from_spec(spec: str, **overrides):
    """Return a new ASE calculator described by ``spec`` (see module doc)."""
    spec, dispersion = split_dispersion(spec)
    text, _, query = spec.strip().partition("?")
    options = {**_options(query), **overrides}
    name, _, arg = text.partition(":")
    model = (arg or "0.3.0") if name.lower() == "chgnet" else text if text.endswith((".pt", ".pth", ".pth.tar")) else None
    if model is not None:
        from .calculator import FTCalculator

        if dispersion is not None:
            options["dispersion"] = dispersion  # FTCalculator adds D3 itself and records it in parameters
        return FTCalculator(model=model, **options)
    calc = _calculator(text, arg, name, spec, options)
    if dispersion is None:
        return calc
    from .dispersion import with_dispersion

    return with_dispersion(calc, dispersion)


def _calculator(text: str, arg: str, name: str, spec: str, options: dict):
    if name.lower() == "emt" and not arg:
        from ase.calculators.emt import EMT

        return EMT(**options)
    if arg:
        try:
            factory = getattr(importlib.import_module(name), arg)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"calculator spec {spec!r}: cannot import {name}:{arg} ({err})") from err
        return factory(**options)
    raise ValueError(
        f"unknown calculator spec {spec!r}: use 'chgnet', 'chgnet:VERSION', 'chgnet:MODEL.pt', "
        "'emt' or 'module:factory'"
    )
