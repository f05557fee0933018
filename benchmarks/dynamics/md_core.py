"""What the ASE and the LAMMPS MD engine share.

* :class:`MDRun`: the run settings (checked, with the Nosé–Hoover time constant and guard temperature
  defaults), its settings record and :class:`MDResult`;
* the blow-up guard (:func:`blow_up_reason`, :class:`MDBlowUp`);
* the snapshot file (:class:`SnapshotFile`: append, truncate to a checkpoint, read) and the restart
  protocol (:func:`resuming`, :func:`check_same_run`);
* :func:`drive`, the loop both engines run: advance to the next stop, guard, write production
  snapshots, checkpoint, progress bar, stop cleanly on a blow-up; then the snapshot statistics.

An engine supplies an object with ``start(step)``, ``next_stop(step)``, ``advance(step, target) ->
(step, temperature_K, potential_energy_ev)``, ``guard(step, target, temperature_K, potential_energy_ev)``
(both raising :class:`MDBlowUp`), ``snapshot(step, temperature_K, potential_energy_ev) -> Atoms``,
``checkpoint_due(step, snapshot_written) -> bool``, ``save_checkpoint(step, n_snapshots)`` and
``checkpoint_note() -> str``.  Units: Å, eV, fs, K.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.results import JSONResult


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


@dataclass
class MDRun:
    """Settings both engines take.  ``tdamp_fs`` defaults to 100 timesteps, ``max_temperature_K`` to
    max(5 T, T + 2000 K); ``max_new_steps`` stops after that many steps in this call."""

    temperature_K: float = 300.0
    timestep_fs: float = 1.0
    equilibration_steps: int = 1000
    production_steps: int = 5000
    snapshot_stride: int = 10
    tdamp_fs: float | None = None
    seed: int = 0
    max_force_ev_per_a: float = 50.0
    max_temperature_K: float | None = None
    max_new_steps: int | None = None
    progress: bool = True

    def __post_init__(self):
        if self.snapshot_stride < 1 or self.equilibration_steps < 0 or self.production_steps < 0:
            raise ValueError("snapshot_stride must be >= 1 and step counts >= 0")
        if self.tdamp_fs is None:
            self.tdamp_fs = 100.0 * self.timestep_fs
        if self.max_temperature_K is None:
            self.max_temperature_K = max(5.0 * self.temperature_K, self.temperature_K + 2000.0)

    @property
    def total(self) -> int:
        return self.equilibration_steps + self.production_steps

    def is_snapshot(self, step: int) -> bool:
        """A production step on the snapshot stride."""
        return step > self.equilibration_steps and (step - self.equilibration_steps) % self.snapshot_stride == 0

    def settings(self, **engine_settings) -> dict:
        """The record a checkpoint is checked against (a restart must match it) and a result keeps."""
        return {"temperature_K": float(self.temperature_K), "timestep_fs": float(self.timestep_fs),
                "equilibration_steps": int(self.equilibration_steps), "production_steps": int(self.production_steps),
                "snapshot_stride": int(self.snapshot_stride), "tdamp_fs": float(self.tdamp_fs), "seed": int(self.seed),
                **engine_settings}

    def result(self, atoms, *, ensemble: str, trajectory, checkpoint, restarted_from: int | None, calculator: str,
               engine: str, settings: dict) -> MDResult:
        return MDResult(ensemble=ensemble, temperature_K=float(self.temperature_K), timestep_fs=float(self.timestep_fs),
                        equilibration_steps=int(self.equilibration_steps), production_steps=int(self.production_steps),
                        snapshot_stride=int(self.snapshot_stride), trajectory=str(trajectory),
                        checkpoint=str(checkpoint), n_atoms=len(atoms), formula=atoms.get_chemical_formula(),
                        restarted_from_step=restarted_from, calculator=calculator, engine=engine,
                        settings=dict(settings))


# ---------------------------------------------------------------- guard

class MDBlowUp(RuntimeError):
    """Raised inside the loop when the blow-up guard trips (caught by :func:`drive`)."""

    what = "MD blow-up guard"


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


def max_force(forces) -> float:
    forces = np.asarray(forces)
    return float(np.sqrt((forces ** 2).sum(axis=1)).max()) if len(forces) else 0.0


# ---------------------------------------------------------------- snapshots and restarts

def read_snapshots(path, index=":"):
    """Snapshots of a trajectory written by either engine (any ase.io-readable trajectory works)."""
    from ase.io import read

    return read(str(path), index=index)


class SnapshotFile:
    """A trajectory of snapshots: ``.traj`` (ASE Trajectory) or anything ase.io.write appends (extxyz)."""

    def __init__(self, path):
        self.path = Path(path)

    def append(self, atoms) -> None:
        if self.path.suffix == ".traj":
            from ase.io.trajectory import Trajectory

            with Trajectory(self.path, "a") as traj:
                traj.write(atoms)
        else:
            from ase.io import write

            write(self.path, atoms, append=True, format="extxyz" if self.path.suffix in (".xyz", ".extxyz") else None)

    def read(self) -> list:
        return read_snapshots(self.path) if self.path.exists() else []

    def truncate(self, last_step: int) -> int:
        """Drop frames written after the checkpoint step (an interruption between snapshot and checkpoint);
        the number of frames kept."""
        if not self.path.exists():
            return 0
        frames = self.read()
        keep = [f for f in frames if int(f.info.get("md_step", -1)) <= last_step]
        if len(keep) != len(frames):
            tmp = SnapshotFile(self.path.with_name(self.path.stem + ".tmp" + self.path.suffix))
            if tmp.path.exists():
                tmp.path.unlink()
            for f in keep:
                tmp.append(f)
            os.replace(tmp.path, self.path)
        return len(keep)


def resuming(trajectory: Path, checkpoint_files: list, restart: bool) -> bool:
    """Whether to continue a run from its checkpoint: True when the trajectory or the first checkpoint file
    exists (and ``restart`` allows it, and every checkpoint file is there), False for a fresh run."""
    first = Path(checkpoint_files[0])
    if not (first.exists() or trajectory.exists()):
        return False
    if not restart:
        raise FileExistsError(f"{trajectory} or {first} exists; pass restart=True to continue it "
                              "or choose another trajectory")
    missing = [str(f) for f in checkpoint_files if not Path(f).exists()]
    if missing:
        raise FileExistsError(f"{trajectory} exists but its checkpoint {' / '.join(missing)} does not; cannot restart")
    return True


def check_same_run(where, saved_numbers, numbers, saved_settings, settings) -> None:
    """A checkpoint continues only the run that wrote it: same atoms, same settings."""
    if len(saved_numbers) != len(numbers) or np.any(np.asarray(saved_numbers) != np.asarray(numbers)):
        raise ValueError(f"checkpoint {where} belongs to a different system ({len(saved_numbers)} atoms)")
    if saved_settings != settings:
        raise ValueError(f"checkpoint {where} was written with other settings:\n  {saved_settings}\nnow:\n  {settings}")


# ---------------------------------------------------------------- the loop

def drive(engine, run: MDRun, result: MDResult, snapshots: SnapshotFile, start_step: int, n_snapshots: int,
          desc: str) -> MDResult:
    """Run ``engine`` from ``start_step`` to the end (or ``max_new_steps``, or a blow-up) and fill ``result``."""
    bar = None
    if run.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=run.total, initial=start_step, desc=desc, unit="step")
    step, new_steps = start_step, 0
    t0 = time.perf_counter()
    try:
        engine.start(step)
        while step < run.total:
            if run.max_new_steps is not None and new_steps >= run.max_new_steps:
                result.stopped_reason = (f"max_new_steps={run.max_new_steps} reached at step {step}; "
                                         "call again to continue")
                break
            target = engine.next_stop(step)
            if run.max_new_steps is not None:
                target = min(target, step + run.max_new_steps - new_steps)
            done, temp, epot = engine.advance(step, target)
            new_steps += done - step
            if bar is not None:
                bar.update(done - step)
                if done // 10 != step // 10 or done == run.total:
                    bar.set_postfix(T=f"{temp:.0f}K", E=f"{epot / result.n_atoms:.4f}eV/at")
            step = done
            engine.guard(step, target, temp, epot)   # the step that trips it counts as done, unwritten
            snapped = run.is_snapshot(step)
            if snapped:
                snapshots.append(engine.snapshot(step, temp, epot))
                n_snapshots += 1
            if engine.checkpoint_due(step, snapped) or step == run.total or (
                    run.max_new_steps is not None and new_steps >= run.max_new_steps):
                engine.save_checkpoint(step, n_snapshots)
    except MDBlowUp as err:
        result.stopped_reason = (f"{err.what}: {err}. Stopped; {n_snapshots} snapshots kept in {snapshots.path}, "
                                 f"{engine.checkpoint_note()}. Lower the timestep or check the calculator "
                                 "(potential) and the structure.")
        warnings.warn(result.stopped_reason, RuntimeWarning, stacklevel=3)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    result.completed = step == run.total and result.stopped_reason is None
    result.steps_done = step
    result.wall_s = wall
    result.seconds_per_step = wall / new_steps if new_steps else None
    snapshot_statistics(result, snapshots.read())
    return result


def snapshot_statistics(result: MDResult, frames) -> None:
    """Steps, temperatures and energies of the snapshots, their means and the conserved-energy drift."""
    n_atoms = result.n_atoms
    result.n_snapshots = len(frames)
    result.snapshot_steps = [int(f.info.get("md_step", -1)) for f in frames]
    result.snapshot_temperature_K = [float(f.info.get("temperature_K", f.get_temperature())) for f in frames]
    result.snapshot_potential_energy_ev = [float(f.get_potential_energy()) for f in frames]
    result.snapshot_conserved_energy_ev = [float(f.info.get("conserved_energy_ev", np.nan)) for f in frames]
    if frames:
        temps = np.array(result.snapshot_temperature_K)
        result.mean_temperature_K = float(temps.mean())
        result.std_temperature_K = float(temps.std())
        result.mean_potential_energy_ev_per_atom = float(np.mean(result.snapshot_potential_energy_ev) / n_atoms)
        cons = np.array(result.snapshot_conserved_energy_ev)
        if len(frames) > 2 and np.all(np.isfinite(cons)):
            t_ps = np.array(result.snapshot_steps) * result.timestep_fs / 1000.0
            result.conserved_energy_drift_ev_per_atom_per_ps = float(np.polyfit(t_ps, cons, 1)[0] / n_atoms)
