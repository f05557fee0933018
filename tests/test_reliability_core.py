"""Issue 15, core library: no silent NaN, no silent unit mix-up, every bad input one clear error.

Real CHGNet throughout (pretrained 0.3.0, and one small fine-tuning run); the CLI is driven
through ``ase_ftcalc.cli.main`` in this process (exit status, stderr) and, where start-up time
matters, as a subprocess.
"""
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_ftcalc import FTCalculator, fine_tune, predict_batch
from ase_ftcalc.checks import StructureError, check_structure
from ase_ftcalc.cli import main
from ase_ftcalc.frames import FrameError, UnitWarning, read_frames, validate_frames
from ase_ftcalc.model import atoms_to_graph
from ase_ftcalc.modelfile import ModelFileError, save_model
from ase_ftcalc.options import OptionError
from ase_ftcalc.spec import calculator_from_spec


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(err: str, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _cu():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.02, seed=3)
    return atoms


# --- the calculator never returns NaN for inputs it can detect --------------------------------------


def _calc_error(calc, atoms, match):
    atoms.calc = calc
    with pytest.raises(StructureError, match=match):
        atoms.get_forces()


def test_coincident_and_close_atoms_name_the_pair(vanilla):
    atoms = _cu()
    atoms.positions[2] = atoms.positions[1]
    _calc_error(vanilla, atoms, r"atom 1 \(Cu\) and atom 2 \(Cu\) are 0 Å apart, closer than 0.5 Å")
    atoms = _cu()
    atoms.positions[3] = atoms.positions[0] + [0.3, 0, 0]
    _calc_error(vanilla, atoms, r"atom 0 \(Cu\) and atom 3 \(Cu\) are 0.3 Å apart")
    # Across the cell boundary: the pair is an atom and a periodic image of another.
    atoms = Atoms("CuAu", positions=[[0.1, 1, 1], [3.5, 1, 1]], cell=[3.6, 3.6, 3.6], pbc=True)
    _calc_error(vanilla, atoms, r"atom 0 \(Cu\) and atom 1 \(Au\) in periodic image \(-1, 0, 0\) are 0.2 Å apart")
    # 0.5 Å apart or more is allowed and finite (a strongly compressed dimer, not a mistake).
    atoms = _cu()
    atoms.positions[3] = atoms.positions[0] + [0.55, 0, 0]
    atoms.calc = vanilla
    assert np.isfinite(atoms.get_forces()).all() and np.isfinite(atoms.get_potential_energy())


def test_non_finite_positions_and_cells(vanilla):
    atoms = _cu()
    atoms.positions[1, 2] = np.nan
    _calc_error(vanilla, atoms, r"atom 1 has a NaN or infinite position")
    atoms = _cu()
    atoms.cell[0, 0] = np.inf
    _calc_error(vanilla, atoms, r"the cell contains NaN or inf")


def test_degenerate_cells(vanilla):
    atoms = _cu()
    atoms.cell[2] = atoms.cell[1]
    _calc_error(vanilla, atoms, r"zero volume")
    atoms = _cu()
    atoms.cell[2] = [0, 0, 0]
    _calc_error(vanilla, atoms, r"zero volume")
    thin = Atoms("Cu", cell=[4, 4, 0.3], pbc=True)
    _calc_error(vanilla, thin, r"only 0.3 Å thick along cell vector 3.*own periodic image")


def test_empty_unknown_elements_and_non_periodic(vanilla):
    _calc_error(vanilla, Atoms(cell=[5, 5, 5], pbc=True), r"no atoms")
    for z, name in ((95, "Am"), (0, "X")):
        atoms = _cu()
        atoms.numbers[2] = z
        _calc_error(vanilla, atoms, rf"atom 2 is {name} \(Z={z}\); CHGNet covers H to Pu")
    atoms = _cu()
    atoms.pbc = [True, True, False]
    _calc_error(vanilla, atoms, r"periodic cell in all three directions")


