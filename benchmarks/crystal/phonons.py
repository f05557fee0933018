"""Harmonic phonons with phonopy for any ASE calculator.

For each calculator: relax (cell and positions; optional), let phonopy make the
displaced supercells, compute their forces with the calculator, build and
symmetrize the force constants (phonopy), then the band structure along ASE's
standard path of the cell (``atoms.cell.bandpath()``), the total DOS on a mesh
and the Γ-point frequencies with phonopy's irreducible-representation labels.
Comparison against reference Γ frequencies (e.g. Raman/IR modes, cm⁻¹) or
against a reference phonopy file (``phonopy_params.yaml`` with forces or force
constants).  Phonopy works in THz; results are given in THz and cm⁻¹, named so.

The unit cell is used as phonopy's primitive cell, so band paths are in the
reciprocal basis of the cell given (pass a primitive cell for unfolded bands).
With ``cache_dir``, each calculator's displacements and forces are saved
(``phonopy_<name>.yaml``) and a re-run reuses them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.relax import relax
from ..core.results import JSONResult
from ..core.runner import Kernel, run_calculators

THZ_TO_CM1 = 33.35640951981521  # 1 THz in cm⁻¹ (1e12 / c[cm/s])


def _phonopy_atoms(atoms):
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array,
                        scaled_positions=atoms.get_scaled_positions(), masses=atoms.get_masses())


def _frequencies_thz(phonon, qpoints) -> np.ndarray:
    """Frequencies (THz), one row per q-point (fractional, reciprocal basis of phonopy's primitive cell)."""
    return np.asarray(phonon.run_qpoints(np.asarray(qpoints, float)).frequencies)


def auto_supercell(atoms, min_length: float = 10.0) -> list[int]:
    """Diagonal supercell with every periodic length (distance between opposite faces) >= min_length Å."""
    heights = atoms.cell.volume / np.linalg.norm(np.cross(atoms.cell[[1, 2, 0]], atoms.cell[[2, 0, 1]]), axis=1)
    return [max(1, int(np.ceil(min_length / h - 1e-6))) for h in heights]


def phonopy_for(calc, atoms, *, supercell=None, distance: float = 0.01, symmetrize: bool = True,
                progress: bool = False, desc: str = "displacements", cache=None):
    """A Phonopy object with force constants computed by ``calc`` on ``atoms`` (not relaxed here).

    ``cache``: phonopy yaml path; read if it exists and matches, written otherwise.
    """
    import phonopy
    from phonopy import Phonopy
    from tqdm.auto import tqdm

    supercell = supercell if supercell is not None else auto_supercell(atoms)
    matrix = np.diag(supercell) if np.ndim(supercell) == 1 else np.asarray(supercell)
    if cache is not None and Path(cache).exists():
        phonon = phonopy.load(cache, produce_fc=False, log_level=0)
        same = (np.allclose(phonon.supercell_matrix, matrix)
                and np.allclose(phonon.unitcell.cell, atoms.cell.array, atol=1e-6)
                and np.allclose(phonon.unitcell.scaled_positions, atoms.get_scaled_positions(), atol=1e-6))
        if same and phonon.forces is not None:
            phonon.produce_force_constants()
            if symmetrize:
                phonon.symmetrize_force_constants()
            return phonon, True
    phonon = Phonopy(_phonopy_atoms(atoms), supercell_matrix=matrix, primitive_matrix=None)
    phonon.generate_displacements(distance=distance)
    forces = []
    from ase import Atoms

    for sc in tqdm(phonon.supercells_with_displacements, desc=desc, disable=not progress, unit="supercell"):
        work = Atoms(symbols=sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        work.calc = calc
        forces.append(np.array(work.get_forces(), dtype=float))
    forces = np.array(forces)
    forces -= forces.mean(axis=1, keepdims=True)  # remove the net drift force
    phonon.forces = forces
    phonon.produce_force_constants(show_drift=False)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        phonon.save(cache, settings={"force_sets": True, "force_constants": False})
    if symmetrize:
        phonon.symmetrize_force_constants()
    return phonon, False


def gamma_modes(phonon, degeneracy_tolerance: float | None = 1e-3) -> list[dict]:
    """Γ modes: frequency (THz, cm⁻¹), degeneracy and phonopy's irrep label (None where not found)."""
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # phonopy prints warnings on tiny imaginary modes
            irreps = phonon.run_irreps([0, 0, 0], degeneracy_tolerance=degeneracy_tolerance)
        freqs = np.asarray(irreps.frequencies)
        sets = irreps.band_indices
        labels = getattr(irreps, "_ir_labels", None)  # phonopy keeps the labels private
    except Exception:  # noqa: BLE001 - irreps can fail for odd symmetry; frequencies still count
        freqs = _frequencies_thz(phonon, [[0, 0, 0]])[0]
        sets, labels = [[i] for i in range(len(freqs))], None
    modes = []
    for k, band_set in enumerate(sets):
        f = float(np.mean(freqs[list(band_set)]))
        modes.append({"frequency_thz": f, "frequency_cm1": f * THZ_TO_CM1, "degeneracy": len(band_set),
                      "band_indices": [int(b) for b in band_set], "acoustic": min(band_set) < 3,
                      "label": (labels[k] if labels is not None and labels[k] else None)})
    return modes


def _base_label(label: str | None) -> str | None:
    """'E2g^1', 'E_2g(2)', 'E2g' -> 'E2g' for matching with phonopy's labels."""
    if label is None:
        return None
    return re.sub(r"(\^.*|\(.*\)|_|\s|')", "", label).replace("''", "")


def compare_gamma(modes: list[dict], reference) -> dict:
    """Match reference Γ frequencies (cm⁻¹; dict label -> value or list) to computed optical modes.

    A labelled reference is matched to the nearest unused mode with the same irrep
    label; without such a mode to the nearest unlabelled (then any) unused mode,
    and the row says ``label_matched: False``.  Modes degenerate with the
    acoustic bands (e.g. rigid-layer modes of decoupled layers) are not matched.
    """
    optical = [m for m in modes if min(m["band_indices"]) >= 3]  # bands 0-2 are acoustic at Γ
    if isinstance(reference, dict):
        items = list(reference.items())
    else:
        items = [(None, float(v)) for v in reference]
    used, rows = set(), []
    for label, ref in sorted(items, key=lambda kv: kv[1]):
        base = _base_label(label)
        free = [k for k in range(len(optical)) if k not in used]
        cands = [k for k in free if base is not None and _base_label(optical[k]["label"]) == base]
        label_matched = bool(cands)
        if not cands:  # no mode with that irrep: unlabelled modes first, then any
            cands = [k for k in free if optical[k]["label"] is None] or free
        if not cands:
            rows.append({"label": label, "reference_cm1": ref, "value_cm1": None})
            continue
        k = min(cands, key=lambda j: abs(optical[j]["frequency_cm1"] - ref))
        used.add(k)
        m = optical[k]
        rows.append({"label": label, "mode_label": m["label"], "label_matched": label_matched,
                     "reference_cm1": float(ref),
                     "value_cm1": m["frequency_cm1"], "difference_cm1": m["frequency_cm1"] - ref,
                     "relative_error_percent": 100 * (m["frequency_cm1"] - ref) / ref if ref else None})
    diffs = [abs(r["difference_cm1"]) for r in rows if r.get("difference_cm1") is not None]
    return {"modes": rows, "mae_cm1": float(np.mean(diffs)) if diffs else None}


@dataclass
class PhononResult(JSONResult):
    formula: str
    path: str                                  # ASE special-point path, e.g. "GMKGALHA,LM,KH"
    reference_gamma_cm1: object = None
    reference_file: str | None = None
    reference: dict = field(default_factory=dict)   # bands/Γ of the reference phonopy file
    calculators: dict = field(default_factory=dict)
    # name -> {"supercell", "n_displacements", "relaxation", "gamma_modes", "gamma_frequencies_cm1",
    #          "bands": {"x", "special_x", "special_labels", "frequencies_thz"}, "dos": {...},
    #          "min_frequency_thz", "comparison": {...}, "reused_forces", "seconds"} or {"error": ...}

    def gamma_table(self) -> list[dict]:
        rows = []
        for name, res in self.calculators.items():
            for m in res.get("gamma_modes", []):
                rows.append({"calculator": name, "label": m["label"], "degeneracy": m["degeneracy"],
                             "frequency_cm1": m["frequency_cm1"], "frequency_thz": m["frequency_thz"]})
        return rows


def _bands(phonon, cell, path: str | None, npoints: int):
    bp = cell.bandpath(path=path, npoints=npoints)
    freqs = _frequencies_thz(phonon, bp.kpts)
    x, special_x, labels = bp.get_linear_kpoint_axis()
    return bp.path, {"x": x, "special_x": special_x, "special_labels": labels, "qpoints": bp.kpts,
                     "frequencies_thz": freqs}


@dataclass
class Phonons(Kernel):
    """Bands, DOS and Γ modes of one structure with one calculator, compared with the references."""

    path: str
    supercell: object = None
    distance: float = 0.01
    relax_first: bool = True
    fmax: float = 0.002
    steps: int = 500
    symmetry: bool = True
    npoints: int = 120
    mesh: tuple = (16, 16, 16)
    reference_gamma_cm1: object = None
    reference: dict = field(default_factory=dict)   # bands/Γ of a reference phonopy file
    cache_dir: object = None
    progress: bool = False
    desc = "phonons"

    def calc(self, atoms, calculator, label: str = "") -> dict:
        if self.relax_first:
            work, info = relax(atoms, calculator, fmax=self.fmax, steps=self.steps, symmetry=self.symmetry)
        else:
            work, info = atoms.copy(), {}
        cache = (Path(self.cache_dir) / f"phonopy_{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}.yaml"
                 if self.cache_dir else None)
        phonon, reused = phonopy_for(calculator, work, supercell=self.supercell, distance=self.distance,
                                     progress=self.progress, desc=f"phonons {label}", cache=cache)
        _, bands = _bands(phonon, work.cell, self.path, self.npoints)
        modes = gamma_modes(phonon)
        phonon.run_mesh(list(self.mesh), is_gamma_center=True)
        phonon.run_total_dos()
        dos = phonon.total_dos
        gamma_cm1 = _frequencies_thz(phonon, [[0, 0, 0]])[0] * THZ_TO_CM1
        res = {"supercell": np.asarray(phonon.supercell_matrix).tolist(),
               "n_displacements": len(phonon.displacements), "relaxation": info,
               "lattice": dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), work.cell.cellpar())),
               "gamma_modes": modes, "gamma_frequencies_cm1": gamma_cm1, "bands": bands,
               "dos": {"frequency_thz": dos.frequency_points, "total_dos": dos.dos},
               "min_frequency_thz": float(bands["frequencies_thz"].min()), "comparison": {},
               "reused_forces": reused}
        if self.reference_gamma_cm1 is not None:
            res["comparison"]["gamma"] = compare_gamma(modes, self.reference_gamma_cm1)
        if self.reference:
            res["comparison"]["phonopy_file"] = _compare_bands(gamma_cm1, bands, self.reference)
        return res


