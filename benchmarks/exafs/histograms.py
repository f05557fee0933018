"""Per-snapshot geometry of the MD-EXAFS engine: half path lengths of all members, histogrammed per class.

The distinct legs (atom pair + image shift) of all members are indexed once, so a snapshot costs one
distance per distinct leg and a gather-sum per member, for all absorbers at once.  The configuration
average is linear, so χ(k) is evaluated once from the histograms at the end
(:func:`benchmarks.exafs.spectra.chi`).  Snapshot positions are unwrapped (continuous in time) and
moved next to the set-up structure's atoms (:func:`align_to`) before.
"""
from __future__ import annotations

import time

import numpy as np


class SnapshotHistograms:
    """Histograms (count and Σ R per bin of ``bin_width`` Å) of the half path lengths of ``classes``' members."""

    def __init__(self, classes, n_absorbers: int, *, r_window: float = 0.6, bin_width: float = 0.002):
        self.classes, self.n_absorbers = list(classes), int(n_absorbers)
        self.r_window, self.bin_width = r_window, bin_width
        # a path that runs back and forth over one bond (A→B→A→B) has R = 2 d: windows grow with the legs
        window = r_window * np.array([max(1.0, c.nleg / 2) for c in self.classes] or [1.0])
        nb = int(round(2 * window.max() / bin_width))
        self.hist = np.zeros((len(self.classes), nb))
        self.hist_r = np.zeros((len(self.classes), nb))   # Σ R per bin: χ is evaluated at each bin's mean R
        self.n_frames = 0
        self.out_of_range = 0
        self.seconds = 0.0
        self.r0 = np.array([c.reff for c in self.classes]) - window[:len(self.classes)]
        self._index_legs(nb)

    def _index_legs(self, nb: int) -> None:
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
                                  "offset": cls * nb, "r0": self.r0[cls]}

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

    def accumulate_frames(self, frames, positions, progress: bool = False) -> None:
        """Add every snapshot (``positions``: their unwrapped positions, aligned to the set-up structure)."""
        it = range(len(frames))
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="EXAFS geometry", unit="snap")
        t0 = time.perf_counter()
        for t in it:
            self.accumulate(positions[t], frames[t].cell.array)
        self.seconds += time.perf_counter() - t0


def align_to(positions: np.ndarray, numbers, structure) -> np.ndarray:
    """Unwrapped snapshot positions (atomic ``numbers``) moved by whole lattice vectors, per atom, next to
    ``structure``'s atoms: path members are matched, with image shifts, on that structure."""
    if len(structure) != positions.shape[1] or np.any(np.asarray(numbers) != structure.numbers):
        raise ValueError(f"the structure of the FEFF set-up ({structure.get_chemical_formula()}) has other atoms "
                         "than the snapshots")
    cell = structure.cell.array
    frac = np.linalg.solve(cell.T, (positions.mean(axis=0) - structure.positions).T).T
    return positions - (np.round(frac) @ cell)[None]


def unwrapped(frames, positions=None) -> np.ndarray:
    """``positions``, or the snapshots' positions made continuous in time when None."""
    from ..dynamics.rdf import unwrap

    return unwrap(frames) if positions is None else positions
