"""Equation of state and the Δ metric between calculators.

The cell of a crystal is scaled isotropically over a range of linear strains
(default −10 % … +20 % per lattice vector in 2 % steps, i.e. volumes 0.9³–1.2³
V_input), optionally relaxing the atoms (``relax="positions"``) or atoms and cell
shape at fixed volume (``relax="shape"``, ASE's FrechetCellFilter with
``constant_volume=True``) at each volume.  E(V) per atom is fitted with ASE's
:class:`ase.eos.EquationOfState` (Birch–Murnaghan by default), giving V0
(Å³/atom), E0 (eV/atom), B0 (GPa at the edge only) and B0'.

Δ between a model and a reference is the mean absolute difference of the two
fitted curves over the volumes both cover,

    Δ = ∫ |E_model(V) − E_ref(V)| dV / (V_max − V_min),

per atom, reported in meV/atom.  Absolute energies of different codes differ by
element references, so by default each curve is measured from its own minimum
E0 (``align="minimum"``); ``align="none"`` compares raw energies.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult
from ..core.runner import Kernel, run_calculators

DEFAULT_STRAINS = tuple(np.round(np.arange(-0.10, 0.2001, 0.02), 4))  # linear, per lattice vector


def linear_strains(minimum: float = -0.10, maximum: float = 0.20, step: float = 0.02) -> list[float]:
    """Linear strains ``minimum, minimum + step, ..., maximum`` (fractions)."""
    n = int(round((maximum - minimum) / step)) + 1
    return [float(round(minimum + i * step, 10)) for i in range(n)]


def scaled_cells(atoms, strains=DEFAULT_STRAINS) -> list:
    """Copies of ``atoms`` with every lattice vector scaled by ``1 + strain`` (atoms follow)."""
    out = []
    for s in strains:
        new = atoms.copy()
        new.calc = None
        new.set_cell(atoms.cell * (1.0 + float(s)), scale_atoms=True)
        new.info["eos_linear_strain"] = float(s)
        out.append(new)
    return out


def _relax_fixed_volume(atoms, calc, mode: str, fmax: float, steps: int):
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    work = atoms.copy()
    work.calc = calc
    if mode == "none":
        return work, 0
    if mode == "positions":
        target = work
    elif mode == "shape":
        target = FrechetCellFilter(work, constant_volume=True)
    else:
        raise ValueError(f"relax must be 'none', 'positions' or 'shape', not {mode!r}")
    opt = BFGS(target, logfile=None)
    opt.run(fmax=fmax, steps=steps)
    return work, int(opt.nsteps)


def eos_points(atoms, calc, strains=DEFAULT_STRAINS, *, relax: str = "none", fmax: float = 0.01,
               steps: int = 200) -> dict:
    """Volumes (Å³/atom) and energies (eV/atom) of ``atoms`` scaled by ``strains`` with ``calc``."""
    volumes, energies, nsteps = [], [], []
    for cell in scaled_cells(atoms, strains):
        work, n = _relax_fixed_volume(cell, calc, relax, fmax, steps)
        volumes.append(work.get_volume() / len(work))
        energies.append(float(work.get_potential_energy()) / len(work))
        nsteps.append(n)
    return {"volumes_per_atom": volumes, "energies_per_atom": energies, "relax_steps": nsteps}


@dataclass
class EOSFit(JSONResult):
    """A fitted E(V) per atom: V0 (Å³/atom), E0 (eV/atom), B0 (GPa), B0' (dimensionless)."""

    eos: str
    volumes_per_atom: list
    energies_per_atom: list
    v0_a3_per_atom: float
    e0_ev_per_atom: float
    b0_gpa: float
    b0_prime: float
    parameters: list = field(default_factory=list)   # ASE's eos_parameters (eV, eV/Å³, -, Å³), per atom
    rms_residual_mev_per_atom: float = 0.0

    def energy(self, volumes) -> np.ndarray:
        """The fitted E(V), eV/atom, at ``volumes`` (Å³/atom)."""
        eos = _fitted_ase_eos(self.volumes_per_atom, self.energies_per_atom, self.eos)
        return _evaluate(eos, np.asarray(volumes, float))


