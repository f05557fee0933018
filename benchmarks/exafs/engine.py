"""``MDExafs``: the FEFF set-up of one structure and a snapshot accumulator, behind one object.

The set-up (:class:`benchmarks.exafs.setup.FeffSetup`) is made once and never changes; the
accumulator (:class:`benchmarks.exafs.histograms.SnapshotHistograms`) is what :meth:`MDExafs.reset`
renews.  MS amplitudes sampled at instantaneous geometries are a value
(:class:`benchmarks.exafs.spectra.MSAmplitudes`) passed to :meth:`MDExafs.chi`, not engine state.
"""
from __future__ import annotations

import numpy as np

from . import spectra
from .histograms import SnapshotHistograms, unwrapped
from .setup import FeffSetup


class MDExafs:
    """FEFF set-up once on ``structure``, geometry per snapshot, χ(k) at the end.

    Keyword arguments as :meth:`FeffSetup.build`; ``bin_width`` (Å) is the histograms' bin.
    ``structure_kind`` records what ``structure`` is: "reference" (a structure given for the set-up,
    e.g. the ideal lattice an MD started from) or "average" (of the snapshots, as :func:`md_exafs` makes it).
    """

    def __init__(self, structure, *, absorber: str, edge: str = "K", rmax: float = 6.0, nleg: int = 4,
                 scf_radius: float | None = None, cluster_radius: float | None = None, folder=None,
                 tolerance: float = 0.05, bin_width: float = 0.002, r_window: float = 0.6,
                 ss_grid_step: float = 0.05, structure_kind: str = "reference"):
        self.setup = FeffSetup.build(structure, absorber=absorber, edge=edge, rmax=rmax, nleg=nleg,
                                     scf_radius=scf_radius, cluster_radius=cluster_radius, folder=folder,
                                     tolerance=tolerance, r_window=r_window, ss_grid_step=ss_grid_step,
                                     structure_kind=structure_kind)
        self.bin_width = bin_width
        self.reset()

    # ---- the set-up, read-only
    @property
    def structure(self):
        return self.setup.structure

    @property
    def classes(self):
        return self.setup.classes

    @property
    def absorbers(self) -> np.ndarray:
        return self.setup.absorbers

    @property
    def kgrid(self) -> np.ndarray:
        return self.setup.kgrid

    @property
    def folder(self):
        return self.setup.folder

    @property
    def warnings(self) -> list:
        return list(self.setup.warnings)

    @property
    def notes(self) -> list:
        return list(self.setup.notes)

    # ---- geometry accumulation
    def reset(self) -> None:
        """Empty histograms for a new set of snapshots."""
        self.histograms = SnapshotHistograms(self.setup.classes, len(self.setup.absorbers),
                                             r_window=self.setup.r_window, bin_width=self.bin_width)

    def accumulate(self, positions: np.ndarray, cell: np.ndarray) -> None:
        """Add one snapshot (unwrapped positions, aligned to the set-up structure; cell)."""
        self.histograms.accumulate(positions, cell)

    def accumulate_frames(self, frames, positions=None, progress: bool = False) -> None:
        self.histograms.accumulate_frames(frames, unwrapped(frames, positions), progress=progress)

    # ---- χ(k)
    def chi(self, *, ms: spectra.MSAmplitudes | None = None, s02: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Configuration-averaged χ(k) of the snapshots accumulated since :meth:`reset` (E0 shift 0)."""
        spectrum = spectra.chi(self.histograms, self.setup.kgrid, ms, s02)
        return spectrum.k, spectrum.chi

    def sample_ms_correction(self, frames, positions=None, samples_per_class: int = 16,
                             seed: int = 0) -> spectra.MSAmplitudes:
        """MS amplitudes averaged over instantaneous geometries (:func:`spectra.sample_ms_amplitudes`)."""
        return spectra.sample_ms_amplitudes(self.setup, frames, unwrapped(frames, positions), samples_per_class,
                                            seed)

    def exact_chi(self, frames, positions=None, *, pairs) -> tuple[np.ndarray, np.ndarray]:
        """FEFF per member path at its instantaneous geometry over (snapshot, absorber) ``pairs``."""
        return spectra.exact_chi(self.setup, frames, unwrapped(frames, positions), pairs)

    def fast_chi_pairs(self, frames, positions, pairs, ms: spectra.MSAmplitudes | None = None) -> np.ndarray:
        """The fast mode restricted to (snapshot, absorber) ``pairs`` (for comparisons with :meth:`exact_chi`)."""
        return spectra.fast_chi_pairs(self.setup, frames, unwrapped(frames, positions), pairs, ms, self.bin_width)
