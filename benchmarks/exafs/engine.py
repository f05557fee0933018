"""Configuration-averaged EXAFS of MD snapshots with FEFF8L (xraylarch), compared with a measured spectrum.

Engine (``MDExafs``):

1. **Once, on the average structure** (mean unwrapped positions of the
   snapshots): a FEFF8L run (rdinp, pot, xsph, pathfinder, genfmt, ff2x) on a
   cluster around one absorber — muffin-tin potentials (FEFF's automatic
   overlap, folp = 1.15, i.e. 15 %), Hedin–Lundqvist exchange, optional SCF,
   paths up to ``rmax`` (half path length) and ``nleg`` legs.  The paths FEFF
   keeps there (its pathfinder and curved-wave filters, as listed in
   ``chi.dat``) define the **path classes**; nothing is filtered per snapshot.
2. **Members**: for every absorber of the cell, every sequence of atoms of the
   average structure congruent with a class (all pairwise distances within
   ``tolerance``, same potentials, both directions) is a member; per class the
   member count per absorber equals FEFF's degeneracy (checked, reported).
3. **Per snapshot, only geometry**: for all absorbers at once the half path
   length of every member is histogrammed per class (bins of ``bin_width``).
4. **χ(k) once at the end**, since the configuration average is linear: FEFF
   amplitude/phase/mean-free-path tables from ``phase.pad`` (larch's
   ``feff8_xafs``): single-scattering terms tabulated on an R grid per scatterer
   potential and interpolated in R (curved-wave amplitude and phase); multiple
   scattering terms taken at the class geometry of the average structure, with
   the member's instantaneous half path length in 2kR, 1/R² and e^{−2R/λ}.

``exact_chi`` is the reference: FEFF (``feff8_xafs``) for every member path of
every chosen absorber and snapshot at its instantaneous geometry with the same
potentials and the same members (slow; used to validate the fast mode).

All Fortran (FEFF modules and ``feff8_xafs``) runs in worker processes: a
Fortran STOP ends the calling process silently.

χ(k) follows larch's path formula with σ² = 0 (the disorder comes from the
snapshots):  χ = Σ_paths S0² N amp(q)/(q R²) e^{−2R/λ(q)} sin(2qR + φ(q)),
q = sqrt(k² − 2m E0/ħ²).  k in Å⁻¹, R in Å, E0 in eV.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult

ETOK = 0.2624682843   # 2m/ħ² in eV⁻¹ Å⁻²: k² = ETOK · E
KSTEP = 0.05


# ---------------------------------------------------------------- workers (Fortran in child processes)

def _worker_feff(folder: str) -> dict:
    from larch.xafs import feff8l

    feff8l(folder=folder, feffinp="feff.inp", verbose=False)
    return {name: os.path.exists(os.path.join(folder, name)) for name in ("phase.pad", "paths.dat", "chi.dat")}


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


def _table_jobs(classes: list, r_window: float, ss_step: float) -> list:
    """FEFF path jobs: per single-scattering class a grid of distances around its reff, per MS class its geometry."""
    jobs = []
    for p in classes:
        if p["nleg"] == 2:
            n = int(np.ceil((r_window + 2 * ss_step) / ss_step))
            for r in p["reff"] + ss_step * np.arange(-n, n + 1):
                jobs.append((p["ipots"], np.array([[0.0, 0, 0], [0, 0, r]])))
        else:
            jobs.append((p["ipots"], p["positions"]))
    return jobs


def _worker_setup(folder: str, r_window: float, ss_step: float, tolerance: float) -> dict:
    status = _worker_feff(folder)
    if not all(status.values()):
        return {"status": status}
    paths = read_paths_dat(os.path.join(folder, "paths.dat"))
    used = read_chi_dat(os.path.join(folder, "chi.dat"))[2]
    classes = merge_paths(paths, used, tolerance)
    return {"status": status, "tables": _worker_onepath(folder, _table_jobs(classes, r_window, ss_step))}


def _worker_onepath(folder: str, jobs: list) -> list:
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


def _run_worker(fn, *args):
    """Run ``fn(*args)`` (a module-level function) in a fresh Python process; pickled arguments/result."""
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
        out += _run_worker(_worker_onepath, str(folder), jobs[start:start + chunk])
    return out


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


# ---------------------------------------------------------------- path classes and members

@dataclass
class PathClass:
    index: int                   # FEFF path index on the average structure
    nleg: int
    degen: float                 # FEFF's degeneracy
    reff: float
    ipots: list                  # absorber first
    positions: np.ndarray        # class geometry (absorber at origin), Å
    feff_paths: list = field(default_factory=list)  # FEFF path indices merged into this class
    filtered_paths: list = field(default_factory=list)  # congruent FEFF paths its filter dropped (added back)
    members: np.ndarray | None = None   # (M, nleg) atom indices, absorber first
    shifts: np.ndarray | None = None    # (M, nleg, 3) integer image shifts
    table: object = None                # FEFF tables: (R grid, {amp, pha, lam}) for SS, {amp, pha, lam} for MS

    @property
    def dmatrix(self):
        p = self.positions
        return np.linalg.norm(p[:, None] - p[None], axis=-1)


def _csr(avg, cutoff):
    from ..dynamics.rdf import pair_list

    i, j, S, d, D = pair_list(avg, cutoff)
    order = np.lexsort((j, i))
    i, j, S, d, D = i[order], j[order], S[order], d[order], D[order]
    start = np.searchsorted(i, np.arange(len(avg) + 1))
    return start, j, S, d, D


def find_members(avg, absorbers, cls: PathClass, ipot_of_atom: np.ndarray, csr, tolerance: float = 0.05):
    """All atom sequences of ``avg`` starting at each absorber congruent with ``cls`` (both directions).

    ``ipot_of_atom``: FEFF potential of each atom's element (absorbing atoms included); a scatterer with
    ipot 0 in the class is the starting absorber itself (same image).
    """
    start, nj, nS, nd, nD = csr
    found = []
    for order in (list(range(cls.nleg)), [0] + list(range(cls.nleg - 1, 0, -1))):
        dm = cls.dmatrix[np.ix_(order, order)]
        ip = [cls.ipots[o] for o in order]
        idx = np.asarray(absorbers)[:, None]
        sh = np.zeros((len(idx), 1, 3), dtype=int)
        pos = np.zeros((len(idx), 1, 3))
        for k in range(1, cls.nleg):
            last = idx[:, -1]
            cnt = start[last + 1] - start[last]
            rep = np.repeat(np.arange(len(idx)), cnt)
            if len(rep) == 0:
                idx = idx[:0]
                break
            offsets = np.repeat(np.cumsum(cnt) - cnt, cnt)
            edge = np.repeat(start[last], cnt) + np.arange(len(rep)) - offsets
            is_self = (nj[edge] == idx[rep, 0]) & np.all(sh[rep, -1] + nS[edge] == 0, axis=1)
            ok_ip = is_self if ip[k] == 0 else (ipot_of_atom[nj[edge]] == ip[k]) & ~is_self
            ok = (np.abs(nd[edge] - dm[k - 1, k]) < tolerance) & ok_ip
            rep, edge = rep[ok], edge[ok]
            new_pos = pos[rep, -1] + nD[edge]
            for m in range(k - 1):
                ok = np.abs(np.linalg.norm(new_pos - pos[rep, m], axis=1) - dm[m, k]) < tolerance
                rep, edge, new_pos = rep[ok], edge[ok], new_pos[ok]
            idx = np.hstack([idx[rep], nj[edge][:, None]])
            sh = np.concatenate([sh[rep], (sh[rep, -1] + nS[edge])[:, None]], axis=1)
            pos = np.concatenate([pos[rep], new_pos[:, None]], axis=1)
        if len(idx):
            # closing leg back to the absorber
            ok = np.abs(np.linalg.norm(pos[:, -1], axis=1) - dm[cls.nleg - 1, 0]) < tolerance
            found.append((idx[ok], sh[ok]))
    idx = np.concatenate([f[0] for f in found]) if found else np.zeros((0, cls.nleg), int)
    sh = np.concatenate([f[1] for f in found]) if found else np.zeros((0, cls.nleg, 3), int)
    if len(idx):
        key = np.hstack([idx, sh.reshape(len(sh), -1)])
        _, keep = np.unique(key, axis=0, return_index=True)
        keep.sort()
        idx, sh = idx[keep], sh[keep]
    return idx, sh


# ---------------------------------------------------------------- result

@dataclass
class ExafsResult(JSONResult):
    label: str
    absorber: str
    edge: str
    n_snapshots: int
    n_absorbers: int
    rmax: float
    nleg: int
    k: list                               # Å⁻¹, step 0.05
    chi: list                             # configuration-averaged χ(k), S0² = 1, E0 shift 0
    classes: list                         # per class: index, nleg, reff, degen, members per absorber
    timings_s: dict
    feff_static_k: list = field(default_factory=list)    # FEFF's own chi.dat on the average structure
    feff_static_chi: list = field(default_factory=list)
    exact: dict = field(default_factory=dict)            # exact-mode χ and its rms deviation from the fast mode
    comparison: dict = field(default_factory=dict)       # vs experiment
    settings: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.label or self.absorber} {self.edge}-edge MD-EXAFS: {self.n_snapshots} snapshots × "
                 f"{self.n_absorbers} absorbers, {len(self.classes)} path classes (≤ {self.rmax} Å, ≤ {self.nleg} legs); "
                 + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings_s.items())]
        if "ms_correction_noise_percent" in self.settings:
            lines.append(f"  MS amplitudes averaged over {self.settings['ms_samples_per_class']} sampled geometries per "
                         f"class (statistical error ≈ {self.settings['ms_correction_noise_percent']:.2f} % rms of k²χ)")
        if self.exact:
            corr = " (MS amplitudes sampled)" if self.exact.get("ms_corrected") else ""
            lines.append(f"  fast{corr} vs exact FEFF ({self.exact['n_snapshots']} snapshots × "
                         f"{self.exact['n_absorbers']} absorbers): rms(k²χ) {self.exact['rms_percent']:.2f} % over "
                         f"k={self.exact['k_range']}")
        c = self.comparison
        if c:
            lines.append(f"  vs {c['experiment']}: E0 shift {c['e0']:+.2f} eV, S0² {c['s02']:.3f}, "
                         f"MSE(k²χ) {c['mse_k2chi']:.4g}, MSE(envelope) {c['mse_envelope']:.4g} "
                         f"(relative {c['relative_mse_k2chi']:.3f} / {c['relative_mse_envelope']:.3f}) over k={c['k_range']}")
        return "\n".join(lines)


# ---------------------------------------------------------------- engine

class MDExafs:
    """Setup once on the average structure, accumulate geometry per snapshot, evaluate χ(k) at the end."""

    def __init__(self, avg, *, absorber: str, edge: str = "K", rmax: float = 6.0, nleg: int = 4,
                 scf_radius: float | None = None, cluster_radius: float | None = None, folder=None,
                 tolerance: float = 0.05, bin_width: float = 0.002, r_window: float = 0.6,
                 ss_grid_step: float = 0.05, feff_absorber: int | None = None, progress: bool = False):
        t0 = time.perf_counter()
        self.avg = avg
        self.absorber_symbol = absorber
        self.edge, self.rmax, self.nleg = edge, float(rmax), int(nleg)
        self.tolerance, self.bin_width, self.r_window = tolerance, bin_width, r_window
        self.warnings, self.notes = [], []
        symbols = np.array(avg.get_chemical_symbols())
        self.absorbers = np.flatnonzero(symbols == absorber)
        if len(self.absorbers) == 0:
            raise ValueError(f"no {absorber} atom in {avg.get_chemical_formula()}")
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="mdexafs-"))
        if " " in str(self.folder.resolve()):
            raise ValueError(f"FEFF folder {self.folder} must not contain spaces")
        self.folder.mkdir(parents=True, exist_ok=True)
        a0 = int(self.absorbers[0] if feff_absorber is None else feff_absorber)
        text, ipot = feff_input(avg, a0, edge=edge, rmax=rmax, nleg=nleg, scf_radius=scf_radius,
                                cluster_radius=cluster_radius)
        (self.folder / "feff.inp").write_text(text)
        setup = _run_worker(_worker_setup, str(self.folder), float(r_window), float(ss_grid_step), float(tolerance))
        status = setup["status"]
        if not all(status.values()):
            log = "".join(p.read_text()[-800:] for p in self.folder.glob("feffrun_*.log"))
            raise RuntimeError(f"FEFF8L failed in {self.folder}: missing {[k for k, v in status.items() if not v]}\n{log}")
        self.ipot = ipot
        paths = read_paths_dat(self.folder / "paths.dat")
        self.static_k, self.static_chi, used = read_chi_dat(self.folder / "chi.dat")
        self.timings = {"feff_setup": time.perf_counter() - t0}

        t1 = time.perf_counter()
        merged = merge_paths(paths, used, tolerance)
        longest_leg = max(np.linalg.norm(np.diff(np.vstack([p["positions"], p["positions"][:1]]), axis=0), axis=1).max()
                          for p in merged)
        csr = _csr(avg, longest_leg + tolerance)
        csr_wide = _csr(avg, longest_leg + 3 * tolerance)
        self.classes = []
        ipot_element = np.array([ipot[sym] for sym in symbols])
        for p in merged:
            u = p["index"]
            cls = PathClass(index=u, nleg=p["nleg"], degen=p["degen"], reff=p["reff"], ipots=p["ipots"],
                            positions=p["positions"], feff_paths=p["feff_paths"],
                            filtered_paths=p["filtered_paths"])
            cls.members, cls.shifts = find_members(avg, self.absorbers, cls, ipot_element, csr, tolerance)
            per_abs = len(cls.members) / len(self.absorbers)
            # a short trajectory leaves noise in the average structure: widen the match, up to 3x, until every
            # absorber has FEFF's degeneracy (stop earlier if a wider match already finds too many)
            for wider in (1.5 * tolerance, 2 * tolerance, 3 * tolerance):
                if per_abs >= cls.degen - 1e-6:
                    break
                members, shifts = find_members(avg, self.absorbers, cls, ipot_element, csr_wide, wider)
                if len(members) / len(self.absorbers) > cls.degen + 1e-6:
                    break
                cls.members, cls.shifts, per_abs = members, shifts, len(members) / len(self.absorbers)
                self.notes.append(f"path {u}: members matched within {wider:.3f} Å (average structure noisy)")
            if per_abs < cls.degen - 1e-6:
                self.warnings.append(f"path {u} (nleg {cls.nleg}, reff {cls.reff:.3f}): {per_abs:.2f} members per "
                                     f"absorber on the average structure vs FEFF degeneracy {cls.degen:g}: the average "
                                     f"structure is noisier than tolerance {tolerance} Å")
            elif per_abs > cls.degen + 1e-6:
                self.notes.append(f"path {u} (nleg {cls.nleg}, reff {cls.reff:.3f}): all {per_abs:g} congruent members "
                                  f"per absorber used; FEFF's pathfinder kept {cls.degen:g} of them (it splits "
                                  "congruent paths and filters each part on its own)")
            self.classes.append(cls)
        self.timings["members"] = time.perf_counter() - t1

        # FEFF tables (computed in the setup worker): SS on an R grid around each class, MS at the class geometry
        t2 = time.perf_counter()
        tables = setup["tables"]
        self.kgrid = KSTEP * np.arange(int(round(min(t["k"][-1] for t in tables) / KSTEP)) + 1)
        self._tab = {}
        pos = 0
        for n, c in enumerate(self.classes):
            if c.nleg == 2:
                m = int(np.ceil((r_window + 2 * ss_grid_step) / ss_grid_step))
                grid = c.reff + ss_grid_step * np.arange(-m, m + 1)
                rows = [self._on_grid(t) for t in tables[pos:pos + len(grid)]]
                stack = {q: np.array([r[q] for r in rows]) for q in ("amp", "pha", "lam")}
                stack["pha"] = np.unwrap(stack["pha"], axis=0)
                self._tab[n] = (grid, stack)
                pos += len(grid)
            else:
                self._tab[n] = self._on_grid(tables[pos])
                pos += 1
            c.table = self._tab[n]
        self.timings["feff_tables"] = time.perf_counter() - t2
        self.ms_factor = {}     # per MS class (FEFF index): mean complex amplitude × e^{−iφ_class}, see sample_ms_correction
        self.ms_factor_se = {}  # its standard error
        self.ms_noise = None    # resulting standard error of χ(k), set by chi()
        self.reset()

    def _on_grid(self, t):
        return {q: np.interp(self.kgrid, t["k"], t[q]) for q in ("amp", "pha", "lam")}

    # ---- geometry accumulation
    def reset(self):
        """Empty histograms; index the distinct legs (atom pair + image shift) of all members once, so a
        snapshot costs one distance per distinct leg and a gather-sum per member."""
        # a path that runs back and forth over one bond (A→B→A→B) has R = 2 d: windows grow with the legs
        window = self.r_window * np.array([max(1.0, c.nleg / 2) for c in self.classes] or [1.0])
        nb = int(round(2 * window.max() / self.bin_width))
        self.hist = np.zeros((len(self.classes), nb))
        self.hist_r = np.zeros((len(self.classes), nb))   # Σ R per bin: χ is evaluated at each bin's mean R
        self.n_frames = 0
        self.out_of_range = 0
        self._r0 = np.array([c.reff for c in self.classes]) - window[:len(self.classes)]
        keys, groups = [], {}
        for n, c in enumerate(self.classes):
            g = groups.setdefault(c.nleg, {"cls": [], "legs": []})
            a, b = c.members, np.roll(c.members, -1, axis=1)
            shift = np.roll(c.shifts, -1, axis=1) - c.shifts
            # a leg and its reverse are the same distance: orient each so that (a, b, shift) is canonical
            negative = (shift[..., 0] < 0) | ((shift[..., 0] == 0) & (
                (shift[..., 1] < 0) | ((shift[..., 1] == 0) & (shift[..., 2] < 0))))
            flip = (a > b) | ((a == b) & negative)
            a, b, shift = np.where(flip, b, a), np.where(flip, a, b), np.where(flip[..., None], -shift, shift)
            keys.append(np.concatenate([a[..., None], b[..., None], shift], axis=-1).reshape(-1, 5))
            g["legs"].append(len(keys) - 1)
            g["cls"].append(np.full(len(c.members), n))
            g.setdefault("shape", []).append(c.members.shape)
        if keys:
            uniq, inverse = np.unique(np.concatenate(keys), axis=0, return_inverse=True)
        else:
            uniq, inverse = np.zeros((0, 5), int), np.zeros(0, int)
        inverse = inverse.reshape(-1)
        self._legs = {"a": uniq[:, 0], "b": uniq[:, 1], "shift": uniq[:, 2:].astype(float)}
        start = np.cumsum([0] + [len(k) for k in keys])
        self._groups = {}
        for nleg, g in groups.items():
            ids = np.concatenate([inverse[start[i]:start[i + 1]].reshape(shape)
                                  for i, shape in zip(g["legs"], g["shape"])])
            cls = np.concatenate(g["cls"])
            # SS: both legs are the same distance, half path length = that distance
            self._groups[nleg] = {"legs": ids[:, 0] if nleg == 2 else ids.astype(np.int32),
                                  "offset": cls * nb, "r0": self._r0[cls]}

    def accumulate(self, positions: np.ndarray, cell: np.ndarray) -> None:
        """Add one snapshot (unwrapped positions, cell)."""
        nb = self.hist.shape[1]
        L = self._legs
        d = np.linalg.norm(positions[L["b"]] - positions[L["a"]] + L["shift"] @ cell, axis=1)
        for nleg, g in self._groups.items():
            half = d[g["legs"]] if nleg == 2 else 0.5 * d[g["legs"]].sum(axis=1)
            b = ((half - g["r0"]) * (1.0 / self.bin_width)).astype(np.int64)   # r0 ≤ half: truncation = floor
            bad = (half < g["r0"]) | (b >= nb)
            if bad.any():
                self.out_of_range += int(bad.sum())
                b = np.clip(np.floor((half - g["r0"]) / self.bin_width), 0, nb - 1).astype(np.int64)
            flat = g["offset"] + b
            self.hist += np.bincount(flat, minlength=self.hist.size).reshape(self.hist.shape)
            self.hist_r += np.bincount(flat, weights=half, minlength=self.hist.size).reshape(self.hist.shape)
        self.n_frames += 1

    def accumulate_frames(self, frames, positions=None, progress: bool = False):
        positions = _unwrapped(frames, positions)
        it = range(len(frames))
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="EXAFS geometry", unit="snap")
        t0 = time.perf_counter()
        for t in it:
            self.accumulate(positions[t], frames[t].cell.array)
        self.timings["geometry"] = self.timings.get("geometry", 0.0) + time.perf_counter() - t0

    # ---- χ(k)
    def chi(self, k=None, *, s02: float = 1.0, classes=None) -> tuple[np.ndarray, np.ndarray]:
        """Configuration-averaged χ(k) (E0 shift 0; shift later with ``shift_e0``)."""
        t0 = time.perf_counter()
        kk = self.kgrid
        q = np.maximum(kk, KSTEP / 2)
        total = np.zeros_like(kk)
        norm = self.n_frames * len(self.absorbers)
        if norm == 0:
            raise ValueError("no snapshots accumulated")
        noise2 = np.zeros_like(kk)
        for n, c in enumerate(self.classes):
            if classes is not None and n not in classes:
                continue
            w = self.hist[n] / norm
            nz = np.flatnonzero(w)
            if not len(nz):
                continue
            # each bin: χ at its centre plus the first-order term in Σ(R − R_centre), so the result is
            # linear in the accumulated histograms (exact averaging) and exact to O((k·bin)²)
            R = self._r0[n] + (nz + 0.5) * self.bin_width
            dR = (self.hist_r[n, nz] - self.hist[n, nz] * R) / norm
            if c.nleg == 2:
                grid, stack = c.table
                f = (R - grid[0]) / (grid[1] - grid[0])
                i0 = np.clip(np.floor(f).astype(int), 0, len(grid) - 2)
                f = (f - i0)[:, None]
                amp = (1 - f) * stack["amp"][i0] + f * stack["amp"][i0 + 1]
                pha = (1 - f) * stack["pha"][i0] + f * stack["pha"][i0 + 1]
                lam = (1 - f) * stack["lam"][i0] + f * stack["lam"][i0 + 1]
            else:
                t = c.table
                if c.index in self.ms_factor:   # mean complex amplitude over sampled instantaneous geometries
                    z = self.ms_factor[c.index]
                    amp, pha = np.abs(z)[None], (t["pha"] + np.angle(z))[None]
                else:
                    amp, pha = t["amp"][None], t["pha"][None]
                lam = t["lam"][None]
            Rc = R[:, None]
            base = amp * np.exp(-2 * Rc / lam) / (q * Rc ** 2)
            arg = 2 * q * Rc + pha
            sin, cos = np.sin(arg), np.cos(arg)
            deriv = base * (2 * q * cos - (2 / Rc + 2 / lam) * sin)
            total += (w[nz, None] * base * sin + dR[:, None] * deriv).sum(axis=0)
            if c.index in self.ms_factor_se:
                # the sampled amplitude's error, damped like the class term; half its variance (the part in
                # phase with the sine) reaches χ
                damped = np.abs((w[nz, None] * base / np.maximum(amp, 1e-30) * np.exp(2j * q * Rc)).sum(axis=0))
                noise2 += 0.5 * (self.ms_factor_se[c.index] * damped) ** 2
        total[0] = 2 * total[1] - total[2]
        self.ms_noise = s02 * np.sqrt(noise2) if self.ms_factor_se else None
        self.timings["chi"] = time.perf_counter() - t0
        out = s02 * total
        if k is not None:
            return np.asarray(k), np.interp(k, kk, out)
        return kk.copy(), out

    # ---- multiple scattering: correction for angular disorder
    def sample_ms_correction(self, frames, positions=None, samples_per_class: int = 16, seed: int = 0) -> None:
        """Correct the MS classes for what the fast mode ignores: their FEFF amplitude and phase depend on
        the angles of the instantaneous geometry, not only on its length (focusing paths near 180° lose
        amplitude under disorder).  For ``samples_per_class`` members drawn at random snapshots FEFF runs
        at the instantaneous geometry; the mean complex amplitude amp e^{iφ} over them replaces
        the class geometry's in ``chi``, whose length dependence (2kR, 1/R², e^{−2R/λ}) stays with the
        histograms.  The amplitude is smooth in k, so a few samples suffice (a per-member
        difference of χ itself oscillates with R and needs far more).  Costs samples × MS classes FEFF
        paths, independent of the snapshot count."""
        positions = _unwrapped(frames, positions)
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        jobs, owner = [], []
        for c in self.classes:
            if c.nleg == 2 or not len(c.members):
                continue
            for m, t in zip(rng.integers(len(c.members), size=samples_per_class),
                            rng.integers(len(frames), size=samples_per_class)):
                x = positions[t][c.members[m]] + c.shifts[m] @ frames[t].cell.array
                jobs.append((c.ipots, x - x[0]))
                owner.append(c)
        tables = onepath_tables(self.folder, jobs) if jobs else []
        samples = {}
        for tab, c in zip(tables, owner):
            t = self._on_grid(tab)
            samples.setdefault(c.index, []).append(t["amp"] * np.exp(1j * (t["pha"] - c.table["pha"])))
        # e^{iφ_class} is factored out only to keep the phase on the class table's branch
        self.ms_factor, self.ms_factor_se = {}, {}
        for c in self.classes:
            z = np.array(samples.get(c.index, []))
            if len(z):
                self.ms_factor[c.index] = z.mean(axis=0)
                self.ms_factor_se[c.index] = (np.abs(z.std(axis=0, ddof=1)) / np.sqrt(len(z)) if len(z) > 1
                                              else np.zeros(len(self.kgrid)))
        self.timings["ms_correction"] = time.perf_counter() - t0

    def _path_chi(self, table: dict, R: float) -> np.ndarray:
        q = np.maximum(self.kgrid, KSTEP / 2)
        return table["amp"] * np.exp(-2 * R / table["lam"]) * np.sin(2 * q * R + table["pha"]) / (q * R ** 2)

    # ---- exact reference
    def exact_chi(self, frames, positions=None, *, absorbers=None, snapshots=None, pairs=None,
                  classes=None) -> tuple[np.ndarray, np.ndarray]:
        """FEFF per member path at its instantaneous geometry (same potentials, same members, no
        per-snapshot filter), averaged over ``pairs`` [(snapshot, absorber), ...] or over the product of
        ``snapshots`` (default all) and ``absorbers`` (cell indices; default the first).  ``classes``:
        indices of the classes to include (default all)."""
        positions = _unwrapped(frames, positions)
        if pairs is None:
            absorbers = self.absorbers[:1] if absorbers is None else np.asarray(absorbers)
            snapshots = range(len(frames)) if snapshots is None else snapshots
            pairs = [(t, a) for t in snapshots for a in absorbers]
        chosen = range(len(self.classes)) if classes is None else classes
        jobs = []
        for t, a in pairs:
            cell = frames[t].cell.array
            for n in chosen:
                c = self.classes[n]
                sel = c.members[:, 0] == a
                x = positions[t][c.members[sel]] + c.shifts[sel] @ cell
                for geom in x:
                    jobs.append((c.ipots, geom - geom[0]))
        tables = onepath_tables(self.folder, jobs) if jobs else []
        kk = self.kgrid
        total = np.zeros_like(kk)
        for (ipots, geom), tab in zip(jobs, tables):
            R = 0.5 * np.linalg.norm(np.roll(geom, -1, axis=0) - geom, axis=1).sum()
            total += self._path_chi(self._on_grid(tab), R)
        total /= len(pairs)
        total[0] = 2 * total[1] - total[2]
        return kk.copy(), total

    def fast_chi_pairs(self, frames, positions, pairs, classes=None) -> np.ndarray:
        """The fast mode restricted to (snapshot, absorber) pairs and class indices (for comparisons)."""
        positions = _unwrapped(frames, positions)
        saved = (self.classes, self.absorbers, self.hist, self.hist_r, self.n_frames, self.out_of_range,
                 self._groups, self._r0, self._legs)
        chosen = range(len(self.classes)) if classes is None else classes
        total = np.zeros_like(self.kgrid)
        try:
            for t, a in pairs:
                self.classes = [_restrict(saved[0][n], [a]) for n in chosen]
                self.absorbers = np.array([a])
                self.reset()
                self.accumulate(positions[t], frames[t].cell.array)
                total += self.chi()[1]
        finally:
            (self.classes, self.absorbers, self.hist, self.hist_r, self.n_frames, self.out_of_range,
             self._groups, self._r0, self._legs) = saved
        return total / len(pairs)


# ---------------------------------------------------------------- Fourier transform and metrics

def taper_window(k, kmin: float = 3.0, kmax: float = 16.0, fraction: float = 0.1) -> np.ndarray:
    """1 on [kmin + w, kmax − w], Gaussian tapers of standard deviation w/3 over the w = fraction·(kmax − kmin)
    at both ends (down to e^{−4.5} ≈ 0.011 at kmin and kmax), 0 outside [kmin, kmax]."""
    k = np.asarray(k, dtype=float)
    w = fraction * (kmax - kmin)
    out = np.ones_like(k)
    lo, hi = kmin + w, kmax - w
    s = w / 3.0
    out = np.where(k < lo, np.exp(-0.5 * ((k - lo) / s) ** 2), out)
    out = np.where(k > hi, np.exp(-0.5 * ((k - hi) / s) ** 2), out)
    out[(k < kmin) | (k > kmax)] = 0.0
    return out


def fourier_transform(k, chi, *, kweight: int = 2, kmin: float = 3.0, kmax: float = 16.0, fraction: float = 0.1,
                      rmax: float = 10.0, nfft: int = 2048) -> dict:
    """χ(R) = (δk/√π) Σ w(k) k^w χ(k) e^{2ikR} (larch's normalisation) on a uniform k grid from 0."""
    kk = KSTEP * np.arange(int(round(max(k) / KSTEP)) + 1)
    y = np.interp(kk, k, chi, left=0.0, right=0.0) * kk ** kweight * taper_window(kk, kmin, kmax, fraction)
    buf = np.zeros(nfft, dtype=complex)
    buf[:len(y)] = y
    out = KSTEP / np.sqrt(np.pi) * np.fft.fft(buf)[: nfft // 2]
    r = np.pi / (KSTEP * nfft) * np.arange(nfft // 2)
    m = r <= rmax
    # e^{+2ikR} convention: conjugate numpy's e^{−2πi…}
    out = np.conj(out[m])
    return {"r": r[m], "mag": np.abs(out), "re": out.real, "im": out.imag}


def envelope(k, y) -> np.ndarray:
    from scipy.signal import hilbert

    return np.abs(hilbert(y))


def shift_e0(k, chi, e0: float):
    """χ evaluated with an E0 shift: χ_e0(k) = χ(q), q = sqrt(k² − ETOK·E0) (0 where k² < ETOK·E0)."""
    q2 = np.asarray(k) ** 2 - ETOK * e0
    q = np.sqrt(np.clip(q2, 0, None))
    return np.where(q2 > 0, np.interp(q, k, chi), 0.0)


def compare(k, chi, k_exp, chi_exp, *, kmin: float = 3.0, kmax: float = 16.0, kweight: int = 2,
            e0="fit", s02="fit", e0_range=(-10.0, 10.0), label: str = "experiment") -> dict:
    """MSE of k^w χ and of its envelope (Hilbert transform) over [kmin, kmax]; E0 shift and S0² optional fits."""
    kk = KSTEP * np.arange(int(round(min(max(k), max(k_exp)) / KSTEP)) + 1)
    model0 = np.interp(kk, k, chi)
    exp = np.interp(kk, k_exp, chi_exp, left=0.0) * kk ** kweight
    m = (kk >= kmin) & (kk <= kmax)
    env_exp = envelope(kk, exp * (kk >= 1.0))

    def evaluate(e):
        mod = shift_e0(kk, model0, e) * kk ** kweight
        if s02 == "fit":
            s = float(np.dot(mod[m], exp[m]) / max(np.dot(mod[m], mod[m]), 1e-30))
        else:
            s = float(s02)
        return float(np.mean((s * mod[m] - exp[m]) ** 2)), s, mod

    if e0 == "fit":
        grid = np.arange(e0_range[0], e0_range[1] + 1e-9, 0.1)
        errs = [evaluate(e)[0] for e in grid]
        e_best = float(grid[int(np.argmin(errs))])
    else:
        e_best = float(e0)
    mse, s, mod = evaluate(e_best)
    mod = s * mod
    env_mod = envelope(kk, mod * (kk >= 1.0))
    mse_env = float(np.mean((env_mod[m] - env_exp[m]) ** 2))
    ref = float(np.mean(exp[m] ** 2))
    ref_env = float(np.mean(env_exp[m] ** 2))
    return {"experiment": label, "k_range": [kmin, kmax], "kweight": kweight, "e0": e_best, "s02": s,
            "mse_k2chi": mse, "mse_envelope": mse_env, "relative_mse_k2chi": mse / ref,
            "relative_mse_envelope": mse_env / ref_env, "k": kk, "model_kwchi": mod, "experiment_kwchi": exp,
            "model_envelope": env_mod, "experiment_envelope": env_exp}


# ---------------------------------------------------------------- experiment

def read_experiment(path, *, group: str | None = None, e0: float | None = None, rbkg: float = 1.0,
                    kweight: int = 2) -> dict:
    """Measured χ(k) from XDI, plain columns (E, μ) or (k, χ), larch .chi, or an Athena .prj.

    μ(E) goes through larch's ``pre_edge`` and ``autobk`` (``rbkg``, ``kweight``, ``e0`` if given).
    Returns {"k", "chi", "source", "e0"}.
    """
    from larch import Group
    from larch.xafs import autobk, pre_edge

    path = Path(path)
    text_suffix = path.suffix.lower()
    energy = mu = None
    if text_suffix == ".prj":
        from larch.io import read_athena

        prj = read_athena(str(path), do_preedge=False, do_bkg=False)
        names = [n for n in dir(prj) if not n.startswith("_")]
        name = group or names[0]
        g = getattr(prj, name)
        energy, mu = np.asarray(g.energy), np.asarray(g.mu)
    elif text_suffix == ".xdi":
        from larch.io import read_xdi

        g = read_xdi(str(path))
        energy = np.asarray(g.energy)
        labels = {lab.lower(): lab for lab in g.array_labels}
        if "mutrans" in labels:
            mu = np.asarray(getattr(g, labels["mutrans"]))
        elif "mu" in labels:
            mu = np.asarray(getattr(g, labels["mu"]))
        elif "itrans" in labels and "i0" in labels:
            mu = np.log(np.asarray(g.i0) / np.asarray(getattr(g, labels["itrans"])))
        elif "mufluor" in labels:
            mu = np.asarray(getattr(g, labels["mufluor"]))
        else:
            raise ValueError(f"{path}: no mu/mutrans/itrans+i0/mufluor column in {g.array_labels}")
    else:
        from larch.io import read_ascii

        g = read_ascii(str(path))
        labels = [lab.lower() for lab in g.array_labels]
        data = np.asarray(g.data)
        x = data[0]
        if (labels and labels[0] == "k") or x.max() < 40:
            return {"k": x, "chi": data[1], "source": str(path), "e0": None}
        energy, mu = x, data[1]
    grp = Group(energy=energy, mu=mu)
    kws = {"e0": e0} if e0 else {}
    pre_edge(grp, **kws)
    autobk(grp, rbkg=rbkg, kweight=kweight, **kws)
    return {"k": np.asarray(grp.k), "chi": np.asarray(grp.chi), "source": str(path), "e0": float(grp.e0)}


# ---------------------------------------------------------------- main entry

def md_exafs(frames, *, absorber: str | None = None, edge: str = "K", rmax: float = 6.0, nleg: int = 4,
             scf_radius: float | None = None, experiment=None, kmin: float = 3.0, kmax: float = 16.0,
             e0="fit", s02="fit", exact_snapshots: int = 0, exact_absorbers: int = 1, ms_samples: int = 32,
             seed: int = 0, folder=None,
             tolerance: float = 0.05, bin_width: float = 0.002, label: str = "", progress: bool = False,
             reference=None, engine: "MDExafs | None" = None, engine_kwargs: dict | None = None) -> ExafsResult:
    """Configuration-averaged EXAFS of ``frames`` (ASE Atoms, same atoms; e.g. read_snapshots(traj)).

    ``experiment``: a file for ``read_experiment`` or a dict with "k", "chi".  ``exact_snapshots``/
    ``exact_absorbers`` > 0 also run the slow exact mode on the first snapshots/absorbers and report
    the rms deviation of k²χ (fast mode restricted to the same absorbers and snapshots).
    ``ms_samples`` > 0: per multiple-scattering class, that many members at random snapshots (``seed``)
    correct the fast mode for angular disorder (``MDExafs.sample_ms_correction``; 0 switches it off).
    ``reference``: the structure for the FEFF potentials and path classes instead of the average structure
    (same atoms; e.g. the ideal lattice the MD started from): a short trajectory leaves thermal noise in
    the average that splits FEFF's shells into spurious classes.
    ``engine``: reuse the FEFF setup (potentials, classes, members) of an ``MDExafs`` built for the same
    atoms, e.g. to compare trajectories of several calculators with identical potentials.
    """
    from ..dynamics.rdf import mean_structure

    frames = list(frames)
    positions = _unwrapped(frames)
    numbers = frames[0].numbers
    if engine is None:
        if absorber is None:
            raise ValueError("give the absorbing element (absorber='W') or an engine")
        if reference is not None:
            positions = align_to(positions, numbers, reference)
            avg = reference.copy()
        else:
            avg, _ = mean_structure(frames, positions)
        engine = MDExafs(avg, absorber=absorber, edge=edge, rmax=rmax, nleg=nleg, scf_radius=scf_radius,
                         folder=folder, tolerance=tolerance, bin_width=bin_width, **(engine_kwargs or {}))
    else:
        positions = align_to(positions, numbers, engine.avg)
        engine.reset()
        absorber, edge, rmax, nleg = engine.absorber_symbol, engine.edge, engine.rmax, engine.nleg
    engine.accumulate_frames(frames, positions, progress=progress)
    engine.ms_factor, engine.ms_factor_se = {}, {}
    if ms_samples:
        engine.sample_ms_correction(frames, positions, samples_per_class=ms_samples, seed=seed)
    k, chi = engine.chi()
    if engine.out_of_range:
        engine.warnings.append(f"{engine.out_of_range} half path lengths outside ±{engine.r_window} Å × legs/2 of their class "
                               "(clipped into the edge bins): the snapshots are far from the average structure")
    classes = [{"index": c.index, "feff_paths": c.feff_paths, "nleg": c.nleg, "reff": c.reff, "degen": c.degen,
                "members_per_absorber": len(c.members) / len(engine.absorbers), "ipots": c.ipots,
                "filtered_paths": c.filtered_paths} for c in engine.classes]
    result = ExafsResult(label=label, absorber=absorber, edge=edge, n_snapshots=len(frames),
                         n_absorbers=len(engine.absorbers), rmax=rmax, nleg=nleg, k=k, chi=chi, classes=classes,
                         timings_s=dict(engine.timings), feff_static_k=engine.static_k,
                         feff_static_chi=engine.static_chi,
                         settings={"scf_radius": scf_radius, "tolerance": tolerance, "bin_width": bin_width,
                                   "feff_folder": str(engine.folder), "folp": 1.15, "exchange": "Hedin-Lundqvist",
                                   "ms_samples_per_class": ms_samples, "notes": list(engine.notes),
                                   "feff_structure": "reference" if reference is not None else "average"},
                         warnings=list(engine.warnings))
    if engine.ms_noise is not None:
        result.settings["ms_correction_noise_percent"] = relative_rms_percent(k, engine.ms_noise, chi, kmin, kmax)
    if exact_snapshots and exact_absorbers:
        t0 = time.perf_counter()
        pairs = [(t, int(a)) for t in range(min(exact_snapshots, len(frames))) for a in engine.absorbers[:exact_absorbers]]
        ke, chie = engine.exact_chi(frames, positions, pairs=pairs)
        chif = engine.fast_chi_pairs(frames, positions, pairs)
        result.exact = {"n_snapshots": len({t for t, _ in pairs}), "n_absorbers": len({a for _, a in pairs}),
                        "pairs": pairs, "k": ke, "chi_exact": chie,
                        "chi_fast": chif, "rms_percent": relative_rms_percent(ke, chif - chie, chie, kmin, kmax),
                        "k_range": [kmin, kmax],
                        "ms_corrected": bool(engine.ms_factor), "seconds": time.perf_counter() - t0}
    if experiment is not None:
        exp = experiment if isinstance(experiment, dict) else read_experiment(experiment)
        cmp = compare(k, chi, exp["k"], exp["chi"], kmin=kmin, kmax=kmax, e0=e0, s02=s02,
                      label=Path(str(exp.get("source", "experiment"))).name)
        cmp["experiment_e0_ev"] = exp.get("e0")
        result.comparison = cmp
    result.timings_s = dict(engine.timings)
    return result


def align_to(positions: np.ndarray, numbers, structure) -> np.ndarray:
    """Unwrapped snapshot positions (atomic ``numbers``) moved by whole lattice vectors, per atom, next to
    ``structure``'s atoms: path members are matched, with image shifts, on that structure."""
    if len(structure) != positions.shape[1] or np.any(np.asarray(numbers) != structure.numbers):
        raise ValueError(f"the structure of the FEFF set-up ({structure.get_chemical_formula()}) has other atoms "
                         "than the snapshots")
    cell = structure.cell.array
    frac = np.linalg.solve(cell.T, (positions.mean(axis=0) - structure.positions).T).T
    return positions - (np.round(frac) @ cell)[None]


def _unwrapped(frames, positions=None) -> np.ndarray:
    from ..dynamics.rdf import unwrap

    return unwrap(frames) if positions is None else positions


def relative_rms_percent(k, deviation, reference, kmin: float = 3.0, kmax: float = 16.0) -> float:
    """100 · rms(k² deviation) / rms(k² reference) over [kmin, kmax]: how the goals and checks measure χ errors."""
    k = np.asarray(k)
    m = (k >= kmin) & (k <= kmax)
    return float(100 * np.sqrt(np.mean((np.asarray(deviation) * k ** 2)[m] ** 2)
                               / np.mean((np.asarray(reference) * k ** 2)[m] ** 2)))


def _restrict(cls: PathClass, absorbers) -> PathClass:
    sel = np.isin(cls.members[:, 0], absorbers)
    return PathClass(index=cls.index, nleg=cls.nleg, degen=cls.degen, reff=cls.reff, ipots=cls.ipots,
                     positions=cls.positions, feff_paths=cls.feff_paths, members=cls.members[sel],
                     shifts=cls.shifts[sel], table=cls.table)


def static_exafs(atoms, **kwargs) -> ExafsResult:
    """EXAFS of one structure without disorder (a single 'snapshot'; every member has its class geometry,
    so there is nothing for the MS sampling to correct)."""
    kwargs.setdefault("ms_samples", 0)
    return md_exafs([atoms], **kwargs)


# ---------------------------------------------------------------- plots

def plot_exafs(results, experiment=None, *, kweight: int = 2, kmin: float = 3.0, kmax: float = 16.0,
               rmax: float = 6.0):
    """k^w χ(k) and |χ(R)| with Im χ(R) for several results (dict name -> ExafsResult, or a list) and
    the experiment (dict with k, chi; or taken from the first result's comparison)."""
    import matplotlib.pyplot as plt

    if isinstance(results, ExafsResult):
        results = [results]
    items = list(results.items()) if isinstance(results, dict) else [(r.label or r.absorber, r) for r in results]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7))
    colors = color_cycle(len(items) + 1)
    if experiment is None:
        for _, r in items:
            c = r.comparison
            if c:
                experiment = {"k": np.asarray(c["k"]),
                              "chi": np.asarray(c["experiment_kwchi"]) / np.maximum(np.asarray(c["k"]), 1e-9) ** c["kweight"],
                              "label": c["experiment"]}
                break
    if experiment is not None:
        ke, ce = np.asarray(experiment["k"]), np.asarray(experiment["chi"])
        m = (ke >= 1) & (ke <= kmax + 1)
        ax1.plot(ke[m], (ce * ke ** kweight)[m], "k-", lw=1.3, label=experiment.get("label", "experiment"))
        ft = fourier_transform(ke, ce, kweight=kweight, kmin=kmin, kmax=kmax, rmax=rmax)
        ax2.plot(ft["r"], ft["mag"], "k-", lw=1.3, label=f"|χ(R)| {experiment.get('label', 'experiment')}")
        ax2.plot(ft["r"], ft["im"], "k:", lw=0.8)
    for (name, r), col in zip(items, colors[1:]):
        k, chi = np.asarray(r.k), np.asarray(r.chi)
        c = r.comparison or {}
        if c:  # plot with the fitted E0 shift and S0²
            chi = c.get("s02", 1.0) * shift_e0(k, chi, c.get("e0", 0.0))
            name = f"{name} (ΔE0 {c['e0']:+.1f} eV, S0² {c['s02']:.2f}, MSE {c['mse_k2chi']:.3g})"
        m = (k >= 1) & (k <= kmax + 1)
        ax1.plot(k[m], (chi * k ** kweight)[m], color=col, lw=1, label=name)
        ft = fourier_transform(k, chi, kweight=kweight, kmin=kmin, kmax=kmax, rmax=rmax)
        ax2.plot(ft["r"], ft["mag"], color=col, lw=1, label=name)
        ax2.plot(ft["r"], ft["im"], color=col, lw=0.6, ls=":")
    for kk in (kmin, kmax):
        ax1.axvline(kk, color="0.7", lw=0.6)
    ax1.set_xlabel("k (Å⁻¹)")
    ax1.set_ylabel(f"k$^{kweight}$χ(k) (Å$^{{-{kweight}}}$)")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("R (Å)")
    ax2.set_ylabel(f"|χ(R)|, Im χ(R) (Å$^{{-{kweight + 1}}}$)")
    ax2.legend(fontsize=7)
    return finish(fig)
