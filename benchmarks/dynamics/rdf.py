"""Structure from MD snapshots: partial RDFs g_ij(r) and mean-square relative displacements (MSRD) per shell.

* ``unwrap`` / ``mean_structure``: positions made continuous across periodic
  boundaries (minimum-image steps between consecutive snapshots) and the
  time-averaged structure.
* ``rdf``: partial g_ij(r) averaged over snapshots (matscipy neighbour lists),
  coordination numbers n_ij(r); coordination shells taken from the mean
  structure; per shell σ² (Å²) three ways:

  - ``sigma2_fit``: Gaussian fit of the shell's peak in the pair-distance
    density dN_ij/dr (area → coordination number, centre → distance,
    variance → σ²);
  - ``sigma2_displacement``: ⟨[(u_j − u_i)·r̂_ij]²⟩ from displacements u about
    the mean positions, r̂_ij the mean-structure bond direction;
  - ``sigma2_distance``: variance of the instantaneous pair distances.

* Layered crystals (layers along c that no bond joins, e.g. 2H-WS2
  sandwiches) get each shell split into intralayer and interlayer pairs.

Lengths in Å, σ² in Å².
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult


# ---------------------------------------------------------------- trajectory helpers

def unwrap(frames) -> np.ndarray:
    """Positions (n_frames, n_atoms, 3), continuous in time (minimum-image steps between frames)."""
    pos = np.array([f.get_positions() for f in frames], dtype=float)
    out = pos.copy()
    for t in range(1, len(frames)):
        cell = frames[t].cell.array
        step = pos[t] - pos[t - 1]
        frac = step @ np.linalg.inv(cell)
        frac -= np.round(frac) * frames[t].pbc
        out[t] = out[t - 1] + frac @ cell
    return out


def mean_structure(frames, positions: np.ndarray | None = None):
    """Time-averaged structure (mean unwrapped positions, mean cell); returns (atoms, unwrapped positions)."""
    if positions is None:
        positions = unwrap(frames)
    avg = frames[0].copy()
    avg.calc = None
    avg.set_constraint()
    avg.set_cell(np.mean([f.cell.array for f in frames], axis=0))
    avg.set_positions(positions.mean(axis=0))
    return avg, positions


def pair_list(atoms, cutoff: float):
    """(i, j, S, d, D) within cutoff with integer image shifts S: D = p[j] − p[i] + S·cell."""
    from matscipy.neighbours import neighbour_list

    i, j, d, D = neighbour_list("ijdD", atoms, float(cutoff))
    cell = atoms.cell.array
    direct = atoms.positions[j] - atoms.positions[i]
    S = np.rint((D - direct) @ np.linalg.inv(cell)).astype(int) if len(i) else np.zeros((0, 3), int)
    return i, j, S, d, D


# ---------------------------------------------------------------- shells

def find_shells(avg, rmax: float, *, tolerance: float = 0.1, layers=None):
    """Coordination shells of the mean structure: list of dicts with pair type, class, distance, members."""
    symbols = np.array(avg.get_chemical_symbols())
    i, j, S, d, D = pair_list(avg, rmax)
    shells = []
    kinds = sorted(set(symbols))
    for a in kinds:
        for b in kinds:
            if b < a:
                continue
            sel = (symbols[i] == a) & (symbols[j] == b)
            if not sel.any():
                continue
            ii, jj, SS, dd, DD = i[sel], j[sel], S[sel], d[sel], D[sel]
            classes = np.zeros(len(ii), dtype=int)
            if layers is not None:
                classes = (layers[ii] != layers[jj]).astype(int)  # 0 intra, 1 inter
            for cls in np.unique(classes):
                m = classes == cls
                order = np.argsort(dd[m])
                idx = np.flatnonzero(m)[order]
                ds = dd[idx]
                start = 0
                for k in range(1, len(ds) + 1):
                    if k == len(ds) or ds[k] - ds[k - 1] > tolerance:
                        members = idx[start:k]
                        n_center = int((symbols == a).sum())
                        shells.append({
                            "pair": f"{a}-{b}", "a": a, "b": b,
                            "kind": ("interlayer" if cls else "intralayer") if layers is not None else "bulk",
                            "r_mean_structure": float(ds[start:k].mean()),
                            "coordination_mean_structure": float(len(members) / n_center),
                            "_i": ii[members], "_j": jj[members], "_S": SS[members], "_D": DD[members],
                        })
                        start = k
    shells.sort(key=lambda s: (s["pair"], s["r_mean_structure"]))
    return shells


# ---------------------------------------------------------------- result

@dataclass
class RDFResult(JSONResult):
    formula: str
    n_atoms: int
    n_snapshots: int
    rmax: float
    dr: float
    r: list                      # bin centres, Å
    g: dict                      # "A-B" -> g_AB(r)
    coordination: dict           # "A-B" -> running coordination number n_AB(r) around A
    shells: list                 # per shell: pair, kind, r, N, sigma2_fit, sigma2_displacement, sigma2_distance, ...
    layered: bool = False
    label: str = ""

    def table(self) -> list[dict]:
        return [dict(s) for s in self.shells]

    def summary(self) -> str:
        lines = [f"{self.label or self.formula}: {self.n_snapshots} snapshots, {self.n_atoms} atoms"]
        for s in self.shells:
            lines.append(f"  {s['pair']:<6} {s['kind']:<10} r={s['r_mean_structure']:.3f} Å "
                         f"N={s['coordination_mean_structure']:.2f} fit: r={_f(s['r_fit'])} N={_f(s['n_fit'], 2)} "
                         f"σ²_fit={_f(s['sigma2_fit'], 5)} σ²_disp={_f(s['sigma2_displacement'], 5)} "
                         f"σ²_dist={_f(s['sigma2_distance'], 5)} Å²")
        return "\n".join(lines)


def _f(x, nd=3):
    return "nan" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def _gauss(r, area, centre, var):
    return area / np.sqrt(2 * np.pi * var) * np.exp(-(r - centre) ** 2 / (2 * var))


def rdf(frames, *, rmax: float = 6.0, dr: float = 0.01, shell_rmax: float | None = None,
        shell_tolerance: float = 0.1, layers="auto", fit: bool = True, label: str = "") -> RDFResult:
    """Partial RDFs and per-shell MSRDs of MD snapshots (all frames share atoms and cell shape).

    ``layers``: "auto" (the layers of the mean structure along the third cell vector when no bond joins
    them: :func:`ase_ftcalc.layered.separate_layers`), None (no classification) or an array of layer
    ids per atom.  Shells are those of the mean structure up to ``shell_rmax``
    (default ``rmax`` − 0.5 Å) grouped within ``shell_tolerance``.
    """
    from scipy.optimize import curve_fit

    frames = list(frames)
    if not frames:
        raise ValueError("no snapshots")
    n = len(frames[0])
    avg, upos = mean_structure(frames)
    if isinstance(layers, str) and layers == "auto":
        from ase_ftcalc.layered import separate_layers

        layers = separate_layers(avg)
    shell_rmax = rmax - 0.5 if shell_rmax is None else shell_rmax
    shells = find_shells(avg, shell_rmax, tolerance=shell_tolerance, layers=layers)
    symbols = np.array(avg.get_chemical_symbols())
    kinds = sorted(set(symbols))
    counts = {a: int((symbols == a).sum()) for a in kinds}

    edges = np.arange(0.0, rmax + dr / 2, dr)
    centres = 0.5 * (edges[1:] + edges[:-1])
    hist = {f"{a}-{b}": np.zeros(len(centres)) for a in kinds for b in kinds if b >= a}
    volume = 0.0
    # per-shell instantaneous distances and projected displacements
    acc = [{"d": [], "proj": []} for _ in shells]
    mean_pos = upos.mean(axis=0)
    for t, frame in enumerate(frames):
        i, j, d, _ = _nl(frame, rmax)
        for key in hist:
            a, b = key.split("-")
            sel = (symbols[i] == a) & (symbols[j] == b)
            hist[key] += np.histogram(d[sel], bins=edges)[0]
        volume += frame.get_volume()
        cell = frame.cell.array
        u = upos[t] - mean_pos
        pos = upos[t]
        for sh, store in zip(shells, acc):
            vec = pos[sh["_j"]] + sh["_S"] @ cell - pos[sh["_i"]]
            store["d"].append(np.linalg.norm(vec, axis=1))
            rhat = sh["_D"] / np.linalg.norm(sh["_D"], axis=1, keepdims=True)
            store["proj"].append(np.einsum("ij,ij->i", u[sh["_j"]] - u[sh["_i"]], rhat))
    volume /= len(frames)
    nf = len(frames)
    g, coord = {}, {}
    shell_vol = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    density_per_r = {}
    for key, h in hist.items():
        a, b = key.split("-")
        # pairs counted i<j? matscipy lists both (i,j) and (j,i); for a-b with a != b only a->b is kept
        per_centre = h / (nf * counts[a])                 # neighbours of type b per atom a, per bin
        rho_b = (counts[b] - (1 if a == b else 0)) / volume
        g[key] = per_centre / (rho_b * shell_vol)
        coord[key] = np.cumsum(per_centre)
        density_per_r[key] = per_centre / dr

    rows = []
    for sh, store in zip(shells, acc):
        dist = np.concatenate(store["d"])
        proj = np.concatenate(store["proj"])
        row = {k: v for k, v in sh.items() if not k.startswith("_")}
        row["n_pairs"] = int(len(sh["_i"]))
        row["r_mean"] = float(dist.mean())
        row["sigma2_distance"] = float(dist.var())
        row["sigma2_displacement"] = float(np.mean(proj ** 2))
        row["r_fit"] = row["n_fit"] = row["sigma2_fit"] = None
        if fit:
            key = sh["pair"]
            # fit the pair's RDF peak (dN_ab/dr per a-atom) in a window around this shell; where another
            # shell of the same pair lies inside the window, fit this shell's own distance histogram instead
            sd = np.sqrt(max(dist.var(), 1e-6))
            lo, hi = dist.mean() - max(4 * sd, 3 * dr), dist.mean() + max(4 * sd, 3 * dr)
            crowded = any(o is not sh and o["pair"] == key and lo - 0.3 < o["r_mean_structure"] < hi + 0.3
                          for o in shells)   # another peak of this pair within reach of the window
            if crowded:
                e = np.arange(lo, hi + dr / 2, dr)
                cc = 0.5 * (e[1:] + e[:-1])
                y = np.histogram(dist, bins=e)[0] / (nf * counts[sh["a"]]) / dr
                row["fit_on"] = "shell"
            else:
                m = (centres >= lo) & (centres <= hi)
                cc, y = centres[m], density_per_r[key][m]
                row["fit_on"] = "rdf"
            try:
                p0 = [y.sum() * dr, dist.mean(), max(dist.var(), 1e-5)]
                popt, _ = curve_fit(_gauss, cc, y, p0=p0, maxfev=5000)
                row["n_fit"], row["r_fit"], row["sigma2_fit"] = float(popt[0]), float(popt[1]), float(abs(popt[2]))
            except (RuntimeError, ValueError):
                pass
        rows.append(row)
    return RDFResult(formula=avg.get_chemical_formula(), n_atoms=n, n_snapshots=nf, rmax=float(rmax), dr=float(dr),
                     r=centres, g=g, coordination=coord, shells=rows, layered=layers is not None, label=label)


def _nl(frame, cutoff):
    from matscipy.neighbours import neighbour_list

    i, j, d, D = neighbour_list("ijdD", frame, float(cutoff))
    return i, j, d, D


def fit_rdf_peaks(result: RDFResult, pair: str, windows) -> list[dict]:
    """Gaussian fits of g_pair peaks on the summed RDF within (rlo, rhi) windows: area = N, centre, variance."""
    from scipy.optimize import curve_fit

    r = np.asarray(result.r)
    dens = np.gradient(np.asarray(result.coordination[pair]), r)
    out = []
    for lo, hi in windows:
        m = (r >= lo) & (r <= hi)
        y = dens[m]
        p0 = [np.trapezoid(y, r[m]), r[m][np.argmax(y)], ((hi - lo) / 6) ** 2]
        popt, _ = curve_fit(_gauss, r[m], y, p0=p0, maxfev=5000)
        out.append({"window": [lo, hi], "n": float(popt[0]), "r": float(popt[1]), "sigma2": float(abs(popt[2]))})
    return out


# ---------------------------------------------------------------- plots

def plot_rdf(results, *, pairs=None):
    """Partial g_ij(r) of one or several RDFResults (one panel per pair)."""
    import matplotlib.pyplot as plt

    results = results if isinstance(results, (list, tuple)) else [results]
    keys = pairs or sorted({k for res in results for k in res.g})
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.4 * len(keys)), sharex=True, squeeze=False)
    colors = color_cycle(len(results))
    for ax, key in zip(axes[:, 0], keys):
        for res, c in zip(results, colors):
            if key in res.g:
                ax.plot(res.r, res.g[key], color=c, lw=1, label=res.label or res.formula)
        ax.set_ylabel(f"g$_{{{key}}}$(r)")
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("r (Å)")
    return finish(fig)


def plot_msrd(results, *, method: str = "sigma2_displacement"):
    """σ² vs distance per shell; intralayer filled, interlayer open markers; several results overlaid."""
    import matplotlib.pyplot as plt

    results = results if isinstance(results, (list, tuple)) else [results]
    fig, ax = plt.subplots(figsize=(7, 4))
    colors = color_cycle(len(results))
    markers = {}
    for res, c in zip(results, colors):
        for kind, face in (("bulk", c), ("intralayer", c), ("interlayer", "none")):
            rows = [s for s in res.shells if s["kind"] == kind and s.get(method) is not None]
            if not rows:
                continue
            pairs = sorted({s["pair"] for s in rows})
            for p in pairs:
                marker = markers.setdefault(p, "osD^v<>"[len(markers) % 7])
                sel = [s for s in rows if s["pair"] == p]
                ax.plot([s["r_mean_structure"] for s in sel], [s[method] for s in sel], ls="none", marker=marker,
                        mfc=face, mec=c, label=f"{res.label or res.formula} {p} {kind}")
    ax.set_xlabel("distance (Å)")
    ax.set_ylabel(f"σ² (Å²) [{method.replace('sigma2_', '')}]")
    ax.legend(fontsize=7)
    return finish(fig)
