"""The README's Python examples run as written (on small bundled inputs), so they cannot rot."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch, ws2_frames):
    from ase.io import write

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    # the fine-tuning example reads the user's frames: give it ten bundled ones
    write(tmp_path / "my_dft_frames.extxyz", ws2_frames[:8])
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as err:
            raise AssertionError(f"README python block {i + 1} failed:\n{code}") from err
    assert (tmp_path / "ws2.pt").exists()


def test_readme_map_matches_the_tree():
    """Every path of the "Where things are" map exists, and every package folder is on it."""
    text = README.read_text().split("## Where things are", 1)[1]
    block = re.search(r"```text\n(.*?)```", text, flags=re.S).group(1)
    root, listed, top = README.parent, set(), None
    for line in block.splitlines():
        names = line.strip().split("  ")[0]
        for name in (n.strip() for n in names.split(",")):
            path = name if not line.startswith(" ") else f"{top}{name}"
            if not line.startswith(" "):
                top = name if name.endswith("/") else top
            assert (root / path).exists(), path
            listed.add(path.rstrip("/"))
    for package in ("ase_ftcalc", "lammps_plugin", "benchmarks"):
        for sub in (root / package).iterdir():
            if (sub / "__init__.py").exists():
                assert f"{package}/{sub.name}" in listed, f"{package}/{sub.name} is not on the map"