def test_absurdly_dense_cell_is_refused_before_the_graph(vanilla):
    # Cu at 40 % of its lattice constant: 1.0 Å between neighbours (no close pair), 1.3 atoms/Å³.
    dense = bulk("Cu", "fcc", a=3.6 * 0.4, cubic=True) * (4, 4, 4)
    t0 = time.perf_counter()
    _calc_error(vanilla, dense, r"256 atoms in .* would give each atom about \d+ neighbours within CHGNet's 6 Å")
    assert time.perf_counter() - t0 < 1.0
    # The densest solids pass: diamond, and diamond at half its volume.
    diamond = bulk("C", "diamond", a=3.567, cubic=True) * (2, 2, 2)
    check_structure(diamond)
    diamond.set_cell(diamond.cell * 0.5 ** (1 / 3), scale_atoms=True)
    check_structure(diamond)


def test_predict_batch_and_training_graphs_name_the_structure(vanilla):
    good, bad = _cu(), _cu()
    bad.positions[1] = bad.positions[0]
    with pytest.raises(StructureError, match=r"^structure 2: atom 0 \(Cu\) and atom 1 \(Cu\)"):
        predict_batch([good, good.copy(), bad], vanilla, batch_size=2)
    with pytest.raises(StructureError, match=r"^frames.extxyz:7: atom 0"):
        atoms_to_graph(vanilla.net, bad, graph_id="frames.extxyz:7")


def test_left_handed_cell_gives_the_same_stress(vanilla):
    # Upstream's signed volume flipped the stress of a left-handed cell: a silent sign error.
    right = _cu()
    left = right.copy()
    left.set_cell(right.cell[[1, 0, 2]], scale_atoms=False)
    assert np.linalg.det(left.cell) < 0
    right.calc, left.calc = vanilla, vanilla
    np.testing.assert_allclose(left.get_stress(), right.get_stress(), atol=1e-6)
    assert np.abs(right.get_stress()).max() > 1e-3


def test_non_finite_network_output_is_an_error_not_a_number(vanilla):
    calc = FTCalculator(vanilla.net)  # a private copy of the network, in memory: no file check in front
    with torch.no_grad():
        next(p for n, p in calc.net.named_parameters() if n.startswith("mlp")).fill_(float("nan"))
    atoms = _cu()
    atoms.calc = calc
    for _ in range(2):  # asking again must not return a NaN cached by the failed call
        with pytest.raises(StructureError, match="CHGNet returned a non-finite energy"):
            atoms.get_potential_energy()
    assert not calc.results


def test_close_pair_search_matches_pymatgen_on_skewed_cells():
    from pymatgen.optimization.neighbors import find_points_in_spheres

    from ase_ftcalc.checks import _close_pairs

    rng = np.random.default_rng(0)
    n_pairs = 0
    for _ in range(200):
        cell = rng.normal(size=(3, 3)) * 2 + np.eye(3) * rng.uniform(1.5, 5)
        volume = abs(np.linalg.det(cell))
        if volume < 1:
            continue
        heights = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        positions = rng.uniform(-1.5, 2.5, size=(int(rng.integers(1, 12)), 3)) @ cell  # unwrapped
        r = 0.999 * min(heights.min(), 1.2)
        i, j, image, distance = _close_pairs(positions, cell, heights, r)
        c, nb, im, d = find_points_in_spheres(positions, positions, r=r, pbc=np.ones(3, dtype=np.int64),
                                              lattice=np.ascontiguousarray(cell), tol=1e-8)
        keep = ~((c == nb) & (np.abs(im).sum(axis=1) == 0))
        expected = sorted({(min(a, b), max(a, b), round(x, 8)) for a, b, x in zip(c[keep], nb[keep], d[keep])})
        assert sorted(zip(i.tolist(), j.tolist(), np.round(distance, 8).tolist())) == expected
        np.testing.assert_allclose(np.linalg.norm(positions[j] + image @ cell - positions[i], axis=1), distance)
        n_pairs += len(distance)
    assert n_pairs > 50


def test_check_overhead_is_under_one_percent_of_a_chgnet_call(vanilla):
    from ase_ftcalc.structures import bulk_2h

    atoms = bulk_2h("WS2") * (8, 8, 1)  # 384 atoms; both costs grow linearly (README: 768 atoms)
    atoms.rattle(0.05, seed=0)
    atoms.calc = vanilla
    checks, calls = [], []
    for _ in range(2):  # interleaved; the minimum of each is the least disturbed by other load
        t0 = time.perf_counter()
        for _ in range(10):
            check_structure(atoms)
        checks.append((time.perf_counter() - t0) / 10)
        vanilla.reset()
        t0 = time.perf_counter()
        atoms.get_forces()
        calls.append(time.perf_counter() - t0)
    assert min(checks) / min(calls) < 0.01, (checks, calls)


