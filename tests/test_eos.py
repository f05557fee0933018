"""benchmarks.crystal.eos: E(V) fits with ASE's EquationOfState and the Δ metric, on EMT cells; DFT EOS mode on Al."""
import io

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from scaled_emt import ScaledEMT
from ase.eos import EquationOfState

from benchmarks.crystal.eos import EOSResult, delta, eos, eos_points, fit_eos, linear_strains, plot_eos

STRAINS = linear_strains(-0.04, 0.06, 0.01)


def test_default_strains_follow_the_issue():
    s = linear_strains()
    assert len(s) == 16 and s[0] == pytest.approx(-0.10) and s[-1] == pytest.approx(0.20)


def test_b0_of_emt_cu_matches_ase_fit_by_hand():
    atoms = bulk("Cu", "fcc", a=3.6)
    result = eos({"emt": EMT()}, atoms, strains=STRAINS)
    fit = result.fits["emt"]
    # the same fit done by hand with ASE
    vols, ens = [], []
    for s in STRAINS:
        a = atoms.copy()
        a.set_cell(atoms.cell * (1 + s), scale_atoms=True)
        a.calc = EMT()
        vols.append(a.get_volume())
        ens.append(a.get_potential_energy())
    v0, e0, b = EquationOfState(vols, ens, eos="birchmurnaghan").fit()
    assert fit.v0_a3_per_atom == pytest.approx(v0, rel=1e-6)
    assert fit.e0_ev_per_atom == pytest.approx(e0, rel=1e-6)
    assert fit.b0_gpa == pytest.approx(b / units.GPa, rel=1e-5)
    assert 120 < fit.b0_gpa < 150            # EMT Cu: ≈ 134 GPa (ASE tutorial)
    assert 3 < fit.b0_prime < 7
    assert result.delta_mev_per_atom == {"emt": 0.0}
    # B0' from the curve (sj fit) agrees with the Birch–Murnaghan parameter
    sj = fit_eos(fit.volumes_per_atom, fit.energies_per_atom, eos="sj")
    assert sj.b0_gpa == pytest.approx(fit.b0_gpa, rel=0.02)
    assert sj.b0_prime == pytest.approx(fit.b0_prime, rel=0.1)


def test_delta_against_itself_is_zero_and_against_scaled_copy_is_analytic():
    atoms = bulk("Cu", "fcc", a=3.6)
    s = 1.1
    result = eos({"ref": EMT(), "same": EMT(), "scaled": ScaledEMT(s)}, atoms, strains=STRAINS, reference="ref")
    ref, scaled = result.fits["ref"], result.fits["scaled"]
    assert result.delta_mev_per_atom["same"] == pytest.approx(0.0, abs=1e-9)
    # scaled energies: same V0, B0 scaled by s, same B0'
    assert scaled.v0_a3_per_atom == pytest.approx(ref.v0_a3_per_atom, rel=1e-5)
    assert scaled.b0_gpa == pytest.approx(s * ref.b0_gpa, rel=1e-4)
    assert scaled.b0_prime == pytest.approx(ref.b0_prime, rel=1e-4)
    # Δ = |s − 1| · mean over V of (E_ref(V) − E0_ref)
    v = np.linspace(min(ref.volumes_per_atom), max(ref.volumes_per_atom), 20001)
    expected = 1000 * abs(s - 1) * np.trapezoid(ref.energy(v) - ref.e0_ev_per_atom, v) / (v[-1] - v[0])
    assert result.delta_mev_per_atom["scaled"] == pytest.approx(expected, rel=1e-3)
    # without aligning minima: Δ = |s − 1| · mean |E_ref(V)|
    expected_raw = 1000 * abs(s - 1) * np.trapezoid(np.abs(ref.energy(v)), v) / (v[-1] - v[0])
    assert delta(scaled, ref, align="none") == pytest.approx(expected_raw, rel=1e-3)