def _compare_bands(gamma_cm1, bands, reference) -> dict:
    ref_g = np.asarray(reference["gamma_frequencies_cm1"])
    ref_b = np.asarray(reference["bands"]["frequencies_thz"]) * THZ_TO_CM1
    mine_b = bands["frequencies_thz"] * THZ_TO_CM1
    if ref_b.shape != mine_b.shape:
        return {"skipped": f"reference has {ref_b.shape[1]} bands, this cell {mine_b.shape[1]}"}
    return {"gamma_max_abs_diff_cm1": float(np.abs(gamma_cm1 - ref_g).max()),
            "bands_mae_cm1": float(np.abs(mine_b - ref_b).mean()),
            "bands_max_abs_diff_cm1": float(np.abs(mine_b - ref_b).max())}


def phonons(calculators, atoms, *, supercell=None, distance: float = 0.01, relax_first: bool = True,
            fmax: float = 0.002, steps: int = 500, symmetry: bool = True, path: str | None = None,
            npoints: int = 120, mesh=(16, 16, 16), reference_gamma_cm1=None, reference_phonopy=None,
            cache_dir=None, progress: bool = False) -> PhononResult:
    """Bands, DOS and Γ modes of ``atoms`` for each calculator (see module doc).

    ``supercell``: diagonal repetitions (default: lengths >= 10 Å) or a 3x3 matrix.
    ``reference_gamma_cm1``: {"E2g^1": 356, "A1g": 421} or a list of cm⁻¹.
    ``reference_phonopy``: a phonopy yaml with forces or force constants.
    A calculator that fails is recorded; the others still run.
    """
    import phonopy

    result = PhononResult(formula=atoms.get_chemical_formula("metal"), path=path or atoms.cell.bandpath(npoints=0).path,
                          reference_gamma_cm1=reference_gamma_cm1,
                          reference_file=str(reference_phonopy) if reference_phonopy else None)
    if reference_phonopy is not None:
        ref = phonopy.load(reference_phonopy, log_level=0)
        from ase.cell import Cell

        _, bands = _bands(ref, Cell(ref.primitive.cell), result.path, npoints)
        result.reference = {"gamma_frequencies_cm1": _frequencies_thz(ref, [[0, 0, 0]])[0] * THZ_TO_CM1,
                            "bands": bands}
    kernel = Phonons(path=result.path, supercell=supercell, distance=distance, relax_first=relax_first, fmax=fmax,
                     steps=steps, symmetry=symmetry, npoints=npoints, mesh=tuple(mesh),
                     reference_gamma_cm1=reference_gamma_cm1, reference=result.reference, cache_dir=cache_dir,
                     progress=progress)
    for name, outcome in run_calculators(calculators, kernel, atoms, progress=progress).items():
        result.calculators[name] = outcome.record()
    return result


