"""`ftcalc exafs` (= `ftcalc bench exafs`) and `ftcalc bench exafs-goals` end to end, on small real runs."""
import argparse
import json
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.io import write

from benchmarks.cli import register

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "exafs"


def _run(*argv):
    parser = argparse.ArgumentParser(prog="ftcalc")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def test_ftcalc_exafs_against_measured_foil(tmp_path):
    cu = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(3):
        f = cu.copy()
        f.positions += rng.normal(scale=0.065, size=f.positions.shape)
        frames.append(f)
    write(tmp_path / "cu.extxyz", frames)
    write(tmp_path / "ideal.extxyz", cu)
    out = tmp_path / "out"
    assert _run("exafs", f"disordered={tmp_path / 'cu.extxyz'}", "--absorber", "Cu", "--rmax", "3.0",
                "--experiment", DATA / "cu_metal_rt.xdi", "--reference", tmp_path / "ideal.extxyz",
                "-o", out) == 0
    saved = json.loads((out / "exafs_disordered.json").read_text())
    assert saved["n_snapshots"] == 3 and saved["n_absorbers"] == 108
    assert saved["settings"]["feff_structure"] == "reference" and not saved["warnings"]
    c = saved["comparison"]
    assert c["experiment"] == "cu_metal_rt.xdi" and 0 < c["relative_mse_k2chi"] < 1.0
    assert (out / "exafs.png").stat().st_size > 10_000


def test_exafs_goals_small(tmp_path, capsys):
    """The goals script on a 24-atom WS2 cell, 20 snapshots, paths to 4 Å: every stage runs and reports."""
    status = _run("bench", "exafs-goals", "--supercell", "2,2,1", "--snapshots", "20", "--equilibration", "20",
                  "--rmax", "4.0", "--exact-pairs", "2", "--ms-samples", "4", "--reference", "-o", tmp_path)
    text = capsys.readouterr().out
    assert status in (0, 1) and "accuracy" in text and "speed" in text
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["n_atoms"] == 24 and saved["n_absorbers"] == 8 and saved["n_snapshots"] == 20
    assert saved["timings_s"]["geometry"] > 0 and saved["speed_per_5000_s"] > 0
    # to 4 Å only W–S, S–S and W–W single scattering and a few triangles: the fast mode is close to exact
    assert 0 < saved["rms_percent"] < 5.0, saved["rms_percent"]
    assert (tmp_path / "goals.png").exists()
