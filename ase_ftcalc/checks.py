"""Cheap checks that keep CHGNet from returning NaN or crashing on structures it cannot handle.

:func:`check_structure` runs before every graph is built (each calculator
call, each structure of :func:`ase_ftcalc.predict_batch`, each training
frame).  Every check is vectorised and O(N); the only search is one for
pairs closer than :data:`MIN_DISTANCE_A`, in a cell whose density is
already known to be bounded.  Each failure is a :class:`StructureError`
(a ``ValueError``) naming the structure and what is wrong:

* no atoms at all;
* an element outside CHGNet's H..Pu (Z 1-94), which used to be an ``IndexError``;
* a cell not periodic in all three directions;
* NaN or infinite positions or cell vectors;
* a cell of zero volume, or thinner than :data:`MIN_DISTANCE_A` across any
  pair of faces (each atom would then sit on its own periodic image);
* a density no solid reaches: (atoms / volume) x (sphere of CHGNet's cutoff)
  estimates the neighbours per atom before any graph is built, which for a
  cell given in the wrong units would need gigabytes;
* two atoms, or an atom and a periodic image, closer than :data:`MIN_DISTANCE_A`
  (coincident atoms give NaN energies and forces).

:func:`check_results` is the last guard: a non-finite energy, force or stress
that slipped through is an error, never a number.
"""
from __future__ import annotations

import math

import numpy as np

# Shortest bond in any material is H2's 0.74 Å; atoms closer than this are a mistake.
MIN_DISTANCE_A = 0.5
# Estimated neighbours per atom within CHGNet's 6 Å atom-graph cutoff.  Diamond, the densest solid at
# ambient pressure (0.18 atoms/Å³), has ~160; 1000 is ~1.1 atoms/Å³, beyond metallic hydrogen at 500 GPa.
MAX_NEIGHBORS_PER_ATOM = 1000
MAX_ATOMIC_NUMBER = 94  # CHGNet's embeddings and reference energies cover H..Pu


# The 26 neighbouring cells' shifts (the zero shift left out).
_SHIFTS = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1) if (a, b, c) != (0, 0, 0)])


class StructureError(ValueError):
    """A structure CHGNet cannot give a meaningful result for; the message says why."""


def _prefix(where) -> str:
    return f"{where}: " if where is not None else ""


def check_structure(atoms, cutoff: float = 6.0, where=None, *, min_distance: float = MIN_DISTANCE_A,
                    max_neighbors: float = MAX_NEIGHBORS_PER_ATOM) -> None:
    """Raise :class:`StructureError` if ``atoms`` cannot give finite CHGNet results (see module doc).

    ``cutoff``: the atom-graph cutoff (Å) the neighbour estimate uses; ``where``: a name for
    messages (a frame's source, "structure 3").
    """
    at = _prefix(where)
    n = len(atoms)
    if n == 0:
        raise StructureError(f"{at}the structure has no atoms")
    numbers = atoms.numbers
    bad = (numbers < 1) | (numbers > MAX_ATOMIC_NUMBER)
    if bad.any():
        from ase.data import chemical_symbols

        i = int(np.flatnonzero(bad)[0])
        z = int(numbers[i])
        symbol = chemical_symbols[z] if 0 <= z < len(chemical_symbols) else f"Z={z}"
        raise StructureError(f"{at}atom {i} is {symbol} (Z={z}); CHGNet covers H to Pu (Z 1-94) only")
    if not atoms.pbc.all():
        raise StructureError(f"{at}CHGNet needs a periodic cell in all three directions "
                             f"(pbc={atoms.pbc.tolist()}); add vacuum and set pbc=True")
    cell = atoms.cell.array
    positions = atoms.positions
    if not np.isfinite(cell).all():
        raise StructureError(f"{at}the cell contains NaN or inf: {cell.tolist()}")
    if not np.isfinite(positions).all():
        i = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
        raise StructureError(f"{at}atom {i} has a NaN or infinite position {positions[i].tolist()}")
    volume = abs(float(np.linalg.det(cell)))
    # Height of the cell across each pair of faces: volume / area of the face.
    areas = np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    heights = np.divide(volume, areas, out=np.zeros(3), where=areas > 0)
    if volume == 0.0 or heights.min() < 1e-8 * max(1.0, np.abs(cell).max()):
        raise StructureError(f"{at}the cell has zero volume (cell vectors {cell.tolist()} are linearly "
                             "dependent or zero)")
    if heights.min() < min_distance:
        k = int(np.argmin(heights))
        raise StructureError(f"{at}the cell is only {heights[k]:.3g} Å thick along cell vector {k + 1}, so "
                             f"every atom is within {heights[k]:.3g} Å of its own periodic image (closer "
                             f"than {min_distance} Å); is the cell in the right units?")
    neighbors = n / volume * 4.0 / 3.0 * math.pi * cutoff**3
    if neighbors > max_neighbors:
        raise StructureError(
            f"{at}{n} atoms in {volume:.4g} Å³ ({n / volume:.3g} atoms/Å³) would give each atom about "
            f"{neighbors:.0f} neighbours within CHGNet's {cutoff:g} Å cutoff, more than any solid has (limit "
            f"{max_neighbors}; diamond has about 160); is the cell in Å (not nm)?")
    _check_close_pairs(positions, cell, heights, numbers, min_distance, at)


