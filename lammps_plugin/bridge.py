"""Python side of ``pair_style ase`` (called from the compiled plugin).

The plugin calls :func:`create` once per ``pair_style ase`` command and then
``PairBridge.compute`` every time LAMMPS needs forces, passing raw addresses
of its buffers; numpy views over them are filled in place.  Every exception
is turned into a message string that the plugin raises as a LAMMPS ERROR, so
a failing calculator stops the run instead of leaving zero forces.
"""
from __future__ import annotations

import ctypes
import os
import threading
import traceback

import numpy as np

_REGISTRY: dict[str, object] = {}
_LOCK = threading.Lock()


def register_calculator(calc, name: str | None = None) -> str:
    """Make ``calc`` usable as ``pair_style ase <name>``; returns the name.

    Names are looked up before specs, so registering under e.g. 'chgnet'
    overrides the spec of that name.
    """
    if name is None:
        name = f"calc{id(calc):x}"
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"calculator name {name!r} must be a non-empty word")
    with _LOCK:
        _REGISTRY[name] = calc
    return name


def unregister_calculator(name: str) -> None:
    with _LOCK:
        _REGISTRY.pop(name, None)


def resolve_calculator(spec: str):
    with _LOCK:
        if spec in _REGISTRY:
            return _REGISTRY[spec]
    from ase_ftcalc.spec import calculator_from_spec

    return calculator_from_spec(spec)


