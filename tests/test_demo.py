"""The main job (`ftcalc demo --quick`) end to end on the bundled data."""
import json


def test_quick_demo_writes_report_and_fine_tuning_helps(tmp_path, capsys):
    from benchmarks.report.demo import DemoOptions, run_demo

    out = tmp_path / "report"
    results = run_demo(DemoOptions(out=str(out), quick=True))
    for name in ("index.html", "results.json", "parity.png", "learning_curve.png", "structure.png",
                 "phonons.png", "rdf.png", "msrd.png", "exafs.png", "chgnet_ft_ws2.pt"):
        assert (out / name).exists(), name
    page = (out / "index.html").read_text()
    assert "data:image/png;base64," in page and "Parity with DFT" in page
    saved = json.loads((out / "results.json").read_text())
    stats = {name: calc["stats"]["forces_ev_per_a"] for name, calc in saved["parity"]["calculators"].items()}
    assert stats["CHGNet fine-tuned"]["mae"] < stats["CHGNet 0.3.0"]["mae"]
    assert "SW/mod + ILP (LAMMPS)" in stats  # the classical potential ran through the LAMMPS bridge
    md = saved["md_exafs"]
    assert (md["absorber"], md["edge"]) == ("W", "L3")
    for name, entry in md["calculators"].items():
        assert entry["md"]["n_snapshots"] >= 3 and "error" not in entry, name
        assert len(entry["exafs"]["k"]) > 100 and any(abs(x) > 0.01 for x in entry["exafs"]["chi"]), name
        assert any(s["pair"] == "S-W" or s["pair"] == "W-S" for s in entry["rdf"]["shells"]), name
    printed = capsys.readouterr().out
    assert f"report: {(out / 'index.html').resolve()}" in printed
    assert results["summary"][1].startswith("CHGNet fine-tuned: force MAE")


def test_bench_compare_cli_writes_report(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "cmp"
    proc = subprocess.run([sys.executable, "-m", "ase_ftcalc.cli", "bench", "compare", "--calc", "vanilla=chgnet",
                           "--only", "parity,structure", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("index.html", "results.json", "parity.csv", "structure.csv", "parity.png"):
        assert (out / name).exists(), name
    saved = json.loads((out / "results.json").read_text())
    assert saved["parity"]["calculators"]["vanilla"]["stats"]["forces_ev_per_a"]["n"] > 0
    assert "phonons" not in saved
