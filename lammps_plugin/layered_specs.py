"""Spec factories for layered split calculators whose interlayer part runs in LAMMPS.

``ase_ftcalc.layered`` knows nothing of LAMMPS; these factories plug the
``ilp/tmd`` interlayer potential (``LayeredTMDCalculator(intralayer=False)``,
per-layer atom types and molecule ids) into its :class:`LayeredSplitCalculator`.

    lammps_plugin.layered_specs:chgnet_ilp      CHGNet per isolated layer + ilp/tmd between layers
    lammps_plugin.layered_specs:sw_ilp          sw/mod per isolated layer + ilp/tmd (= tmd_layered_calculator)
    lammps_plugin.layered_specs:ilp             ilp/tmd alone (interlayer terms only)

Use them as ``calculator_from_spec`` strings, in ``ftcalc bench --calc``, or as
``pair_style ase lammps_plugin.layered_specs:chgnet_ilp`` in a LAMMPS instance
driven from Python (:func:`lammps_plugin.open_lammps`).  A plain ``lmp`` run
cannot open a second LAMMPS for ilp/tmd; there use
``pair_style hybrid/overlay ase ase_ftcalc.layered:chgnet_layers ilp/tmd 16.0``
with ``atom_style full`` and per-layer types (see the bilayer example deck).
"""
from __future__ import annotations


def ilp(ilp_file: str = "TMD.ILP", ilp_cutoff: float = 16.0):
    """``ilp/tmd`` interlayer energy only (layers detected from Mo/W planes)."""
    from .calculators import LayeredTMDCalculator

    return LayeredTMDCalculator(ilp_file=ilp_file, ilp_cutoff=ilp_cutoff, intralayer=False)


def chgnet_ilp(model: str = "0.3.0", num_threads=None, ilp_file: str = "TMD.ILP", ilp_cutoff: float = 16.0,
               layers=None, vacuum: float = 15.0, gap: float | None = None):
    """CHGNet (pretrained or a fine-tuned model file) per isolated layer + ``ilp/tmd`` between layers."""
    from ase_ftcalc.calculator import FTCalculator
    from ase_ftcalc.layered import DEFAULT_GAP, LayeredSplitCalculator

    return LayeredSplitCalculator(FTCalculator(model, num_threads=num_threads), ilp(ilp_file, ilp_cutoff),
                                  interlayer_mode="direct", layers=layers, vacuum=vacuum,
                                  gap=DEFAULT_GAP if gap is None else gap)


def sw_ilp(elements=("Mo", "S"), ilp_file: str = "TMD.ILP", ilp_cutoff: float = 16.0, layers=None,
           vacuum: float = 15.0):
    """``sw/mod`` per isolated layer + ``ilp/tmd``: the split form of ``tmd_layered_calculator()``."""
    from ase_ftcalc.layered import LayeredSplitCalculator

    from .calculators import sw_mod_calculator

    return LayeredSplitCalculator(sw_mod_calculator(tuple(elements)), ilp(ilp_file, ilp_cutoff),
                                  interlayer_mode="direct", layers=layers, vacuum=vacuum)
