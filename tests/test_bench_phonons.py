"""benchmarks.crystal.phonons: EMT Cu against ASE's own phonon code; Γ modes of WS2 with CHGNet; caching."""
import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT

from benchmarks.crystal.phonons import THZ_TO_CM1, compare_gamma, phonons, plot_phonons


def test_emt_cu_bands_match_ase_phonons(tmp_path, monkeypatch):
    """Same cell, same 4x4x4 supercell: phonopy route vs ase.phonons.Phonons along the standard fcc path."""
    from ase.phonons import Phonons

    atoms = bulk("Cu", "fcc", a=3.6)
    result = phonons({"emt": EMT()}, atoms, supercell=[4, 4, 4], relax_first=False, npoints=40,
                     mesh=(8, 8, 8), cache_dir=tmp_path / "cache")
    res = result.calculators["emt"]
    bands = res["bands"]
    monkeypatch.chdir(tmp_path)
    ph = Phonons(atoms, EMT(), supercell=(4, 4, 4), delta=0.01, name="ase-ph")
    ph.run()
    ph.read(acoustic=True)
    ase_ev = ph.band_structure(np.asarray(bands["qpoints"]))  # eV, ħω
    ase_thz = ase_ev / (units._hplanck / units._e) / 1e12
    ours = np.asarray(bands["frequencies_thz"])
    assert ours.shape == ase_thz.shape == (40, 3)
    assert np.abs(ours - ase_thz).max() < 0.02 * ours.max()
    assert ours.max() > 6.0  # EMT Cu: ~7 THz at X
    # Γ: three zero acoustic modes
    assert np.allclose(res["gamma_frequencies_cm1"], 0, atol=0.5)
    assert res["gamma_modes"][0]["acoustic"] and res["gamma_modes"][0]["degeneracy"] == 3
    assert np.allclose(res["gamma_frequencies_cm1"], np.asarray(ph.band_structure([[0, 0, 0]])[0]) /
                       (units._hplanck / units._e) / 1e12 * THZ_TO_CM1, atol=0.5)
    # a re-run reuses the cached displacement forces and gives the same bands
    again = phonons({"emt": EMT()}, atoms, supercell=[4, 4, 4], relax_first=False, npoints=40, mesh=(8, 8, 8),
                    cache_dir=tmp_path / "cache")
    assert again.calculators["emt"]["reused_forces"] and not res["reused_forces"]
    assert np.allclose(again.calculators["emt"]["bands"]["frequencies_thz"], ours, atol=1e-5)
    # and the cache file serves as a reference phonopy file: zero deviation
    vs_file = phonons({"emt": EMT()}, atoms, supercell=[4, 4, 4], relax_first=False, npoints=40, mesh=(8, 8, 8),
                      reference_phonopy=tmp_path / "cache" / "phonopy_emt.yaml")
    assert vs_file.calculators["emt"]["comparison"]["phonopy_file"]["bands_max_abs_diff_cm1"] < 1e-3


def test_ws2_gamma_modes_with_chgnet_have_irreps(vanilla, tmp_path):
    from ase_ftcalc.structures import bulk_2h

    raman = {"E2g^2": 27.0, "E2g^1": 356.0, "A1g": 421.0}
    result = phonons({"chgnet": vanilla, "emt": EMT()}, bulk_2h("WS2"), supercell=[2, 2, 1], relax_first=False,
                     npoints=30, mesh=(6, 6, 2), reference_gamma_cm1=raman)
    assert "error" in result.calculators["emt"]
    res = result.calculators["chgnet"]
    freqs = np.sort(np.asarray(res["gamma_frequencies_cm1"]))
    assert freqs.shape == (18,)
    assert np.allclose(freqs[:3], 0, atol=1.0)  # three acoustic modes
    assert freqs[3] > 5.0
    labels = [m["label"] for m in res["gamma_modes"] if not m["acoustic"]]
    assert {"A1g", "E2g", "E1g", "A2u", "E1u"} <= set(labels)  # D6h irreps of 2H-MX2
    assert sum(m["degeneracy"] for m in res["gamma_modes"]) == 18
    cmp = res["comparison"]["gamma"]
    by_label = {row["label"]: row for row in cmp["modes"]}
    assert by_label["A1g"]["mode_label"] == "A1g" and by_label["E2g^1"]["mode_label"] == "E2g"
    assert all(row["label_matched"] for row in cmp["modes"])
    assert by_label["E2g^2"]["value_cm1"] < by_label["E2g^1"]["value_cm1"]  # shear mode is the low E2g
    assert cmp["mae_cm1"] == pytest.approx(np.mean([abs(r["difference_cm1"]) for r in cmp["modes"]]))
    plot_phonons(result, tmp_path / "ph.png")
    assert (tmp_path / "ph.png").stat().st_size > 10_000


def test_compare_gamma_matches_unlabelled_references_to_nearest_optical_modes():
    modes = [{"frequency_cm1": 0.0, "band_indices": [0, 1, 2], "label": None},
             {"frequency_cm1": 100.0, "band_indices": [3], "label": "A"},
             {"frequency_cm1": 205.0, "band_indices": [4], "label": "B"}]
    out = compare_gamma(modes, [200.0, 90.0])
    assert [r["value_cm1"] for r in out["modes"]] == [100.0, 205.0]
    assert out["mae_cm1"] == pytest.approx(7.5)
    labelled = compare_gamma(modes, {"B": 90.0, "Z": 101.0})
    rows = {r["label"]: r for r in labelled["modes"]}
    assert rows["B"]["value_cm1"] == 205.0 and rows["B"]["label_matched"]  # irrep wins over distance
    assert rows["Z"]["value_cm1"] == 100.0 and not rows["Z"]["label_matched"]
