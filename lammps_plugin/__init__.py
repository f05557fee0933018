"""LAMMPS bridge of ase-ftcalc.

Forward: ``pair_style ase <spec>`` runs any ASE calculator (CHGNet, fine-tuned
CHGNet, EMT, ...) inside LAMMPS.

    from lammps_plugin import open_lammps, register_calculator
    register_calculator(my_calc, "mine")          # or a spec: 'chgnet', 'emt', ...
    lmp = open_lammps()                           # builds/loads the plugin
    lmp.commands_string("... pair_style ase mine\\npair_coeff * * W S ...")

or from a plain deck, after ``ftcalc lammps build``: ``lmp -in in.deck`` with
``pair_style ase chgnet`` (the plugin embeds Python).  Without a compiler,
:func:`attach_fix_external` drives the same calculator through
``fix external pf/callback``.

Reverse: :mod:`lammps_plugin.calculators` wraps LAMMPS force fields
(``sw/mod``, ``ilp/tmd``) and GULP as ASE calculators.

Importing this package is cheap; LAMMPS, numpy and torch load on first use.
"""
from __future__ import annotations

__all__ = [
    "build_plugin",
    "plugin_path",
    "open_lammps",
    "register_calculator",
    "unregister_calculator",
    "attach_fix_external",
    "atoms_to_lammps",
    "lammps_calculator",
    "sw_mod_calculator",
    "tmd_layered_calculator",
    "gulp_calculator",
]

_LAZY = {
    "build_plugin": "build",
    "plugin_path": "build",
    "open_lammps": "build",
    "register_calculator": "bridge",
    "unregister_calculator": "bridge",
    "attach_fix_external": "fallback",
    "atoms_to_lammps": "fallback",
    "lammps_calculator": "calculators",
    "sw_mod_calculator": "calculators",
    "tmd_layered_calculator": "calculators",
    "gulp_calculator": "calculators",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
