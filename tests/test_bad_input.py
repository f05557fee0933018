"""Each bad input gives one clear error naming the frame/file, and writes no model."""
import numpy as np
import pytest
import torch
from ase.calculators.singlepoint import SinglePointCalculator

from ase_ftcalc import fine_tune
from ase_ftcalc.frames import FrameError
from ase_ftcalc.modelfile import ModelFileError, read_model_file


def _copies(frames, n=3):
    out = []
    for i, atoms in enumerate(frames[:n]):
        new = atoms.copy()
        new.calc = SinglePointCalculator(new, **atoms.calc.results)
        new.info["source"] = f"bad.extxyz:{i}"
        out.append(new)
    return out


def _check(frames, tmp_path, match):
    out = tmp_path / "model.pt"
    with pytest.raises((FrameError, ValueError), match=match):
        fine_tune(frames, out, epochs=1, progress=False)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_missing_forces(ws2_frames, tmp_path):
    frames = _copies(ws2_frames)
    del frames[1].calc.results["forces"]
    _check(frames, tmp_path, r"bad.extxyz:1: no DFT forces")


def test_missing_energy(ws2_frames, tmp_path):
    frames = _copies(ws2_frames)
    frames[2].calc = SinglePointCalculator(frames[2], forces=frames[2].calc.results["forces"])
    _check(frames, tmp_path, r"bad.extxyz:2: no DFT energy")


def test_nan_forces(ws2_frames, tmp_path):
    frames = _copies(ws2_frames)
    frames[0].calc.results["forces"][0, 0] = np.nan
    _check(frames, tmp_path, r"bad.extxyz:0: forces contains NaN")


def test_inf_energy(ws2_frames, tmp_path):
    frames = _copies(ws2_frames)
    frames[1].calc.results["energy"] = np.inf
    _check(frames, tmp_path, r"bad.extxyz:1: energy contains NaN or inf")


def test_unknown_element(ws2_frames, tmp_path):
    frames = _copies(ws2_frames)
    frames[2].numbers[0] = 95  # americium: beyond CHGNet's H..Pu
    _check(frames, tmp_path, r"bad.extxyz:2: element\(s\) Am unknown to CHGNet")


def test_empty_dataset(tmp_path):
    _check([], tmp_path, "empty")


def test_stress_in_some_frames_only(ws2_frames, tmp_path):
    frames = _copies(ws2_frames)
    del frames[1].calc.results["stress"]
    _check(frames, tmp_path, r"present in 2 frames and absent in 1 \(first without: bad.extxyz:1\)")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.extxyz"):
        fine_tune([tmp_path / "nothere.extxyz"], tmp_path / "m.pt", progress=False)


def test_corrupt_and_foreign_model_files(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x04 definitely not a model")
    with pytest.raises(ModelFileError, match="corrupt.pt: not a readable model file"):
        read_model_file(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ModelFileError, match="foreign.pt: not an ase-ftcalc or CHGNet model file"):
        read_model_file(foreign)
    from ase_ftcalc import FTCalculator

    with pytest.raises(ModelFileError):
        FTCalculator(foreign)


def test_existing_output_is_not_overwritten(ws2_frames, tmp_path):
    out = tmp_path / "model.pt"
    out.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        fine_tune(_copies(ws2_frames), out, epochs=1, progress=False)
    assert out.read_text() == "precious"
