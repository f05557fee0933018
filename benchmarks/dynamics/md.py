"""Molecular dynamics for any ASE calculator: NVT (Nosé–Hoover chain or Langevin) or NVE.

Equilibration, then production with a snapshot every ``snapshot_stride`` steps
written to a trajectory (ASE ``.traj`` or extended XYZ).  A checkpoint (``.npz``
beside the trajectory: positions, momenta, thermostat state, random-number
state, step) is written atomically with every snapshot and every
``snapshot_stride`` equilibration steps, so an interrupted run restarted with
the same arguments continues the same trajectory (bit for bit for Nosé–Hoover
and NVE; Langevin restores its random-number state too).

A blow-up guard stops the run with a clear message when the largest force, the
temperature or the energy leaves sane bounds; snapshots and the last good
checkpoint are kept.

Units: Å, eV, fs (``timestep_fs``), K.  Snapshots carry ``info['md_step']``,
``info['time_fs']``, ``info['temperature_K']`` and the calculator's energy and
forces.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.plotting import finish

from ..core.results import JSONResult

ENSEMBLES = ("nvt", "langevin", "nve")


class MDBlowUp(RuntimeError):
    """Raised inside the loop when the blow-up guard trips (caught by run_md)."""


@dataclass
class MDResult(JSONResult):
    ensemble: str
    temperature_K: float
    timestep_fs: float
    equilibration_steps: int
    production_steps: int
    snapshot_stride: int
    trajectory: str
    checkpoint: str
    n_atoms: int
    formula: str
    steps_done: int = 0
    completed: bool = False
    stopped_reason: str | None = None       # blow-up message, or "max_new_steps reached"
    restarted_from_step: int | None = None
    n_snapshots: int = 0
    snapshot_steps: list = field(default_factory=list)
    snapshot_temperature_K: list = field(default_factory=list)
    snapshot_potential_energy_ev: list = field(default_factory=list)
    snapshot_conserved_energy_ev: list = field(default_factory=list)
    mean_temperature_K: float | None = None          # production snapshots
    std_temperature_K: float | None = None
    mean_potential_energy_ev_per_atom: float | None = None
    conserved_energy_drift_ev_per_atom_per_ps: float | None = None
    wall_s: float = 0.0
    seconds_per_step: float | None = None
    calculator: str = ""
    engine: str = "ase"                              # "ase" (run_md) or "lammps" (md_lammps.run_lammps_md)
    settings: dict = field(default_factory=dict)     # run settings, e.g. LAMMPS pair commands

    def summary(self) -> str:
        state = "completed" if self.completed else f"stopped: {self.stopped_reason}"
        t = (f"T = {self.mean_temperature_K:.1f} ± {self.std_temperature_K:.1f} K"
             if self.mean_temperature_K is not None else "no production snapshots")
        engine = " (LAMMPS)" if self.engine == "lammps" else ""
        return (f"MD {self.ensemble}{engine} {self.formula} ({self.n_atoms} atoms), {self.steps_done} steps of "
                f"{self.timestep_fs} fs, {self.n_snapshots} snapshots, {t}, "
                f"{self.seconds_per_step or float('nan'):.3g} s/step; {state}")


# ---------------------------------------------------------------- helpers

def run_defaults(temperature_K, timestep_fs, tdamp_fs, max_temperature_K, snapshot_stride, equilibration_steps,
                 production_steps) -> tuple[float, float]:
    """Checked step counts; Nosé–Hoover time constant (default 100 timesteps) and guard temperature
    (default max(5 T, T + 2000 K)), the same for the ASE and the LAMMPS engine."""
    if snapshot_stride < 1 or equilibration_steps < 0 or production_steps < 0:
        raise ValueError("snapshot_stride must be >= 1 and step counts >= 0")
    if tdamp_fs is None:
        tdamp_fs = 100.0 * timestep_fs
    if max_temperature_K is None:
        max_temperature_K = max(5.0 * temperature_K, temperature_K + 2000.0)
    return tdamp_fs, max_temperature_K


def blow_up_reason(step: int, epot_ev: float, temperature_K: float, fmax_ev_per_a: float,
                   max_force_ev_per_a: float, max_temperature_K: float) -> str | None:
    """Why the MD guard stops at this step, or None."""
    if not (math.isfinite(epot_ev) and math.isfinite(fmax_ev_per_a) and math.isfinite(temperature_K)):
        return f"non-finite energy/forces/temperature at step {step}"
    reasons = []
    if fmax_ev_per_a > max_force_ev_per_a:
        reasons.append(f"max force {fmax_ev_per_a:.3g} eV/Å > {max_force_ev_per_a} eV/Å")
    if temperature_K > max_temperature_K:
        reasons.append(f"temperature {temperature_K:.4g} K > {max_temperature_K:.4g} K")
    return f"{' and '.join(reasons)} at step {step}" if reasons else None


def _make_dynamics(atoms, ensemble, timestep_fs, temperature_K, tdamp_fs, friction_per_fs, rng):
    from ase import units

    dt = timestep_fs * units.fs
    if ensemble == "nvt":
        from ase.md.nose_hoover_chain import NoseHooverChainNVT

        return NoseHooverChainNVT(atoms, timestep=dt, temperature_K=temperature_K, tdamp=tdamp_fs * units.fs)
    if ensemble == "langevin":
        from ase.md.langevin import Langevin

        from ase.constraints import FixCom

        atoms.set_constraint(FixCom())  # ASE >= 3.28: fixcm=False plus FixCom samples NVT correctly
        return Langevin(atoms, timestep=dt, temperature_K=temperature_K, friction=friction_per_fs / units.fs,
                        fixcm=False, rng=rng)
    if ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, timestep=dt)
    raise ValueError(f"unknown ensemble {ensemble!r}: use one of {ENSEMBLES}")


def _conserved_energy(dyn, atoms) -> float:
    if hasattr(dyn, "get_conserved_energy"):
        return float(dyn.get_conserved_energy())
    return float(atoms.get_potential_energy() + atoms.get_kinetic_energy())


def _write_checkpoint(path: Path, step: int, atoms, dyn, rng, n_snapshots: int, settings: dict) -> None:
    state = {"step": np.array(step), "positions": atoms.get_positions(), "momenta": atoms.get_momenta(),
             "cell": atoms.cell.array, "numbers": atoms.numbers, "n_snapshots": np.array(n_snapshots),
             "settings": np.array(repr(sorted(settings.items())))}
    thermostat = getattr(dyn, "_thermostat", None)
    if thermostat is not None:
        state["nhc_eta"] = thermostat._eta
        state["nhc_p_eta"] = thermostat._p_eta
    if rng is not None:
        state["rng_state"] = np.array(repr(rng.bit_generator.state))
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **state)
    os.replace(tmp, path)


def _read_checkpoint(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _snapshot_writer(path: Path):
    """Return write(atoms) appending one frame to .traj (ASE Trajectory) or anything ase.io.write appends."""
    if path.suffix == ".traj":
        from ase.io.trajectory import Trajectory

        def write(atoms):
            with Trajectory(path, "a") as traj:
                traj.write(atoms)
    else:
        from ase.io import write as ase_write

        def write(atoms):
            ase_write(path, atoms, append=True, format="extxyz" if path.suffix in (".xyz", ".extxyz") else None)
    return write


def read_snapshots(path, index=":"):
    """Snapshots of a trajectory written by run_md (any ase.io-readable trajectory works)."""
    from ase.io import read

    return read(str(path), index=index)


def _truncate_trajectory(path: Path, last_step: int) -> int:
    """Drop frames written after the checkpoint step (an interruption between snapshot and checkpoint)."""
    if not path.exists():
        return 0
    frames = read_snapshots(path)
    keep = [f for f in frames if int(f.info.get("md_step", -1)) <= last_step]
    if len(keep) != len(frames):
        tmp = path.with_name(path.stem + ".tmp" + path.suffix)
        if tmp.exists():
            tmp.unlink()
        write = _snapshot_writer(tmp)
        for f in keep:
            write(f)
        os.replace(tmp, path)
    return len(keep)


# ---------------------------------------------------------------- main entry

def run_md(atoms, calc, *, ensemble: str = "nvt", temperature_K: float = 300.0, timestep_fs: float = 1.0,
           equilibration_steps: int = 1000, production_steps: int = 5000, snapshot_stride: int = 10,
           trajectory="md.traj", checkpoint=None, tdamp_fs: float | None = None,
           friction_per_fs: float = 0.01, seed: int = 0, initial_velocities: bool = True,
           restart: bool = True, max_force_ev_per_a: float = 50.0, max_temperature_K: float | None = None,
           max_new_steps: int | None = None, progress: bool = True, calculator_name: str = "") -> MDResult:
    """Run MD of a copy of ``atoms`` with ``calc`` and write production snapshots to ``trajectory``.

    ensemble: ``"nvt"`` (ASE's Nosé–Hoover chain, ``tdamp_fs`` default 100 × timestep), ``"langevin"``
    (``friction_per_fs``) or ``"nve"`` (velocity Verlet).  The cell is kept fixed.
    With ``restart`` (default) an existing checkpoint of the same run is continued; otherwise
    existing trajectory/checkpoint files are an error.  ``max_new_steps`` stops after that many
    steps in this call (checkpointed; call again to continue).  The guard stops when
    max |F| > ``max_force_ev_per_a``, T > ``max_temperature_K`` (default max(5 T, T + 2000 K))
    or energies/forces are not finite.
    """
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md import velocitydistribution as vd

    if ensemble not in ENSEMBLES:
        raise ValueError(f"unknown ensemble {ensemble!r}: use one of {ENSEMBLES}")
    tdamp_fs, max_temperature_K = run_defaults(temperature_K, timestep_fs, tdamp_fs, max_temperature_K,
                                               snapshot_stride, equilibration_steps, production_steps)
    trajectory = Path(trajectory)
    trajectory.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(checkpoint) if checkpoint else trajectory.with_name(trajectory.name + ".ckpt.npz")
    settings = {"ensemble": ensemble, "temperature_K": float(temperature_K), "timestep_fs": float(timestep_fs),
                "equilibration_steps": int(equilibration_steps), "production_steps": int(production_steps),
                "snapshot_stride": int(snapshot_stride), "tdamp_fs": float(tdamp_fs),
                "friction_per_fs": float(friction_per_fs), "seed": int(seed)}

    work = atoms.copy()
    work.set_constraint()
    work.calc = calc
    rng = np.random.default_rng(seed) if ensemble == "langevin" else None
    start_step, restarted_from = 0, None
    n_snap = 0
    if checkpoint.exists() or trajectory.exists():
        if not restart:
            raise FileExistsError(f"{trajectory} or {checkpoint} exists; pass restart=True to continue it "
                                  "or choose another trajectory")
        if not checkpoint.exists():
            raise FileExistsError(f"{trajectory} exists but its checkpoint {checkpoint} does not; cannot restart")
        state = _read_checkpoint(checkpoint)
        if len(state["numbers"]) != len(work) or np.any(state["numbers"] != work.numbers):
            raise ValueError(f"checkpoint {checkpoint} belongs to a different system ({len(state['numbers'])} atoms)")
        if str(state["settings"]) != repr(sorted(settings.items())):
            raise ValueError(f"checkpoint {checkpoint} was written with other settings:\n  {state['settings']}\n"
                             f"now:\n  {repr(sorted(settings.items()))}")
        start_step = restarted_from = int(state["step"])
        work.set_cell(state["cell"])
        work.set_positions(state["positions"])
        work.set_momenta(state["momenta"])
        n_snap = _truncate_trajectory(trajectory, start_step)
        if rng is not None and "rng_state" in state:
            import ast

            rng.bit_generator.state = ast.literal_eval(str(state["rng_state"]))
    elif initial_velocities:
        thermalize = getattr(vd, "thermalize_momenta", None) or vd.MaxwellBoltzmannDistribution  # ASE >= 3.29
        thermalize(work, temperature_K=temperature_K, rng=np.random.default_rng(seed + 12345))
        vd.Stationary(work)

    dyn = _make_dynamics(work, ensemble, timestep_fs, temperature_K, tdamp_fs, friction_per_fs, rng)
    if restarted_from is not None and "nhc_eta" in state and getattr(dyn, "_thermostat", None) is not None:
        dyn._thermostat._eta = np.array(state["nhc_eta"], dtype=float)
        dyn._thermostat._p_eta = np.array(state["nhc_p_eta"], dtype=float)

    total = equilibration_steps + production_steps
    result = MDResult(ensemble=ensemble, temperature_K=float(temperature_K), timestep_fs=float(timestep_fs),
                      equilibration_steps=int(equilibration_steps), production_steps=int(production_steps),
                      snapshot_stride=int(snapshot_stride), trajectory=str(trajectory), checkpoint=str(checkpoint),
                      n_atoms=len(work), formula=work.get_chemical_formula(), restarted_from_step=restarted_from,
                      calculator=calculator_name or type(calc).__name__, settings=dict(settings))
    write = _snapshot_writer(trajectory)

    def check(step):
        forces = work.get_forces()
        epot = work.get_potential_energy()
        temp = work.get_temperature()
        fmax = float(np.sqrt((forces ** 2).sum(axis=1)).max()) if len(work) else 0.0
        reason = blow_up_reason(step, epot, temp, fmax, max_force_ev_per_a, max_temperature_K)
        if reason:
            raise MDBlowUp(reason)
        return epot, temp

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start_step, desc=f"MD {ensemble} {temperature_K:g} K", unit="step")
    step = start_step
    t0 = time.perf_counter()
    new_steps = 0
    try:
        check(step)
        while step < total:
            if max_new_steps is not None and new_steps >= max_new_steps:
                result.stopped_reason = f"max_new_steps={max_new_steps} reached at step {step}; call again to continue"
                break
            dyn.step()
            step += 1
            new_steps += 1
            epot, temp = check(step)
            if bar is not None:
                bar.update(1)
                if step % 10 == 0 or step == total:
                    bar.set_postfix(T=f"{temp:.0f}K", E=f"{epot / len(work):.4f}eV/at")
            snap = step > equilibration_steps and (step - equilibration_steps) % snapshot_stride == 0
            if snap:
                frame = work.copy()
                frame.set_constraint()
                frame.calc = SinglePointCalculator(frame, energy=epot, forces=work.get_forces().copy())
                frame.info.update({"md_step": step, "time_fs": step * timestep_fs, "temperature_K": temp,
                                   "conserved_energy_ev": _conserved_energy(dyn, work),
                                   "md_phase": "production"})
                write(frame)
                n_snap += 1
            if snap or step % snapshot_stride == 0 or step == total or (
                    max_new_steps is not None and new_steps >= max_new_steps):
                _write_checkpoint(checkpoint, step, work, dyn, rng, n_snap, settings)
    except MDBlowUp as err:
        result.stopped_reason = (f"MD blow-up guard: {err}. Stopped; {n_snap} snapshots kept in {trajectory}, "
                                 f"last good checkpoint in {checkpoint}. Lower the timestep or check the "
                                 "calculator/structure.")
        import warnings

        warnings.warn(result.stopped_reason, RuntimeWarning, stacklevel=2)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    if step == total and result.stopped_reason is None:
        result.completed = True
    result.steps_done = step
    result.wall_s = wall
    result.seconds_per_step = wall / new_steps if new_steps else None

    frames = read_snapshots(trajectory) if trajectory.exists() else []
    result.n_snapshots = len(frames)
    result.snapshot_steps = [int(f.info.get("md_step", -1)) for f in frames]
    result.snapshot_temperature_K = [float(f.info.get("temperature_K", f.get_temperature())) for f in frames]
    result.snapshot_potential_energy_ev = [float(f.get_potential_energy()) for f in frames]
    result.snapshot_conserved_energy_ev = [float(f.info.get("conserved_energy_ev", np.nan)) for f in frames]
    if frames:
        temps = np.array(result.snapshot_temperature_K)
        result.mean_temperature_K = float(temps.mean())
        result.std_temperature_K = float(temps.std())
        result.mean_potential_energy_ev_per_atom = float(np.mean(result.snapshot_potential_energy_ev) / len(work))
        cons = np.array(result.snapshot_conserved_energy_ev)
        if len(frames) > 2 and np.all(np.isfinite(cons)):
            t_ps = np.array(result.snapshot_steps) * timestep_fs / 1000.0
            result.conserved_energy_drift_ev_per_atom_per_ps = float(np.polyfit(t_ps, cons, 1)[0] / len(work))
    _ = units  # (ASE units imported for dynamics construction)
    return result


def plot_md(result: MDResult):
    """Temperature and potential energy per atom of the production snapshots."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    t_ps = np.array(result.snapshot_steps) * result.timestep_fs / 1000.0
    ax1.plot(t_ps, result.snapshot_temperature_K, lw=0.8)
    ax1.axhline(result.temperature_K, color="k", ls="--", lw=0.8)
    ax1.set_ylabel("T (K)")
    ax2.plot(t_ps, np.array(result.snapshot_potential_energy_ev) / max(result.n_atoms, 1), lw=0.8, label="E_pot")
    ax2.set_ylabel("E_pot (eV/atom)")
    ax2.set_xlabel("time (ps)")
    ax1.set_title(f"{result.calculator} {result.ensemble} {result.formula}")
    return finish(fig)