def _fitted_ase_eos(volumes, energies, name):
    from ase.eos import EquationOfState

    eos = EquationOfState(np.asarray(volumes, float), np.asarray(energies, float), eos=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eos.fit(warn=False)
    return eos


def _evaluate(eos, v):
    if eos.eos_string == "sj":
        return eos.fit0(v ** (-1.0 / 3.0))
    return eos.func(v, *eos.eos_parameters)


def fit_eos(volumes_per_atom, energies_per_atom, eos: str = "birchmurnaghan") -> EOSFit:
    """Fit E(V) with ASE's EquationOfState; B0' from the parameters or from the fitted curve."""
    from ase import units

    v = np.asarray(volumes_per_atom, float)
    e = np.asarray(energies_per_atom, float)
    if len(v) < 5:
        raise ValueError(f"an EOS fit needs at least 5 volumes, got {len(v)}")
    fitted = _fitted_ase_eos(v, e, eos)
    v0, e0, b0 = float(fitted.v0), float(fitted.e0), float(fitted.B)
    params = list(map(float, getattr(fitted, "eos_parameters", []) if eos != "sj" else []))
    if eos in ("birchmurnaghan", "murnaghan", "birch", "vinet", "pouriertarantola"):
        bp = params[2]
    else:  # B' = dB/dP = -1 - V E'''/E'' at V0, from the fitted curve
        h = 1e-3 * v0
        ee = _evaluate(fitted, v0 + h * np.arange(-2, 3))
        d2 = (ee[3] - 2 * ee[2] + ee[1]) / h**2
        d3 = (ee[4] - 2 * ee[3] + 2 * ee[1] - ee[0]) / (2 * h**3)
        bp = float(-1.0 - v0 * d3 / d2)
    resid = e - _evaluate(fitted, v)
    return EOSFit(eos=eos, volumes_per_atom=v.tolist(), energies_per_atom=e.tolist(), v0_a3_per_atom=v0,
                  e0_ev_per_atom=e0, b0_gpa=b0 / units.GPa, b0_prime=bp, parameters=params,
                  rms_residual_mev_per_atom=float(1000 * np.sqrt(np.mean(resid**2))))


def delta(fit_model: EOSFit, fit_ref: EOSFit, *, align: str = "minimum", n_grid: int = 2001) -> float:
    """Δ in meV/atom: mean |E_model − E_ref| over the volumes both fits cover."""
    vmin = max(min(fit_model.volumes_per_atom), min(fit_ref.volumes_per_atom))
    vmax = min(max(fit_model.volumes_per_atom), max(fit_ref.volumes_per_atom))
    if not vmax > vmin:
        raise ValueError("the two E(V) curves cover no common volume range")
    v = np.linspace(vmin, vmax, n_grid)
    diff = fit_model.energy(v) - fit_ref.energy(v)
    if align == "minimum":
        diff -= fit_model.e0_ev_per_atom - fit_ref.e0_ev_per_atom
    elif align != "none":
        raise ValueError(f"align must be 'minimum' or 'none', not {align!r}")
    return float(1000 * np.trapezoid(np.abs(diff), v) / (vmax - vmin))


@dataclass
class EOSResult(JSONResult):
    formula: str
    n_atoms: int
    strains: list
    relax: str
    eos: str
    align: str
    reference: str | None
    fits: dict                                   # name -> EOSFit (as dict)
    delta_mev_per_atom: dict = field(default_factory=dict)   # name -> Δ against the reference
    errors: dict = field(default_factory=dict)  # name -> error message
    seconds: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict):
        out = super().from_dict(data)
        out.fits = {k: EOSFit.from_dict(v) if isinstance(v, dict) else v for k, v in out.fits.items()}
        return out

    def table(self) -> list[dict]:
        rows = []
        for name, fit in self.fits.items():
            rows.append({"calculator": name, "v0_a3_per_atom": fit.v0_a3_per_atom, "e0_ev_per_atom": fit.e0_ev_per_atom,
                         "b0_gpa": fit.b0_gpa, "b0_prime": fit.b0_prime,
                         "rms_residual_mev_per_atom": fit.rms_residual_mev_per_atom,
                         "delta_mev_per_atom": self.delta_mev_per_atom.get(name)})
        for name, err in self.errors.items():
            rows.append({"calculator": name, "error": err})
        return rows

    def summary(self) -> str:
        lines = [f"EOS of {self.formula} ({self.n_atoms} atoms), {self.eos}, relax={self.relax}, "
                 f"reference {self.reference}"]
        for row in self.table():
            if "error" in row:
                lines.append(f"  {row['calculator']}: failed: {row['error']}")
                continue
            d = row["delta_mev_per_atom"]
            lines.append(f"  {row['calculator']:<14} V0 {row['v0_a3_per_atom']:.4f} Å³/atom  B0 {row['b0_gpa']:.2f} GPa  "
                         f"B0' {row['b0_prime']:.2f}" + (f"  Δ {d:.3f} meV/atom" if d is not None else ""))
        return "\n".join(lines)


