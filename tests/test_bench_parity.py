"""benchmarks.fit.parity: statistics, offsets, stress units/sign, bad input, batched CHGNet."""
import json

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from benchmarks.fit.parity import ParityResult, parity, plot_parity


def _labelled(calc, frames, *, e_scale=1.0, f_scale=1.0, s_scale=1.0, e_shift_per_atom=0.0, stress=True):
    """Frames labelled by ``calc``; labels optionally scaled/shifted (reference = scale * model)."""
    out = []
    for atoms in frames:
        work = atoms.copy()
        work.calc = calc
        e, f = work.get_potential_energy(), work.get_forces()
        labels = {"energy": e_scale * e + e_shift_per_atom * len(work), "forces": f_scale * f}
        if stress:
            labels["stress"] = s_scale * work.get_stress()
        new = atoms.copy()
        new.calc = SinglePointCalculator(new, **labels)
        out.append(new)
    return out


@pytest.fixture(scope="module")
def cu_frames():
    rng = np.random.default_rng(3)
    frames = []
    for i, rep in enumerate([(1, 1, 1), (2, 1, 1), (1, 1, 1), (1, 2, 1), (1, 1, 1), (2, 1, 1)]):
        atoms = bulk("Cu", cubic=True) * rep
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-0.02, 0.02)), scale_atoms=True)
        atoms.rattle(0.08, seed=i)
        frames.append(atoms)
    return frames


def test_self_labelled_frames_give_zero_error_and_unit_slope(cu_frames):
    frames = _labelled(EMT(), cu_frames)
    res = parity({"emt": EMT()}, frames).calculators["emt"]
    assert not res.failures and not res.skipped
    for metric in ("energy_ev_per_atom", "forces_ev_per_a", "stress_gpa"):
        s = res.stats[metric]
        assert s["mae"] < 1e-9 and s["rmse"] < 1e-9, metric
        assert s["slope_origin"] == pytest.approx(1.0, abs=1e-9)
        assert s["slope"] == pytest.approx(1.0, abs=1e-6) and abs(s["intercept"]) < 1e-6
        assert s["r2"] == pytest.approx(1.0, abs=1e-9)
    assert res.stats["forces_ev_per_a"]["n"] == 3 * sum(len(a) for a in cu_frames)
    assert res.stats["stress_gpa"]["n"] == 6 * len(cu_frames)
    assert res.energy_offset_mode == "composition"
    assert res.energy_offsets_ev_per_atom == {"Cu": pytest.approx(0.0, abs=1e-12)}


def test_scaled_labels_give_the_scale_as_slope_and_offsets_are_reported(cu_frames):
    # reference = model / 2  ->  model = 2 * reference; energy labels also carry a constant offset per atom
    frames = _labelled(EMT(), cu_frames, e_scale=0.5, f_scale=0.5, s_scale=0.5, e_shift_per_atom=-3.0)
    res = parity({"emt": EMT()}, frames).calculators["emt"]
    for metric in ("energy_ev_per_atom", "forces_ev_per_a", "stress_gpa"):
        assert res.stats[metric]["slope_origin"] == pytest.approx(2.0, rel=1e-9), metric
        assert res.stats[metric]["slope"] == pytest.approx(2.0, rel=1e-6), metric
    # the offset (model - DFT, eV/atom) is what the energy per atom differs by on average
    e_model = []
    for a in cu_frames:
        w = a.copy()
        w.calc = EMT()
        e_model.append(w.get_potential_energy() / len(w))
    e_model = np.array(e_model)
    expected = np.mean(e_model - (0.5 * e_model - 3.0))
    assert res.energy_offsets_ev_per_atom["Cu"] == pytest.approx(expected, rel=1e-9)


