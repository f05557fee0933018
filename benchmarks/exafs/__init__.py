"""MD-EXAFS with FEFF8L: configuration-averaged spectra of MD snapshots, compared with measured spectra.

Modules: ``feff`` (FEFF input/output, path merging, worker processes), ``paths`` (path classes and
their members), ``setup`` (the FEFF set-up, made once, read-only), ``histograms`` (per-snapshot
geometry), ``spectra`` (χ(k): fast, MS amplitudes sampled, exact), ``transforms`` (window, Fourier
transform, envelope, E0 shift, comparison metrics), ``experiment`` (measured spectra), ``engine``
(``MDExafs``: set-up + accumulator), ``run`` (``md_exafs``, ``ExafsResult``), ``plot``, ``goals``.
"""
from .engine import MDExafs
from .experiment import read_experiment
from .plot import plot_exafs
from .run import ExafsResult, align_to, md_exafs, static_exafs
from .setup import KSTEP, FeffSetup
from .spectra import MSAmplitudes
from .transforms import ETOK, compare, envelope, fourier_transform, relative_rms_percent, shift_e0, taper_window

__all__ = ["ETOK", "KSTEP", "ExafsResult", "FeffSetup", "MDExafs", "MSAmplitudes", "align_to", "compare", "envelope",
           "fourier_transform", "md_exafs", "plot_exafs", "read_experiment", "relative_rms_percent", "shift_e0",
           "static_exafs", "taper_window"]
