import numpy as np
import pytest
from ase import units

from ase_ftcalc import FTCalculator, predict_batch


def test_matches_upstream_chgnet_calculator(vanilla, rattled_ws2):
    from chgnet.model.dynamics import CHGNetCalculator

    upstream = CHGNetCalculator(use_device="cpu")  # its own freshly loaded 0.3.0 weights
    ours = rattled_ws2.copy()
    ours.calc = vanilla
    ref = rattled_ws2.copy()
    ref.calc = upstream
    n = len(ours)
    assert abs(ours.get_potential_energy() - ref.get_potential_energy()) / n <= 1e-5
    assert np.abs(ours.get_forces() - ref.get_forces()).max() <= 1e-4
    assert np.abs(ours.get_stress() - ref.get_stress()).max() / units.GPa <= 1e-3
    assert np.abs(ours.get_magnetic_moments() - ref.get_magnetic_moments()).max() <= 1e-5
    assert ours.get_potential_energy() == pytest.approx(ours.calc.results["energies"].sum(), abs=1e-3)


def test_energy_only_call_skips_forces_then_computes_them(vanilla, rattled_ws2):
    atoms = rattled_ws2
    vanilla.reset()
    atoms.calc = vanilla
    energy = atoms.get_potential_energy()
    assert "forces" not in vanilla.results and "stress" not in vanilla.results
    forces = atoms.get_forces()
    assert forces.shape == (len(atoms), 3)
    assert np.abs(forces.sum(axis=0)).max() < 1e-3  # no net force on a periodic cell
    assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-6)


def test_forces_and_stress_are_energy_derivatives(vanilla, rattled_ws2):
    """Forces = -dE/dr and stress = (1/V) dE/dε in eV/Å³, checked by finite differences."""
    atoms = rattled_ws2
    atoms.calc = vanilla
    forces, stress = atoms.get_forces(), atoms.get_stress(voigt=False)
    h = 1e-2  # energies are float32 (~2e-5 eV at 200 eV): steps must be large
    for i, k in [(0, 0), (3, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, k] += h
        minus.positions[i, k] -= h
        plus.calc = minus.calc = vanilla
        fd = -(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h)
        assert forces[i, k] == pytest.approx(fd, abs=3e-3)
    eps = 1e-3
    energies = []
    for sign in (1, -1):
        strained = atoms.copy()
        strain = np.eye(3)
        strain[2, 2] += sign * eps
        strained.set_cell(atoms.cell @ strain, scale_atoms=True)
        strained.calc = vanilla
        energies.append(strained.get_potential_energy())
    fd_zz = (energies[0] - energies[1]) / (2 * eps) / atoms.get_volume()
    assert stress[2, 2] == pytest.approx(fd_zz, abs=2e-4)  # eV/Å³ (~0.03 GPa)


def test_compressed_cell_has_negative_ase_stress(vanilla):
    from ase_ftcalc.structures import bulk_2h

    atoms = bulk_2h("WS2")
    atoms.set_cell(atoms.cell * 0.97, scale_atoms=True)
    atoms.calc = vanilla
    stress_gpa = atoms.get_stress()[:3] / units.GPa
    assert (stress_gpa < -1.0).all()  # ASE sign: compression is negative


def test_predict_batch_equals_single_calls(vanilla, rattled_ws2):
    from ase_ftcalc.structures import bulk_2h

    structures = [rattled_ws2, bulk_2h("MoS2"), bulk_2h("WS2", orthorhombic=True)]
    batch = predict_batch(structures, vanilla, batch_size=2)
    for atoms, res in zip(structures, batch):
        atoms = atoms.copy()
        atoms.calc = vanilla
        assert res["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        assert np.abs(res["forces"] - atoms.get_forces()).max() < 1e-4
        assert np.abs(res["stress"] - atoms.get_stress()).max() < 1e-6


def test_non_periodic_atoms_give_clear_error(vanilla):
    from ase.build import molecule

    atoms = molecule("H2O")
    atoms.calc = vanilla
    with pytest.raises(ValueError, match="periodic"):
        atoms.get_potential_energy()


def test_spec_builds_calculators():
    from ase_ftcalc import calculator_from_spec

    assert isinstance(calculator_from_spec("chgnet?num_threads=1"), FTCalculator)
    assert calculator_from_spec("chgnet").num_threads is None
    with pytest.raises(ValueError, match="unknown calculator spec"):
        calculator_from_spec("nonsense")
