"""The import graph of the project's own modules: layers go one way and nothing imports itself round a circle.

Every import counts, also those inside functions (lazy imports keep start-up fast, not the design
acyclic): commands (benchmarks.cli) -> benchmarks -> lammps_plugin -> ase_ftcalc.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ase_ftcalc", "lammps_plugin", "benchmarks")
# a package may import those after it, never those before it
LAYERS = ("benchmarks.cli", "benchmarks", "lammps_plugin", "ase_ftcalc")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from pkg import sub` imports the submodule when there is one, else the package itself
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _layer(module: str) -> int:
    return next(i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + "."))


def test_imports_go_down_the_layers():
    modules = _modules()
    wrong = [f"{m} imports {t}" for m, path in modules.items() for t in _imports(m, path, modules)
             if _layer(t) < _layer(m)]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_circle():
    modules = _modules()
    graph = {m: _imports(m, path, modules) for m, path in modules.items()}
    # Tarjan's strongly connected components: a component of two or more modules is a circle
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, circles
