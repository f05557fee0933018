"""benchmarks.crystal.ranking: symmetry-reduced enumeration of arrangements, Spearman ρ and RMSE, with EMT."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from scaled_emt import ScaledEMT

from benchmarks.crystal.ranking import (RankingResult, configurations, n_arrangements, plot_ranking,
                                rank_configurations, symmetry_permutations)


def _emt(atoms):
    work = atoms.copy()
    work.calc = EMT()
    return work.get_potential_energy()


@pytest.fixture(scope="module")
def cell8():
    return bulk("Cu", "fcc", a=3.7, cubic=True) * (2, 1, 1)


def test_translations_and_rotations_are_site_permutations(cell8):
    perms = symmetry_permutations(cell8, range(8))
    assert perms.shape[1] == 8 and len(perms) > 8     # 8 lattice translations times point operations
    assert all(sorted(p) == list(range(8)) for p in perms)


@pytest.mark.parametrize("counts", [{"Cu": 6, "Au": 2}, {"Cu": 5, "Au": 2, "X": 1}])
def test_unique_classes_cover_every_arrangement_with_the_same_energies(cell8, counts):
    unique = configurations(cell8, "Cu", counts)
    everything = configurations(cell8, "Cu", counts, unique=False)
    assert len(everything) == n_arrangements(counts)
    assert sum(a.info["multiplicity"] for a in unique) == n_arrangements(counts)
    assert len(unique) < len(everything)
    n_vac = counts.get("X", 0)
    assert all(len(a) == 8 - n_vac and a.get_chemical_symbols().count("Au") == 2 for a in unique)
    # symmetry-equivalent arrangements have equal energies: the sets of distinct energies agree
    e_unique = {round(_emt(a), 7) for a in unique}
    e_all = {round(_emt(a), 7) for a in everything}
    assert e_unique == e_all


def test_sampling_when_enumeration_is_too_large(cell8):
    big = cell8 * (1, 2, 1)
    sampled = configurations(big, "Cu", {"Cu": 12, "Au": 4}, max_enumerate=100, max_configs=12, seed=3)
    assert len(sampled) == 12 and len({a.info["occupation"] for a in sampled}) == 12
    assert all(a.info["multiplicity"] == 0 for a in sampled)
    with pytest.raises(ValueError, match="add up"):
        configurations(big, "Cu", {"Cu": 3, "Au": 4})


def test_rank_against_itself_scaled_and_inverted(cell8, tmp_path):
    configs = configurations(cell8 * (1, 2, 1), "Cu", {"Cu": 13, "Au": 3}, max_configs=15, seed=1)
    s = 1.2
    result = rank_configurations({"ref": EMT(), "same": EMT(), "scaled": ScaledEMT(s), "inverted": ScaledEMT(-1.0)},
                                 configs, reference="ref")
    assert result.static["same"]["spearman_rho"] == pytest.approx(1.0)
    assert result.static["same"]["rmse_mev_per_atom"] == pytest.approx(0.0, abs=1e-9)
    assert result.static["scaled"]["spearman_rho"] == pytest.approx(1.0)
    assert result.static["inverted"]["spearman_rho"] == pytest.approx(-1.0)
    assert not result.static["inverted"]["same_lowest"]
    ref = np.array(result.energies_ev_per_atom["ref"])
    expected = 1000 * abs(s - 1) * np.sqrt(np.mean((ref - ref.mean()) ** 2))
    assert result.static["scaled"]["rmse_mev_per_atom"] == pytest.approx(expected, rel=1e-9)
    back = RankingResult.load_json(result.save_json(tmp_path / "rank.json"))
    assert back.static["scaled"]["rmse_mev_per_atom"] == pytest.approx(expected, rel=1e-9)
    assert back.energies_ev_per_atom["ref"] == pytest.approx(list(ref))
    assert "ρ 1.000" in back.summary()
    plot_ranking(back, tmp_path / "rank.png")
    assert (tmp_path / "rank.png").stat().st_size > 1000


def test_relaxed_ranking(cell8):
    configs = configurations(cell8, "Cu", {"Cu": 5, "Au": 2, "X": 1})
    result = rank_configurations({"ref": EMT(), "same": EMT()}, configs, relax=True, steps=40, fmax=0.05)
    static = np.array(result.energies_ev_per_atom["ref"])
    relaxed = np.array(result.relaxed_energies_ev_per_atom["ref"])
    assert np.all(relaxed <= static + 1e-9) and np.any(relaxed < static - 1e-4)
    assert result.relaxed_stats["same"]["spearman_rho"] == pytest.approx(1.0)
    assert all(0 < n <= 40 for n in result.relax_steps["ref"])
    with pytest.raises(ValueError, match="reference"):
        rank_configurations({"a": EMT()}, configs, reference="b")


def test_cli_bench_rank(tmp_path, capsys):
    import argparse
    import csv

    from ase.io import write

    from benchmarks.cli import register

    parser = argparse.ArgumentParser(prog="ftcalc")
    register(parser.add_subparsers(dest="command"))
    write(tmp_path / "cu.extxyz", bulk("Cu", "fcc", a=3.7, cubic=True))
    args = parser.parse_args(["bench", "rank", "--calc", "ref=emt", "--calc", "same=emt", "--structure",
                              str(tmp_path / "cu.extxyz"), "--supercell", "2,1,1", "--sites", "Cu",
                              "--counts", "Cu=6,Au=1,X=1", "-o", str(tmp_path / "out")])
    assert args.func(args) == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "rank.csv")))
    assert len(rows) >= 2 and sum(int(r["multiplicity"]) for r in rows) == 56
    assert "ρ 1.000" in capsys.readouterr().out