@dataclass
class EnergyVolume(Kernel):
    """E(V) of one structure with one calculator over ``strains``, fitted."""

    strains: list
    relax: str = "none"
    fmax: float = 0.01
    steps: int = 200
    eos_name: str = "birchmurnaghan"
    desc = "EOS"

    def calc(self, atoms, calculator, label: str = "") -> dict:
        pts = eos_points(atoms, calculator, self.strains, relax=self.relax, fmax=self.fmax, steps=self.steps)
        return {"fit": fit_eos(pts["volumes_per_atom"], pts["energies_per_atom"], self.eos_name)}


def eos(calculators, atoms, *, strains=DEFAULT_STRAINS, relax: str = "none", fmax: float = 0.01,
        steps: int = 200, eos_name: str = "birchmurnaghan", reference: str | None = None,
        reference_points: dict | None = None, align: str = "minimum", progress: bool = False) -> EOSResult:
    """E(V) of ``atoms`` for each calculator, fitted, and Δ against ``reference``.

    ``reference`` names one of ``calculators`` (default: the first, or
    ``"reference"`` when ``reference_points`` is given).  ``reference_points``:
    ``{"volumes_per_atom": [...], "energies_per_atom": [...]}`` computed
    elsewhere, e.g. by :func:`ase_ftcalc.dft.eos.dft_eos_points`; it enters as
    the calculator ``"reference"``.
    """
    strains = [float(s) for s in strains]
    fits, errors, seconds = {}, {}, {}
    if reference_points is not None:
        fits["reference"] = fit_eos(reference_points["volumes_per_atom"], reference_points["energies_per_atom"],
                                    eos_name)
        reference = reference or "reference"
    kernel = EnergyVolume(strains=strains, relax=relax, fmax=fmax, steps=steps, eos_name=eos_name)
    outcomes = run_calculators(calculators, kernel, atoms, progress=progress) if calculators else {}
    for name, outcome in outcomes.items():
        if outcome.ok:
            fits[name] = outcome.value["fit"]
        else:
            errors[name] = outcome.error
        seconds[name] = outcome.seconds
    if reference is None and fits:
        reference = next(iter(fits))
    deltas = {}
    if reference in fits:
        for name, fit in fits.items():
            deltas[name] = delta(fit, fits[reference], align=align)
    elif reference is not None:
        errors.setdefault(reference, "reference has no fit")
    return EOSResult(formula=atoms.get_chemical_formula(), n_atoms=len(atoms), strains=strains, relax=relax,
                     eos=eos_name, align=align, reference=reference, fits=fits, delta_mev_per_atom=deltas,
                     errors=errors, seconds=seconds)


def plot_eos(result: EOSResult, path=None):
    """Left: E − E0 (meV/atom) vs V (Å³/atom), points and fits; right: Δ against the reference."""
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [2, 1]})
    colors = color_cycle(len(result.fits))
    for color, (name, fit) in zip(colors, result.fits.items()):
        v = np.asarray(fit.volumes_per_atom)
        grid = np.linspace(v.min(), v.max(), 300)
        e0 = fit.e0_ev_per_atom
        ax.plot(v, 1000 * (np.asarray(fit.energies_per_atom) - e0), "o", color=color, ms=4)
        ax.plot(grid, 1000 * (fit.energy(grid) - e0), "-", color=color,
                label=f"{name}: V0 {fit.v0_a3_per_atom:.3f} Å³, B0 {fit.b0_gpa:.1f} GPa, B0' {fit.b0_prime:.2f}")
    ax.set_xlabel("volume (Å³/atom)")
    ax.set_ylabel("E − E0 (meV/atom)")
    ax.legend(fontsize=7)
    names = [n for n in result.delta_mev_per_atom if n != result.reference]
    bx.bar(range(len(names)), [result.delta_mev_per_atom[n] for n in names],
           color=[colors[list(result.fits).index(n)] for n in names])
    bx.set_xticks(range(len(names)), names, rotation=30, ha="right")
    bx.set_ylabel(f"Δ vs {result.reference} (meV/atom)")
    return finish(fig, path)
