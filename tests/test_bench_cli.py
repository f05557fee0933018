"""`ftcalc bench ...` sub-commands (benchmarks.cli) end to end with EMT."""
import argparse
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from benchmarks.cli import register


def _run(*argv):
    parser = argparse.ArgumentParser(prog="ftcalc")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *map(str, argv)])
    return args.func(args)


def test_import_is_light():
    code = ("import sys, benchmarks.cli; "
            "heavy = [m for m in ('torch', 'chgnet', 'phonopy', 'matscipy', 'matplotlib') if m in sys.modules]; "
            "sys.exit(1 if heavy else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    frames = []
    for i in range(6):
        atoms = bulk("Cu", cubic=True)
        atoms.rattle(0.05, seed=i)
        atoms.set_cell(atoms.cell * (1 + 0.004 * i), scale_atoms=True)
        atoms.calc = EMT()
        labels = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(), stress=atoms.get_stress())
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    write(d / "frames.extxyz", frames)
    write(d / "cu.extxyz", bulk("Cu", cubic=True))
    write(d / "cu_prim.extxyz", bulk("Cu"))
    return d


def test_parity_cli(files, tmp_path, capsys):
    assert _run("parity", "--calc", "ref=emt", "--frames", files / "frames.extxyz", "--all-frames",
                "-o", tmp_path) == 0
    data = json.loads((tmp_path / "parity.json").read_text())
    assert data["n_frames"] == 6
    assert data["calculators"]["ref"]["stats"]["forces_ev_per_a"]["mae"] < 1e-6
    rows = list(csv.DictReader(open(tmp_path / "parity.csv")))
    assert {r["metric"] for r in rows} == {"energy_ev_per_atom", "forces_ev_per_a", "stress_gpa"}
    assert (tmp_path / "parity.png").exists()
    assert "slope0 1.000" in capsys.readouterr().out
    # default split: frames 0 and 5 of 6 are the test frames
    _run("parity", "--calc", "emt", "--frames", files / "frames.extxyz", "-o", tmp_path / "split")
    assert json.loads((tmp_path / "split" / "parity.json").read_text())["n_frames"] == 2


def test_structure_elastic_phonons_cli(files, tmp_path, capsys):
    assert _run("structure", "--calc", "emt", "--structure", files / "cu.extxyz", "--reference", "a=3.59",
                "-o", tmp_path) == 0
    s = json.loads((tmp_path / "structure.json").read_text())
    assert s["calculators"]["emt"]["comparison"]["a"]["reference"] == 3.59
    assert _run("elastic", "--calc", "emt", "--structure", files / "cu.extxyz", "--clamped-ion",
                "--strain-steps", "3", "--reference", "C11=176", "-o", tmp_path) == 0
    e = json.loads((tmp_path / "elastic.json").read_text())
    assert e["family"] == "cubic" and not e["relaxed_ion"]
    assert e["calculators"]["emt"]["comparison"]["C11"]["reference_gpa"] == 176
    assert _run("phonons", "--calc", "emt", "--structure", files / "cu_prim.extxyz", "--supercell", "3,3,3",
                "--no-relax", "--reference-gamma", "100", "-o", tmp_path) == 0
    p = json.loads((tmp_path / "phonons.json").read_text())
    assert np.allclose(p["calculators"]["emt"]["gamma_frequencies_cm1"], 0, atol=0.5)
    assert (tmp_path / "cache" / "phonopy_emt.yaml").exists()
    for stem in ("structure", "elastic", "phonons"):
        assert (tmp_path / f"{stem}.png").exists() and (tmp_path / f"{stem}.csv").exists()
    out = capsys.readouterr().out
    assert "acoustic" in out and "C11" in out


def test_learning_curve_cli(files, tmp_path):
    assert _run("learning-curve", "--frames", files / "frames.extxyz", "--sizes", "1", "--seeds", "0",
                "--epochs", "1", "--test-every", "3", "-o", tmp_path) == 0
    lc = json.loads((tmp_path / "learning_curve.json").read_text())
    assert lc["test_indices"] == [0, 3] and lc["sizes"] == [1]
    assert (tmp_path / "cache").is_dir() and list((tmp_path / "cache").glob("*/n1_seed0.pt"))


def test_bad_spec_is_a_value_error(files, tmp_path):
    with pytest.raises(ValueError, match="unknown calculator spec"):
        _run("structure", "--calc", "nonsense", "--structure", files / "cu.extxyz", "-o", tmp_path)
