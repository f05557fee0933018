# GPAW build configuration used by `make` for the `dft` extra.
# FFTW makes plane-wave runs ~10x faster; GPAW 26.7 compiles its C sources as C++.
compiler = 'g++'
fftw = True
libraries += ['fftw3', 'blas']  # noqa: F821 - GPAW's siteconfig namespace defines `libraries`
