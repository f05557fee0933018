"""benchmarks.crystal.structure: geometry of layered MX2, relaxation with CHGNet (WS2) and EMT (Cu)."""
import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_ftcalc.reference_values import EXPERIMENT_2H as COMPOUNDS
from ase_ftcalc.reference_values import experiment_structure
from ase_ftcalc.structures import bulk_2h, layered_parameters
from benchmarks.crystal.structure import plot_structure, structure

WS2_EXPERIMENT = experiment_structure("WS2")


def test_layered_parameters_of_the_ideal_2h_cell():
    """d_MX and z_vdW from the Wyckoff z of the chalcogen (4f) and the metal on 2c (z = 1/4)."""
    p = COMPOUNDS["WS2"]
    a, c, z = p["a"], p["c"], p["z_x"]
    geo = layered_parameters(bulk_2h("WS2"))
    assert geo["metal"] == "W" and geo["chalcogen"] == "S" and geo["n_layers"] == 2
    assert geo["d_MX"] == pytest.approx(np.sqrt(a**2 / 3 + ((z - 0.75) * c) ** 2), abs=1e-9)
    assert geo["z_vdW"] == pytest.approx((2 * z - 1) * c, abs=1e-9)  # S planes at 1 - z and z
    # the experimental reference numbers are consistent with this construction
    assert geo["d_MX"] == pytest.approx(WS2_EXPERIMENT["d_MX"], abs=2e-3)
    assert geo["z_vdW"] == pytest.approx(WS2_EXPERIMENT["z_vdW"], abs=5e-3)
    # a supercell along c has the same gap, twice the layers
    geo2 = layered_parameters(bulk_2h("WS2") * (2, 1, 2))
    assert geo2["z_vdW"] == pytest.approx(geo["z_vdW"]) and geo2["n_layers"] == 4


def test_ws2_relaxed_with_chgnet_and_failures_recorded(vanilla, tmp_path):
    result = structure({"chgnet": vanilla, "emt": EMT()}, bulk_2h("WS2"), reference=WS2_EXPERIMENT,
                       fmax=0.005, steps=300)
    assert "error" in result.calculators["emt"]  # EMT has no W/S: recorded, CHGNet still ran
    res = result.calculators["chgnet"]
    assert res["relaxation"]["converged"]
    p = res["parameters"]
    assert p["a"] == pytest.approx(3.153, rel=0.03)
    assert p["b"] == pytest.approx(p["a"], rel=1e-6) and p["gamma"] == pytest.approx(120, abs=1e-4)
    assert p["d_MX"] == pytest.approx(2.405, rel=0.03)
    assert p["z_vdW"] > 0
    cmp_a = res["comparison"]["a"]
    assert cmp_a["difference"] == pytest.approx(p["a"] - 3.153)
    assert cmp_a["relative_error_percent"] == pytest.approx(100 * (p["a"] - 3.153) / 3.153)
    # relaxed structure is kept and reproduces the parameters
    again = layered_parameters(result.atoms("chgnet"))
    assert again["z_vdW"] == pytest.approx(p["z_vdW"]) and again["d_MX"] == pytest.approx(p["d_MX"])
    result.save_json(tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["calculators"]["chgnet"]["parameters"]["a"] == p["a"]
    assert {r["quantity"] for r in result.table() if "quantity" in r} == {"a", "c", "d_MX", "z_vdW"}
    plot_structure(result, tmp_path / "s.png")
    assert (tmp_path / "s.png").exists()


def test_non_layered_crystal_gives_the_energy_minimum_lattice_constant():
    """EMT Cu: the relaxed fcc lattice constant equals the minimum of E(a) found by a scalar search."""
    from scipy.optimize import minimize_scalar

    def energy(a):
        atoms = bulk("Cu", "fcc", a=a)
        atoms.calc = EMT()
        return atoms.get_potential_energy()

    a0 = minimize_scalar(energy, bracket=(3.5, 3.6, 3.7), tol=1e-10).x
    result = structure({"emt": EMT()}, bulk("Cu", cubic=True), reference={"a": a0}, fmax=1e-4)
    p = result.calculators["emt"]["parameters"]
    assert "d_MX" not in p and "z_vdW" not in p
    assert p["a"] == pytest.approx(a0, abs=2e-4) and p["c"] == pytest.approx(a0, abs=2e-4)
    assert abs(result.calculators["emt"]["comparison"]["a"]["relative_error_percent"]) < 0.01


def test_robustness_check_flags_a_plateau_and_passes_a_well(vanilla):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from ase_ftcalc.reference_values import experiment_structure, pbe_d3_structure

    cu = structure({"emt": EMT()}, bulk("Cu", "fcc", a=3.7), references={"guess": {"a": 2.55}}, check=True,
                   fmax=0.001)
    rob = cu.calculators["emt"]["robustness"]
    assert not rob["plateau"] and rob["max_spread"] < 1e-3 and len(rob["runs"]) == 4
    # vanilla CHGNet does not bind the WS2 layers: c depends on where the relaxation starts
    ws2 = structure({"vanilla": vanilla}, bulk_2h("WS2"), check=True, fmax=0.005, steps=150,
                    references={"experiment": experiment_structure("WS2"), "PBE-D3": pbe_d3_structure("WS2")})
    res = ws2.calculators["vanilla"]
    assert res["robustness"]["plateau"] and res["robustness"]["spread"]["c"] > 0.1
    assert set(res["comparisons"]) == {"experiment", "PBE-D3"}
    assert res["comparisons"]["PBE-D3"]["c"]["reference"] == pytest.approx(12.350, abs=0.01)
    rows = ws2.table()
    assert any("PBE-D3 (%)" in row for row in rows) and any("experiment (Å)" in row for row in rows)
