"""The main job: the seed paper's workflow on the bundled DFT data, ending in a report folder.

vanilla CHGNet, CHGNet fine-tuned on the bundled GPAW PBE-D3 frames, and a
classical potential through the LAMMPS bridge (sw/mod + ilp/tmd) are compared
on held-out DFT frames (parity), by a small learning curve, by the relaxed
structure against experiment, Γ phonons against Raman lines, and elastic
constants.  Not yet in the demo: NVT MD, RDFs/MSRDs and MD-EXAFS.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

EXPERIMENT = {
    # Schutte et al. (1987) lattice; Raman lines of bulk 2H crystals
    "WS2": {"structure": {"a": 3.153, "c": 12.323, "d_MX": 2.405, "z_vdW": 3.019},
            "raman_cm1": {"E2g^1": 356.0, "A1g": 420.0}},
    "MoS2": {"structure": {"a": 3.160, "c": 12.294, "d_MX": 2.41},
             "raman_cm1": {"E2g^1": 383.0, "A1g": 408.0}},
}


@dataclass
class DemoOptions:
    compound: str = "WS2"
    out: str = "demo-report"
    quick: bool = False
    classical: bool = True
    elastic: bool = True
    phonons: bool = True
    learning_curve_sizes: tuple = (1, 10, "all")
    learning_curve_seeds: tuple = (0, 1)
    extra_calculators: dict = field(default_factory=dict)  # name -> spec string

    def __post_init__(self):
        if self.quick:
            self.learning_curve_sizes, self.learning_curve_seeds = (1, "all"), (0,)
            self.elastic = False


def _stage(n: int, total: int, text: str) -> float:
    print(f"[{n}/{total}] {text}", flush=True)
    return time.perf_counter()


def run_demo(options: DemoOptions | None = None) -> dict:
    """Run the workflow and write ``<out>/index.html`` and ``<out>/results.json``; return the results."""
    from ase_ftcalc import FTCalculator, fine_tune
    from ase_ftcalc.data import bundled_frames
    from ase_ftcalc.dft import bulk_2h
    from ase_ftcalc.spec import calculator_from_spec

    from . import learning_curve as lc
    from . import parity as par
    from . import phonons as ph
    from . import structure as st
    from .report import Section, write_report

    opt = options or DemoOptions()
    out = Path(opt.out)
    out.mkdir(parents=True, exist_ok=True)
    total = 7
    t_start = time.perf_counter()
    results, sections, timings = {"options": {k: v for k, v in opt.__dict__.items()}}, [], {}

    t = _stage(1, total, f"bundled GPAW PBE-D3 frames of 2H-{opt.compound}; vanilla CHGNet 0.3.0")
    frames = bundled_frames(opt.compound)
    calculators = {"CHGNet 0.3.0": FTCalculator()}

    t = _stage(2, total, f"fine-tuning CHGNet on {len(frames)} frames (8:1:1, paper defaults)")
    tuned = fine_tune(frames, out / f"chgnet_ft_{opt.compound.lower()}.pt", overwrite=True, progress=True)
    calculators["CHGNet fine-tuned"] = tuned.calculator()
    held_out = [frames[i] for i in tuned.split["test"] + tuned.split["val"]]
    results["fine_tune"] = tuned.to_dict()
    timings["fine_tune_s"] = time.perf_counter() - t

    t = _stage(3, total, "classical comparison: sw/mod + ilp/tmd through the LAMMPS bridge")
    if opt.classical:
        try:
            from lammps_plugin.calculators import tmd_layered_calculator

            calculators["SW/mod + ILP (LAMMPS)"] = tmd_layered_calculator()
        except Exception as err:  # noqa: BLE001 - the demo goes on without the classical potential
            print(f"      skipped: {type(err).__name__}: {err}")
            results["classical_error"] = str(err)
    for name, spec in opt.extra_calculators.items():
        calculators[name] = calculator_from_spec(spec)

    t = _stage(4, total, f"parity on {len(held_out)} held-out DFT frames, learning curve")
    parity = par.parity(calculators, held_out, progress=False)
    print("      " + parity.summary().replace("\n", "\n      "))
    curve = lc.learning_curve(frames, sizes=opt.learning_curve_sizes, seeds=opt.learning_curve_seeds,
                              cache_dir=out / "learning-curve-models", progress=True)
    results["parity"] = parity.to_dict(values=False)
    results["learning_curve"] = curve.to_dict()
    sections.append(Section(
        "Parity with DFT on held-out frames",
        "Energies per atom after removing one constant offset per composition; slope0 is the "
        "least-squares slope through the origin (1 = no softening).",
        tables=[(["calculator", "quantity", "MAE", "RMSE", "R²", "slope0", "slope", "n"],
                 [[r["calculator"], r["metric"], r.get("mae", "-"), r.get("rmse", "-"), r.get("r2", "-"),
                   r.get("slope_origin", "-"), r.get("slope", "-"), r.get("n", r.get("skipped", ""))]
                  for r in parity.table()])],
        figures=[("parity.png", par.plot_parity(parity))]))
    sections.append(Section("Learning curve", "Force MAE and parity slope on a fixed test set vs the "
                            "number of fine-tuning frames.",
                            figures=[("learning_curve.png", lc.plot_learning_curve(curve))]))
    timings["parity_learning_curve_s"] = time.perf_counter() - t

    ref = EXPERIMENT[opt.compound]
    t = _stage(5, total, "relaxed structure vs experiment")
    bulk = bulk_2h(opt.compound)
    struct = st.structure(calculators, bulk, reference=ref["structure"], progress=True)
    results["structure"] = struct.to_dict()
    rows = []
    for name, res in struct.calculators.items():
        for key, cmp in res.get("comparison", {}).items():
            rows.append([name, key, cmp["value"], cmp["reference"], cmp["difference"]])
    sections.append(Section("Relaxed structure (Å) vs experiment", tables=[
        (["calculator", "parameter", "model", "experiment", "difference"], rows)],
        figures=[("structure.png", st.plot_structure(struct))]))
    timings["structure_s"] = time.perf_counter() - t

    t = _stage(6, total, "Γ phonons vs Raman" + (", elastic constants" if opt.elastic else ""))
    if opt.phonons:
        phon = ph.phonons(calculators, bulk, reference_gamma_cm1=ref["raman_cm1"], progress=True)
        results["phonons"] = phon.to_dict()
        sections.append(Section("Phonons", "Γ-point frequencies compared with the Raman lines.",
                                figures=[("phonons.png", ph.plot_phonons(phon))]))
    if opt.elastic:
        from . import elastic as el

        elas = el.elastic(calculators, bulk, progress=True)
        results["elastic"] = elas.to_dict()
        sections.append(Section("Elastic constants (GPa)", figures=[("elastic.png", el.plot_elastic(elas))]))
    timings["phonons_elastic_s"] = time.perf_counter() - t

    _stage(7, total, "report")
    results["timings"] = {**timings, "total_s": time.perf_counter() - t_start}
    results["summary"] = summary_lines(parity)
    sections.insert(0, Section("Summary", " / ".join(results["summary"])))
    index = write_report(out, f"ase-ftcalc demo: 2H-{opt.compound}", sections, results)
    print(f"\nreport: {index.resolve()}")
    for line in results["summary"]:
        print(line)
    return results


def summary_lines(parity) -> list[str]:
    lines = []
    for name in ("CHGNet 0.3.0", "CHGNet fine-tuned"):
        stats = parity.calculators[name].stats
        f, e = stats["forces_ev_per_a"], stats["energy_ev_per_atom"]
        lines.append(f"{name}: force MAE {f['mae']:.3f} eV/Å, force slope {f['slope_origin']:.2f}, "
                     f"energy MAE {1000 * e['mae']:.1f} meV/atom")
    return lines
