"""ase-ftcalc: fine-tunable CHGNet as an ASE calculator.

    from ase_ftcalc import FTCalculator, fine_tune
    atoms.calc = FTCalculator()                    # pretrained CHGNet 0.3.0
    result = fine_tune(frames, output="model.pt")  # DFT frames -> model file
    atoms.calc = FTCalculator("model.pt")

Units: eV, Å, eV/Å³ (ASE's); GPa only where a name says so.
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "FTCalculator": "calculator",
    "predict_batch": "calculator",
    "load_model": "model",
    "fine_tune": "finetune",
    "FineTuneResult": "finetune",
    "save_model": "modelfile",
    "read_frames": "frames",
    "validate_frames": "frames",
    "calculator_from_spec": "spec",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    # Lazy so that `import ase_ftcalc` (and `ftcalc --help`) does not import torch.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'ase_ftcalc' has no attribute {name!r}")
