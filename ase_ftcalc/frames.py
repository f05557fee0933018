"""DFT frames for fine-tuning: reading any format ASE reads, and checking them.

A frame is an ASE Atoms whose calculator (SinglePointCalculator, as
``ase.io.read`` gives for extxyz, OUTCAR, vasprun.xml, ASE db) holds the DFT
energy (eV), forces (eV/Å) and optionally stress (eV/Å³, ASE sign).

:func:`validate_frames` checks, with an error naming the first bad frame:
energy and forces present, shapes, no NaN/inf, elements H..Pu, a periodic 3D
cell, and the structure checks of :mod:`ase_ftcalc.checks` (no atoms closer
than 0.5 Å, no degenerate or absurdly dense cell).  Then it looks for labels
in another unit.  A file is set aside, with a :class:`UnitWarning` naming its
frames and the unit the numbers look like, when one of its frames has

* a stress component above :data:`STRESS_LIMIT_GPA` (500 GPa; the centre of the
  Earth is at 360 GPa): kBar, GPa or bar written where eV/Å³ belongs;
* a force component above :data:`FORCE_LIMIT_EV_PER_A` (200 eV/Å): meV/Å;
* an energy per atom more than :data:`ENERGY_DEVIATION_EV_PER_ATOM` (10 eV/atom,
  beyond any cohesive energy) from the median of all frames with the same
  composition: meV, or eV in some files and meV in others.

(the stress check only when stress is used).  When no file is left, it is a
:class:`FrameError`.  Not caught: a wrong unit whose numbers stay within these
limits (e.g. meV energies of frames that differ by a few meV/atom only).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from .checks import StructureError, check_structure


class FrameError(ValueError):
    """A frame that cannot be used for training; the message names it."""


class UnitWarning(UserWarning):
    """Frames whose labels look like another unit were set aside."""


STRESS_LIMIT_GPA = 500.0
FORCE_LIMIT_EV_PER_A = 200.0
ENERGY_DEVIATION_EV_PER_ATOM = 10.0
EV_PER_A3_IN_GPA = 160.21766208


@dataclass
class Frame:
    atoms: Atoms
    energy: float                  # eV, total
    forces: np.ndarray             # eV/Å, (n, 3)
    stress: np.ndarray | None      # eV/Å³, Voigt-6, ASE sign
    magmoms: np.ndarray | None     # μB, (n,)
    source: str                    # "file.extxyz:3" or "frame 3"


@dataclass
class FrameSet:
    frames: list[Frame]
    has_stress: bool
    has_magmoms: bool
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    def groups(self) -> list[str]:
        """Each frame's group: ``info["group"]`` (one relaxation trajectory, one MD run), else its source."""
        return [str(fr.atoms.info.get("group", fr.source)) for fr in self.frames]

    def digest(self) -> str:
        """sha256 over positions, cell, numbers and labels: identifies the training data."""
        h = hashlib.sha256()
        for fr in self.frames:
            for arr in (fr.atoms.numbers, fr.atoms.positions, fr.atoms.cell.array, fr.forces,
                        np.array([fr.energy]), fr.stress if fr.stress is not None else np.zeros(0)):
                h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        return h.hexdigest()


def read_frames(paths: str | os.PathLike | Iterable[str | os.PathLike], index: str = ":") -> list[Atoms]:
    """All frames of one or several files (extxyz, OUTCAR, vasprun.xml, ASE db, ...)."""
    from ase.io import read

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    frames = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"DFT data file {path} not found")
        try:
            images = read(path, index=index)
        except Exception as err:  # noqa: BLE001 - ASE raises many types for unreadable files
            raise FrameError(f"{path}: cannot read frames ({type(err).__name__}: {err})") from err
        images = images if isinstance(images, list) else [images]
        for i, atoms in enumerate(images):
            atoms.info.setdefault("source", f"{path}:{i}")
        frames.extend(images)
    return frames


def _label(atoms: Atoms, name: str):
    calc = atoms.calc
    if calc is not None and name in getattr(calc, "results", {}):
        return calc.results[name]
    # extxyz written without a calculator keeps labels in info/arrays
    for key in (name, f"REF_{name}", f"dft_{name}"):
        if key in atoms.info:
            return atoms.info[key]
        if key in atoms.arrays:
            return atoms.arrays[key]
    return None


def stored_label(atoms: Atoms, name: str):
    """A label stored on a frame as fine-tuning reads it (calculator results, else info/arrays under
    ``name``, ``REF_name`` or ``dft_name``), or None."""
    return _label(atoms, name)


