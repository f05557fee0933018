"""Benchmarks of ASE calculators against DFT, experiment and upstream CHGNet.

By topic: ``fit`` (parity, learning curve, frame selection), ``crystal`` (structure, elastic constants,
phonons, EOS, configuration ranking), ``layered`` (stacking, disregistry), ``dynamics`` (MD engines,
RDF/MSRD, Monte Carlo), ``exafs`` (MD-EXAFS), ``report`` (compare, demo, speed); ``core`` holds what they
share (result base class and JSON serialiser, the runner over calculators, relaxation, plots) and
``cli`` their commands.  Each benchmark returns a JSON-savable dataclass and has a separate plotting
function.  Importing this package is cheap: the heavy libraries load with the module that needs them.
"""
