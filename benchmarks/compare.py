"""Several benchmarks for several calculators in one call, ending in a report folder.

``compare(calculators, frames=..., bulk=...)`` runs the chosen benchmarks
(parity, learning curve, structure, phonons, elastic) and writes
``index.html`` (figures embedded), the PNGs, CSV tables and ``results.json``.
``ftcalc bench compare`` and ``ftcalc demo`` are thin layers over it.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

from .report import Section, write_report

ALL_BENCHMARKS = ("parity", "learning-curve", "structure", "phonons", "elastic")


def _stage(text: str) -> float:
    print(f"[compare] {text}", flush=True)
    return time.perf_counter()


def _write_csv(path: Path, header, rows) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def compare(calculators: dict, out, *, frames=None, training_frames=None, bulk=None,
            benchmarks=ALL_BENCHMARKS, reference_structure=None, reference_gamma_cm1=None,
            learning_curve_sizes=(1, 10, "all"), learning_curve_seeds=(0, 1), title="ase-ftcalc comparison",
            summary=None, extra_results: dict | None = None,
            sections_first: list | None = None) -> dict:
    """Run ``benchmarks`` for ``calculators`` ({name: ASE calculator}) and write the report into ``out``.

    ``frames``: held-out DFT frames for parity; ``training_frames``: pool for
    the learning curve (CHGNet fine-tuning); ``bulk``: crystal for structure,
    phonons and elastic constants.  Returns the results dict also saved as
    ``results.json``.  ``summary``: lines, or a function of the results giving them.
    """
    from . import parity as par

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = set(benchmarks) - set(ALL_BENCHMARKS)
    if unknown:
        raise ValueError(f"unknown benchmark(s) {sorted(unknown)}; choose from {ALL_BENCHMARKS}")
    results, sections, timings = dict(extra_results or {}), list(sections_first or []), {}
    t_start = time.perf_counter()

    if "parity" in benchmarks:
        if not frames:
            raise ValueError("parity needs DFT frames")
        t = _stage(f"parity on {len(frames)} DFT frames")
        parity = par.parity(calculators, frames, progress=False)
        print("      " + parity.summary().replace("\n", "\n      "))
        results["parity"] = parity.to_dict(values=False)
        header = ["calculator", "quantity", "MAE", "RMSE", "R²", "slope0", "slope", "n"]
        rows = [[r["calculator"], r["metric"], r.get("mae", "-"), r.get("rmse", "-"), r.get("r2", "-"),
                 r.get("slope_origin", "-"), r.get("slope", "-"), r.get("n", r.get("skipped", ""))]
                for r in parity.table()]
        _write_csv(out / "parity.csv", header, rows)
        sections.append(Section(
            "Parity with DFT",
            "Energies per atom after removing one constant offset per composition; slope0 is the "
            "least-squares slope through the origin (below 1: the model is softer than DFT). "
            "MAE units: energy eV/atom, forces eV/Å, stress GPa.",
            tables=[(header, rows)], figures=[("parity.png", par.plot_parity(parity))]))
        timings["parity_s"] = time.perf_counter() - t

    if "learning-curve" in benchmarks:
        from . import learning_curve as lc

        pool = training_frames or frames
        t = _stage(f"learning curve on {len(pool)} frames, N = {list(learning_curve_sizes)}")
        curve = lc.learning_curve(pool, sizes=learning_curve_sizes, seeds=learning_curve_seeds,
                                  cache_dir=out / "learning-curve-models", progress=True)
        results["learning_curve"] = curve.to_dict()
        sections.append(Section("Learning curve", "MAE and parity slope on a fixed test set vs the number "
                                "of fine-tuning frames (mean ± spread over seeds).",
                                figures=[("learning_curve.png", lc.plot_learning_curve(curve))]))
        timings["learning_curve_s"] = time.perf_counter() - t

    if {"structure", "phonons", "elastic"} & set(benchmarks) and bulk is None:
        raise ValueError("structure, phonons and elastic need a bulk crystal")
    if "structure" in benchmarks:
        from . import structure as st

        t = _stage("relaxed structure")
        struct = st.structure(calculators, bulk, reference=reference_structure, progress=True)
        results["structure"] = struct.to_dict()
        header = ["calculator", "parameter", "model", "reference", "difference"]
        rows = [[r["calculator"], r.get("quantity", "-"), r.get("value", r.get("error", "-")),
                 r.get("reference", "-"), r.get("difference", "-")] for r in struct.table()]
        _write_csv(out / "structure.csv", header, rows)
        sections.append(Section("Relaxed structure (Å)", tables=[(header, rows)],
                                figures=[("structure.png", st.plot_structure(struct))]))
        timings["structure_s"] = time.perf_counter() - t

    if "phonons" in benchmarks:
        from . import phonons as ph

        t = _stage("phonons")
        phon = ph.phonons(calculators, bulk, reference_gamma_cm1=reference_gamma_cm1, progress=True)
        results["phonons"] = phon.to_dict()
        sections.append(Section("Phonons", "Bands and DOS; Γ-point frequencies (cm⁻¹) compared with the "
                                "reference lines in results.json.",
                                figures=[("phonons.png", ph.plot_phonons(phon))]))
        timings["phonons_s"] = time.perf_counter() - t

    if "elastic" in benchmarks:
        from . import elastic as el

        t = _stage("elastic constants")
        elas = el.elastic(calculators, bulk, progress=True)
        results["elastic"] = elas.to_dict()
        sections.append(Section("Elastic constants (GPa)", figures=[("elastic.png", el.plot_elastic(elas))]))
        timings["elastic_s"] = time.perf_counter() - t

    results["timings"] = {**results.get("timings", {}), **timings, "compare_total_s": time.perf_counter() - t_start}
    lines = summary(results) if callable(summary) else summary
    if lines:
        results["summary"] = list(lines)
        sections.insert(0, Section("Summary", " / ".join(lines)))
    index = write_report(out, title, sections, results)
    print(f"\nreport: {index.resolve()}")
    return results
