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
checkpoint are kept.  The loop, guard, restart protocol and statistics are the
ones the LAMMPS engine uses too (:mod:`benchmarks.dynamics.md_core`).

Units: Å, eV, fs (``timestep_fs``), K.  Snapshots carry ``info['md_step']``,
``info['time_fs']``, ``info['temperature_K']`` and the calculator's energy and
forces.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np

from ..core.plotting import finish
from .md_core import (MDBlowUp, MDResult, MDRun, SnapshotFile, blow_up_reason, check_same_run, drive, max_force,
                      read_snapshots, resuming)

__all__ = ["ENSEMBLES", "MDResult", "plot_md", "read_snapshots", "run_md"]

ENSEMBLES = ("nvt", "langevin", "nve")


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
    if ensemble not in ENSEMBLES:
        raise ValueError(f"unknown ensemble {ensemble!r}: use one of {ENSEMBLES}")
    run = MDRun(temperature_K=temperature_K, timestep_fs=timestep_fs, equilibration_steps=equilibration_steps,
                production_steps=production_steps, snapshot_stride=snapshot_stride, tdamp_fs=tdamp_fs, seed=seed,
                max_force_ev_per_a=max_force_ev_per_a, max_temperature_K=max_temperature_K,
                max_new_steps=max_new_steps, progress=progress)
    trajectory = Path(trajectory)
    trajectory.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(checkpoint) if checkpoint else trajectory.with_name(trajectory.name + ".ckpt.npz")
    settings = run.settings(ensemble=ensemble, friction_per_fs=float(friction_per_fs))
    snapshots = SnapshotFile(trajectory)
    engine = AseEngine(atoms, calc, run, ensemble, settings, checkpoint)
    start_step, n_snapshots, restarted_from = 0, 0, None
    if resuming(trajectory, [checkpoint], restart):
        start_step = restarted_from = engine.restore()
        n_snapshots = snapshots.truncate(start_step)
    elif initial_velocities:
        engine.thermalize()
    engine.make_dynamics()
    result = run.result(engine.atoms, ensemble=ensemble, trajectory=trajectory, checkpoint=checkpoint,
                        restarted_from=restarted_from, calculator=calculator_name or type(calc).__name__,
                        engine="ase", settings=settings)
    return drive(engine, run, result, snapshots, start_step, n_snapshots, f"MD {ensemble} {temperature_K:g} K")


