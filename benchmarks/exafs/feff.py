"""FEFF8L (xraylarch) for the MD-EXAFS engine: input, output, path classes, and worker processes.

All Fortran (FEFF modules and ``feff8_xafs``) runs in worker processes: a Fortran STOP ends the
calling process silently.  :func:`run_in_worker` runs any module-level function in a fresh Python;
:func:`setup_worker` does the one FEFF run of a set-up and returns everything parsed (paths, the
classes FEFF kept, its own χ and the amplitude/phase/λ tables), so the parent parses nothing again.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np


# ---------------------------------------------------------------- FEFF input and output

def feff_input(atoms, absorber: int, *, edge: str = "K", rmax: float = 6.0, nleg: int = 4,
               cluster_radius: float | None = None, scf_radius: float | None = None,
               title: str = "") -> tuple[str, dict]:
    """feff.inp text for a cluster of ``atoms`` around atom ``absorber``; returns (text, ipot per element).

    ipot 0 is the absorber; every element (the absorber's included) gets its own ipot.
    """
    from ..dynamics.rdf import pair_list

    radius = cluster_radius or rmax + 1.5
    i, j, S, d, D = pair_list(atoms, radius)
    sel = i == absorber
    vecs, js = D[sel], j[sel]
    order = np.argsort(np.linalg.norm(vecs, axis=1))
    vecs, js = vecs[order], js[order]
    symbols = atoms.get_chemical_symbols()
    numbers = atoms.numbers
    elements = sorted(set(symbols[k] for k in js) | {symbols[absorber]},
                      key=lambda s: (s != symbols[absorber], s))
    ipot = {el: n + 1 for n, el in enumerate(elements)}
    znum = {symbols[k]: int(numbers[k]) for k in list(js) + [absorber]}
    lines = [f"TITLE {title or atoms.get_chemical_formula()} absorber {absorber}", f"EDGE {edge}", "S02 1.0",
             "CONTROL 1 1 1 1 1 1", "PRINT 0 0 0 0 0 0", "EXCHANGE 0", f"RPATH {rmax:.4f}", f"NLEG {nleg}"]
    if scf_radius:
        lines.append(f"SCF {scf_radius:.3f}")
    lines += ["POTENTIALS", f"  0 {znum[symbols[absorber]]} {symbols[absorber]}"]
    lines += [f"  {ipot[el]} {znum[el]} {el}" for el in elements]
    lines.append("ATOMS")
    lines.append(f"  {0:12.6f} {0:12.6f} {0:12.6f} 0")
    for v, k in zip(vecs, js):
        lines.append(f"  {v[0]:12.6f} {v[1]:12.6f} {v[2]:12.6f} {ipot[symbols[k]]}")
    lines.append("END")
    return "\n".join(lines) + "\n", ipot


def read_paths_dat(path) -> dict:
    """FEFF paths.dat: {index: {nleg, degen, reff, positions (n,3) absorber first, ipots}}."""
    out = {}
    lines = Path(path).read_text().splitlines()
    k = 0
    head = re.compile(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+index, nleg, degeneracy, r=\s*([\d.]+)")
    while k < len(lines):
        m = head.match(lines[k])
        if not m:
            k += 1
            continue
        index, nleg, degen, reff = int(m[1]), int(m[2]), float(m[3]), float(m[4])
        rows = [lines[k + 2 + n].split() for n in range(nleg)]
        pos = np.array([[float(x) for x in r[:3]] for r in rows])
        ipots = [int(r[3]) for r in rows]
        # paths.dat lists the scatterers first and the absorber (ipot 0) last
        out[index] = {"nleg": nleg, "degen": degen, "reff": reff,
                      "positions": np.vstack([pos[-1:], pos[:-1]]), "ipots": [ipots[-1]] + ipots[:-1]}
        k += 2 + nleg
    return out


def read_chi_dat(path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """FEFF chi.dat: k, chi and the path indices it summed."""
    used, data = [], []
    row = re.compile(r"^#\s+(\d+)\s+[-\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+")
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            m = row.match(line)
            if m:
                used.append(int(m[1]))
        elif line.strip():
            data.append([float(x) for x in line.split()[:2]])
    data = np.array(data)
    return data[:, 0], data[:, 1], used


def merge_paths(paths: dict, used: list, tolerance: float = 0.05) -> list[dict]:
    """FEFF paths grouped into classes: same potentials and all pairwise distances within ``tolerance``
    (either direction).  On an MD average structure FEFF splits symmetry-equivalent paths whose lengths
    differ by thermal noise; one class per group, degeneracy summed, geometry of its first path.

    FEFF also splits exactly congruent paths into several indices (its degeneracy test looks at
    orientation too) and then filters each index on its own degeneracy-weighted amplitude, so it can
    keep 16 of 24 congruent W–W–S triangles.  A class is congruence-defined, so the dropped part of a
    kept class is added back (listed in ``filtered_paths``); classes FEFF dropped entirely stay out.
    """
    classes = []

    def match(p, c):
        n = p["nleg"]
        if c["nleg"] != n:
            return False
        pos = p["positions"]
        dm = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        rev = [0] + list(range(n - 1, 0, -1))
        return any(c["ipots"] == [p["ipots"][o] for o in order]
                   and np.abs(c["dm"] - dm[np.ix_(order, order)]).max() < tolerance
                   for order in (list(range(n)), rev))

    for u in used:
        p = paths[u]
        for c in classes:
            if match(p, c):
                c["degen"] += p["degen"]
                c["feff_paths"].append(u)
                break
        else:
            pos = p["positions"]
            classes.append({"index": u, "nleg": p["nleg"], "degen": p["degen"], "reff": p["reff"],
                            "ipots": list(p["ipots"]), "positions": pos,
                            "dm": np.linalg.norm(pos[:, None] - pos[None], axis=-1), "feff_paths": [u],
                            "filtered_paths": []})
    for u in sorted(set(paths) - set(used)):
        for c in classes:
            if match(paths[u], c):
                c["degen"] += paths[u]["degen"]
                c["filtered_paths"].append(u)
                break
    return classes


def ss_grid(reff: float, r_window: float, ss_step: float) -> np.ndarray:
    """Distances at which a single-scattering class is tabulated: ±(r_window + 2 steps) around reff."""
    n = int(np.ceil((r_window + 2 * ss_step) / ss_step))
    return reff + ss_step * np.arange(-n, n + 1)


def table_jobs(classes: list, r_window: float, ss_step: float) -> list:
    """FEFF path jobs: per single-scattering class a grid of distances around its reff, per MS class its geometry."""
    jobs = []
    for p in classes:
        if p["nleg"] == 2:
            for r in ss_grid(p["reff"], r_window, ss_step):
                jobs.append((p["ipots"], np.array([[0.0, 0, 0], [0, 0, r]])))
        else:
            jobs.append((p["ipots"], p["positions"]))
    return jobs


# ---------------------------------------------------------------- workers (Fortran in child processes)

def run_feff(folder: str) -> dict:
    """FEFF8L in ``folder`` (feff.inp there); which of its output files exist."""
    from larch.xafs import feff8l

    feff8l(folder=folder, feffinp="feff.inp", verbose=False)
    return {name: os.path.exists(os.path.join(folder, name)) for name in ("phase.pad", "paths.dat", "chi.dat")}


def setup_worker(folder: str, r_window: float, ss_step: float, tolerance: float) -> dict:
    """FEFF once, its output parsed: ``status``, ``classes`` (merged, in FEFF's order), ``static_k``/
    ``static_chi`` (FEFF's own χ) and the FEFF ``tables`` of :func:`table_jobs`."""
    status = run_feff(folder)
    if not all(status.values()):
        return {"status": status}
    paths = read_paths_dat(os.path.join(folder, "paths.dat"))
    static_k, static_chi, used = read_chi_dat(os.path.join(folder, "chi.dat"))
    classes = merge_paths(paths, used, tolerance)
    return {"status": status, "classes": classes, "static_k": static_k, "static_chi": static_chi,
            "tables": onepath_worker(folder, table_jobs(classes, r_window, ss_step))}


def onepath_worker(folder: str, jobs: list) -> list:
    """jobs: list of (ipots, positions (n,3) with the absorber first). Returns FEFF path tables."""
    from larch.xafs import feff8_xafs

    os.chdir(folder)  # feff8_xafs wants the bare file name of phase.pad
    path = feff8_xafs("phase.pad")
    out = []
    for ipots, positions in jobs:
        path.reset(phase_file="phase.pad")
        x0 = positions[0]
        path.set_absorber(x=float(x0[0]), y=float(x0[1]), z=float(x0[2]))
        for ip, x in zip(ipots[1:], positions[1:]):
            path.add_scatterer(x=float(x[0]), y=float(x[1]), z=float(x[2]), ipot=int(ip))
        path.degen = 1.0
        path.calculate_xafs()
        n = path.nepts
        out.append({"k": np.array(path.k[:n]), "amp": np.array(path.amp[:n]), "pha": np.array(path.pha[:n]),
                    "lam": np.array(path.lam[:n]), "rep": np.array(path.rep[:n]), "reff": float(path.reff)})
    return out


def run_in_worker(fn, *args):
    """Run ``fn(*args)`` (a module-level function) in a fresh Python process; pickled arguments/result.

    ``args[0]`` is the folder the work happens in (named in errors).
    """
    import pickle
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="feffworker-") as tmp:
        src, dst = Path(tmp, "in.pkl"), Path(tmp, "out.pkl")
        src.write_bytes(pickle.dumps((fn.__module__, fn.__name__, args)))
        code = ("import importlib, pickle, sys; module, name, args = pickle.load(open(sys.argv[1], 'rb'));"
                "pickle.dump(getattr(importlib.import_module(module), name)(*args), open(sys.argv[2], 'wb'))")
        # the child imports the function's package from where this process found it
        root = Path(sys.modules[fn.__module__.partition(".")[0]].__file__).resolve().parents[1]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
                   OMP_NUM_THREADS="1")
        proc = subprocess.run([sys.executable, "-c", code, str(src), str(dst)], env=env, capture_output=True,
                              text=True)
        if proc.returncode != 0 or not dst.exists():
            raise RuntimeError(f"FEFF worker {fn.__name__} in {args[0]} ended without a result (exit "
                               f"{proc.returncode}; a Fortran STOP ends the process silently):\n"
                               f"{(proc.stdout + proc.stderr)[-2000:]}")
        return pickle.loads(dst.read_bytes())


def onepath_tables(folder, jobs, chunk: int = 400) -> list:
    """FEFF amplitude/phase/λ tables of paths (ipots, positions) from folder/phase.pad, in a worker process."""
    out = []
    for start in range(0, len(jobs), chunk):
        out += run_in_worker(onepath_worker, str(folder), jobs[start:start + chunk])
    return out
