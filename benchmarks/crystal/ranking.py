"""Configuration ranking: do calculators order vacancy/antisite arrangements as a reference does?

:func:`configurations` enumerates (or samples) the ways to put given numbers of
species — ``"X"`` is a vacancy — on a set of sites of a supercell, keeping one
representative per symmetry class of the parent cell (spglib) with its
multiplicity.  :func:`rank_configurations` computes their energies with each
calculator, statically and (optionally) after a capped relaxation with each
calculator, and compares every calculator with the reference: Spearman ρ
(scipy.stats.spearmanr) and RMSE of energies after removing the mean offset
(absolute energies of different codes differ), in meV/atom at the edge.
Energies inside are eV/atom.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult
from ..core.runner import Kernel, calculator_set, run_calculators

VACANCY = "X"


def symmetry_permutations(atoms, sites, *, symprec: float = 1e-3) -> np.ndarray:
    """Permutations of ``sites`` (positions 0..len(sites)-1) induced by the space group of ``atoms``.

    Includes the pure translations of a supercell.  Operations that map a site
    outside ``sites`` are dropped.
    """
    import warnings

    import spglib

    sites = [int(i) for i in sites]
    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # spglib's notice about its error handling
        sym = spglib.get_symmetry(cell, symprec=symprec)
    if sym is None:
        raise ValueError("spglib found no symmetry of the parent cell")
    frac = atoms.get_scaled_positions()[sites]
    perms = []
    for rot, trans in zip(sym["rotations"], sym["translations"]):
        image = frac @ rot.T + trans
        d = image[:, None, :] - frac[None, :, :]
        d -= np.round(d)
        dist = np.linalg.norm(d @ atoms.cell.array, axis=2)
        j = dist.argmin(axis=1)
        if np.all(dist[np.arange(len(sites)), j] < 10 * symprec + 1e-6) and len(set(j)) == len(sites):
            perms.append(j)
    if not perms:
        perms = [np.arange(len(sites))]
    return np.unique(np.array(perms), axis=0)


def _canonical(occ: np.ndarray, perms: np.ndarray) -> tuple:
    # occupation of site perm[k] moves to site k; the lexicographic minimum names the class
    images = np.empty_like(perms)
    images[np.arange(len(perms))[:, None], perms] = occ[None, :]
    return min(map(tuple, images))


def _all_occupations(species, counts, n):
    """Every arrangement of ``counts[k]`` copies of species k on n sites (multiset permutations)."""
    def rec(free, k):
        if k == len(species) - 1:
            yield {k: free}
            return
        for chosen in itertools.combinations(free, counts[k]):
            rest = tuple(i for i in free if i not in set(chosen))
            for tail in rec(rest, k + 1):
                yield {k: chosen, **tail}
    for assign in rec(tuple(range(n)), 0):
        occ = np.empty(n, dtype=int)
        for k, idx in assign.items():
            occ[list(idx)] = k
        yield occ


def n_arrangements(counts) -> int:
    """Number of arrangements (multinomial coefficient) of ``{species: count}``."""
    total = math.factorial(sum(counts.values()))
    for c in counts.values():
        total //= math.factorial(c)
    return total


def configurations(atoms, sites, counts: dict, *, unique: bool = True, max_configs: int | None = None,
                   max_enumerate: int = 200_000, seed: int = 0, symprec: float = 1e-3) -> list:
    """Structures with ``counts`` = ``{species: number}`` (``"X"`` = vacancy) on ``sites`` of ``atoms``.

    ``sites``: atom indices, or an element symbol meaning all its atoms.  All
    arrangements are enumerated when there are at most ``max_enumerate``,
    reduced to one per symmetry class (``unique``), and, if more than
    ``max_configs`` remain, a seeded random subset is kept.  Otherwise
    ``max_configs`` (default 100) distinct classes are drawn at random.  Each
    structure has vacancies removed and ``info`` keys ``occupation`` (species per
    site, ``X`` for a vacancy), ``config_id`` and ``multiplicity`` (arrangements
    in its symmetry class; 0 when sampled).
    """
    if isinstance(sites, str):
        sites = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == sites]
    sites = [int(i) for i in sites]
    species = list(counts)
    ncounts = [int(counts[s]) for s in species]
    if sum(ncounts) != len(sites):
        raise ValueError(f"counts {counts} add up to {sum(ncounts)}, not to the {len(sites)} sites")
    if len(set(sites)) != len(sites):
        raise ValueError("sites repeat")
    perms = symmetry_permutations(atoms, sites, symprec=symprec) if unique else np.arange(len(sites))[None]
    rng = np.random.default_rng(seed)
    total = n_arrangements(dict(zip(species, ncounts)))
    classes: dict[tuple, int] = {}
    if total <= max_enumerate:
        for occ in _all_occupations(species, ncounts, len(sites)):
            key = _canonical(occ, perms)
            classes[key] = classes.get(key, 0) + 1
        keys = list(classes)
        if max_configs is not None and len(keys) > max_configs:
            keys = [keys[i] for i in sorted(rng.choice(len(keys), max_configs, replace=False))]
    else:
        want = max_configs or 100
        base = np.repeat(np.arange(len(species)), ncounts)
        tries = 0
        while len(classes) < want and tries < 50 * want:
            tries += 1
            classes.setdefault(_canonical(rng.permutation(base), perms), 0)
        keys = list(classes)
    out = []
    for cid, key in enumerate(keys):
        new = atoms.copy()
        new.calc = None
        symbols = new.get_chemical_symbols()
        occupation = [species[k] for k in key]
        for site, sp in zip(sites, occupation):
            symbols[site] = sp
        vac = [site for site, sp in zip(sites, occupation) if sp == VACANCY]
        new.set_chemical_symbols(symbols)  # "X" (atomic number 0) on vacancies, removed below
        del new[vac]
        new.info.update(occupation="".join(f"{s}," for s in occupation).rstrip(","), config_id=cid,
                        multiplicity=int(classes[key]))
        out.append(new)
    return out


def _energy(atoms, calc, relax: bool, cell: bool, fmax: float, steps: int):
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    work = atoms.copy()
    work.calc = calc
    nsteps = 0
    if relax:
        opt = BFGS(FrechetCellFilter(work) if cell else work, logfile=None)
        opt.run(fmax=fmax, steps=steps)
        nsteps = int(opt.nsteps)
    return float(work.get_potential_energy()) / len(work), nsteps


def compare(energies, reference) -> dict:
    """Spearman ρ (and p), RMSE and MAE after removing the mean offset (meV/atom), same lowest configuration."""
    from scipy.stats import spearmanr

    e, r = np.asarray(energies, float), np.asarray(reference, float)
    ok = np.isfinite(e) & np.isfinite(r)
    e, r = e[ok], r[ok]
    if len(e) < 2:
        return {"n": int(len(e)), "spearman_rho": None}
    rho, p = spearmanr(e, r)
    d = (e - e.mean()) - (r - r.mean())
    return {"n": int(len(e)), "spearman_rho": float(rho), "spearman_p": float(p),
            "rmse_mev_per_atom": float(1000 * np.sqrt(np.mean(d**2))),
            "mae_mev_per_atom": float(1000 * np.mean(np.abs(d))),
            "same_lowest": bool(np.argmin(e) == np.argmin(r))}


@dataclass
class RankingResult(JSONResult):
    n_configs: int
    occupations: list
    multiplicities: list
    reference: str
    relaxed: bool
    energies_ev_per_atom: dict                     # name -> static energies (NaN where a calculation failed)
    relaxed_energies_ev_per_atom: dict = field(default_factory=dict)
    relax_steps: dict = field(default_factory=dict)
    static: dict = field(default_factory=dict)     # name -> compare() against the reference
    relaxed_stats: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)     # name -> [messages]
    seconds: dict = field(default_factory=dict)

    def table(self) -> list[dict]:
        rows = []
        for mode, stats in (("static", self.static), ("relaxed", self.relaxed_stats)):
            for name, s in stats.items():
                rows.append({"calculator": name, "mode": mode, **s})
        return rows

    def summary(self) -> str:
        lines = [f"ranking of {self.n_configs} configurations against {self.reference}"]
        for row in self.table():
            if row.get("spearman_rho") is None:
                lines.append(f"  {row['calculator']:<14} {row['mode']:<8} too few energies")
                continue
            lines.append(f"  {row['calculator']:<14} {row['mode']:<8} ρ {row['spearman_rho']:.3f}  "
                         f"RMSE {row['rmse_mev_per_atom']:.2f} meV/atom  same lowest: {row['same_lowest']}")
        return "\n".join(lines)


@dataclass
class ConfigurationEnergies(Kernel):
    """Energies (eV/atom) of a list of configurations with one calculator, static and optionally relaxed.

    A configuration that fails gets NaN and an entry in ``errors``; the others still run.
    """

    relax: bool = False
    cell: bool = False
    fmax: float = 0.05
    steps: int = 100
    progress: bool = False
    desc = "rank"

    def calc(self, configs, calculator, label: str = "") -> dict:
        from tqdm.auto import tqdm

        out = {"static": [], "relaxed": [], "steps": [], "errors": []}
        for atoms in tqdm(configs, desc=f"rank {label}", disable=not self.progress, unit="config"):
            for relaxing in (False, True) if self.relax else (False,):
                try:
                    e, n = _energy(atoms, calculator, relaxing, self.cell, self.fmax, self.steps)
                except Exception as err:  # noqa: BLE001 - recorded, the run goes on
                    out["errors"].append(f"config {atoms.info.get('config_id')}: {type(err).__name__}: {err}")
                    e, n = float("nan"), 0
                out["relaxed" if relaxing else "static"].append(e)
                if relaxing:
                    out["steps"].append(n)
        return out


def rank_configurations(calculators, configs, *, reference: str | None = None, relax: bool = False,
                        cell: bool = False, fmax: float = 0.05, steps: int = 100,
                        progress: bool = False) -> RankingResult:
    """Energies (eV/atom) of ``configs`` with each calculator, static and optionally relaxed; ρ, RMSE.

    ``reference``: the name of the reference calculator (default: the first).
    ``relax``: also relax each configuration with each calculator (BFGS,
    ``steps`` at most; ``cell`` adds the cell through FrechetCellFilter) and
    compare energies at each calculator's own relaxed structures.
    """
    calculators = calculator_set(calculators)
    configs = list(configs)
    if not configs:
        raise ValueError("no configurations")
    reference = reference or next(iter(calculators))
    if reference not in calculators:
        raise ValueError(f"reference {reference!r} is not one of {list(calculators)}")
    kernel = ConfigurationEnergies(relax=relax, cell=cell, fmax=fmax, steps=steps, progress=progress)
    static, relaxed, nsteps, errors, seconds = {}, {}, {}, {}, {}
    for name, outcome in run_calculators(calculators, kernel, configs).items():
        value = outcome.value if outcome.ok else {"static": [float("nan")] * len(configs), "errors": [outcome.error],
                                                  "relaxed": [float("nan")] * len(configs), "steps": [0] * len(configs)}
        static[name] = value["static"]
        if relax:
            relaxed[name], nsteps[name] = value["relaxed"], value["steps"]
        if value["errors"]:
            errors[name] = value["errors"]
        seconds[name] = outcome.seconds
    result = RankingResult(n_configs=len(configs), occupations=[a.info.get("occupation") for a in configs],
                           multiplicities=[a.info.get("multiplicity") for a in configs], reference=reference,
                           relaxed=relax, energies_ev_per_atom=static, relaxed_energies_ev_per_atom=relaxed,
                           relax_steps=nsteps, errors=errors, seconds=seconds)
    result.static = {n: compare(e, static[reference]) for n, e in static.items() if n != reference}
    if relax:
        result.relaxed_stats = {n: compare(e, relaxed[reference]) for n, e in relaxed.items() if n != reference}
    return result


def plot_ranking(result: RankingResult, path=None):
    """Energy (meV/atom, mean removed) of each calculator vs the reference; static and relaxed panels."""
    import matplotlib.pyplot as plt

    panels = [("static", result.energies_ev_per_atom, result.static)]
    if result.relaxed:
        panels.append(("relaxed", result.relaxed_energies_ev_per_atom, result.relaxed_stats))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), squeeze=False)
    names = [n for n in result.energies_ev_per_atom if n != result.reference]
    colors = color_cycle(max(len(names), 1))
    for ax, (mode, energies, stats) in zip(axes[0], panels):
        ref = np.asarray(energies[result.reference], float)
        x = 1000 * (ref - np.nanmean(ref))
        lo, hi = np.nanmin(x), np.nanmax(x)
        for color, name in zip(colors, names):
            y = np.asarray(energies[name], float)
            y = 1000 * (y - np.nanmean(y))
            s = stats.get(name, {})
            rho = s.get("spearman_rho")
            ax.scatter(x, y, s=14, color=color, label=f"{name}: ρ {rho:.3f}, RMSE {s['rmse_mev_per_atom']:.2f} meV/atom"
                       if rho is not None else name)
            lo, hi = min(lo, np.nanmin(y)), max(hi, np.nanmax(y))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"{result.reference} E − mean (meV/atom)")
        ax.set_ylabel("model E − mean (meV/atom)")
        ax.set_title(f"{mode}, {result.n_configs} configurations")
        ax.legend(fontsize=7)
    return finish(fig, path)
