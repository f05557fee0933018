"""MD-EXAFS with FEFF8L: configuration-averaged spectra of MD snapshots, compared with measured spectra."""
from .engine import (ETOK, KSTEP, ExafsResult, MDExafs, align_to, compare, envelope, fourier_transform, md_exafs,
                     plot_exafs, read_experiment, relative_rms_percent, shift_e0, static_exafs, taper_window)

__all__ = ["ETOK", "KSTEP", "ExafsResult", "MDExafs", "align_to", "compare", "envelope", "fourier_transform",
           "md_exafs", "plot_exafs", "read_experiment", "relative_rms_percent", "shift_e0", "static_exafs",
           "taper_window"]