def _close_pairs(positions, cell, heights, min_distance):
    """Pairs (i, j, image, distance) closer than ``min_distance``, periodic images included.

    A KD-tree over the wrapped atoms plus the thin shell of their images within ``min_distance`` of
    the cell's faces: ~1 ms for 768 atoms, where a cell-list search with 0.5 Å bins takes ~13 ms.
    Needs every height >= min_distance, so one layer of images is enough.
    """
    from scipy.spatial import cKDTree

    n = len(positions)
    frac = np.linalg.solve(cell.T, positions.T).T
    shift = np.floor(frac)  # wrapping moves atom i by -shift[i] cells
    frac -= shift
    reach = min_distance / heights
    # Atoms within `reach` of a face get copies shifted across it (and across edges and corners).
    low, high = frac < reach, frac > 1 - reach
    edge = np.flatnonzero((low | high).any(axis=1))
    shifts = _SHIFTS[None, :, :]
    fits = ((shifts == 0) | ((shifts == 1) & low[edge, None, :])
            | ((shifts == -1) & high[edge, None, :])).all(axis=2)
    atom, which = np.nonzero(fits)
    idx, image = edge[atom], _SHIFTS[which]
    points = [frac @ cell, (frac[idx] + image) @ cell]
    source, images = [np.arange(n), idx], [np.zeros((n, 3), dtype=np.int64), image]
    points, source, images = np.concatenate(points), np.concatenate(source), np.concatenate(images)
    pairs = cKDTree(points).query_pairs(min_distance, output_type="ndarray")
    pairs = pairs[(pairs < n).any(axis=1)]  # pairs of two shell copies repeat pairs with an original
    if not len(pairs):
        return (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros((0, 3), dtype=np.int64), np.zeros(0))
    a, b = pairs.min(axis=1), pairs.max(axis=1)
    distance = np.linalg.norm(points[a] - points[b], axis=1)
    # Image of b relative to a, in the unwrapped coordinates the user gave.
    image = ((images[b] - images[a]) - shift[source[b]] + shift[source[a]]).astype(np.int64)
    i, j = source[a], source[b]
    # One pair, found from both ends through the shell: orient it i <= j (an atom and its own image:
    # the first non-zero image component positive) and keep it once.
    first = image[np.arange(len(image)), np.argmax(image != 0, axis=1)]
    flip = (i > j) | ((i == j) & (first < 0))
    i, j = np.where(flip, j, i), np.where(flip, i, j)
    image = np.where(flip[:, None], -image, image)
    _, unique = np.unique(np.column_stack([i, j, image]), axis=0, return_index=True)
    return i[unique], j[unique], image[unique], distance[unique]


def _check_close_pairs(positions, cell, heights, numbers, min_distance, at) -> None:
    i, j, image, distance = _close_pairs(positions, cell, heights, min_distance)
    if not len(distance):
        return
    from ase.data import chemical_symbols

    k = int(np.argmin(distance))
    img = tuple(int(x) for x in image[k])
    other = (f"atom {j[k]} ({chemical_symbols[numbers[j[k]]]})" if img == (0, 0, 0)
             else f"atom {j[k]} ({chemical_symbols[numbers[j[k]]]}) in periodic image {img}")
    more = f" ({len(distance)} such pairs)" if len(distance) > 1 else ""
    raise StructureError(f"{at}atom {i[k]} ({chemical_symbols[numbers[i[k]]]}) and {other} are "
                         f"{distance[k]:.3g} Å apart, closer than {min_distance} Å{more}: coincident or "
                         "nearly coincident atoms")


def check_results(results: dict, where=None) -> None:
    """Raise :class:`StructureError` if an energy, force or stress in ``results`` is NaN or infinite."""
    for key in ("energy", "forces", "stress", "stress_gpa"):
        value = results.get(key)
        if value is None:
            continue
        value = np.asarray(value, dtype=float)
        if not np.isfinite(value).all():
            rows = ""
            if key == "forces":
                rows = f" (atoms {np.flatnonzero(~np.isfinite(value).all(axis=1))[:5].tolist()})"
            raise StructureError(f"{_prefix(where)}CHGNet returned a non-finite {key}{rows} for this "
                                 "structure; no result is given rather than a NaN")
