"""The benchmarks' `ftcalc` commands: argument parsing only, one module per topic.

``register`` is this package's entry in the ``ftcalc.commands`` entry-point group (pyproject.toml).
It builds ``ftcalc bench`` once and lets every topic add its benchmarks to it and its top-level
commands (``md``, ``mc``, ``select``, ``exafs``, ``demo``, ``speed``) to ``ftcalc``.  Only argparse is
imported here; a command imports its computation when it runs, so ``ftcalc --help`` stays instant.
"""
from __future__ import annotations

from . import crystal, dynamics, exafs, fit, layered, report

TOPICS = (fit, crystal, layered, dynamics, exafs, report)


def register(sub) -> None:
    """Add ``ftcalc bench`` with all benchmarks, and the top-level commands, to the ``ftcalc`` sub-parsers."""
    bench = sub.add_parser("bench", help="benchmark ASE calculators against DFT and experiment",
                           description="Parity with DFT frames, learning curves of fine-tuning, relaxed "
                           "structure, elastic constants, phonons, EOS, configuration ranking, bilayer "
                           "stacking, disregistry, RDFs and MD-EXAFS for any ASE calculators side by side.")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    bench.set_defaults(func=lambda args: (bench.print_help(), 1)[1])
    for topic in TOPICS:
        topic.register(sub, bench_sub)
