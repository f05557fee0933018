"""The main job: the seed paper's workflow on the bundled DFT data, ending in a report folder.

Vanilla CHGNet, CHGNet fine-tuned on the bundled GPAW PBE-D3 frames, and a
classical potential through the LAMMPS bridge (sw/mod + ilp/tmd) are compared
on held-out DFT frames (parity), by a small learning curve, by the relaxed
structure against experiment, Γ phonons against Raman lines, and elastic
constants, and finally a short NVT MD at 300 K with each potential, partial
RDFs/MSRDs and the metal-edge MD-EXAFS spectrum (compared with a measured
spectrum when one is given).  :func:`benchmarks.report.compare.compare`
does the comparing; the experimental values come from :mod:`ase_ftcalc.reference_values`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

VANILLA, TUNED, CLASSICAL = "CHGNet 0.3.0", "CHGNet fine-tuned", "SW/mod + ILP (LAMMPS)"


@dataclass
class DemoOptions:
    compound: str = "WS2"
    out: str = "demo-report"
    quick: bool = False
    classical: bool = True
    learning_curve_sizes: tuple = (1, 10, "all")
    learning_curve_seeds: tuple = (0, 1)
    extra_calculators: dict = field(default_factory=dict)  # name -> spec string
    experiment: str | None = None      # measured EXAFS file (XDI, columns, .chi, Athena .prj)
    paper: bool = False                # the seed paper's sizes: 768 atoms, 50 + 50 ps, 5000 snapshots (GPU)
    md: dict = field(default_factory=lambda: dict(supercell=(3, 3, 1), equilibration_steps=500,
                                                  production_steps=1000, snapshot_stride=20, rmax=6.0))

    def benchmarks(self) -> tuple:
        from .compare import ALL_BENCHMARKS

        # --quick leaves out the elastic constants (the longest part) and shrinks the learning curve
        return tuple(b for b in ALL_BENCHMARKS if not (self.quick and b == "elastic"))

    def __post_init__(self):
        if self.quick:
            self.learning_curve_sizes, self.learning_curve_seeds = (1, "all"), (0,)
            self.md = dict(supercell=(3, 3, 1), equilibration_steps=40, production_steps=60,
                           snapshot_stride=20, rmax=4.5)
        if self.paper:
            self.learning_curve_sizes, self.learning_curve_seeds = (1, 10, 50, 100, "all"), (0, 1, 2)
            self.md = dict(supercell=(8, 8, 2), equilibration_steps=50000, production_steps=50000,
                           snapshot_stride=10, rmax=8.0)


def run_demo(options: DemoOptions | None = None) -> dict:
    """Fine-tune, build the three calculators, compare them; write ``<out>/index.html`` and ``results.json``."""
    from ase_ftcalc import FTCalculator, fine_tune
    from ase_ftcalc.data import bundled_frames
    from ase_ftcalc.reference_values import experiment_structure, raman_lines
    from ase_ftcalc.spec import calculator_from_spec
    from ase_ftcalc.structures import bulk_2h

    from .compare import compare

    opt = options or DemoOptions()
    out = Path(opt.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[demo] bundled GPAW PBE-D3 frames of 2H-{opt.compound}; vanilla CHGNet 0.3.0", flush=True)
    frames = bundled_frames(opt.compound)
    calculators = {VANILLA: FTCalculator()}

    print(f"[demo] fine-tuning CHGNet on {len(frames)} frames (8:1:1 split, paper defaults)", flush=True)
    tuned = fine_tune(frames, out / f"chgnet_ft_{opt.compound.lower()}.pt", overwrite=True, progress=True)
    calculators[TUNED] = tuned.calculator()
    held_out = [frames[i] for i in tuned.split["test"] + tuned.split["val"]]
    extra = {"options": dict(opt.__dict__), "fine_tune": tuned.to_dict(),
             "timings": {"fine_tune_s": time.perf_counter() - t0}}

    if opt.classical:
        print("[demo] classical comparison: sw/mod + ilp/tmd through the LAMMPS bridge", flush=True)
        try:
            from lammps_plugin.calculators import tmd_layered_calculator

            calculators[CLASSICAL] = tmd_layered_calculator()
        except Exception as err:  # noqa: BLE001 - the demo goes on without the classical potential
            print(f"      skipped: {type(err).__name__}: {err}")
            extra["classical_error"] = str(err)
    for name, spec in opt.extra_calculators.items():
        calculators[name] = calculator_from_spec(spec)

    results = compare(
        calculators, out, frames=held_out, training_frames=frames, bulk=bulk_2h(opt.compound),
        benchmarks=opt.benchmarks(), reference_structure=experiment_structure(opt.compound),
        reference_gamma_cm1=raman_lines(opt.compound), learning_curve_sizes=opt.learning_curve_sizes,
        learning_curve_seeds=opt.learning_curve_seeds, title=f"ase-ftcalc demo: 2H-{opt.compound}",
        summary=summary_lines, extra_results=extra, md={**opt.md, "experiment": opt.experiment})
    results["timings"]["total_s"] = time.perf_counter() - t0
    for line in results["summary"]:
        print(line)
    print(f"total {results['timings']['total_s'] / 60:.1f} min")
    return results


def summary_lines(results: dict) -> list[str]:
    lines = []
    for name in (VANILLA, TUNED):
        stats = results["parity"]["calculators"][name]["stats"]
        f, e = stats["forces_ev_per_a"], stats["energy_ev_per_atom"]
        lines.append(f"{name}: force MAE {f['mae']:.3f} eV/Å, force slope {f['slope_origin']:.2f}, "
                     f"energy MAE {1000 * e['mae']:.1f} meV/atom")
    return lines
