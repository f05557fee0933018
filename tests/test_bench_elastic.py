"""benchmarks.crystal.elastic: EMT Cu against second derivatives of the energy; hexagonal summary of WS2."""
import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT

from benchmarks.crystal.elastic import crystal_family, elastic, plot_elastic


def _energy_second_derivative_constants():
    """C11, C12, C44 (GPa) of EMT Cu at its own equilibrium from finite differences of the energy."""
    from scipy.optimize import minimize_scalar

    def e_of_a(a):
        atoms = bulk("Cu", "fcc", a=a, cubic=True)
        atoms.calc = EMT()
        return atoms.get_potential_energy()

    a0 = minimize_scalar(e_of_a, bracket=(3.5, 3.6, 3.7), tol=1e-10).x
    ref = bulk("Cu", "fcc", a=a0, cubic=True)
    vol = ref.get_volume()

    def energy(eps):
        atoms = ref.copy()
        atoms.set_cell(ref.cell.array @ (np.eye(3) + eps), scale_atoms=True)
        atoms.calc = EMT()
        return atoms.get_potential_energy()

    def d2(eps, h=1e-3):
        return (energy(h * eps) + energy(-h * eps) - 2 * energy(0 * eps)) / h**2 / vol / units.GPa

    uni = np.diag([1.0, 0, 0])
    bi = np.diag([1.0, 1.0, 0])
    shear = np.zeros((3, 3))
    shear[1, 2] = shear[2, 1] = 0.5  # engineering shear γ_yz = 1
    c11 = d2(uni)
    c12 = d2(bi) / 2 - c11
    c44 = d2(shear)
    return a0, {"C11": c11, "C12": c12, "C44": c44}


def test_emt_cu_matches_energy_finite_differences(tmp_path):
    a0, fd = _energy_second_derivative_constants()
    result = elastic({"emt": EMT()}, bulk("Cu", cubic=True), reference_gpa=fd, max_strain=0.005, fmax=1e-4)
    assert result.family == "cubic" and result.relaxed_ion
    res = result.calculators["emt"]
    assert res["lattice"]["a"] == pytest.approx(a0, abs=1e-3)
    for key in ("C11", "C12", "C44"):
        assert res["summary_gpa"][key] == pytest.approx(fd[key], rel=0.01), key
        assert abs(res["comparison"][key]["relative_error_percent"]) < 1.0
    c = np.asarray(res["C_gpa"])
    assert np.allclose(c, c.T, atol=0.5)
    assert np.abs(c[:3, 3:]).max() < 0.5 and np.abs(c[3:, 3:] - np.diag(np.diag(c[3:, 3:]))).max() < 0.5
    # cubic: B = (C11 + 2 C12) / 3 from pymatgen's Voigt average
    assert res["moduli_gpa"]["bulk_voigt"] == pytest.approx((fd["C11"] + 2 * fd["C12"]) / 3, rel=0.01)
    # every Cu atom is an inversion centre: relaxed-ion = clamped-ion
    clamped = elastic({"emt": EMT()}, bulk("Cu", cubic=True), relaxed_ion=False, max_strain=0.005, fmax=1e-4)
    assert np.allclose(clamped.calculators["emt"]["C_gpa"], c, atol=1e-3)
    result.save_json(tmp_path / "el.json")
    plot_elastic(result, tmp_path / "el.png")
    assert (tmp_path / "el.png").exists()
    assert {row["constant"] for row in result.table()} == {"C11", "C12", "C44"}


def test_ws2_hexagonal_summary_with_chgnet(vanilla):
    """Clamped-ion Cij of the relaxed 2H cell with CHGNet obey hexagonal symmetry: C22 = C11, C66 = (C11 - C12) / 2.

    (Only at zero stress: the stress-strain slopes of a pre-stressed cell carry stress terms without that symmetry.)
    """
    from ase_ftcalc.structures import bulk_2h

    atoms = bulk_2h("WS2")
    assert crystal_family(atoms) == "hexagonal"
    result = elastic({"chgnet": vanilla, "emt": EMT()}, atoms, relaxed_ion=False, fmax=0.005,
                     n_steps=3, max_strain=0.005)
    assert "error" in result.calculators["emt"]
    res = result.calculators["chgnet"]
    c = np.asarray(res["C_gpa"])
    s = res["summary_gpa"]
    assert set(s) >= {"C11", "C12", "C13", "C33", "C44", "C66"}
    assert c[1, 1] == pytest.approx(c[0, 0], rel=0.03)
    assert s["C66"] == pytest.approx(s["C66_from_(C11-C12)/2"], rel=0.1)
    assert res["relaxation"]["residual_max_stress_gpa"] < 0.1
    assert s["C11"] > s["C66"] > 0 and s["C33"] > 0 and s["C44"] > 0