def plot_phonons(result: PhononResult, path=None, *, unit: str = "cm-1", with_dos: bool = True):
    """Bands of all calculators on one figure (x mapped onto the first one's special points), DOS beside."""
    import matplotlib.pyplot as plt

    scale, ylabel = (THZ_TO_CM1, "frequency (cm$^{-1}$)") if unit == "cm-1" else (1.0, "frequency (THz)")
    names = [n for n, r in result.calculators.items() if "bands" in r]
    if with_dos:
        fig, (ax, axd) = plt.subplots(1, 2, figsize=(9, 4.5), sharey=True, gridspec_kw={"width_ratios": [4, 1]})
    else:
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
    series = [(n, result.calculators[n]["bands"]) for n in names]
    if result.reference:
        series.append(("reference", result.reference["bands"]))
    if not series:
        ax.text(0.5, 0.5, "no phonons", ha="center", transform=ax.transAxes)
        return fig
    base = series[0][1]
    base_sx = np.asarray(base["special_x"])
    colors = color_cycle(len(series))
    for (name, bands), color in zip(series, colors):
        x = np.interp(np.asarray(bands["x"]), np.asarray(bands["special_x"]), base_sx)
        freqs = np.asarray(bands["frequencies_thz"]) * scale
        breaks = np.flatnonzero(np.diff(x) == 0) + 1  # path jumps (e.g. "L,M"): no line across
        x = np.insert(x, breaks, np.nan)
        freqs = np.insert(freqs, breaks, np.nan, axis=0)
        style = "k--" if name == "reference" else "-"
        lines = ax.plot(x, freqs, style, lw=1.0, color=None if name == "reference" else color)
        lines[0].set_label(name)
        if with_dos and name != "reference":
            dos = result.calculators[name]["dos"]
            axd.plot(dos["total_dos"], np.asarray(dos["frequency_thz"]) * scale, color=color, lw=1.0)
    for sx in base_sx:
        ax.axvline(sx, color="0.7", lw=0.6)
    ax.axhline(0, color="0.5", lw=0.6)
    ticks, labels = [], []
    for sx, lab in zip(base_sx, base["special_labels"]):
        lab = "Γ" if lab == "G" else lab
        if ticks and np.isclose(sx, ticks[-1]):
            labels[-1] += "|" + lab
        else:
            ticks.append(sx)
            labels.append(lab)
    ax.set_xticks(ticks, labels)
    ax.set_xlim(base_sx[0], base_sx[-1])
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(result.formula)
    if with_dos:
        axd.set_xlabel("DOS")
        axd.set_xticks([])
    return finish(fig, path)
