import subprocess
import sys
import time

from ase.io import write


def _ftcalc(*args, **kw):
    return subprocess.run([sys.executable, "-m", "ase_ftcalc.cli", *args], capture_output=True, text=True,
                          **kw)


def test_help_is_instant_and_lists_commands():
    t0 = time.perf_counter()
    proc = _ftcalc("--help")
    assert proc.returncode == 0
    assert time.perf_counter() - t0 < 5
    for command in ("finetune", "dft", "info", "speed"):
        assert command in proc.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, ase_ftcalc.cli as c; c.build_parser();"
                            "print('torch' in sys.modules)"], capture_output=True, text=True)
    assert probe.stdout.strip() == "False"


def test_finetune_cli_writes_model_and_refuses_overwrite(ws2_frames, tmp_path):
    data = tmp_path / "frames.extxyz"
    write(data, ws2_frames[:8])
    model = tmp_path / "m.pt"
    proc = _ftcalc("finetune", str(data), "-o", str(model), "--epochs", "1", "--report",
                   str(tmp_path / "r.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert model.exists() and "test MAE" in proc.stdout and (tmp_path / "r.json").exists()
    again = _ftcalc("finetune", str(data), "-o", str(model), "--epochs", "1")
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    info = _ftcalc("info", str(model), "--full")  # the JSON of everything; plain `info` is a summary
    assert info.returncode == 0 and '"training_data_sha256"' in info.stdout


def test_finetune_cli_bad_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "broken.extxyz"
    bad.write_text("this is not\nan extxyz file\n")
    proc = _ftcalc("finetune", str(bad), "-o", str(tmp_path / "m.pt"))
    assert proc.returncode == 2
    assert "broken.extxyz" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.pt").exists()
