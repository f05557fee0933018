"""Speed of ase_ftcalc against upstream CHGNet, measured in one run on the same machine.

Inference: a forces-only call on a 384-atom 2H-WS2 supercell (8x8x1), the
calls of the two calculators interleaved so that background load hits both.
Fine-tuning: frames·epochs per second of :func:`ase_ftcalc.fine_tune`
against ``chgnet.trainer.Trainer`` with the same data, split, freezing,
optimiser, loss weights and epochs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core.results import JSONResult


@dataclass
class InferenceSpeed(JSONResult):
    n_atoms: int
    repeats: int
    threads: int
    upstream_seconds: float  # median per forces-only call
    ftcalc_seconds: float
    ratio: float             # upstream / ftcalc
    max_force_diff_ev_per_a: float
    energy_diff_ev_per_atom: float


def _ws2_supercell(repeat=(8, 8, 1), seed=1):
    from ase_ftcalc.structures import bulk_2h
    from ase_ftcalc.dft.sampling import perturbed

    return perturbed(bulk_2h("WS2") * repeat, np.random.default_rng(seed), max_strain=0.0,
                     max_displacement=0.05)


def inference_speed(repeat=(8, 8, 1), repeats: int = 5, threads: int = 1) -> InferenceSpeed:
    """Median wall time of a forces-only call, upstream CHGNetCalculator vs FTCalculator."""
    import contextlib
    import io

    import torch
    from chgnet.model.dynamics import CHGNetCalculator

    from ase_ftcalc import FTCalculator

    torch.set_num_threads(threads)
    atoms = _ws2_supercell(repeat)
    ours = FTCalculator(num_threads=threads)
    with contextlib.redirect_stdout(io.StringIO()):
        upstream = CHGNetCalculator(use_device="cpu")
    times = {"ours": [], "upstream": []}
    results = {}
    for i in range(repeats + 1):  # first round warms up both
        for name, calc in (("upstream", upstream), ("ours", ours)):
            calc.reset()
            t0 = time.perf_counter()
            calc.calculate(atoms, ["forces"], ["positions"])
            if i:
                times[name].append(time.perf_counter() - t0)
            results[name] = (calc.results["energy"], calc.results["forces"])
    up, me = float(np.median(times["upstream"])), float(np.median(times["ours"]))
    return InferenceSpeed(
        n_atoms=len(atoms), repeats=repeats, threads=threads, upstream_seconds=up, ftcalc_seconds=me,
        ratio=up / me,
        max_force_diff_ev_per_a=float(np.abs(results["ours"][1] - results["upstream"][1]).max()),
        energy_diff_ev_per_atom=float(abs(results["ours"][0] - results["upstream"][0]) / len(atoms)),
    )


@dataclass
class FineTuneSpeed(JSONResult):
    n_frames: int
    epochs: int
    batch_size: int
    upstream_seconds: float
    ftcalc_seconds: float
    upstream_frames_epochs_per_second: float
    ftcalc_frames_epochs_per_second: float
    ratio: float


def finetune_speed(frames, epochs: int = 5, batch_size: int = 4, threads: int = 1) -> FineTuneSpeed:
    """Wall time of fine-tuning with upstream's Trainer and with ase_ftcalc, same settings."""
    import contextlib
    import io
    import tempfile

    import torch
    from chgnet.data.dataset import StructureData, get_train_val_test_loader
    from chgnet.model import CHGNet
    from chgnet.trainer import Trainer
    from pymatgen.io.ase import AseAtomsAdaptor

    from ase_ftcalc import fine_tune
    from ase_ftcalc.finetune import apply_freezing
    from ase_ftcalc.frames import validate_frames
    from ase_ftcalc.units import ase_stress_to_vasp_kbar

    torch.set_num_threads(threads)
    frame_set = validate_frames(frames)
    n_train = len(frame_set) - 2 * int(round(0.1 * len(frame_set)))

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), tempfile.TemporaryDirectory() as tmp:
        data = StructureData(
            structures=[AseAtomsAdaptor.get_structure(f.atoms) for f in frame_set.frames],
            energies=[f.energy / len(f.atoms) for f in frame_set.frames],
            forces=[f.forces for f in frame_set.frames],
            stresses=[ase_stress_to_vasp_kbar(f.stress) for f in frame_set.frames],
        )
        train, val, _ = get_train_val_test_loader(data, batch_size=batch_size, train_ratio=0.8,
                                                  val_ratio=0.1, return_test=True)
        model = CHGNet.load(verbose=False, use_device="cpu")
        apply_freezing(model, "paper", train_magmom_head=False)
        trainer = Trainer(model=model, targets="efs", optimizer="Adam", scheduler="CosLR",
                          criterion="MSE", epochs=epochs, learning_rate=1e-2, use_device="cpu",
                          print_freq=10**6)
        trainer.train(train, val, save_dir=tmp)
    upstream = time.perf_counter() - t0

    t0 = time.perf_counter()
    fine_tune(frames, epochs=epochs, batch_size=batch_size, progress=False)
    ours = time.perf_counter() - t0
    work = n_train * epochs
    return FineTuneSpeed(n_frames=len(frame_set), epochs=epochs, batch_size=batch_size,
                         upstream_seconds=upstream, ftcalc_seconds=ours,
                         upstream_frames_epochs_per_second=work / upstream,
                         ftcalc_frames_epochs_per_second=work / ours, ratio=upstream / ours)
