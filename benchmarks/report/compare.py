"""Several benchmarks for several calculators in one call, ending in a report folder.

``compare(calculators, frames=..., bulk=...)`` runs the chosen benchmarks
(parity, learning curve, structure, phonons, elastic) and writes
``index.html`` (figures embedded), the PNGs, CSV tables and ``results.json``.
``ftcalc bench compare`` and ``ftcalc demo`` are thin layers over it.
"""
from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.runner import Kernel, run_calculators
from .html import Section, write_report

ALL_BENCHMARKS = ("parity", "learning-curve", "structure", "phonons", "elastic", "md-exafs")


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
            sections_first: list | None = None, md: dict | None = None) -> dict:
    """Run ``benchmarks`` for ``calculators`` ({name: ASE calculator}) and write the report into ``out``.

    ``frames``: held-out DFT frames for parity; ``training_frames``: pool for
    the learning curve (CHGNet fine-tuning); ``bulk``: crystal for structure,
    phonons and elastic constants.  Returns the results dict also saved as
    ``results.json``.  ``summary``: lines, or a function of the results giving them.
    ``md``: settings of the md-exafs stage (see :func:`md_exafs_stage`).
    """
    from ..fit import parity as par

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
        from ..fit import learning_curve as lc

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
        from ..crystal import structure as st

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
        from ..crystal import phonons as ph

        t = _stage("phonons")
        phon = ph.phonons(calculators, bulk, reference_gamma_cm1=reference_gamma_cm1, progress=True)
        results["phonons"] = phon.to_dict()
        sections.append(Section("Phonons", "Bands and DOS; Γ-point frequencies (cm⁻¹) compared with the "
                                "reference lines in results.json.",
                                figures=[("phonons.png", ph.plot_phonons(phon))]))
        timings["phonons_s"] = time.perf_counter() - t

    if "elastic" in benchmarks:
        from ..crystal import elastic as el

        t = _stage("elastic constants")
        elas = el.elastic(calculators, bulk, progress=True)
        results["elastic"] = elas.to_dict()
        sections.append(Section("Elastic constants (GPa)", figures=[("elastic.png", el.plot_elastic(elas))]))
        timings["elastic_s"] = time.perf_counter() - t

    if "md-exafs" in benchmarks:
        if bulk is None:
            raise ValueError("md-exafs needs a bulk crystal")
        t = _stage("NVT MD, partial RDFs/MSRDs and MD-EXAFS")
        results["md_exafs"], new_sections = md_exafs_stage(calculators, bulk, out, **(md or {}))
        sections.extend(new_sections)
        timings["md_exafs_s"] = time.perf_counter() - t

    results["timings"] = {**results.get("timings", {}), **timings, "compare_total_s": time.perf_counter() - t_start}
    lines = summary(results) if callable(summary) else summary
    if lines:
        results["summary"] = list(lines)
        sections.insert(0, Section("Summary", " / ".join(lines)))
    index = write_report(out, title, sections, results)
    print(f"\nreport: {index.resolve()}")
    return results


@dataclass
class MDSpectrum(Kernel):
    """NVT MD of one structure with one calculator, then partial RDFs/MSRDs and MD-EXAFS of its snapshots.

    ``engine``: the FEFF set-up shared by all calculators (identical potentials and path classes).
    """

    folder: Path
    engine: object
    temperature_K: float = 300.0
    timestep_fs: float = 1.0
    equilibration_steps: int = 500
    production_steps: int = 1000
    snapshot_stride: int = 20
    experiment: object = None
    desc = "md-exafs"

    def calc(self, cell, calculator, label: str = "") -> dict:
        from ..dynamics.md import read_snapshots, run_md
        from ..dynamics.rdf import rdf
        from ..exafs import md_exafs

        traj = self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}.traj"
        md = run_md(cell, calculator, temperature_K=self.temperature_K, timestep_fs=self.timestep_fs,
                    equilibration_steps=self.equilibration_steps, production_steps=self.production_steps,
                    snapshot_stride=self.snapshot_stride, trajectory=traj, calculator_name=label)
        entry = {"md": md.to_dict()}
        snapshots = read_snapshots(traj)
        if not (md.completed and snapshots):
            return {**entry, "error": md.stopped_reason or "no snapshots"}
        structure = rdf(snapshots, label=label)
        spectrum = md_exafs(snapshots, experiment=self.experiment, label=label, engine=self.engine)
        return {**entry, "rdf": structure, "exafs": spectrum}