# --- model files ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, ws2_frames):
    """One small real fine-tuning run, interrupted after epoch 1 and resumed, on 8 good frames and a file
    whose stress is in kBar: (model path, result, warnings of both runs, folder)."""
    folder = tmp_path_factory.mktemp("tuned")
    good, kbar = folder / "good.extxyz", folder / "kbar.extxyz"
    write(good, ws2_frames[:8])
    bad = []
    for atoms in ws2_frames[8:10]:
        new = atoms.copy()
        results = dict(atoms.calc.results)
        results["stress"] = results["stress"] * 160.21766208 * 10  # eV/Å³ -> kBar, written as if eV/Å³
        new.calc = SinglePointCalculator(new, **results)
        bad.append(new)
    write(kbar, bad)
    out = folder / "m.pt"

    class Stop(Exception):
        pass

    def stop(row):
        raise Stop

    kwargs = dict(epochs=2, freeze="readout", progress=False)
    old_umask = os.umask(0o022)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(Stop):
                fine_tune([good, kbar], out, on_epoch_end=stop, **kwargs)
            ckpt = folder / "m.pt.checkpoints"
            assert (ckpt / "last.pt").exists() and not out.exists()
            # What a kill while writing leaves behind: the model's and the checkpoint's temporaries.
            (folder / ".m.pt.k2j4x9.part").write_bytes(b"half a model")
            (ckpt / "last.part").write_bytes(b"half a checkpoint")
            result = fine_tune([good, kbar], out, **kwargs)
    finally:
        os.umask(old_umask)
    return out, result, [w for w in caught if issubclass(w.category, UnitWarning)], folder


def test_resumed_run_removes_orphans_sets_aside_kbar_and_is_group_readable(tuned):
    out, result, unit_warnings, folder = tuned
    assert len(result.history) == 2  # epoch 1 from the checkpoint, epoch 2 after the resume
    assert sorted(p.name for p in folder.iterdir()) == ["good.extxyz", "kbar.extxyz", "m.pt"]
    assert os.stat(out).st_mode & 0o777 == 0o644
    assert result.n_train + result.n_val + result.n_test == 8  # the two kBar frames were set aside
    assert unit_warnings and all("kbar.extxyz: 2 frame(s) set aside" in str(w.message) for w in unit_warnings)
    assert "likely kBar written as eV/Å³" in str(unit_warnings[0].message)


def test_model_file_with_nan_weights_is_refused(tuned, tmp_path, capsys):
    out = tuned[0]
    payload = torch.load(out, weights_only=True)
    name = next(k for k in payload["state_dict"] if k.startswith("mlp") and k.endswith("weight"))
    payload["state_dict"][name][0, :3] = float("nan")
    nan_file = tmp_path / "nan.pt"
    torch.save(payload, nan_file)
    message = rf"nan.pt: 3 of \d+ weights are NaN or inf \(in {name}\)"
    with pytest.raises(ModelFileError, match=message):
        FTCalculator(nan_file)
    with pytest.raises(ModelFileError, match=message):
        calculator_from_spec(f"chgnet:{nan_file}")  # what pair_style ase builds from its spec
    code, out_text, err = _cli(capsys, "info", nan_file)
    assert code == 2 and not out_text
    _one_line_error(err, "nan.pt", "weights are NaN or inf")
    # and save_model never writes such a file
    net = FTCalculator(out).net
    with torch.no_grad():
        net.state_dict()[name][0, 0] = float("inf")
    with pytest.raises(ModelFileError, match="not writing .*weights are NaN or inf"):
        save_model(net, tmp_path / "again.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.pt"]


