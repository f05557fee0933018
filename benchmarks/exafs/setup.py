"""The FEFF set-up of the MD-EXAFS engine: run once on one structure, then only read.

:meth:`FeffSetup.build` runs FEFF8L (rdinp, pot, xsph, pathfinder, genfmt, ff2x) on a cluster around
the first absorber of a structure — muffin-tin potentials (FEFF's automatic overlap, folp = 1.15, i.e.
15 %), Hedin–Lundqvist exchange, optional SCF, paths up to ``rmax`` (half path length) and ``nleg``
legs — in a worker process that also parses its output and tabulates amplitude, phase and mean free
path per class (single scattering on an R grid around the class length, multiple scattering at the
class geometry).  The paths FEFF keeps there define the path classes; the members of each class are
found for every absorber of the cell.  Nothing in a set-up changes afterwards; a set-up records how it
was made (:attr:`FeffSetup.provenance`), which is what a result reusing it reports.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .feff import feff_input, run_in_worker, setup_worker, ss_grid
from .paths import PathClass, path_classes

KSTEP = 0.05   # Å⁻¹, the k grid of every spectrum


@dataclass(frozen=True)
class FeffSetup:
    structure: object              # ase.Atoms: potentials, path classes and members come from it
    absorber: str                  # element
    absorbers: np.ndarray          # indices of every absorbing atom
    edge: str
    rmax: float
    nleg: int
    scf_radius: float | None
    tolerance: float               # Å, class membership
    r_window: float                # Å, half width of a class's R range (× legs/2 for long paths)
    folder: Path
    ipot: dict                     # element -> FEFF potential index
    classes: tuple                 # PathClass with members and tables
    kgrid: np.ndarray              # Å⁻¹
    static_k: np.ndarray           # FEFF's own chi.dat of the set-up structure
    static_chi: np.ndarray
    structure_kind: str = "reference"  # "average" of the snapshots, or "reference": a structure given for it
    timings: dict = field(default_factory=dict)
    notes: tuple = ()
    warnings: tuple = ()

    @classmethod
    def build(cls, structure, *, absorber: str, edge: str = "K", rmax: float = 6.0, nleg: int = 4,
              scf_radius: float | None = None, cluster_radius: float | None = None, folder=None,
              tolerance: float = 0.05, r_window: float = 0.6, ss_grid_step: float = 0.05,
              structure_kind: str = "reference") -> "FeffSetup":
        t0 = time.perf_counter()
        symbols = np.array(structure.get_chemical_symbols())
        absorbers = np.flatnonzero(symbols == absorber)
        if len(absorbers) == 0:
            raise ValueError(f"no {absorber} atom in {structure.get_chemical_formula()}")
        folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="mdexafs-"))
        if " " in str(folder.resolve()):
            raise ValueError(f"FEFF folder {folder} must not contain spaces")
        folder.mkdir(parents=True, exist_ok=True)
        text, ipot = feff_input(structure, int(absorbers[0]), edge=edge, rmax=rmax, nleg=nleg, scf_radius=scf_radius,
                                cluster_radius=cluster_radius)
        (folder / "feff.inp").write_text(text)
        out = run_in_worker(setup_worker, str(folder), float(r_window), float(ss_grid_step), float(tolerance))
        status = out["status"]
        if not all(status.values()):
            log = "".join(p.read_text()[-800:] for p in folder.glob("feffrun_*.log"))
            raise RuntimeError(f"FEFF8L failed in {folder}: missing {[k for k, v in status.items() if not v]}\n{log}")
        timings = {"feff_setup": time.perf_counter() - t0}

        t1 = time.perf_counter()
        classes, notes, warnings = path_classes(structure, absorbers, out["classes"], ipot, tolerance)
        timings["members"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        tables = out["tables"]
        kgrid = KSTEP * np.arange(int(round(min(t["k"][-1] for t in tables) / KSTEP)) + 1)
        _attach_tables(classes, tables, kgrid, r_window, ss_grid_step)
        timings["feff_tables"] = time.perf_counter() - t2
        return cls(structure=structure, absorber=absorber, absorbers=absorbers, edge=edge, rmax=float(rmax),
                   nleg=int(nleg), scf_radius=scf_radius, tolerance=tolerance, r_window=r_window, folder=folder,
                   ipot=ipot, classes=tuple(classes), kgrid=kgrid, static_k=out["static_k"],
                   static_chi=out["static_chi"], structure_kind=structure_kind, timings=timings,
                   notes=tuple(notes), warnings=tuple(warnings))

    def on_grid(self, table: dict) -> dict:
        """A FEFF path table (amp, pha, lam) interpolated onto :attr:`kgrid`."""
        return on_grid(table, self.kgrid)

    @property
    def provenance(self) -> dict:
        """How the set-up was made, for results that use it."""
        return {"feff_structure": self.structure_kind, "scf_radius": self.scf_radius, "tolerance": self.tolerance,
                "feff_folder": str(self.folder), "folp": 1.15, "exchange": "Hedin-Lundqvist"}


def on_grid(table: dict, kgrid) -> dict:
    return {q: np.interp(kgrid, table["k"], table[q]) for q in ("amp", "pha", "lam")}


def _attach_tables(classes: list[PathClass], tables: list, kgrid, r_window: float, ss_grid_step: float) -> None:
    """Tables in the order of :func:`benchmarks.exafs.feff.table_jobs`: SS classes get (R grid, stacked
    tables with the phase unwrapped along R), MS classes the table of their geometry."""
    pos = 0
    for c in classes:
        if c.nleg == 2:
            grid = ss_grid(c.reff, r_window, ss_grid_step)
            rows = [on_grid(t, kgrid) for t in tables[pos:pos + len(grid)]]
            stack = {q: np.array([r[q] for r in rows]) for q in ("amp", "pha", "lam")}
            stack["pha"] = np.unwrap(stack["pha"], axis=0)
            c.table = (grid, stack)
            pos += len(grid)
        else:
            c.table = on_grid(tables[pos], kgrid)
            pos += 1