def md_exafs_stage(calculators: dict, bulk, out, *, supercell=(3, 3, 1), temperature_K: float = 300.0,
                   timestep_fs: float = 1.0, equilibration_steps: int = 500, production_steps: int = 1000,
                   snapshot_stride: int = 20, absorber: str | None = None, edge: str | None = None,
                   rmax: float = 6.0, experiment=None):
    """NVT MD of ``bulk * supercell`` with each calculator, then partial RDFs/MSRDs and MD-EXAFS.

    The absorber defaults to the heaviest element (W L3, Mo K, Cu K ...).  ``experiment``: a measured
    spectrum file (XDI, columns, .chi, Athena .prj) to compare with.  One FEFF set-up on the starting
    lattice serves every calculator: identical potentials and path classes, and no spurious classes
    from the thermal noise left in the average of a short run.
    """
    from ase.data import atomic_numbers

    from ..dynamics.rdf import plot_msrd, plot_rdf
    from ..exafs import MDExafs, plot_exafs

    absorber = absorber or max(set(bulk.get_chemical_symbols()), key=lambda s: atomic_numbers[s])
    edge = edge or ("L3" if atomic_numbers[absorber] > 56 else "K")
    cell = bulk * tuple(supercell)
    folder = Path(out) / "md"
    folder.mkdir(parents=True, exist_ok=True)
    kernel = MDSpectrum(folder=folder, engine=MDExafs(cell, absorber=absorber, edge=edge, rmax=rmax,
                                                      folder=folder / "feff"),
                        temperature_K=temperature_K, timestep_fs=timestep_fs,
                        equilibration_steps=equilibration_steps, production_steps=production_steps,
                        snapshot_stride=snapshot_stride, experiment=experiment)
    results, rdfs, spectra = {}, [], {}
    for name, outcome in run_calculators(calculators, kernel, cell).items():
        entry = dict(outcome.value) if outcome.ok else {"error": outcome.error}
        if "exafs" in entry:
            rdfs.append(entry["rdf"])
            spectra[name] = entry["exafs"]
            entry.update(rdf=entry["rdf"].to_dict(), exafs=entry["exafs"].to_dict())
        results[name] = entry
    header = ["calculator", "mean T (K)", "snapshots", "MSE k²χ vs experiment", "MSE envelope"]
    rows = [[n, r.get("md", {}).get("mean_temperature_K"), r.get("md", {}).get("n_snapshots"),
             r.get("exafs", {}).get("comparison", {}).get("mse_k2chi", "-"),
             r.get("exafs", {}).get("comparison", {}).get("mse_envelope", "-")] for n, r in results.items()]
    figures = []
    if rdfs:
        figures += [("rdf.png", plot_rdf(rdfs)), ("msrd.png", plot_msrd(rdfs))]
    if spectra:
        figures.append(("exafs.png", plot_exafs(spectra)))
    text = (f"NVT {temperature_K:.0f} K, {len(cell)} atoms, {timestep_fs} fs, {equilibration_steps} + "
            f"{production_steps} steps; {absorber} {edge}-edge EXAFS averaged over the snapshots (FEFF potentials "
            "and paths once, on the starting lattice)"
            + ("" if experiment else " (no measured spectrum given: pass one to compare)") + ".")
    sections = [Section("MD, RDFs, MSRDs and MD-EXAFS", text, tables=[(header, rows)], figures=figures)]
    return {"absorber": absorber, "edge": edge, "calculators": results}, sections
