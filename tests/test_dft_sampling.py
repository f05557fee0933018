"""DFT sampling protocols: frames are deterministic, resumable, grouped and carry their provenance."""
import numpy as np
import pytest
from ase.io import read

from ase_ftcalc.data import bundled_frames
from ase_ftcalc.dft import generate
from ase_ftcalc.dft.generate import base_structure
from ase_ftcalc.dft.labelling import DFTSettings
from ase_ftcalc.dft.sampling import Interlayer, MDSnapshots, Rattle, Relaxation
from ase_ftcalc.layered import detect_layers

CHEAP = DFTSettings(ecut_ev=220.0, kpt_density_angstrom=2.0, scf_energy_tol_ev=1e-4)


def test_rattle_protocol_reproduces_the_bundled_frames():
    atoms, _ = base_structure("WS2")
    frame = Rattle().structure(atoms, np.random.default_rng([3, 14]))  # bundled file: seed 3, frame 14
    bundled = bundled_frames("WS2")[14]
    assert np.abs(frame.positions - bundled.positions).max() < 1e-6
    assert np.allclose(frame.cell.array, bundled.cell.array)


def test_interlayer_protocol_strains_c_and_slides_whole_layers():
    atoms, _ = base_structure("WS2", "ortho")
    proto = Interlayer(c_strain=(0.05, 0.08), slide_probability=1.0, rattle_stdev=0.0)
    new = proto.structure(atoms, np.random.default_rng([0, 1]))
    assert new.cell.lengths()[2] / atoms.cell.lengths()[2] - 1 == pytest.approx(new.info["c_strain"], abs=1e-9)
    assert 0.05 <= new.info["c_strain"] <= 0.08
    # a rigid slide keeps every intralayer distance: the two layers are still two layers of 6 atoms
    layer, _ = detect_layers(new)
    assert np.bincount(layer).tolist() == [6, 6]
    assert np.any(np.abs(new.info["slide_shift_frac"]) > 0)


def test_md_snapshots_alternate_temperatures_and_are_thermal():
    atoms, _ = base_structure("WS2")
    snaps = MDSnapshots(temperatures=(300.0, 900.0), equilibration_fs=40, interval_fs=20).snapshots(atoms, 4, seed=0)
    assert [s.info["md_temperature_K"] for s in snaps] == [300.0, 900.0, 300.0, 900.0]
    disp = [np.abs(s.positions - atoms.positions).max() for s in snaps]
    assert all(d > 1e-3 for d in disp)


def test_relax_trajectories_resume_exactly_and_share_a_group(tmp_path):
    proto = Relaxation(steps=3)
    a, b = tmp_path / "a.extxyz", tmp_path / "b.extxyz"
    generate("WS2", a, 2, protocol=proto, settings=CHEAP, log=None)
    generate("WS2", a, 4, protocol=proto, settings=CHEAP, log=None)      # resumes inside trajectory 0
    generate("WS2", b, 4, protocol=proto, settings=CHEAP, log=None)      # uninterrupted
    fa, fb = read(a, ":"), read(b, ":")
    assert len(fa) == len(fb) == 4
    for x, y in zip(fa, fb):
        assert np.abs(x.positions - y.positions).max() < 1e-6
        assert x.get_potential_energy() == pytest.approx(y.get_potential_energy(), abs=1e-4)
    assert [f.info["group"] for f in fa] == ["WS2/relax/seed0/traj0"] * 3 + ["WS2/relax/seed0/traj1"]
    assert [f.info["relax_step"] for f in fa] == [0, 1, 2, 0]
    # BFGS lowers the energy along a trajectory, and every frame says how it was made
    energies = [f.get_potential_energy() for f in fa[:3]]
    assert energies[2] < energies[0]
    assert fa[0].info["protocol"] == "relax" and fa[0].info["dft_method"] == "PBE-D3(d3zero)"
    assert fa[0].info["dft_seconds"] > 0
