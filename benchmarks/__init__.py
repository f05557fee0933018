"""Benchmarks of ASE calculators against DFT, experiment and upstream CHGNet.

One module per benchmark; each returns a small JSON-savable dataclass and has
a separate plotting function.
"""
