"""Path classes and their members: every atom sequence of a structure congruent with a FEFF path.

A *class* is a path FEFF kept on the set-up structure (with the congruent paths merged into it,
:func:`benchmarks.exafs.feff.merge_paths`); its *members* are, for every absorber of the cell, the
sequences of atoms (with periodic image shifts) whose pairwise distances match the class geometry
within a tolerance and whose potentials match, in either direction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PathClass:
    index: int                   # FEFF path index on the set-up structure
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

    def restricted(self, absorbers) -> "PathClass":
        """The same class with only the members that start at one of ``absorbers``."""
        sel = np.isin(self.members[:, 0], absorbers)
        return PathClass(index=self.index, nleg=self.nleg, degen=self.degen, reff=self.reff, ipots=self.ipots,
                         positions=self.positions, feff_paths=self.feff_paths, members=self.members[sel],
                         shifts=self.shifts[sel], table=self.table)


def neighbour_table(avg, cutoff):
    """Neighbour pairs of ``avg`` within ``cutoff`` sorted by first atom, with CSR row starts."""
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


def path_classes(avg, absorbers, merged: list, ipot: dict, tolerance: float) -> tuple[list, list, list]:
    """(classes with their members, notes, warnings) of the merged FEFF paths on structure ``avg``.

    Per class the member count per absorber should equal FEFF's degeneracy.  A short trajectory leaves
    noise in an average structure, so the match widens, up to 3x ``tolerance``, until every absorber has
    it (stopping earlier if a wider match already finds too many); the rest is reported.
    """
    notes, warnings = [], []
    symbols = avg.get_chemical_symbols()
    longest_leg = max(np.linalg.norm(np.diff(np.vstack([p["positions"], p["positions"][:1]]), axis=0), axis=1).max()
                      for p in merged)
    csr = neighbour_table(avg, longest_leg + tolerance)
    csr_wide = neighbour_table(avg, longest_leg + 3 * tolerance)
    ipot_element = np.array([ipot[sym] for sym in symbols])
    classes = []
    for p in merged:
        u = p["index"]
        cls = PathClass(index=u, nleg=p["nleg"], degen=p["degen"], reff=p["reff"], ipots=p["ipots"],
                        positions=p["positions"], feff_paths=p["feff_paths"], filtered_paths=p["filtered_paths"])
        cls.members, cls.shifts = find_members(avg, absorbers, cls, ipot_element, csr, tolerance)
        per_abs = len(cls.members) / len(absorbers)
        for wider in (1.5 * tolerance, 2 * tolerance, 3 * tolerance):
            if per_abs >= cls.degen - 1e-6:
                break
            members, shifts = find_members(avg, absorbers, cls, ipot_element, csr_wide, wider)
            if len(members) / len(absorbers) > cls.degen + 1e-6:
                break
            cls.members, cls.shifts, per_abs = members, shifts, len(members) / len(absorbers)
            notes.append(f"path {u}: members matched within {wider:.3f} Å (average structure noisy)")
        if per_abs < cls.degen - 1e-6:
            warnings.append(f"path {u} (nleg {cls.nleg}, reff {cls.reff:.3f}): {per_abs:.2f} members per "
                            f"absorber on the average structure vs FEFF degeneracy {cls.degen:g}: the average "
                            f"structure is noisier than tolerance {tolerance} Å")
        elif per_abs > cls.degen + 1e-6:
            notes.append(f"path {u} (nleg {cls.nleg}, reff {cls.reff:.3f}): all {per_abs:g} congruent members "
                         f"per absorber used; FEFF's pathfinder kept {cls.degen:g} of them (it splits "
                         "congruent paths and filters each part on its own)")
        classes.append(cls)
    return classes, notes, warnings