def test_relaxation_modes_lower_energy_and_keep_volume():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms[0].symbol = "Au"
    atoms.rattle(0.05, seed=1)
    atoms.set_cell(atoms.cell * [1.0, 1.0, 1.03], scale_atoms=True)
    strains = [-0.02, 0.0, 0.02]
    static = eos_points(atoms, EMT(), strains)
    pos = eos_points(atoms, EMT(), strains, relax="positions", fmax=0.02)
    shape = eos_points(atoms, EMT(), strains, relax="shape", fmax=0.02)
    assert np.allclose(static["volumes_per_atom"], shape["volumes_per_atom"], rtol=1e-6)
    assert all(p < s for p, s in zip(pos["energies_per_atom"], static["energies_per_atom"]))
    assert all(h <= p + 1e-6 for h, p in zip(shape["energies_per_atom"], pos["energies_per_atom"]))
    with pytest.raises(ValueError):
        eos_points(atoms, EMT(), strains, relax="everything")


def test_json_round_trip_and_plot(tmp_path):
    result = eos({"a": EMT(), "b": ScaledEMT(0.9)}, bulk("Al", "fcc", a=4.05), strains=STRAINS)
    path = result.save_json(tmp_path / "eos.json")
    back = EOSResult.load_json(path)
    assert back.fits["b"].b0_gpa == pytest.approx(result.fits["b"].b0_gpa)
    assert back.delta_mev_per_atom == pytest.approx(result.delta_mev_per_atom)
    assert {r["calculator"] for r in back.table()} == {"a", "b"}
    assert "Δ" in back.summary()
    plot_eos(back, tmp_path / "eos.png")
    assert (tmp_path / "eos.png").stat().st_size > 1000


def test_dft_eos_mode_resumes_and_feeds_the_delta(tmp_path):
    pytest.importorskip("gpaw")
    from ase_ftcalc.dft.labelling import DFTSettings
    from ase_ftcalc.dft.eos import dft_eos_points, eos_reference

    cheap = DFTSettings(ecut_ev=150, kpt_density_angstrom=1.5, scf_energy_tol_ev=1e-4)  # fast, not converged
    out, log = tmp_path / "al_eos.extxyz", io.StringIO()
    strains = linear_strains(-0.04, 0.04, 0.02)
    dft_eos_points(bulk("Al"), out, strains[:2], settings=cheap, log=log)
    dft_eos_points(bulk("Al"), out, strains, settings=cheap, log=log)   # resumes: 3 new points only
    assert log.getvalue().count("[dft-eos]") == 5
    ref = eos_reference(out)
    assert ref["strains"] == pytest.approx(strains)
    assert np.all(np.diff(ref["volumes_per_atom"]) > 0)
    result = eos({"emt": EMT()}, bulk("Al"), strains=strains, reference_points=ref)
    assert result.reference == "reference" and result.delta_mev_per_atom["reference"] == 0.0
    assert result.delta_mev_per_atom["emt"] > 0


def _cli(*argv):
    import argparse

    from benchmarks.cli import register

    parser = argparse.ArgumentParser(prog="ftcalc")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def test_cli_bench_eos(tmp_path, capsys):
    import json

    from ase.io import write

    write(tmp_path / "cu.extxyz", bulk("Cu", "fcc", a=3.6))
    assert _cli("bench", "eos", "--calc", "a=emt", "--calc", "b=emt", "--structure", tmp_path / "cu.extxyz",
                "--strains=-0.03:0.05:0.01", "-o", tmp_path / "out") == 0
    data = json.loads((tmp_path / "out" / "eos.json").read_text())
    assert data["delta_mev_per_atom"] == {"a": 0.0, "b": 0.0} and len(data["strains"]) == 9
    assert (tmp_path / "out" / "eos.png").exists() and "B0" in capsys.readouterr().out


def test_cli_import_is_light():
    import subprocess
    import sys

    code = ("import sys, benchmarks.cli; "
            "heavy = [m for m in ('torch', 'chgnet', 'scipy', 'matplotlib', 'ase') if m in sys.modules]; "
            "sys.exit(1 if heavy else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