def test_stress_is_gpa_with_ase_sign_against_finite_differences():
    """A stretched Cu cell is under tension: positive σ_xx (GPa) = (1/V) dE/dε_xx; shear σ_yz likewise."""
    atoms = bulk("Cu", cubic=True)
    atoms.set_cell(atoms.cell * 1.02, scale_atoms=True)
    atoms.rattle(0.02, seed=1)
    calc = EMT()
    frames = _labelled(calc, [atoms])
    res = parity({"emt": calc}, frames, keep_values=True).calculators["emt"]
    stress_gpa = np.asarray(res.values["stress_gpa"]["predicted"])

    def energy(eps):
        w = atoms.copy()
        w.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)  # rows: a_i -> (1 + ε) a_i
        w.calc = EMT()
        return w.get_potential_energy()

    h, vol = 1e-5, atoms.get_volume()
    e_xx = np.zeros((3, 3))
    e_xx[0, 0] = h
    e_yz = np.zeros((3, 3))
    e_yz[1, 2] = e_yz[2, 1] = h / 2  # Voigt shear strain γ_yz = h
    fd_xx = (energy(e_xx) - energy(-e_xx)) / (2 * h) / vol / units.GPa
    fd_yz = (energy(e_yz) - energy(-e_yz)) / (2 * h) / vol / units.GPa
    assert stress_gpa[0] > 1.0  # stretched -> tensile -> positive in ASE's convention
    assert stress_gpa[0] == pytest.approx(fd_xx, rel=1e-4)
    assert stress_gpa[3] == pytest.approx(fd_yz, rel=1e-3, abs=1e-4)


def test_missing_labels_skip_a_metric_and_failing_frames_are_recorded(cu_frames):
    from ase_ftcalc.structures import bulk_2h

    frames = _labelled(EMT(), cu_frames[:4], stress=False)
    ws2 = bulk_2h("WS2")  # EMT has no W or S: fails on this frame
    ws2.calc = SinglePointCalculator(ws2, energy=-40.0, forces=np.zeros((6, 3)))
    ws2.info["source"] = "ws2-frame"
    frames.insert(1, ws2)
    res = parity({"emt": EMT()}, frames).calculators["emt"]
    assert "stress_gpa" in res.skipped and "stress" in res.skipped["stress_gpa"]
    assert [f["frame"] for f in res.failures] == [1] and res.failures[0]["source"] == "ws2-frame"
    assert res.stats["forces_ev_per_a"]["mae"] < 1e-9
    assert res.stats["energy_ev_per_atom"]["n"] == 4


def test_chgnet_batched_with_emt_side_by_side(vanilla, tmp_path):
    """FTCalculator goes through predict_batch; labels from its own single-structure calls agree."""
    from ase_ftcalc.structures import bulk_2h
    from ase_ftcalc.dft.sampling import perturbed

    rng = np.random.default_rng(11)
    cells = [perturbed(bulk_2h("WS2"), rng, max_displacement=0.1) for _ in range(4)]
    frames = _labelled(vanilla, cells)
    result = parity({"chgnet": vanilla, "emt": EMT()}, frames)
    ch = result.calculators["chgnet"]
    assert not ch.failures
    assert ch.stats["forces_ev_per_a"]["mae"] < 1e-4
    assert ch.stats["forces_ev_per_a"]["slope_origin"] == pytest.approx(1.0, abs=1e-3)
    assert ch.stats["energy_ev_per_atom"]["mae"] < 1e-4
    assert ch.stats["stress_gpa"]["mae"] < 1e-2
    assert len(result.calculators["emt"].failures) == 4  # EMT knows no W/S; recorded, not raised
    path = tmp_path / "parity.json"
    result.save_json(path)
    data = json.loads(path.read_text())
    assert data["calculators"]["chgnet"]["stats"]["forces_ev_per_a"]["n"] == 72
    plot_parity(result, tmp_path / "parity.png")
    assert (tmp_path / "parity.png").stat().st_size > 10_000
    again = ParityResult.load_json(path)  # re-plot from the saved file
    assert again.calculators["chgnet"].stats["forces_ev_per_a"]["mae"] == pytest.approx(
        ch.stats["forces_ev_per_a"]["mae"])
    plot_parity(again, tmp_path / "again.png")
    assert (tmp_path / "again.png").exists()


def test_failed_batch_is_reported_and_frames_go_one_by_one(vanilla):
    """A non-periodic frame stops CHGNet's batch: the batch error is kept and warned about, the frames are
    evaluated one by one, and only the bad frame fails."""
    from ase_ftcalc.structures import bulk_2h

    good = _labelled(vanilla, [bulk_2h("WS2")])[0]
    bad = good.copy()
    bad.pbc = False
    bad.info["source"] = "open-cell"
    with pytest.warns(RuntimeWarning, match="batched evaluation failed"):
        res = parity({"chgnet": vanilla}, [good, bad]).calculators["chgnet"]
    assert "periodic" in res.batch_error
    assert [f["source"] for f in res.failures] == ["open-cell"]
    assert res.stats["forces_ev_per_a"]["mae"] < 1e-4 and res.stats["forces_ev_per_a"]["n"] == 18