def validate_frames(frames: Sequence[Atoms], *, use_stress: bool | None = None,
                    check_units: bool = True) -> FrameSet:
    """Check every frame and collect its labels; raise FrameError naming the first bad frame.

    ``check_units``: set aside files whose labels look like another unit (see the module doc).
    """
    from chgnet.model.composition_model import AtomRef

    if len(frames) == 0:
        raise FrameError("no frames: the dataset is empty")
    max_z = AtomRef().max_num_elements  # CHGNet knows H..Pu (Z <= 94)
    checked = []
    for i, atoms in enumerate(frames):
        source = str(atoms.info.get("source", f"frame {i}"))
        energy = _label(atoms, "energy")
        forces = _label(atoms, "forces")
        if energy is None or forces is None:
            missing = " and ".join(n for n, v in (("energy", energy), ("forces", forces)) if v is None)
            raise FrameError(f"{source}: no DFT {missing} (frames need energy and forces)")
        forces = np.asarray(forces, dtype=float)
        if forces.shape != (len(atoms), 3):
            raise FrameError(f"{source}: forces have shape {forces.shape}, expected ({len(atoms)}, 3)")
        stress = _label(atoms, "stress")
        if stress is not None:
            stress = np.asarray(stress, dtype=float)
            if stress.shape == (3, 3):
                from ase.stress import full_3x3_to_voigt_6_stress

                stress = full_3x3_to_voigt_6_stress(stress)
        magmoms = _label(atoms, "magmoms")
        for name, value in (("energy", energy), ("forces", forces), ("stress", stress), ("magmoms", magmoms)):
            if value is not None and not np.all(np.isfinite(np.asarray(value, dtype=float))):
                raise FrameError(f"{source}: {name} contains NaN or inf")
        bad = sorted({s for s, z in zip(atoms.get_chemical_symbols(), atoms.numbers) if z > max_z or z < 1})
        if bad:
            raise FrameError(f"{source}: element(s) {', '.join(bad)} unknown to CHGNet (it covers H to Pu)")
        if not atoms.pbc.all() or atoms.cell.volume <= 0:
            raise FrameError(f"{source}: CHGNet needs a periodic 3D cell (pbc={atoms.pbc.tolist()})")
        try:
            check_structure(atoms, where=source)
        except StructureError as err:
            raise FrameError(str(err)) from None
        checked.append(Frame(atoms, float(energy), forces, stress,
                             None if magmoms is None else np.asarray(magmoms, dtype=float), source))
    with_stress = [f.stress is not None for f in checked]
    if use_stress is None:
        if any(with_stress) and not all(with_stress):
            missing = [f.source for f in checked if f.stress is None]
            raise FrameError(
                f"stress is present in {sum(with_stress)} frames and absent in {len(missing)} "
                f"(first without: {missing[0]}); pass use_stress=False to train without stress"
            )
        use_stress = all(with_stress)
    elif use_stress and not all(with_stress):
        missing = next(f.source for f in checked if f.stress is None)
        raise FrameError(f"{missing}: no stress, but use_stress=True")
    if check_units:
        checked = _plausible_units(checked, use_stress=bool(use_stress))
    has_magmoms = all(f.magmoms is not None for f in checked)
    return FrameSet(checked, has_stress=bool(use_stress), has_magmoms=has_magmoms,
                    sources=[f.source for f in checked])


def _file_of(source: str) -> str:
    """The file a frame came from ("a.extxyz:3" -> "a.extxyz"): a unit mistake affects a whole file."""
    path, sep, index = source.rpartition(":")
    return path if sep and index.isdigit() else source


def _stress_units(raw: float) -> str:
    """The units a stress maximum ``raw`` (as read, "eV/Å³") most likely is in, most likely first."""
    fits = [(abs(np.log(raw * gpa / 5.0)), name, raw * gpa) for name, gpa in
            (("kBar", 0.1), ("GPa", 1.0), ("bar", 1e-4)) if raw * gpa <= STRESS_LIMIT_GPA]
    if not fits:
        return "no unit makes it plausible"
    return "likely " + " or ".join(f"{name} written as eV/Å³ (max {gpa:.3g} GPa if so)"
                                   for _, name, gpa in sorted(fits)[:2])


def _implausible(frames: list[Frame], use_stress: bool) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """{(file, check): [(how far off, frame source)]} for labels beyond physical limits."""
    found: dict[tuple[str, str], list[tuple[float, str]]] = {}
    by_composition: dict[str, list[tuple[Frame, float]]] = {}
    for fr in frames:
        formula = fr.atoms.get_chemical_formula(mode="metal", empirical=True)
        by_composition.setdefault(formula, []).append((fr, fr.energy / len(fr.atoms)))
        force = float(np.abs(fr.forces).max())
        if force > FORCE_LIMIT_EV_PER_A:
            found.setdefault((_file_of(fr.source), "forces"), []).append((force, fr.source))
        if use_stress:
            raw = float(np.abs(fr.stress).max())
            if raw * EV_PER_A3_IN_GPA > STRESS_LIMIT_GPA:
                found.setdefault((_file_of(fr.source), "stress"), []).append((raw, fr.source))
    for formula, members in by_composition.items():
        median = float(np.median([e for _, e in members]))
        for fr, e in members:
            if abs(e - median) > ENERGY_DEVIATION_EV_PER_ATOM:
                found.setdefault((_file_of(fr.source), f"energy {formula}"), []).append((e - median, fr.source))
    return found