def test_info_summarises_a_fine_tuned_file(tuned, capsys):
    out, result = tuned[0], tuned[1]
    code, text, err = _cli(capsys, "info", out)
    assert code == 0 and not err
    lines = text.splitlines()
    assert len(lines) < 15 and "element_reference" not in text
    assert "base model    CHGNet 0.3.0, 412,525 parameters" in text
    assert (f"training      8 frames: {result.n_train} train / {result.n_val} validation / "
            f"{result.n_test} test") in text
    assert "frames from   " in text and "good.extxyz (8)" in text
    energy_mae = 1000 * result.test_metrics["energy_ev_per_atom"]["mae"]
    assert f"test          MAE energy {energy_mae:.3g} meV/atom" in text
    assert f"data SHA-256  {result.training_data_sha256}" in text
    import hashlib

    assert f"file SHA-256  {hashlib.sha256(out.read_bytes()).hexdigest()}" in text
    code, full, _ = _cli(capsys, "info", out, "--full")
    everything = json.loads(full)
    assert code == 0 and everything["history"] == result.history and "W" in everything["element_reference_energies_ev"]


def test_info_describes_pretrained_versions_and_refuses_directories(capsys, tmp_path):
    code, text, err = _cli(capsys, "info", "0.3.0")
    assert code == 0 and not err
    assert "CHGNet 0.3.0, pretrained" in text and "412,525 parameters" in text
    assert "test          MAE energy 29 meV/atom, forces 0.068 eV/Å, stress 0.314 GPa" in text
    assert "MPtrj" in text
    code, text, _ = _cli(capsys, "info", "0.2.0")
    assert code == 0 and "CHGNet 0.2.0" in text and "cutoffs 5 Å (atoms)" in text
    code, full, _ = _cli(capsys, "info", "r2scan", "--full")
    assert code == 0 and json.loads(full)["base_model"] == "CHGNet r2scan"
    (tmp_path / "models").mkdir()
    code, _, err = _cli(capsys, "info", tmp_path / "models")
    assert code == 2
    _one_line_error(err, "models is a directory, not a model file")
    with pytest.raises(ModelFileError, match="is a directory"):
        FTCalculator(tmp_path / "models")


# --- labels in another unit ---------------------------------------------------------------------------


def _scaled(frames, folder, name, **factors):
    out = []
    for atoms in frames:
        new = atoms.copy()
        results = dict(atoms.calc.results)
        for key, factor in factors.items():
            results[key] = results[key] * factor
        new.calc = SinglePointCalculator(new, **results)
        out.append(new)
    write(folder / name, out)
    return folder / name


def test_units_checks_on_frames(ws2_frames, tmp_path):
    mev = _scaled(ws2_frames[:4], tmp_path, "mev.extxyz", energy=1000.0)
    mev_forces = _scaled(ws2_frames[:6], tmp_path, "mevf.extxyz", forces=1000.0)
    gpa = _scaled(ws2_frames[:6], tmp_path, "gpa.extxyz", stress=160.21766208)
    good = _scaled(ws2_frames[6:14], tmp_path, "good.extxyz")
    with pytest.raises(FrameError, match=r"no frame with plausible units.*mev.extxyz: 4 frame\(s\) set aside: "
                                         r"energy per atom up to .* likely meV"):
        validate_frames(read_frames(mev))
    with pytest.raises(FrameError, match=r"mevf.extxyz: 6 frame\(s\) set aside: forces up to .* likely meV/Å"):
        validate_frames(read_frames(mev_forces))
    with pytest.raises(FrameError, match=r"gpa.extxyz.*stress up to .* GPa \(limit 500\): likely GPa written"):
        validate_frames(read_frames(gpa))
    # Stress in GPa does not matter when stress is not used.
    assert len(validate_frames(read_frames(gpa), use_stress=False)) == 6
    with pytest.warns(UnitWarning, match=r"mev.extxyz: 4 frame\(s\) set aside"):
        kept = validate_frames(read_frames([good, mev]))
    assert [f.source for f in kept.frames] == [f"{good}:{i}" for i in range(8)]
    assert len(validate_frames(read_frames(mev), check_units=False)) == 4


def test_finetune_cli_refuses_kbar_stress_before_training(ws2_frames, tmp_path, capsys):
    kbar = _scaled(ws2_frames[:4], tmp_path, "kbar.extxyz", stress=1602.1766208)
    code, _, err = _cli(capsys, "finetune", kbar, "-o", tmp_path / "m.pt")
    assert code == 2
    _one_line_error(err, "no frame with plausible units", "kbar.extxyz", "likely kBar written as eV/Å³")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kbar.extxyz"]


