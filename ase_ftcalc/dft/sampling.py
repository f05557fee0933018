"""What the DFT generator labels: sampling protocols for training and test frames.

Each protocol turns a base crystal into the structures DFT labels, drawn
from a random stream seeded by (seed, index) so a resumed run makes exactly
the frames an uninterrupted one would have:

``rattle``      isotropic strain and random displacements (the first bundled frames)
``interlayer``  uniaxial strain along the stacking axis and rigid sliding of the
                upper layers: samples the interlayer binding curve and the
                stacking landscape, which rattled cells at the equilibrium c miss
``relax``       short DFT relaxation trajectories from a strained, rattled
                supercell (the seed paper's training data): every step is a frame
``md``          snapshots of NVT molecular dynamics at given temperatures with a
                cheap calculator (default CHGNet + D3), then labelled by DFT

Lengths in Å, strains as fractions, temperatures in K, times in fs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms

from ..options import OptionError, require


def _stacking_axis_layers(atoms: Atoms) -> np.ndarray:
    from ..layered import detect_layers

    layer, _ = detect_layers(atoms, axis=2)
    return layer


@dataclass(frozen=True)
class Rattle:
    """Isotropic strain uniform in ±max_strain, each atom displaced by up to max_displacement."""
    name = "rattle"
    max_strain: float = 0.015
    max_displacement: float = 0.15

    def __post_init__(self):
        require("max_strain", self.max_strain, minimum=0, below=1)
        require("max_displacement", self.max_displacement, minimum=0)

    def structure(self, base: Atoms, rng: np.random.Generator) -> Atoms:
        new = base.copy()
        strain = rng.uniform(-self.max_strain, self.max_strain)
        new.set_cell(new.cell * (1 + strain), scale_atoms=True)
        amplitude = rng.uniform(0.3, 1.0) * self.max_displacement
        direction = rng.normal(size=new.positions.shape)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        new.positions += direction * amplitude * rng.uniform(0, 1, size=(len(new), 1))
        new.info["isotropic_strain"] = float(strain)
        return new


def perturbed(atoms: Atoms, rng: np.random.Generator, max_strain: float = 0.015,
              max_displacement: float = 0.15) -> Atoms:
    """Isotropic strain in [-max_strain, max_strain] and uniform random displacements."""
    return Rattle(max_strain, max_displacement).structure(atoms, rng)


@dataclass(frozen=True)
class Interlayer:
    """Uniaxial strain along c in [c_strain], small in-plane strain, and (with probability
    ``slide_probability``) a rigid in-plane shift of the upper half of the layers by a random
    fraction of the in-plane cell; a Gaussian rattle (standard deviation per Cartesian component)."""
    name = "interlayer"
    c_strain: tuple[float, float] = (-0.05, 0.08)
    in_plane_strain: float = 0.01
    slide_probability: float = 0.5
    rattle_stdev: float = 0.03

    def __post_init__(self):
        c = self.c_strain
        if (not isinstance(c, (tuple, list)) or len(c) != 2
                or not all(isinstance(x, (int, float)) and -1 < x < 10 for x in c) or not c[0] < c[1]):
            raise OptionError("c_strain", "MIN,MAX with -1 < MIN < MAX (fractions of c)", c)
        require("in_plane_strain", self.in_plane_strain, minimum=0, below=1)
        require("slide_probability", self.slide_probability, minimum=0, maximum=1)
        require("rattle_stdev", self.rattle_stdev, minimum=0)

    def structure(self, base: Atoms, rng: np.random.Generator) -> Atoms:
        new = base.copy()
        eps_c = rng.uniform(*self.c_strain)
        eps_ab = rng.uniform(-self.in_plane_strain, self.in_plane_strain)
        cell = new.cell.array.copy()
        cell[:2] *= 1 + eps_ab
        cell[2] *= 1 + eps_c
        new.set_cell(cell, scale_atoms=True)
        shift = np.zeros(2)
        if rng.uniform() < self.slide_probability:
            layer = _stacking_axis_layers(new)
            n_layers = layer.max() + 1
            if n_layers < 2:
                raise ValueError("interlayer sampling needs at least two layers along c")
            shift = rng.uniform(0, 1, size=2)
            upper = layer >= (n_layers + 1) // 2
            new.positions[upper] += shift @ new.cell.array[:2]
            new.wrap()
        new.positions += rng.normal(scale=self.rattle_stdev, size=new.positions.shape)
        new.info.update(c_strain=float(eps_c), in_plane_strain=float(eps_ab),
                        slide_shift_frac=[float(x) for x in shift])
        return new


@dataclass(frozen=True)
class Relaxation:
    """Short relaxation trajectories: the start is strained (in-plane ±strain, along c ±2·strain)
    and rattled (Gaussian, standard deviation per Cartesian component); BFGS on positions at
    fixed cell for ``steps`` DFT steps, each a frame."""
    name = "relax"
    steps: int = 6
    strain: float = 0.02
    rattle_stdev: float = 0.08
    maxstep: float = 0.1   # Å, BFGS step limit

    def __post_init__(self):
        require("steps", self.steps, integer=True, minimum=1)
        require("strain", self.strain, minimum=0, below=0.5)  # c is strained by up to 2x this
        require("rattle_stdev", self.rattle_stdev, minimum=0)
        require("maxstep", self.maxstep, above=0)

    def start(self, base: Atoms, rng: np.random.Generator) -> Atoms:
        new = base.copy()
        cell = new.cell.array.copy()
        cell[:2] *= 1 + rng.uniform(-self.strain, self.strain)
        cell[2] *= 1 + rng.uniform(-2 * self.strain, 2 * self.strain)
        new.set_cell(cell, scale_atoms=True)
        new.positions += rng.normal(scale=self.rattle_stdev, size=new.positions.shape)
        return new


@dataclass(frozen=True)
class MDSnapshots:
    """NVT Langevin MD of the base cell at each temperature with ``calculator`` (a spec);
    after ``equilibration_fs`` a snapshot every ``interval_fs``.  Frames alternate temperatures."""
    name = "md"
    calculator: str = "chgnet+d3"
    temperatures: tuple[float, ...] = (300.0, 600.0)
    timestep_fs: float = 2.0
    equilibration_fs: float = 1000.0
    interval_fs: float = 200.0
    friction_per_fs: float = 0.01

    def __post_init__(self):
        temps = self.temperatures
        if (not isinstance(temps, (tuple, list)) or not temps
                or not all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0 for t in temps)):
            raise OptionError("temperatures", "one or more temperatures > 0 K", temps)
        require("timestep_fs", self.timestep_fs, above=0)
        require("equilibration_fs", self.equilibration_fs, minimum=0)
        # Fewer fs than one step between snapshots would make consecutive snapshots the same structure.
        require("interval_fs", self.interval_fs, above=0)
        if not self.interval_fs >= self.timestep_fs:
            raise OptionError("interval_fs", f"≥ the MD timestep, {self.timestep_fs:g} fs", self.interval_fs)
        require("friction_per_fs", self.friction_per_fs, minimum=0)

    def snapshots(self, base: Atoms, n_frames: int, seed: int, log=None) -> list[Atoms]:
        from ase import units
        from ase.md.langevin import Langevin
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

        from ..spec import calculator_from_spec

        temps = list(self.temperatures)
        per_t = -(-n_frames // len(temps))
        by_t = []
        for it, temperature in enumerate(temps):
            rng = np.random.default_rng([seed, 7919, it])
            atoms = base.copy()
            atoms.calc = calculator_from_spec(self.calculator)
            MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
            dyn = Langevin(atoms, self.timestep_fs * units.fs, temperature_K=temperature,
                           friction=self.friction_per_fs / units.fs, rng=rng)
            dyn.run(int(round(self.equilibration_fs / self.timestep_fs)))
            stride = int(round(self.interval_fs / self.timestep_fs))
            snaps = []
            for j in range(per_t):
                dyn.run(stride)
                snap = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
                snap.wrap()
                snap.info.update(md_temperature_K=float(temperature), md_calculator=self.calculator,
                                 md_time_fs=float(self.equilibration_fs + (j + 1) * self.interval_fs),
                                 md_kinetic_temperature_K=float(atoms.get_temperature()))
                snaps.append(snap)
                if log is not None:
                    print(f"[dft-md] {temperature:.0f} K snapshot {j + 1}/{per_t}", file=log, flush=True)
            by_t.append(snaps)
        return [by_t[i % len(temps)][i // len(temps)] for i in range(n_frames)]


PROTOCOLS = {cls.name: cls for cls in (Rattle, Interlayer, Relaxation, MDSnapshots)}


def protocol_from_name(name: str, **options):
    try:
        cls = PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown sampling protocol {name!r} (use {', '.join(PROTOCOLS)})") from None
    return cls(**options)


def protocol_params(protocol) -> dict:
    return {"protocol": protocol.name, **{f"protocol_{k}": (list(v) if isinstance(v, tuple) else v)
                                          for k, v in asdict(protocol).items()}}
