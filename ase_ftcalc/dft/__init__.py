"""The DFT frame generator: GPAW plane-wave PBE (+ D3) labels for fine-tuning and reference data.

    labelling   settings, the GPAW(+D3) calculator, labels with provenance, the resumable frame file
    sampling    protocols: rattle, interlayer (c strain + sliding), relax (trajectories), md (snapshots)
    generate    ``ftcalc dft``: a protocol's frames appended to an extxyz file, resumable
    reference   the relaxed PBE-D3 reference structure of a compound
    eos         E(V) points for ``bench eos``
    bilayer     bilayer sliding/separation scans for ``bench stacking``

GPAW and dftd3 are imported only when a frame is labelled.
"""
from __future__ import annotations

from ..reference_values import EXPERIMENT_2H as COMPOUNDS
from ..structures import bulk_2h
from .generate import generate
from .labelling import DFTSettings, dft_calculator, label, pbe_d3_calculator, provenance
from .sampling import perturbed

__all__ = ["COMPOUNDS", "DFTSettings", "bulk_2h", "dft_calculator", "generate", "label", "pbe_d3_calculator",
           "perturbed", "provenance"]
