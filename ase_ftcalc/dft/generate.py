"""``ftcalc dft``: label structures of a sampling protocol with DFT, frame by frame, resumable.

One output file holds one protocol run.  Frame i of a ``rattle`` or
``interlayer`` run comes from the random stream (seed, i); ``relax`` frames
come in trajectories of ``steps`` frames (trajectory k from (seed, k)), and a
resumed trajectory replays its frames on disk into BFGS, so it continues as
if never stopped; ``md`` first runs the MD once and keeps its snapshots in
``<output>.md-snapshots.extxyz``.

Every frame's ``info`` holds the DFT settings, the protocol and its
parameters, a ``group`` (frames of one relaxation trajectory or one MD run
share it; a split by group keeps them on one side) and ``dft_seconds``.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from ..options import OptionError, check_output_path, require
from .labelling import DFTSettings, append_frame, dft_calculator, label, read_done
from .sampling import MDSnapshots, Rattle, Relaxation, protocol_params


def base_structure(base: str | Atoms, supercell=None) -> tuple[Atoms, str]:
    """(Atoms, name) from a bundled compound name (2H-MX2), a structure file or Atoms.

    ``supercell``: None, ``"ortho"`` (the 12-atom orthorhombic 2H cell) or (n1, n2, n3).
    """
    from ..structures import bulk_2h

    if isinstance(base, Atoms):
        atoms, name = base.copy(), base.get_chemical_formula(mode="reduce")
    elif isinstance(base, str) and not Path(base).exists():
        atoms, name = bulk_2h(base, orthorhombic=supercell == "ortho"), base
    else:
        from ase.io import read

        atoms = read(base)
        name = atoms.get_chemical_formula(mode="reduce")
    atoms.calc = None
    if supercell == "ortho" and not (isinstance(base, str) and not Path(base).exists()):
        raise ValueError("supercell 'ortho' is defined for the bundled 2H compounds only")
    if supercell not in (None, "ortho"):
        if (isinstance(supercell, str) or len(supercell) != 3
                or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in supercell)):
            raise OptionError("supercell", "'ortho' or three integers ≥ 1", supercell)
        atoms = atoms.repeat(tuple(int(n) for n in supercell))
    if not atoms.pbc.all():
        raise ValueError(f"{name}: the DFT generator needs a periodic 3D cell")
    return atoms, name


def _finish(frame: Atoms, i: int, name: str, seed: int, protocol, group: str, seconds: float) -> Atoms:
    frame.info.update(compound=name, frame_index=i, generator_seed=seed, group=group,
                      dft_seconds=round(seconds, 1), **protocol_params(protocol))
    return frame


def generate(base: str | Atoms, output: str | os.PathLike, n_frames: int, *, protocol=None, seed: int = 0,
             settings: DFTSettings | None = None, supercell=None, orthorhombic_every: int = 0,
             log=sys.stderr) -> Path:
    """Append DFT-labelled frames of ``protocol`` to ``output`` until it holds ``n_frames``.

    ``base``: a bundled compound ("WS2", "MoS2"), a structure file or Atoms.
    ``protocol``: a :mod:`ase_ftcalc.dft.sampling` protocol (default ``Rattle()``).
    ``orthorhombic_every=k`` (rattle, bundled 2H only): every k-th frame is the 12-atom cell.
    """
    require("n_frames", n_frames, integer=True, minimum=1)
    require("seed", seed, integer=True, minimum=0)
    require("orthorhombic_every", orthorhombic_every, integer=True, minimum=0)
    settings = settings or DFTSettings()
    protocol = protocol or Rattle()
    output = check_output_path(output, overwrite=True)
    atoms, name = base_structure(base, supercell)
    done = read_done(output)
    if len(done) >= n_frames:
        return output
    tag = f"{name}/{protocol.name}/seed{seed}"
    if isinstance(protocol, Relaxation):
        _relaxations(atoms, name, output, done, n_frames, protocol, seed, settings, tag, log)
        return output
    if isinstance(protocol, MDSnapshots):
        structures = _md_snapshots(atoms, output, n_frames, protocol, seed, log)
    for i in range(len(done), n_frames):
        if isinstance(protocol, MDSnapshots):
            start, group = structures[i].copy(), f"{tag}/T{structures[i].info['md_temperature_K']:.0f}"
        else:
            cell = atoms
            if orthorhombic_every > 0 and i % orthorhombic_every == orthorhombic_every - 1:
                cell, _ = base_structure(base, "ortho")
            start, group = protocol.structure(cell, np.random.default_rng([seed, i])), f"{tag}/{i}"
        t0 = time.perf_counter()
        framed = label(start, settings, txt=os.devnull)
        framed = _finish(framed, i, name, seed, protocol, group, time.perf_counter() - t0)
        append_frame(output, framed)
        _report(log, name, protocol, i, n_frames, framed)
    return output


def _report(log, name, protocol, i, n_frames, frame):
    print(f"[dft] {name} {protocol.name} frame {i + 1}/{n_frames}: {len(frame)} atoms, "
          f"E = {frame.get_potential_energy():.4f} eV, fmax {np.abs(frame.get_forces()).max():.3f} eV/Å, "
          f"kpts {frame.info['dft_kpts']}, {frame.info['dft_seconds']:.0f} s", file=log, flush=True)


def _md_snapshots(atoms, output: Path, n_frames: int, protocol: MDSnapshots, seed: int, log) -> list[Atoms]:
    from ase.io import read, write

    cache = output.with_name(output.name + ".md-snapshots.extxyz")
    if cache.exists():
        snaps = read(cache, index=":")
        if len(snaps) >= n_frames and all(s.info.get("md_calculator") == protocol.calculator for s in snaps):
            return snaps
    snaps = protocol.snapshots(atoms, n_frames, seed, log=log)
    tmp = cache.with_name(cache.name + ".part")
    write(tmp, snaps, format="extxyz")
    os.replace(tmp, cache)
    return snaps


def _relaxations(atoms, name, output, done, n_frames, protocol: Relaxation, seed, settings, tag, log):
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.optimize import BFGS

    i = len(done)
    while i < n_frames:
        k, first = divmod(i, protocol.steps)
        group = f"{tag}/traj{k}"
        work = protocol.start(atoms, np.random.default_rng([seed, k]))
        calc = dft_calculator(work, settings, txt=os.devnull)
        opt = BFGS(work, maxstep=protocol.maxstep, logfile=None)
        previous = [f for f in done if f.info.get("group") == group]
        if previous:
            # BFGS's Hessian depends only on the (positions, forces) sequence: replay the
            # frames on disk, so the resumed trajectory takes the steps the uninterrupted one took.
            opt.replay_trajectory(previous)
            work.positions = previous[-1].positions
            work.calc = SinglePointCalculator(work, forces=previous[-1].get_forces())
        for step in range(first, min(protocol.steps, first + n_frames - i)):
            if step > 0:
                opt.step()  # moves work along the forces attached to it
            t0 = time.perf_counter()
            framed = label(work, settings, calculator=calc)
            framed.info["relax_step"] = step
            framed = _finish(framed, i, name, seed, protocol, group, time.perf_counter() - t0)
            work.calc = SinglePointCalculator(work, forces=framed.get_forces())
            append_frame(output, framed)
            done.append(framed)
            _report(log, name, protocol, i, n_frames, framed)
            i += 1