def default_threads(embedded: bool = True) -> int:
    """Torch threads when ``pair_style ase`` gives no ``threads N``.

    $ASE_FTCALC_THREADS if set; else, inside a plain ``lmp`` run, all cores
    this process may use (LAMMPS start-up has reset torch to one thread); else
    0 = leave torch alone (the Python host owns the setting, and
    :func:`lammps_plugin.open_lammps` restores it after LAMMPS start-up).
    """
    env = os.environ.get("ASE_FTCALC_THREADS")
    if env:
        return max(1, int(env))
    if not embedded:
        return 0
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def set_torch_threads(n: int) -> None:
    """LAMMPS start-up leaves torch on one thread; set the count explicitly."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)


class NonFiniteResult(ValueError):
    """The calculator returned NaN or infinity; LAMMPS must stop rather than integrate it."""


def check_finite(energy, forces, stress=None, energies=None, ids=None) -> None:
    """Raise :class:`NonFiniteResult` naming what is not finite (atoms by LAMMPS ID, 1-based else)."""
    problems = []
    if not np.isfinite(energy):
        problems.append(f"energy {energy} eV")
    for what, values in (("forces", forces), ("per-atom energies", energies)):
        if values is None:
            continue
        values = np.asarray(values)
        bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        if bad.any():
            where = np.flatnonzero(bad)
            labels = np.asarray(ids)[where] if ids is not None else where + 1
            shown = " ".join(str(int(i)) for i in labels[:8]) + (" ..." if len(labels) > 8 else "")
            problems.append(f"{what} on {len(labels)} atom(s), IDs {shown}")
    if stress is not None and not np.isfinite(stress).all():
        problems.append(f"stress {np.asarray(stress).tolist()} eV/A^3")
    if problems:
        raise NonFiniteResult("the calculator returned non-finite " + "; ".join(problems))


def evaluate(atoms, want_stress: bool, ids=None):
    """(energy, forces, stress or None) of ``atoms`` with one calculator pass.

    Asking ASE property by property would make calculators that compute
    stress only on request (e.g. FTCalculator) run twice on virial steps.
    NaN or infinite results raise :class:`NonFiniteResult` (``ids`` name the atoms).
    """
    calc = atoms.calc
    props = ["energy", "forces"] + (["stress"] if want_stress else [])
    check = getattr(calc, "check_state", None)
    if check is not None and hasattr(calc, "calculate") and hasattr(calc, "results"):
        changes = check(atoms)
        if changes:
            calc.results = {}
        if any(p not in calc.results for p in props):
            calc.calculate(atoms, props, changes or ["positions"])
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=True) if want_stress else None
    check_finite(energy, forces, stress, ids=ids)
    return energy, forces, stress


def virial_from_stress(atoms, stress) -> tuple:
    """LAMMPS virial (xx yy zz xy xz yz, eV) from an ASE Voigt stress (xx yy zz yz xz xy, eV/A^3)."""
    w = -atoms.get_volume() * np.asarray(stress)
    return (w[0], w[1], w[2], w[5], w[4], w[3])


def _view(address: int, ctype, shape):
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctype * count).from_address(address)).reshape(shape)


def _format(err: BaseException) -> str:
    if isinstance(err, NonFiniteResult):
        return str(err)  # says all; where in this module it was found does not help
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(err).__name__}: {err}{where}"


class PairBridge:
    """Holds the calculator and the ase.Atoms mirror of the LAMMPS atoms."""

    def __init__(self, calc, threads: int = -1, embedded: bool = False, spec: str = ""):
        self.calc = calc
        self.spec = spec
        self.threads = default_threads(embedded) if threads is None or threads < 0 else threads
        self.embedded = embedded
        self.elements: list[str | None] = []  # per LAMMPS type (index 0 unused)
        self.atoms = None
        self.ncalls = 0

    def set_elements(self, joined: str):
        from ase.data import atomic_numbers

        try:
            names = joined.split()
            bad = [n for n in names if n != "NULL" and n not in atomic_numbers]
            if bad:
                return f"pair_coeff: unknown element(s) {', '.join(bad)} (use chemical symbols or NULL)"
            self.elements = [None] + [None if n == "NULL" else n for n in names]
            self.numbers = np.array([0] + [atomic_numbers[n] if n != "NULL" else 0 for n in names])
            self.atoms = None
        except Exception as err:  # noqa: BLE001 - reported as a LAMMPS error
            return _format(err)
        return None

    def compute(self, n, tag_addr, type_addr, pos_addr, cell_addr, pbc_addr, frc_addr, out_addr,
                eatom_addr, need_energy, need_virial):
        try:
            self._compute(n, tag_addr, type_addr, pos_addr, cell_addr, pbc_addr, frc_addr, out_addr,
                          eatom_addr, need_energy, need_virial)
        except BaseException as err:  # noqa: BLE001 - must reach LAMMPS as an ERROR
            return _format(err)
        return None

    def _compute(self, n, tag_addr, type_addr, pos_addr, cell_addr, pbc_addr, frc_addr, out_addr,
                 eatom_addr, need_energy, need_virial):
        from ase import Atoms

        tags = _view(tag_addr, ctypes.c_int64, (n,))
        types = _view(type_addr, ctypes.c_int, (n,))
        pos = _view(pos_addr, ctypes.c_double, (n, 3))
        cell = _view(cell_addr, ctypes.c_double, (3, 3)).copy()
        pbc = _view(pbc_addr, ctypes.c_int, (3,)).astype(bool)
        frc = _view(frc_addr, ctypes.c_double, (n, 3))
        out = _view(out_addr, ctypes.c_double, (7,))

        order = np.argsort(tags, kind="stable")  # ASE sees atoms in atom-ID order
        numbers = self.numbers[types[order]]
        atoms = self.atoms
        if atoms is None or len(atoms) != n or not np.array_equal(atoms.numbers, numbers):
            atoms = self.atoms = Atoms(numbers=numbers, positions=pos[order], cell=cell, pbc=pbc)
            atoms.calc = self.calc
        else:
            atoms.set_cell(cell, scale_atoms=False)
            atoms.pbc = pbc
            atoms.positions = pos[order]
        set_torch_threads(self.threads)

        energy, forces, stress = evaluate(atoms, bool(need_virial), ids=tags[order])
        energies = atoms.get_potential_energies() if eatom_addr else None
        if energies is not None:
            check_finite(energy, forces, energies=energies, ids=tags[order])
        frc[order] = forces
        out[:] = 0.0
        out[0] = energy
        if need_virial:
            out[1:7] = virial_from_stress(atoms, stress)
        if energies is not None:
            eatom = _view(eatom_addr, ctypes.c_double, (n,))
            eatom[order] = energies
        self.ncalls += 1


def create(spec: str, threads: int = -1, embedded: int = 0) -> PairBridge:
    """Called by ``pair_style ase <spec>``; exceptions become LAMMPS errors."""
    if threads and threads > 0:
        set_torch_threads(threads)
    calc = resolve_calculator(spec)
    return PairBridge(calc, threads=threads, embedded=bool(embedded), spec=spec)