def _describe(check: str, worst: float) -> str:
    if check == "forces":
        unit = (f"likely meV/Å (max {worst / 1000:.3g} eV/Å if so)" if worst / 1000 <= FORCE_LIMIT_EV_PER_A
                else "no unit makes it plausible")
        return f"forces up to {worst:.4g} eV/Å (limit {FORCE_LIMIT_EV_PER_A:g}): {unit}"
    if check == "stress":
        return (f"stress up to {worst * EV_PER_A3_IN_GPA:.4g} GPa (limit {STRESS_LIMIT_GPA:g}): "
                + _stress_units(worst))
    formula = check.split()[1]
    return (f"energy per atom up to {abs(worst):.4g} eV/atom from the median of all {formula} frames "
            f"(limit {ENERGY_DEVIATION_EV_PER_ATOM:g}): likely meV, in these frames or in all")


def _plausible_units(frames: list[Frame], *, use_stress: bool) -> list[Frame]:
    """The frames of files without implausible labels; a UnitWarning for each file set aside."""
    import warnings

    found = _implausible(frames, use_stress)
    if not found:
        return frames
    bad_files = sorted({name for name, _ in found})
    messages = []
    for name in bad_files:
        n_frames = sum(_file_of(fr.source) == name for fr in frames)
        reasons = []
        for (file, check), hits in found.items():
            if file == name:
                shown = ", ".join(src for _, src in hits[:3]) + (f" and {len(hits) - 3} more" if len(hits) > 3 else "")
                reasons.append(f"{_describe(check, max(hits, key=lambda h: abs(h[0]))[0])} ({shown})")
        messages.append(f"{name}: {n_frames} frame(s) set aside: " + "; ".join(reasons))
    kept = [fr for fr in frames if _file_of(fr.source) not in bad_files]
    if len(messages) > 3:
        messages = messages[:3] + [f"and {len(messages) - 3} more files or frames"]
    if not kept:
        raise FrameError("no frame with plausible units is left. " + " | ".join(messages)
                         + " (to train on them anyway: check_units=False, ftcalc finetune --no-unit-check)")
    for message in messages:
        warnings.warn(message, UnitWarning, stacklevel=3)
    return kept


# Fingerprints of a frame's structure (numbers, cell, wrapped positions) on a 1e-4 Å grid and on the
# same grid shifted by half a step: a coordinate that a file round trip (extxyz keeps 1e-8 Å) moves
# across a rounding boundary of one grid sits in the middle of a cell of the other, so a frame and its
# re-read copy share at least one fingerprint.
FINGERPRINT_GRID_A = 1e-4


def structure_fingerprints(atoms: Atoms) -> tuple[str, str]:
    """Two sha256 fingerprints of the structure alone (labels ignored): equal structures share one."""
    cell = atoms.cell.array
    frac = atoms.cell.scaled_positions(atoms.positions) % 1.0
    frac[np.isclose(frac, 1.0, atol=1e-9)] = 0.0
    cart = frac @ cell
    out = []
    for offset in (0.0, 0.5):
        h = hashlib.sha256(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
        for arr in (cell, cart):
            q = np.floor(arr / FINGERPRINT_GRID_A + offset).astype(np.int64)
            h.update(q.tobytes())
        out.append(h.hexdigest()[:32])
    return out[0], out[1]


def seen_mask(frames: Sequence[Atoms], fingerprints: Iterable[str]) -> list[bool]:
    """For each frame, whether its structure is among ``fingerprints`` (e.g. a model's training frames)."""
    known = set(fingerprints)
    return [any(f in known for f in structure_fingerprints(a)) for a in frames]


def drop_duplicates(frame_set: FrameSet) -> tuple[FrameSet, list[tuple[str, str]]]:
    """Frames with the structure and energy of an earlier frame removed; returns (kept, [(dropped, kept_as)])."""
    first: dict[str, Frame] = {}
    kept, dropped = [], []
    for fr in frame_set.frames:
        twin = next((first[f] for f in structure_fingerprints(fr.atoms) if f in first), None)
        if twin is not None and abs(twin.energy - fr.energy) < 1e-6 and np.allclose(twin.forces, fr.forces, atol=1e-6):
            dropped.append((fr.source, twin.source))
            continue
        for f in structure_fingerprints(fr.atoms):
            first.setdefault(f, fr)
        kept.append(fr)
    return FrameSet(kept, frame_set.has_stress, frame_set.has_magmoms, [f.source for f in kept]), dropped
