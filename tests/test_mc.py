"""benchmarks.dynamics.mc: Metropolis MC / annealing recovers ground states found by exhaustive enumeration."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import read

from benchmarks.dynamics.mc import MCResult, monte_carlo, plot_mc, with_vacancies
from benchmarks.crystal.ranking import configurations


def _energy(atoms, calc):
    work = atoms.copy()
    work.calc = calc
    return work.get_potential_energy()


@pytest.fixture(scope="module")
def cuau():
    """8-site fcc cell (2x1x1 conventional), Cu4Au4 starting phase-separated."""
    cell = bulk("Cu", "fcc", a=3.75, cubic=True) * (2, 1, 1)
    start = cell.copy()
    start.set_chemical_symbols(["Au" if x < 3.7 else "Cu" for x in cell.positions[:, 0]])
    return cell, start


def test_cuau_ground_state_matches_enumeration(cuau):
    cell, start = cuau
    classes = configurations(cell, "Cu", {"Cu": 4, "Au": 4})
    energies = [_energy(a, EMT()) for a in classes]
    assert sum(a.info["multiplicity"] for a in classes) == 70
    result = monte_carlo(start, EMT(), swaps=[("Cu", "Au")], n_steps=60, t_start_k=2000, t_end_k=20, n_restarts=2,
                         seed=1)
    assert result.best_energy_ev == pytest.approx(min(energies), abs=1e-8)
    assert result.best_energy_ev < _energy(start, EMT()) - 0.1
    assert result.best_energy_ev == pytest.approx(_energy(result.best_atoms(), EMT()), abs=1e-10)
    assert result.best_atoms().get_chemical_formula() == "Au4Cu4"
    rec = result.records
    assert len(rec["step"]) == 120 and rec["temperature_k"][0] == 2000 and rec["temperature_k"][59] == pytest.approx(20)
    assert rec["temperature_k"][60] == 2000                        # the second anneal reheats
    assert result.acceptance["swap"]["attempted"] == 120
    assert 0 < result.acceptance["swap"]["accepted"] == sum(rec["accepted"])
    assert len(result.restarts_best_enthalpy_ev) == 2


def test_vacancy_ordering_with_chgnet_matches_enumeration():
    """NiAs-type CrS, 2x2x1 (8 Cr sites), two Cr vacancies: Cr6S8 = Cr3S4."""
    from ase_ftcalc import FTCalculator

    a, c = 3.44, 5.76
    unit = Atoms("Cr2S2", scaled_positions=[(0, 0, 0), (0, 0, 0.5), (1 / 3, 2 / 3, 0.25), (2 / 3, 1 / 3, 0.75)],
                 cell=[a, a, c, 90, 90, 120], pbc=True)
    parent = unit * (2, 2, 1)
    calc = FTCalculator(num_threads=1)
    classes = configurations(parent, "Cr", {"Cr": 6, "X": 2})
    energies = [_energy(x, calc) for x in classes]
    assert sum(x.info["multiplicity"] for x in classes) == 28 and len(classes) < 28
    start = with_vacancies(parent, "Cr", 2, seed=0)
    result = monte_carlo(start, calc, swaps=[("Cr", "X")], n_steps=25, t_start_k=3000, t_end_k=30, seed=0)
    assert result.best_energy_ev == pytest.approx(min(energies), abs=1e-4)
    best = result.best_atoms()
    assert best.get_chemical_formula() == "Cr6S8" and len(best) == 14


def test_volume_moves_find_the_eos_volume_and_respond_to_pressure():
    from benchmarks.crystal.eos import eos, linear_strains

    atoms = bulk("Cu", "fcc", a=3.6)
    v0 = eos({"emt": EMT()}, atoms, strains=linear_strains(-0.03, 0.05, 0.01)).fits["emt"].v0_a3_per_atom
    start = atoms.copy()
    start.set_cell(atoms.cell * 1.03, scale_atoms=True)
    kw = dict(volume_move_prob=1.0, n_steps=60, t_start_k=30, t_end_k=30, max_log_volume_step=0.02, seed=2)
    free = monte_carlo(start, EMT(), **kw)
    squeezed = monte_carlo(start, EMT(), pressure_gpa=20.0, **kw)
    v_free = np.mean(free.records["volume_a3"][30:])
    assert v_free == pytest.approx(v0, rel=0.01)
    assert np.mean(squeezed.records["volume_a3"][30:]) < v_free * 0.97     # B ≈ 134 GPa: ΔV/V ≈ −13 %
    assert 0 < free.acceptance["volume"]["ratio"] < 1
    assert squeezed.best_enthalpy_ev > squeezed.best_energy_ev


def test_interrupted_run_resumes_to_the_same_result(cuau, tmp_path):
    _, start = cuau
    kw = dict(swaps=[("Cu", "Au")], n_steps=20, n_restarts=2, t_start_k=1500, t_end_k=50, seed=4,
              checkpoint_every=10)
    whole = monte_carlo(start, EMT(), checkpoint=tmp_path / "a.json", trajectory=tmp_path / "a.extxyz", **kw)

    class Stop(Exception):
        pass

    def stop_at_25(record):
        if record["step"] == 25:
            raise Stop

    with pytest.raises(Stop):
        monte_carlo(start, EMT(), checkpoint=tmp_path / "b.json", trajectory=tmp_path / "b.extxyz",
                    callback=stop_at_25, **kw)
    resumed = monte_carlo(start, EMT(), checkpoint=tmp_path / "b.json", trajectory=tmp_path / "b.extxyz", **kw)
    assert resumed.resumed_from_step == 20
    assert resumed.records == whole.records
    assert resumed.best_state == whole.best_state and resumed.acceptance == whole.acceptance
    traj = read(tmp_path / "b.extxyz", index=":")
    assert len(traj) == sum(whole.records["accepted"]) == len(read(tmp_path / "a.extxyz", index=":"))
    with pytest.raises(ValueError, match="other settings"):
        monte_carlo(start, EMT(), checkpoint=tmp_path / "b.json", **{**kw, "seed": 5})


def test_capped_relaxation_and_round_trip(cuau, tmp_path):
    _, start = cuau
    result = monte_carlo(start, EMT(), swaps=[("Cu", "Au")], n_steps=8, relax_steps=3, relax_fmax=0.01, seed=0)
    assert 0 < result.relax_steps_total <= 3 * 9
    final = result.final_atoms()
    assert result.final_energy_ev == pytest.approx(_energy(final, EMT()), abs=1e-10)
    assert not np.allclose(final.get_scaled_positions(), start.get_scaled_positions())   # relaxed positions kept
    back = MCResult.load_json(result.save_json(tmp_path / "mc.json"))
    assert back.records == result.records and "best E" in back.summary()
    plot_mc(back, tmp_path / "mc.png")
    assert (tmp_path / "mc.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="no moves"):
        monte_carlo(start, EMT())


def test_cli_mc_with_vacancies(tmp_path, capsys):
    import argparse
    import json

    from ase.io import write

    from benchmarks.cli import register

    parser = argparse.ArgumentParser(prog="ftcalc")
    register(parser.add_subparsers(dest="command"))
    write(tmp_path / "cu.extxyz", bulk("Cu", "fcc", a=3.6, cubic=True))
    argv = ["mc", str(tmp_path / "cu.extxyz"), "--calc", "emt", "--supercell", "2,1,1", "--vacancies", "Cu=2",
            "--swap", "Cu,X", "--steps", "15", "--volume-prob", "0.3", "-o", str(tmp_path / "out")]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    data = json.loads((tmp_path / "out" / "mc.json").read_text())
    assert data["n_steps_total"] == 15 and set(data["acceptance"]) == {"swap", "volume"}
    assert len(read(tmp_path / "out" / "best.extxyz")) == 6
    args = parser.parse_args(argv)      # a second run resumes from the finished checkpoint
    assert args.func(args) == 0
    assert json.loads((tmp_path / "out" / "mc.json").read_text())["resumed_from_step"] == 15
