"""Metropolis Monte Carlo and simulated annealing on a lattice of sites, with any ASE calculator.

The state is a fixed set of sites (fractional coordinates in a cell), each
holding a species or a vacancy (``"X"``, ASE's ghost symbol: such atoms in the
input structure are vacancies; :func:`with_vacancies` makes some).  Moves:

- **swap**: exchange the species of two sites of different species within one
  swap group, e.g. ``("Cu", "Au")`` (antisites) or ``("Cr", "X")`` (metal ↔
  vacancy).  The pair is uniform over all differing pairs of the group, a
  symmetric proposal.
- **volume**: ln V → ln V + U(−δ, δ), the cell scaled isotropically with the
  sites.  NPT acceptance ``min(1, exp(−β(ΔE + PΔV) + (N + 1) ln(V'/V)))``.

Optionally every trial state is relaxed (``relax_steps`` BFGS steps at most,
positions, or positions and cell with FrechetCellFilter) and its relaxed
energy enters the acceptance; accepted trial states keep relaxed positions.

Temperatures fall geometrically from ``t_start_k`` to ``t_end_k`` over
``n_steps`` in each of ``n_restarts`` anneals; each restart begins from the
best state so far (or the current one, or a random shuffle).  Every step is
recorded (temperature, energy, volume, move, accepted); accepted states can go
to an extxyz trajectory; with ``checkpoint`` the run is resumable and an
interrupted run continued gives the same result as an uninterrupted one.
Units: eV, Å, K; pressure in GPa at the edge (``pressure_gpa``).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.plotting import color_cycle, finish
from ..core.results import JSONResult, jsonable

VACANCY = "X"


def with_vacancies(atoms, element: str, n: int, seed: int = 0):
    """A copy of ``atoms`` with ``n`` random atoms of ``element`` turned into vacancies (``X``)."""
    new = atoms.copy()
    idx = [i for i, s in enumerate(new.get_chemical_symbols()) if s == element]
    if n > len(idx):
        raise ValueError(f"only {len(idx)} {element} atoms, cannot make {n} vacancies")
    symbols = new.get_chemical_symbols()
    for i in np.random.default_rng(seed).choice(idx, n, replace=False):
        symbols[int(i)] = VACANCY
    new.set_chemical_symbols(symbols)
    return new


class _State:
    def __init__(self, occ, frac, cell):
        self.occ = list(occ)
        self.frac = np.array(frac, float)
        self.cell = np.array(cell, float)

    def copy(self):
        return _State(self.occ, self.frac, self.cell)

    def atoms(self, pbc=True):
        from ase import Atoms

        keep = [i for i, s in enumerate(self.occ) if s != VACANCY]
        return Atoms([self.occ[i] for i in keep], scaled_positions=self.frac[keep], cell=self.cell, pbc=pbc)

    def volume(self):
        return float(abs(np.linalg.det(self.cell)))

    def n_atoms(self):
        return sum(s != VACANCY for s in self.occ)

    def to_dict(self):
        return {"occ": self.occ, "frac": self.frac.tolist(), "cell": self.cell.tolist()}

    @classmethod
    def from_dict(cls, d):
        return cls(d["occ"], d["frac"], d["cell"])


@dataclass
class MCResult(JSONResult):
    settings: dict
    n_steps_total: int
    records: dict                      # per step: restart, step, temperature_k, energy_ev, volume_a3, move, accepted
    acceptance: dict                   # move -> {"attempted", "accepted", "ratio"}
    best_enthalpy_ev: float
    best_energy_ev: float
    best_state: dict                   # occ (species per site, X = vacancy), frac, cell
    final_energy_ev: float
    final_state: dict
    restarts_best_enthalpy_ev: list = field(default_factory=list)
    relax_steps_total: int = 0
    resumed_from_step: int | None = None
    seconds: float = 0.0

    def best_atoms(self):
        return _State.from_dict(self.best_state).atoms()

    def final_atoms(self):
        return _State.from_dict(self.final_state).atoms()

    def summary(self) -> str:
        best = self.best_atoms()
        acc = ", ".join(f"{m} {a['accepted']}/{a['attempted']} ({100 * a['ratio']:.0f} %)"
                        for m, a in self.acceptance.items())
        return (f"MC {self.n_steps_total} steps ({self.settings['n_restarts']} anneal(s), "
                f"{self.settings['t_start_k']} → {self.settings['t_end_k']} K): best E {self.best_energy_ev:.6f} eV "
                f"({best.get_chemical_formula()}, V {best.get_volume():.3f} Å³), final E {self.final_energy_ev:.6f} eV; "
                f"accepted {acc}")


def _settings_key(settings):
    return hashlib.sha256(json.dumps(jsonable(settings), sort_keys=True).encode()).hexdigest()


def monte_carlo(atoms, calc, *, swaps=(), n_steps: int = 1000, t_start_k: float = 1000.0, t_end_k: float = 10.0,
                n_restarts: int = 1, restart_from: str = "best", volume_move_prob: float = 0.0,
                max_log_volume_step: float = 0.02, pressure_gpa: float = 0.0, relax_steps: int = 0,
                relax_fmax: float = 0.05, relax_cell: bool = False, seed: int = 0, checkpoint=None,
                checkpoint_every: int = 50, trajectory=None, trajectory_every: int = 1, callback=None,
                progress: bool = False) -> MCResult:
    """Anneal the occupation (and volume) of ``atoms`` with ``calc``; see the module doc.

    ``swaps``: groups of species that may exchange sites, e.g. ``[("Cu", "Au")]``
    or ``[("Cr", "X")]``.  ``trajectory``: extxyz file receiving the current
    state after every ``trajectory_every``-th step whose move was accepted.
    ``checkpoint``: JSON file written every ``checkpoint_every`` steps and at the
    end; a run started with an existing checkpoint of the same settings resumes
    from it (and trims the trajectory to match).  ``callback(record)`` is called
    after every step.
    """
    from ase import units
    from tqdm.auto import tqdm

    swaps = [tuple(g) for g in swaps]
    if not swaps and volume_move_prob <= 0:
        raise ValueError("no moves: give swap groups and/or volume_move_prob > 0")
    if restart_from not in ("best", "current", "random"):
        raise ValueError(f"restart_from must be best, current or random, not {restart_from!r}")
    if n_steps < 1 or n_restarts < 1:
        raise ValueError("n_steps and n_restarts must be >= 1")
    symbols = atoms.get_chemical_symbols()
    groups = []
    for g in swaps:
        sites = [i for i, s in enumerate(symbols) if s in g]
        if len({symbols[i] for i in sites}) < 2:
            raise ValueError(f"swap group {g}: fewer than two of its species are present")
        groups.append(sites)
    pressure = pressure_gpa * units.GPa
    settings = dict(swaps=[list(g) for g in swaps], n_steps=n_steps, t_start_k=t_start_k, t_end_k=t_end_k,
                    n_restarts=n_restarts, restart_from=restart_from, volume_move_prob=volume_move_prob,
                    max_log_volume_step=max_log_volume_step, pressure_gpa=pressure_gpa, relax_steps=relax_steps,
                    relax_fmax=relax_fmax, relax_cell=relax_cell, seed=seed,
                    initial={"symbols": symbols, "frac": atoms.get_scaled_positions(wrap=False).tolist(),
                             "cell": atoms.cell.array.tolist()})
    key = _settings_key(settings)
    total = n_steps * n_restarts
    temps = t_start_k * (t_end_k / t_start_k) ** (np.arange(n_steps) / max(n_steps - 1, 1))

    def energy_of(state):
        """Energy of a trial state (relaxed if asked) and the possibly relaxed state."""
        work = state.atoms()
        work.calc = calc
        nsteps = 0
        if relax_steps > 0:
            from ase.filters import FrechetCellFilter
            from ase.optimize import BFGS

            opt = BFGS(FrechetCellFilter(work) if relax_cell else work, logfile=None)
            opt.run(fmax=relax_fmax, steps=relax_steps)
            nsteps = int(opt.nsteps)
            state = state.copy()
            keep = [i for i, s in enumerate(state.occ) if s != VACANCY]
            if relax_cell:  # vacancy sites follow the cell
                state.cell = work.cell.array.copy()
            state.frac[keep] = work.get_scaled_positions(wrap=False)
        return float(work.get_potential_energy()), state, nsteps

    checkpoint = Path(checkpoint) if checkpoint else None
    trajectory = Path(trajectory) if trajectory else None
    resumed = None
    if checkpoint is not None and checkpoint.exists():
        ck = json.loads(checkpoint.read_text())
        if ck["settings_key"] != key:
            raise ValueError(f"{checkpoint} belongs to a run with other settings; remove it or choose another file")
        rng = np.random.default_rng()
        rng.bit_generator.state = ck["rng"]
        state, best = _State.from_dict(ck["state"]), _State.from_dict(ck["best"])
        energy, best_h, best_e = ck["energy"], ck["best_h"], ck["best_e"]
        records, acceptance, restart_best = ck["records"], ck["acceptance"], ck["restart_best"]
        start, relax_total, n_traj = ck["step"], ck["relax_total"], ck["n_traj"]
        resumed = start
        if trajectory is not None and trajectory.exists():
            from ase.io import read, write

            frames = read(trajectory, index=":") if trajectory.stat().st_size else []
            if len(frames) != n_traj:
                write(trajectory, frames[:n_traj], format="extxyz")
    else:
        rng = np.random.default_rng(seed)
        state = _State(symbols, atoms.get_scaled_positions(wrap=False), atoms.cell.array)
        energy, state, relax_total = energy_of(state)
        best, best_e = state.copy(), energy
        best_h = energy + pressure * state.volume()
        records = {k: [] for k in ("restart", "step", "temperature_k", "energy_ev", "volume_a3", "move", "accepted")}
        acceptance = {m: {"attempted": 0, "accepted": 0} for m in (["swap"] if swaps else []) +
                      (["volume"] if volume_move_prob > 0 else [])}
        restart_best, start, n_traj = [], 0, 0
        if trajectory is not None and trajectory.exists():
            trajectory.unlink()

    def save_checkpoint(step):
        if checkpoint is None:
            return
        data = {"settings_key": key, "step": step, "rng": rng.bit_generator.state, "state": state.to_dict(),
                "best": best.to_dict(), "energy": energy, "best_h": best_h, "best_e": best_e, "records": records,
                "acceptance": acceptance, "restart_best": restart_best, "relax_total": relax_total, "n_traj": n_traj}
        tmp = checkpoint.with_suffix(checkpoint.suffix + ".part")
        tmp.write_text(json.dumps(jsonable(data)))
        os.replace(tmp, checkpoint)

    t0 = time.perf_counter()
    bar = tqdm(total=total, initial=start, disable=not progress, desc="MC", unit="step")
    for step in range(start, total):
        restart, k = divmod(step, n_steps)
        if k == 0 and restart > 0:
            restart_best.append(best_h)
            if restart_from == "best":
                state, energy = best.copy(), best_e
            elif restart_from == "random":
                state = state.copy()
                for sites in groups:
                    shuffled = [state.occ[i] for i in rng.permutation(sites)]
                    for i, s in zip(sites, shuffled):
                        state.occ[i] = s
                energy, state, n = energy_of(state)
                relax_total += n
        beta = 1.0 / (units.kB * temps[k])
        if volume_move_prob > 0 and (not swaps or rng.random() < volume_move_prob):
            move = "volume"
            trial = state.copy()
            dlnv = rng.uniform(-max_log_volume_step, max_log_volume_step)
            trial.cell = state.cell * np.exp(dlnv / 3.0)
        else:
            move = "swap"
            sites = groups[int(rng.integers(len(groups)))]
            while True:  # uniform over pairs of sites with different species: a symmetric proposal
                i, j = (sites[int(x)] for x in rng.choice(len(sites), 2, replace=False))
                if state.occ[i] != state.occ[j]:
                    break
            trial = state.copy()
            trial.occ[i], trial.occ[j] = state.occ[j], state.occ[i]
        e_trial, trial, n = energy_of(trial)
        relax_total += n
        v_old, v_new = state.volume(), trial.volume()
        arg = -beta * (e_trial - energy + pressure * (v_new - v_old))
        if move == "volume":
            arg += (state.n_atoms() + 1) * np.log(v_new / v_old)
        accepted = bool(arg >= 0 or rng.random() < np.exp(arg))
        acceptance[move]["attempted"] += 1
        if accepted:
            acceptance[move]["accepted"] += 1
            state, energy = trial, e_trial
            h = energy + pressure * state.volume()
            if h < best_h - 1e-12:
                best, best_h, best_e = state.copy(), h, energy
        record = {"restart": restart, "step": step, "temperature_k": float(temps[k]), "energy_ev": energy,
                  "volume_a3": state.volume(), "move": move, "accepted": accepted}
        for name, value in record.items():
            records[name].append(value)
        if trajectory is not None and accepted and step % trajectory_every == 0:
            from ase.io import write

            frame = state.atoms()
            frame.info.update(step=step, temperature_k=float(temps[k]), energy_ev=energy)
            write(trajectory, frame, format="extxyz", append=True)
            n_traj += 1
        bar.update(1)
        if checkpoint is not None and (step + 1) % checkpoint_every == 0:
            save_checkpoint(step + 1)
        if callback is not None:
            callback(record)
    bar.close()
    restart_best.append(best_h)
    save_checkpoint(total)
    for stats in acceptance.values():
        stats["ratio"] = stats["accepted"] / stats["attempted"] if stats["attempted"] else 0.0
    return MCResult(settings=jsonable(settings), n_steps_total=total, records=records, acceptance=acceptance,
                    best_enthalpy_ev=best_h, best_energy_ev=best_e, best_state=best.to_dict(), final_energy_ev=energy,
                    final_state=state.to_dict(), restarts_best_enthalpy_ev=restart_best, relax_steps_total=relax_total,
                    resumed_from_step=resumed, seconds=time.perf_counter() - t0)


def plot_mc(result: MCResult, path=None):
    """Energy and best enthalpy vs step with the temperature on a second axis; volume below when it moves."""
    import matplotlib.pyplot as plt

    rec = result.records
    has_volume = "volume" in result.acceptance
    fig, axes = plt.subplots(2 if has_volume else 1, 1, figsize=(8, 6 if has_volume else 3.8), squeeze=False,
                             sharex=True)
    c = color_cycle(3)
    ax = axes[0][0]
    steps = np.asarray(rec["step"])
    e = np.asarray(rec["energy_ev"], float)
    ax.plot(steps, e, color=c[0], lw=0.8, label="current E")
    ax.plot(steps, np.minimum.accumulate(e), color=c[1], lw=1.2, label="lowest E so far")
    ax.set_ylabel("energy (eV)")
    ax.legend(fontsize=7, loc="upper right")
    tx = ax.twinx()
    tx.plot(steps, rec["temperature_k"], color="0.6", lw=0.8, ls="--")
    tx.set_ylabel("T (K)", color="0.4")
    tx.set_yscale("log")
    acc = ", ".join(f"{m} {100 * a['ratio']:.0f} %" for m, a in result.acceptance.items())
    ax.set_title(f"best E {result.best_energy_ev:.4f} eV; acceptance {acc}", fontsize=9)
    if has_volume:
        axes[1][0].plot(steps, rec["volume_a3"], color=c[2], lw=0.8)
        axes[1][0].set_ylabel("volume (Å³)")
    axes[-1][0].set_xlabel("MC step")
    return finish(fig, path)
