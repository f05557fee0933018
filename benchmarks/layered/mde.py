"""Mean disregistry error (MDE) between relaxed bilayers, and quasi-1D moiré surrogate cells.

Disregistry of a bilayer: for every atom of a reference species in one layer,
the in-plane vector to the nearest atom (of the target species, by default
the same) of the adjacent layer, folded into the Wigner–Seitz cell of the
reference layer's own lattice (minimum image).  Two structures of the same
bilayer (e.g. relaxed with a model and with a reference) give two sets of such
vectors; they are matched by minimum-cost bipartite matching (scipy's
``linear_sum_assignment``, cost = Wigner–Seitz-folded distance) and the MDE is
the mean matched distance in Å.  It is invariant to rigid translations and to
relabelling (atom order) because it uses only relative in-plane vectors and an
optimal matching.

Force/energy errors are poor proxies for moiré structure; the MDE measures
what relaxation does to the stacking pattern.
:func:`ase_ftcalc.structures.quasi1d_moire` builds a narrow cell in which both
layers are strained along y so that a long moiré period fits in one cell;
:func:`mde` relaxes it (FIRE, tight fmax) with each calculator and compares.
Units: Å, eV.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult
from ..core.relax import relax_positions
from ..core.runner import Kernel, calculator_set, run_calculators


# ----------------------------------------------------------------------------- geometry


def plane_frame(atoms, axis: int = 2):
    """Orthonormal in-plane axes e1, e2 and the stacking normal n (e1 along the first in-plane cell vector)."""
    cell = atoms.cell.array
    i, j = [k for k in range(3) if k != axis]
    n = np.cross(cell[i], cell[j])
    n /= np.linalg.norm(n)
    e1 = cell[i] - np.dot(cell[i], n) * n
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    return e1, e2, n


def to_plane(vectors, frame):
    e1, e2, _ = frame
    v = np.asarray(vectors, float)
    return np.stack([v @ e1, v @ e2], axis=-1)


def fold(vectors, basis):
    """Fold 2D vectors into the Wigner–Seitz cell of the lattice with rows ``basis`` (2x2): minimum image."""
    v = np.atleast_2d(np.asarray(vectors, float))
    basis = np.asarray(basis, float)
    frac = np.linalg.solve(basis.T, v.T).T
    base = np.rint(frac)
    best = None
    for d1 in (-1, 0, 1):
        for d2 in (-1, 0, 1):
            cand = v - (base + [d1, d2]) @ basis
            if best is None:
                best = cand
            else:
                shorter = np.einsum("ij,ij->i", cand, cand) < np.einsum("ij,ij->i", best, best) - 1e-12
                best[shorter] = cand[shorter]
    return best


def reduce_basis(basis):
    """Lagrange–Gauss reduction of a 2D lattice basis (shortest, nearly orthogonal pair)."""
    u, v = (np.asarray(b, float) for b in basis)
    if u @ u > v @ v:
        u, v = v, u
    for _ in range(100):
        m = np.rint((u @ v) / (u @ u))
        v = v - m * u
        if v @ v >= u @ u:
            break
        u, v = v, u
    return np.array([u, v])


def _min_image_vectors(points, supercell):
    """All (i, j) in-plane difference vectors p_j - p_i, minimum image in the supercell (2D)."""
    d = points[None, :, :] - points[:, None, :]
    return fold(d.reshape(-1, 2), supercell).reshape(d.shape)


def layer_lattice(points, supercell) -> np.ndarray:
    """Primitive 2D lattice (2x2, reduced) of a layer's reference-species sites ``points`` (2D) in a periodic supercell.

    The two shortest non-collinear neighbour vectors of the first site define
    the lattice directions; each is then averaged over all sites (nearest
    neighbour vector closest to it), which smooths relaxation noise.
    """
    points = np.asarray(points, float)
    supercell = reduce_basis(supercell)
    cands = []
    for n1 in range(-2, 3):
        for n2 in range(-2, 3):
            shift = n1 * supercell[0] + n2 * supercell[1]
            cands.append(points - points[0] + shift)
    cands = np.concatenate(cands)
    lengths = np.linalg.norm(cands, axis=1)
    cands, lengths = cands[lengths > 1e-6], lengths[lengths > 1e-6]
    order = np.argsort(lengths)
    v1 = cands[order[0]]
    v2 = None
    for k in order[1:]:
        c = cands[k]
        if abs(v1[0] * c[1] - v1[1] * c[0]) > 0.3 * np.linalg.norm(v1) * lengths[k]:
            v2 = c
            break
    if v2 is None:
        raise ValueError("cannot find two independent lattice vectors for the layer")
    if len(points) > 1:
        d = _min_image_vectors(points, supercell)  # (n, n, 2)
        refined = []
        for v in (v1, v2):
            best = []
            for i in range(len(points)):
                opts = np.concatenate([d[i], d[i] + supercell[0], d[i] - supercell[0], d[i] + supercell[1],
                                       d[i] - supercell[1]])
                k = np.argmin(np.linalg.norm(opts - v, axis=1))
                if np.linalg.norm(opts[k] - v) < 0.3 * np.linalg.norm(v):
                    best.append(opts[k])
            refined.append(np.mean(best, axis=0) if best else v)
        v1, v2 = refined
    return reduce_basis([v1, v2])


def _default_species(atoms, layer_mask):
    symbols = np.array(atoms.get_chemical_symbols())[layer_mask]
    kinds, counts = np.unique(symbols, return_counts=True)
    return str(kinds[np.argmin(counts)])  # the scarcest element, e.g. the metal of MX2


@dataclass
class Disregistry:
    offsets: np.ndarray        # (n, 2) Å, folded into the Wigner–Seitz cell of ``lattice``
    lattice: np.ndarray        # (2, 2) Å, primitive lattice of the reference layer, in-plane frame
    sites: np.ndarray          # (n, 2) Å, in-plane positions of the reference atoms
    indices: np.ndarray        # atom indices of the reference atoms
    species: str
    target_species: str


def disregistry(atoms, *, species: str | None = None, target_species: str | None = None, layers=None,
                layer: int = 0, adjacent: int | None = None, axis: int = 2, lattice=None) -> Disregistry:
    """In-plane offsets from each ``species`` atom of ``layer`` to the nearest ``target_species`` atom of ``adjacent``.

    Layers: ``layers`` labels, else tags (>= 2 distinct), else detected along
    ``axis``; 0 = lowest.  ``lattice``: 2x2 in-plane lattice for the folding
    (default: detected from the reference layer's ``species`` sites).
    """
    from ase_ftcalc.layered import layer_indices

    labels = layer_indices(atoms, layers, axis)[0]
    adjacent = layer + 1 if adjacent is None else adjacent
    if adjacent > labels.max() or layer > labels.max():
        raise ValueError(f"structure has {labels.max() + 1} layers; layer {layer} / adjacent {adjacent} missing")
    symbols = np.array(atoms.get_chemical_symbols())
    species = species or _default_species(atoms, labels == layer)
    target_species = target_species or species
    ref = np.flatnonzero((labels == layer) & (symbols == species))
    tgt = np.flatnonzero((labels == adjacent) & (symbols == target_species))
    if not len(ref) or not len(tgt):
        raise ValueError(f"no {species} in layer {layer} or no {target_species} in layer {adjacent}")
    frame = plane_frame(atoms, axis)
    i, j = [k for k in range(3) if k != axis]
    supercell = reduce_basis(to_plane(atoms.cell.array[[i, j]], frame))
    p = to_plane(atoms.positions, frame)
    if lattice is None:
        lattice = layer_lattice(p[ref], supercell)
    lattice = reduce_basis(np.asarray(lattice, float))
    d = p[tgt][None, :, :] - p[ref][:, None, :]
    d = fold(d.reshape(-1, 2), supercell).reshape(d.shape)
    nearest = np.argmin(np.linalg.norm(d, axis=2), axis=1)
    offsets = fold(d[np.arange(len(ref)), nearest], lattice)
    return Disregistry(offsets=offsets, lattice=lattice, sites=p[ref], indices=ref, species=species,
                       target_species=target_species)


def match_disregistry(a: Disregistry, b: Disregistry) -> tuple[float, np.ndarray, np.ndarray]:
    """(MDE Å, matched distances Å, assignment b-index per a-site) by minimum-cost bipartite matching."""
    from scipy.optimize import linear_sum_assignment

    diff = a.offsets[:, None, :] - b.offsets[None, :, :]
    cost = np.linalg.norm(fold(diff.reshape(-1, 2), a.lattice), axis=1).reshape(diff.shape[:2])
    rows, cols = linear_sum_assignment(cost)
    dist = cost[rows, cols]
    assign = np.full(len(a.offsets), -1)
    assign[rows] = cols
    return float(dist.mean()), dist, assign


def mean_disregistry_error(atoms_a, atoms_b, **kwargs) -> float:
    """MDE (Å) between two structures of the same bilayer; keyword arguments as :func:`disregistry`.

    The folding lattice of ``atoms_a``'s reference layer is used for both
    (pass ``lattice=`` to fix it).
    """
    da = disregistry(atoms_a, **kwargs)
    kwargs = {**kwargs, "lattice": kwargs.get("lattice", da.lattice)}
    db = disregistry(atoms_b, **kwargs)
    if len(da.offsets) != len(db.offsets):
        raise ValueError(f"different numbers of reference sites: {len(da.offsets)} vs {len(db.offsets)}")
    return match_disregistry(da, db)[0]


# ----------------------------------------------------------------------------- benchmark


@dataclass
class RelaxedPositions(Kernel):
    """FIRE on the positions (cell fixed) of one structure with one calculator."""

    fmax: float = 1e-3
    steps: int = 2000
    desc = "relaxing"

    def calc(self, atoms, calculator, label: str = "") -> dict:
        relaxed, info = relax_positions(atoms, calculator, fmax=self.fmax, steps=self.steps)
        return {"relax": info, "atoms": relaxed}


@dataclass
class MDEResult(JSONResult):
    n_atoms: int
    moire: dict
    reference: str
    species: str
    fmax_ev_per_a: float
    initial_offsets_a: list                     # (n, 2) Å
    sites_y_a: list                             # in-plane y (along the moiré) of the reference sites, Å
    lattice_a: list                             # (2, 2) Å, folding lattice (reference layer, initial)
    calculators: dict = field(default_factory=dict)

    def table(self) -> list[dict]:
        return self.calculator_rows(lambda name, res: [
            {"calculator": name, f"MDE vs {self.reference} Å": res["mde_vs_reference_a"],
             "MDE vs initial Å": res["mde_vs_initial_a"], "steps": res["relax"]["steps"],
             "converged": res["relax"]["converged"], "energy meV/atom": 1000 * res["relax"]["energy_ev"] / self.n_atoms,
             "seconds": res["seconds"]}])

    def summary(self) -> str:
        m = self.moire or {}
        lines = [f"MDE ({self.species} sites, Å), {self.n_atoms} atoms"
                 + (f", quasi-1D moiré N={m.get('n_cells')} L={m.get('length_a', 0):.2f} Å" if m else "")
                 + f", FIRE fmax {self.fmax_ev_per_a} eV/Å, reference {self.reference}"]
        for row in self.table():
            if "error" in row:
                lines.append(f"  {row['calculator']:<16} failed: {row['error']}")
                continue
            lines.append(f"  {row['calculator']:<16} vs reference {row[f'MDE vs {self.reference} Å']:.4f}  "
                         f"vs initial {row['MDE vs initial Å']:.4f}  ({row['steps']} steps"
                         f"{'' if row['converged'] else ', NOT converged'})")
        return "\n".join(lines)


def mde(calculators, atoms=None, *, reference: str | None = None, fmax: float = 1e-3, steps: int = 2000,
        species: str | None = None, progress: bool = False, **moire_kwargs) -> MDEResult:
    """Relax ``atoms`` (default
    :func:`ase_ftcalc.structures.quasi1d_moire` with ``moire_kwargs``) with each calculator; MDE vs ``reference``.

    ``reference``: the name of one of the calculators (default the first);
    its relaxed structure is the reference for the others.  Also reported:
    the MDE of each relaxed structure against the unrelaxed input.
    """
    calcs = calculator_set(calculators)
    if atoms is None:
        from ase_ftcalc.structures import quasi1d_moire

        atoms = quasi1d_moire(**moire_kwargs)
    reference = reference or next(iter(calcs))
    if reference not in calcs:
        raise ValueError(f"reference {reference!r} is not one of the calculators {list(calcs)}")
    initial = disregistry(atoms, species=species)
    result = MDEResult(n_atoms=len(atoms), moire=dict(atoms.info.get("moire", {})), reference=reference,
                       species=initial.species, fmax_ev_per_a=fmax, initial_offsets_a=initial.offsets.tolist(),
                       sites_y_a=initial.sites[:, 1].tolist(), lattice_a=initial.lattice.tolist())
    relaxed = {}
    kernel = RelaxedPositions(fmax=fmax, steps=steps)
    for name, outcome in run_calculators(calcs, kernel, atoms, progress=progress).items():
        if outcome.ok:
            relaxed[name] = outcome.value["atoms"]
            result.calculators[name] = {"relax": outcome.value["relax"], "seconds": outcome.seconds}
        else:
            result.calculators[name] = {"error": outcome.error, "seconds": outcome.seconds}
    if reference not in relaxed:
        raise RuntimeError(f"the reference calculator {reference!r} failed: {result.calculators[reference]}")
    ref_d = disregistry(relaxed[reference], species=species, lattice=initial.lattice)
    for name, rel in relaxed.items():
        d = disregistry(rel, species=species, lattice=initial.lattice)
        res = result.calculators[name]
        res["offsets_a"] = d.offsets.tolist()
        res["mde_vs_reference_a"] = match_disregistry(ref_d, d)[0]
        res["mde_vs_initial_a"] = match_disregistry(initial, d)[0]
    return result


def ws_cell_vertices(lattice) -> np.ndarray:
    """Corners (counter-clockwise) of the 2D Wigner–Seitz cell of ``lattice`` (rows), Å."""
    b = reduce_basis(lattice)
    neigh = [i * b[0] + j * b[1] for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
    pts = []
    for p in range(len(neigh)):
        for q in range(p + 1, len(neigh)):
            m = np.array([neigh[p], neigh[q]])
            if abs(np.linalg.det(m)) < 1e-9:
                continue
            x = np.linalg.solve(m, [neigh[p] @ neigh[p] / 2, neigh[q] @ neigh[q] / 2])
            if all(x @ v <= v @ v / 2 + 1e-9 for v in neigh):
                pts.append(x)
    pts = np.unique(np.round(pts, 9), axis=0)
    return pts[np.argsort(np.arctan2(pts[:, 1], pts[:, 0]))]


def plot_mde(result: MDEResult):
    """Disregistry along the moiré (|offset| vs x) and the offsets in the Wigner–Seitz cell."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    x = np.asarray(result.sites_y_a)
    order = np.argsort(x)
    init = np.asarray(result.initial_offsets_a)
    ax1.plot(x[order], np.linalg.norm(init, axis=1)[order], "k--", lw=1, label="initial")
    ax2.plot(init[:, 0], init[:, 1], "k.", ms=4, label="initial")
    for (name, res), color in zip(result.calculators.items(), color_cycle(len(result.calculators))):
        if "error" in res:
            continue
        off = np.asarray(res["offsets_a"])
        # offsets keep the order of the reference sites of the initial structure
        ax1.plot(x[order], np.linalg.norm(off, axis=1)[order], "-o", ms=3, color=color,
                 label=f"{name} (MDE {res['mde_vs_reference_a']:.3f} Å)")
        ax2.plot(off[:, 0], off[:, 1], "o", ms=4, mfc="none", color=color, label=name)
    ax1.set_xlabel("position of reference site along the moiré (Å)")
    ax1.set_ylabel("|disregistry| (Å)")
    ax1.set_title(f"vs reference {result.reference}", fontsize=10)
    ax1.legend(fontsize=8)
    ws = ws_cell_vertices(np.asarray(result.lattice_a))
    ax2.fill(ws[:, 0], ws[:, 1], color="0.93", zorder=0)
    ax2.set_aspect("equal", adjustable="datalim")
    ax2.set_xlabel("offset x (Å)")
    ax2.set_ylabel("offset y (Å)")
    ax2.set_title("offsets in the Wigner–Seitz cell", fontsize=10)
    return finish(fig)
