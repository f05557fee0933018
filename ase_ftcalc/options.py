"""Numeric options and output paths checked at the edge: one line naming the option and its range.

The Python API checks its arguments under their Python names (``epochs``,
``ecut_ev``); the CLI runs the same checks under :func:`cli_names`, which
turns the names into the command's options (``--epochs``, ``--ecut``).
Nothing heavy is imported here, so a command fails in well under a second.
"""
from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path


class OptionError(ValueError):
    """An argument outside its allowed range; ``option`` names it."""

    def __init__(self, option: str, requirement: str, value, template: str | None = None):
        self.option, self.requirement, self.value, self.template = option, requirement, value, template
        text = template.format(option=option) if template else f"{option} must be {requirement} (got {value!r})"
        super().__init__(text)


def require(option: str, value, *, integer: bool = False, minimum=None, above=None, maximum=None,
            below=None, optional: bool = False):
    """``value`` if it is a finite number (an int when ``integer``) within the bounds, else OptionError.

    ``minimum``/``maximum`` are inclusive, ``above``/``below`` exclusive; ``optional`` lets None pass.
    """
    if value is None and optional:
        return value
    kind = "an integer" if integer else "a number"
    parts = []
    if minimum is not None:
        parts.append(f"≥ {minimum}")
    if above is not None:
        parts.append(f"> {above}")
    if maximum is not None:
        parts.append(f"≤ {maximum}")
    if below is not None:
        parts.append(f"< {below}")
    requirement = f"{kind} {' and '.join(parts)}".strip()
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool) or _is_numpy_number(value)
    if not numeric or (integer and int(value) != value) or not math.isfinite(value) or (
            integer and isinstance(value, float)):
        raise OptionError(option, requirement, value)
    if ((minimum is not None and not value >= minimum) or (above is not None and not value > above)
            or (maximum is not None and not value <= maximum) or (below is not None and not value < below)):
        raise OptionError(option, requirement, value)
    return value


def _is_numpy_number(value) -> bool:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return False
    return isinstance(value, (np.integer, np.floating))


@contextlib.contextmanager
def cli_names(names: dict[str, str]):
    """Re-raise OptionErrors of the API under the CLI's option names (``{"epochs": "--epochs"}``)."""
    try:
        yield
    except OptionError as err:
        if err.option not in names:
            raise
        raise OptionError(names[err.option], err.requirement, err.value, err.template) from None


def check_finetune_options(*, epochs, batch_size, learning_rate, split=(0.8, 0.1, 0.1), energy_weight=1.0,
                           force_weight=1.0, stress_weight=0.1, magmom_weight=0.1, num_threads=None,
                           seed=0) -> None:
    """Ranges of :func:`ase_ftcalc.fine_tune`'s numeric arguments."""
    require("epochs", epochs, integer=True, minimum=1)
    require("batch_size", batch_size, integer=True, minimum=1)
    require("learning_rate", learning_rate, above=0)
    require("num_threads", num_threads, integer=True, minimum=1, optional=True)
    require("seed", seed, integer=True, minimum=0)
    for name, weight in (("energy_weight", energy_weight), ("force_weight", force_weight),
                         ("stress_weight", stress_weight), ("magmom_weight", magmom_weight)):
        require(name, weight, minimum=0)
    if energy_weight == force_weight == stress_weight == 0:
        raise OptionError("energy_weight, force_weight and stress_weight", "not all 0 (nothing to fit)",
                          (energy_weight, force_weight, stress_weight))
    fractions = tuple(split) if isinstance(split, (list, tuple)) else None
    if (fractions is None or len(fractions) != 3
            or not all(isinstance(f, (int, float)) and math.isfinite(f) and f >= 0 for f in fractions)
            or not fractions[0] > 0 or abs(sum(fractions) - 1) > 1e-6):
        raise OptionError("split", "three fractions (train, validation, test) ≥ 0, train > 0, summing to 1",
                          split)


def check_output_path(path, *, overwrite: bool = False, option: str = "output") -> Path:
    """Refuse, before any work, an output file that could not be written at the end.

    A directory, an existing file without ``overwrite``, a parent that is a file or cannot be
    created, or a folder this process cannot write in.  Creates and leaves nothing.
    """
    path = Path(path)

    def refuse(why: str):
        return OptionError(option, why, str(path), template="{option} " + f"{path}: {why}")

    if path.is_dir():
        raise refuse("is a directory; give a file name inside it")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    existing = parent
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise refuse(f"its folder cannot be created, {existing} is a file")
    if existing != parent:
        if not os.access(existing, os.W_OK | os.X_OK):
            raise refuse(f"its folder cannot be created, {existing} is not writable")
        return path
    try:  # a real write: permission bits do not tell for root, read-only mounts or /proc
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
    except OSError as err:
        raise refuse(f"cannot write in {parent} ({err.strerror or err})") from None
    os.close(fd)
    os.unlink(probe)
    return path