def test_structure_errors_in_training_frames_name_the_frame(ws2_frames, tmp_path):
    frames = [a.copy() for a in ws2_frames[:3]]
    for i, atoms in enumerate(frames):
        atoms.calc = SinglePointCalculator(atoms, **ws2_frames[i].calc.results)
    frames[1].positions[4] = frames[1].positions[2] + [0.1, 0, 0]
    path = tmp_path / "close.extxyz"
    write(path, frames)
    with pytest.raises(FrameError, match=rf"{path}:1: atom 2 \(\w+\) and atom 4 \(\w+\) are 0.1 Å apart"):
        fine_tune([path], tmp_path / "m.pt", epochs=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["close.extxyz"]


# --- fine-tuning arguments and the output path ---------------------------------------------------------


BAD_FINETUNE_ARGS = [
    (dict(epochs=0), r"epochs must be an integer ≥ 1 \(got 0\)"),
    (dict(epochs=2.5), r"epochs must be an integer ≥ 1"),
    (dict(batch_size=0), r"batch_size must be an integer ≥ 1"),
    (dict(learning_rate=-1e-3), r"learning_rate must be a number > 0"),
    (dict(learning_rate=float("nan")), r"learning_rate must be a number > 0 \(got nan\)"),
    (dict(num_threads=0), r"num_threads must be an integer ≥ 1"),
    (dict(split=(0.5, 0.6, -0.1)), r"split must be three fractions"),
    (dict(split=(0.8, 0.1)), r"split must be three fractions"),
    (dict(stress_weight=-0.1), r"stress_weight must be a number ≥ 0"),
    (dict(energy_weight=0, force_weight=0, stress_weight=0), r"not all 0"),
    (dict(seed=-1), r"seed must be an integer ≥ 0"),
]


@pytest.mark.parametrize("kwargs, message", BAD_FINETUNE_ARGS)
def test_finetune_arguments_are_checked_first(ws2_frames, tmp_path, kwargs, message):
    t0 = time.perf_counter()
    with pytest.raises(OptionError, match=message):
        fine_tune(ws2_frames[:4], tmp_path / "m.pt", progress=False, **kwargs)
    assert time.perf_counter() - t0 < 1.0 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "--epochs must be an integer ≥ 1 (got 0)"),
    ("--batch-size", "-2", "--batch-size must be an integer ≥ 1 (got -2)"),
    ("--lr", "0", "--lr must be a number > 0 (got 0.0)"),
    ("--lr", "inf", "--lr must be a number > 0 (got inf)"),
    ("--threads", "0", "--threads must be an integer ≥ 1 (got 0)"),
])
def test_finetune_cli_options(ws2_frames, tmp_path, capsys, option, value, message):
    data = tmp_path / "f.extxyz"
    write(data, ws2_frames[:4])
    code, _, err = _cli(capsys, "finetune", data, "-o", tmp_path / "m.pt", option, value)
    assert code == 2
    _one_line_error(err, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.extxyz"]


def test_output_path_is_checked_before_any_work(ws2_frames, tmp_path, capsys):
    data = tmp_path / "f.extxyz"
    write(data, ws2_frames[:4])
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [
        (tmp_path / "adir", "adir: is a directory; give a file name inside it"),
        (tmp_path / "afile" / "sub" / "m.pt", "its folder cannot be created, ", "afile is a file"),
        ("/proc/ftcalc-model.pt", "cannot write in /proc"),
    ]
    for output, *needles in cases:
        t0 = time.perf_counter()
        with pytest.raises(OptionError, match=needles[0]):
            fine_tune([data], output, progress=False)
        assert time.perf_counter() - t0 < 1.0
        code, _, err = _cli(capsys, "finetune", data, "-o", output)
        assert code == 2
        _one_line_error(err, "--output", *needles)
    code, _, err = _cli(capsys, "finetune", data, "-o", tmp_path / "m.pt", "--report", tmp_path / "adir")
    assert code == 2
    _one_line_error(err, "--report", "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "f.extxyz"]
    assert not list((tmp_path / "adir").iterdir()) and (tmp_path / "afile").read_text() == "x"


def test_diverging_finetune_cli_is_one_line_and_writes_no_model(ws2_frames, tmp_path, capsys):
    data = tmp_path / "f.extxyz"
    write(data, ws2_frames[:8])
    code, _, err = _cli(capsys, "finetune", data, "-o", tmp_path / "nan.pt", "--lr", "1e6", "--freeze", "none",
                        "--epochs", "3")
    assert code == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("ftcalc finetune: error: fine-tuning diverged: loss is") and "no model file written" in last
    assert not (tmp_path / "nan.pt").exists()


def test_cli_fails_in_the_first_second_without_torch(tmp_path):
    (tmp_path / "adir").mkdir()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "import sys; from ase_ftcalc.cli import main; code = main(sys.argv[1:]);"
                           "print('torch' in sys.modules); sys.exit(code)", "finetune", "frames.extxyz", "-o",
                           str(tmp_path / "adir")], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout.strip() == "False"
    assert "--output" in proc.stderr and "is a directory" in proc.stderr
    assert time.perf_counter() - t0 < 10  # python + ase start-up on a loaded 2-core machine; no torch


# --- ftcalc dft options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "--frames must be an integer ≥ 1 (got 0)"),
    (["--ecut", "-400"], "--ecut must be a number > 0 (got -400.0)"),
    (["--kpt-density", "0"], "--kpt-density must be a number > 0"),
    (["--smearing", "0"], "--smearing must be a number > 0"),
    (["--protocol", "relax", "--steps", "0"], "--steps must be an integer ≥ 1"),
    (["--protocol", "md", "--temperatures", "300,-10"], "--temperatures must be one or more temperatures > 0 K"),
    (["--protocol", "md", "--temperatures", "hot"], "--temperatures must be comma-separated numbers"),
    (["--protocol", "interlayer", "--c-strain", "0.08,-0.05"], "--c-strain must be MIN,MAX with -1 < MIN < MAX"),
    (["--supercell", "2,0,1"], "--supercell must be 'ortho' or three integers ≥ 1"),
    (["--supercell", "2,x,1"], "--supercell must be 'ortho' or three integers N1,N2,N3 ≥ 1"),
    (["--seed", "-1"], "--seed must be an integer ≥ 0"),
])
def test_dft_cli_options(tmp_path, capsys, args, message):
    code, _, err = _cli(capsys, "dft", "WS2", "-o", tmp_path / "f.extxyz", *args)
    assert code == 2
    _one_line_error(err, message)
    assert not list(tmp_path.iterdir())


