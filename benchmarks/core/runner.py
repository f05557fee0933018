"""One way to run a benchmark over calculators.

A benchmark is a *kernel* — its computation for one calculator on one input (a structure, or the frames
it needs), ``kernel.calc(structure, calculator) -> dict``, after matcalc's ``PropCalc.calc`` — and
:func:`run_calculators`, which builds the calculator set, times each calculator, runs the kernel and
records an error instead of stopping when one fails.  The benchmark function then turns the outcomes
into its result dataclass.
"""
from __future__ import annotations

import time
from dataclasses import dataclass


class Kernel:
    """One benchmark's computation for one calculator.  Subclasses are dataclasses of their settings.

    ``calc(structure, calculator, label="")`` returns a dict of plain values (numpy allowed);
    ``label`` names the calculator for progress bars and cache files.  An exception means the
    calculator failed; :func:`run_calculators` records it.
    """

    desc = "calculators"   # progress-bar text

    def calc(self, structure, calculator, label: str = "") -> dict:
        raise NotImplementedError


@dataclass
class Outcome:
    """What one calculator gave: the kernel's dict or the error it raised, and the wall time (s)."""

    value: dict | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict:
        """The kernel's dict with ``seconds``, or ``{"error": ...}``: one entry of a result's ``calculators``."""
        return {**self.value, "seconds": self.seconds} if self.ok else {"error": self.error}


def run_calculators(calculators, kernel: Kernel, structure, *, progress: bool = False) -> dict[str, Outcome]:
    """``{name: Outcome}`` of ``kernel`` on ``structure`` for each calculator (see :func:`calculator_set`).

    A calculator that raises is recorded with ``"ExceptionType: message"``; the others still run.
    """
    from tqdm.auto import tqdm

    out = {}
    for name, calc in tqdm(calculator_set(calculators).items(), desc=kernel.desc, disable=not progress,
                           unit="calc"):
        t0 = time.perf_counter()
        try:
            value = kernel.calc(structure, calc, label=name)
        except Exception as err:  # noqa: BLE001 - recorded, the other calculators still run
            out[name] = Outcome(error=f"{type(err).__name__}: {err}", seconds=time.perf_counter() - t0)
            continue
        out[name] = Outcome(value=value, seconds=time.perf_counter() - t0)
    return out


def calculator_set(calculators) -> dict:
    """``{name: calculator}`` from a dict, a single calculator or a list of them; spec strings
    (``ase_ftcalc.spec``) are built here, so a bad spec is a ValueError before anything runs."""
    if isinstance(calculators, dict):
        if not calculators:
            raise ValueError("no calculators given")
        items = dict(calculators)
    elif isinstance(calculators, (list, tuple)):
        items = {(c if isinstance(c, str) else f"{type(c).__name__}-{i}"): c for i, c in enumerate(calculators)}
    else:
        items = {calculators if isinstance(calculators, str) else type(calculators).__name__: calculators}
    if any(isinstance(c, str) for c in items.values()):
        from ase_ftcalc.spec import calculator_from_spec

        items = {name: calculator_from_spec(c) if isinstance(c, str) else c for name, c in items.items()}
    return items


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
