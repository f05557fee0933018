"""Pure-Python route: an ASE calculator through ``fix external pf/callback``.

For Python-driven runs where the plugin cannot be compiled.  Same physics as
``pair_style ase``: forces are assigned by atom ID, the energy and the
virial enter thermo output through ``fix_modify energy yes virial yes``.

A Python exception inside the callback cannot propagate through LAMMPS'
C++ frames (ctypes would print it and carry on with zero forces).  The
callback therefore records it, zeroes the forces, forces a LAMMPS timeout
(the run or minimization stops after the current step) and leaves a LAMMPS
error that carries the Python message, so ``lmp.command('run ...')``
raises ``Exception('ERROR: ... RuntimeError: ...')``.  The library's
``lammps_error()`` cannot be used for that: for errors it exits the process.
The error is recorded through ``lammps_eval`` of a formula whose error text
echoes the message (a captured error, kept until the command returns).
"""
from __future__ import annotations

import numpy as np

from .box import create_box_and_atoms
from .bridge import (_format, default_threads, evaluate, resolve_calculator, set_torch_threads,
                     virial_from_stress)

LMP_ERROR_WARNING = 0  # library.h: _LMP_ERROR_CONST (ERROR_ONE/ALL would exit)


def _raise_in_lammps(lmp, message: str) -> None:
    """Leave a captured LAMMPS error whose text contains ``message``."""
    lmp.lib.lammps_error(lmp.lmp, LMP_ERROR_WARNING, message.encode())  # full text in the log
    clean = " ".join(message.translate({ord(c): " " for c in "()[]{},\"'$&#"}).split())
    lmp.lib.lammps_eval(lmp.lmp, f"extract_setting({clean})".encode())


def atoms_to_lammps(lmp, atoms, specorder=None, region_id: str = "cell"):
    """Create the box and atoms of ``atoms`` in an empty ``units metal`` LAMMPS instance.

    Returns ``(specorder, prism)``: type i+1 is element ``specorder[i]``;
    ``prism.vector_to_ase`` turns LAMMPS vectors (forces) back into the
    frame of ``atoms`` (LAMMPS needs a lower-triangular cell).  Atoms on the
    cell's faces are kept (:func:`lammps_plugin.box.box_positions`).
    """
    from ase.data import atomic_numbers

    symbols = atoms.get_chemical_symbols()
    if specorder is None:
        specorder = sorted(set(symbols), key=lambda s: atomic_numbers[s])
    specorder = list(specorder)
    missing = sorted(set(symbols) - set(specorder))
    if missing:
        raise ValueError(f"specorder {specorder} lacks element(s) {missing}")
    types = [specorder.index(s) + 1 for s in symbols]
    prism = create_box_and_atoms(lmp, atoms, types, specorder, region_id)
    return specorder, prism


def lammps_cell(lmp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell rows, origin, pbc) of the current LAMMPS box."""
    boxlo, boxhi, xy, yz, xz, periodicity, _ = lmp.extract_box()
    lx, ly, lz = (boxhi[i] - boxlo[i] for i in range(3))
    cell = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    return cell, np.asarray(boxlo, dtype=float), np.asarray(periodicity, dtype=bool)


class FixExternalBridge:
    """The callback object; keep a reference for as long as the fix exists."""

    def __init__(self, lmp, calc, elements, fix_id: str, threads: int):
        from ase.data import atomic_numbers

        self.lmp = lmp
        self.calc = calc
        self.fix_id = fix_id
        self.threads = threads
        bad = [e for e in elements if e not in atomic_numbers]
        if bad:
            raise ValueError(f"unknown element(s) {bad}")
        self.numbers = np.array([0] + [atomic_numbers[e] for e in elements])
        self.atoms = None
        self.error: BaseException | None = None
        self.ncalls = 0

    def __call__(self, caller, ntimestep, nlocal, tag, x, f):
        if self.error is not None:  # already failed: keep LAMMPS away from bad forces
            f[:] = 0.0
            return
        try:
            self._compute(nlocal, tag, x, f)
        except BaseException as err:  # noqa: BLE001 - reported as a LAMMPS error below
            self.error = err
            f[:] = 0.0
            msg = f"fix external {self.fix_id}: Python error in calculator: {_format(err)}"
            self.lmp.force_timeout()
            _raise_in_lammps(self.lmp, msg)

    def _compute(self, nlocal, tag, x, f):
        from ase import Atoms

        lmp = self.lmp
        types = lmp.numpy.extract_atom("type")[:nlocal]
        ntypes = len(self.numbers) - 1
        if types.max(initial=0) > ntypes:
            raise ValueError(f"atom type {types.max()} has no element (elements given for {ntypes} types)")
        cell, origin, pbc = lammps_cell(lmp)
        tags = np.asarray(tag[:nlocal])
        order = np.argsort(tags, kind="stable")
        numbers = self.numbers[types[order]]
        pos = np.asarray(x[:nlocal])[order] - origin
        atoms = self.atoms
        if atoms is None or len(atoms) != nlocal or not np.array_equal(atoms.numbers, numbers):
            atoms = self.atoms = Atoms(numbers=numbers, positions=pos, cell=cell, pbc=pbc)
            atoms.calc = self.calc
        else:
            atoms.set_cell(cell, scale_atoms=False)
            atoms.positions = pos
        set_torch_threads(self.threads)
        energy, forces, stress = evaluate(atoms, True, ids=tags[order])
        f[order] = forces
        lmp.fix_external_set_energy_global(self.fix_id, float(energy))
        lmp.fix_external_set_virial_global(self.fix_id, [float(v) for v in virial_from_stress(atoms, stress)])
        self.ncalls += 1


def attach_fix_external(lmp, calc, elements, fix_id: str = "ase", group: str = "all",
                        threads: int | None = None) -> FixExternalBridge:
    """Add ``fix <fix_id> <group> external pf/callback 1 1`` driven by an ASE calculator.

    ``calc`` is an ASE calculator or a spec string; ``elements`` lists the
    element of each LAMMPS atom type (type 1 first).  The atoms, box and
    ``units metal`` must already exist; one MPI rank only.
    """
    if lmp.extract_setting("world_size") > 1:
        raise RuntimeError("the ASE fix external bridge runs on one MPI rank only")
    if lmp.extract_global("units") != "metal":
        raise ValueError("the ASE bridge needs 'units metal' (eV, Angstrom)")
    if isinstance(calc, str):
        calc = resolve_calculator(calc)
    elements = list(elements.split() if isinstance(elements, str) else elements)
    ntypes = lmp.extract_setting("ntypes")
    if len(elements) != ntypes:
        raise ValueError(f"{len(elements)} element(s) given for {ntypes} atom type(s)")
    bridge = FixExternalBridge(lmp, calc, elements, fix_id,
                               default_threads(embedded=False) if threads is None else threads)
    lmp.command(f"fix {fix_id} {group} external pf/callback 1 1")
    lmp.command(f"fix_modify {fix_id} energy yes virial yes")
    lmp.set_fix_external_callback(fix_id, bridge, None)
    # the lammps module keeps only a ctypes wrapper; keep the bridge alive with the instance
    keep = getattr(lmp, "_ase_ftcalc_bridges", None)
    if keep is None:
        keep = lmp._ase_ftcalc_bridges = []
    keep.append(bridge)
    return bridge