def test_dft_api_options(tmp_path):
    from ase_ftcalc.dft import generate
    from ase_ftcalc.dft.labelling import DFTSettings
    from ase_ftcalc.dft.sampling import Interlayer, MDSnapshots, Rattle, Relaxation

    for make, message in [
        (lambda: DFTSettings(ecut_ev=0), "ecut_ev must be a number > 0"),
        (lambda: DFTSettings(smearing_ev=float("nan")), "smearing_ev must be a number > 0"),
        (lambda: DFTSettings(d3_damping="d4"), "d3_damping must be 'd3zero', 'd3bj' or None"),
        (lambda: Rattle(max_displacement=-0.1), "max_displacement must be a number ≥ 0"),
        (lambda: Interlayer(c_strain=(0.1, 0.1)), "c_strain must be MIN,MAX"),
        (lambda: Relaxation(steps=0), "steps must be an integer ≥ 1"),
        (lambda: MDSnapshots(temperatures=()), "temperatures must be one or more"),
        (lambda: MDSnapshots(interval_fs=1.0), "interval_fs must be ≥ the MD timestep, 2 fs"),
        (lambda: generate("WS2", tmp_path / "f.extxyz", 0), "n_frames must be an integer ≥ 1"),
        (lambda: generate("WS2", tmp_path / "f.extxyz", 2, supercell=(1, 1)), "supercell must be 'ortho' or"),
        (lambda: generate("WS2", tmp_path, 2), "is a directory"),
    ]:
        with pytest.raises(OptionError, match=message):
            make()
    assert not list(tmp_path.iterdir())
