import os
from pathlib import Path

import numpy as np
import pytest

# Two cores: one torch thread per test process keeps timings stable and avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")

DATA = Path(__file__).resolve().parents[1] / "ase_ftcalc" / "data"


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ws2_frames():
    from ase.io import read

    frames = read(DATA / "ws2_pbe_d3.extxyz", index=":")
    assert len(frames) >= 8, "bundled WS2 DFT frames missing"
    return frames


@pytest.fixture(scope="session")
def vanilla():
    from ase_ftcalc import FTCalculator

    return FTCalculator()


@pytest.fixture
def rattled_ws2():
    from ase_ftcalc.structures import bulk_2h
    from ase_ftcalc.dft.sampling import perturbed

    return perturbed(bulk_2h("WS2") * (2, 2, 1), np.random.default_rng(7), max_displacement=0.1)