class AseEngine:
    """ASE dynamics of a copy of the atoms, one step per advance, its checkpoint in an ``.npz``."""

    def __init__(self, atoms, calc, run: MDRun, ensemble: str, settings: dict, checkpoint: Path):
        self.atoms = atoms.copy()
        self.atoms.set_constraint()
        self.atoms.calc = calc
        self.run, self.ensemble, self.settings, self.checkpoint = run, ensemble, settings, checkpoint
        self.rng = np.random.default_rng(run.seed) if ensemble == "langevin" else None
        self.state = None          # checkpoint read at a restart
        self.dyn = None
        self.fmax = 0.0            # eV/Å, largest force of the current state
        self.last_checkpoint = None

    # ---- before the loop
    def thermalize(self) -> None:
        from ase.md import velocitydistribution as vd

        thermalize = getattr(vd, "thermalize_momenta", None) or vd.MaxwellBoltzmannDistribution  # ASE >= 3.29
        thermalize(self.atoms, temperature_K=self.run.temperature_K, rng=np.random.default_rng(self.run.seed + 12345))
        vd.Stationary(self.atoms)

    def restore(self) -> int:
        """Positions, momenta and random-number state of the checkpoint; its step."""
        with np.load(self.checkpoint, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
        check_same_run(self.checkpoint, state["numbers"], self.atoms.numbers, str(state["settings"]),
                       repr(sorted(self.settings.items())))
        self.atoms.set_cell(state["cell"])
        self.atoms.set_positions(state["positions"])
        self.atoms.set_momenta(state["momenta"])
        if self.rng is not None and "rng_state" in state:
            self.rng.bit_generator.state = ast.literal_eval(str(state["rng_state"]))
        self.state = state
        self.last_checkpoint = int(state["step"])
        return self.last_checkpoint

    def make_dynamics(self) -> None:
        from ase import units

        atoms, run = self.atoms, self.run
        dt = run.timestep_fs * units.fs
        if self.ensemble == "nvt":
            from ase.md.nose_hoover_chain import NoseHooverChainNVT

            self.dyn = NoseHooverChainNVT(atoms, timestep=dt, temperature_K=run.temperature_K,
                                          tdamp=run.tdamp_fs * units.fs)
        elif self.ensemble == "langevin":
            from ase.constraints import FixCom
            from ase.md.langevin import Langevin

            atoms.set_constraint(FixCom())  # ASE >= 3.28: fixcm=False plus FixCom samples NVT correctly
            self.dyn = Langevin(atoms, timestep=dt, temperature_K=run.temperature_K,
                                friction=self.settings["friction_per_fs"] / units.fs, fixcm=False, rng=self.rng)
        else:
            from ase.md.verlet import VelocityVerlet

            self.dyn = VelocityVerlet(atoms, timestep=dt)
        thermostat = getattr(self.dyn, "_thermostat", None)
        if self.state is not None and "nhc_eta" in self.state and thermostat is not None:
            thermostat._eta = np.array(self.state["nhc_eta"], dtype=float)
            thermostat._p_eta = np.array(self.state["nhc_p_eta"], dtype=float)

    # ---- the loop (md_core.drive)
    def _state(self) -> tuple[float, float]:
        self.fmax = max_force(self.atoms.get_forces())  # forces first: one calculation gives the energy too
        return self.atoms.get_potential_energy(), self.atoms.get_temperature()

    def start(self, step: int) -> None:
        epot, temp = self._state()
        self.guard(step, step, temp, epot)

    def next_stop(self, step: int) -> int:
        return step + 1

    def advance(self, step: int, target: int) -> tuple[int, float, float]:
        self.dyn.step()
        epot, temp = self._state()
        return step + 1, temp, epot

    def guard(self, step: int, target: int, temperature_K: float, potential_energy_ev: float) -> None:
        reason = blow_up_reason(step, potential_energy_ev, temperature_K, self.fmax,
                                self.run.max_force_ev_per_a, self.run.max_temperature_K)
        if reason:
            raise MDBlowUp(reason)

    def snapshot(self, step: int, temperature_K: float, potential_energy_ev: float):
        from ase.calculators.singlepoint import SinglePointCalculator

        frame = self.atoms.copy()
        frame.set_constraint()
        frame.calc = SinglePointCalculator(frame, energy=potential_energy_ev, forces=self.atoms.get_forces().copy())
        frame.info.update({"md_step": step, "time_fs": step * self.run.timestep_fs, "temperature_K": temperature_K,
                           "conserved_energy_ev": self._conserved_energy(), "md_phase": "production"})
        return frame

    def _conserved_energy(self) -> float:
        if hasattr(self.dyn, "get_conserved_energy"):
            return float(self.dyn.get_conserved_energy())
        return float(self.atoms.get_potential_energy() + self.atoms.get_kinetic_energy())

    def checkpoint_due(self, step: int, snapshot_written: bool) -> bool:
        return snapshot_written or step % self.run.snapshot_stride == 0

    def save_checkpoint(self, step: int, n_snapshots: int) -> None:
        atoms = self.atoms
        state = {"step": np.array(step), "positions": atoms.get_positions(), "momenta": atoms.get_momenta(),
                 "cell": atoms.cell.array, "numbers": atoms.numbers, "n_snapshots": np.array(n_snapshots),
                 "settings": np.array(repr(sorted(self.settings.items())))}
        thermostat = getattr(self.dyn, "_thermostat", None)
        if thermostat is not None:
            state["nhc_eta"] = thermostat._eta
            state["nhc_p_eta"] = thermostat._p_eta
        if self.rng is not None:
            state["rng_state"] = np.array(repr(self.rng.bit_generator.state))
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp.npz")
        np.savez(tmp, **state)
        os.replace(tmp, self.checkpoint)
        self.last_checkpoint = step

    def checkpoint_note(self) -> str:
        if self.last_checkpoint is None:
            return "no checkpoint written yet"
        return f"last good checkpoint (step {self.last_checkpoint}) in {self.checkpoint}"


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
