"""Reference DFT frames: GPAW plane-wave PBE with Grimme D3 (zero damping).

The generator writes strained and rattled 2H-MX2 cells frame by frame to an
extxyz file, so an interrupted run resumes where it stopped and every frame
on disk is complete.  Each frame carries its code, version and settings in
``atoms.info`` so a file found later still says how it was made.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

# Experimental 2H lattice parameters (Å) and the chalcogen Wyckoff z (4f) of
# space group P6_3/mmc; the metal sits on 2c.
COMPOUNDS = {
    "WS2": dict(metal="W", chalcogen="S", a=3.153, c=12.323, z_x=0.6224),
    "MoS2": dict(metal="Mo", chalcogen="S", a=3.160, c=12.294, z_x=0.6219),
}


@dataclass(frozen=True)
class DFTSettings:
    ecut_ev: float = 400.0
    # Γ-centred grid k_i = ceil(kpt_density * |b_i|), |b_i| in 1/Å without 2π:
    # 6x6x2 for the 6-atom 2H cell, 6x3x2 for the 12-atom orthorhombic one.
    kpt_density_angstrom: float = 16.0
    smearing_ev: float = 0.05
    xc: str = "PBE"
    d3_damping: str = "d3zero"  # VASP IVDW=11, the seed paper's D3
    scf_energy_tol_ev: float = 1e-6
    # k and -k are equivalent without magnetism; rattled cells keep no other symmetry.
    # (frames 0-16 of the bundled files were made with time reversal off: same numbers, 2x the cost)
    time_reversal: bool = True

    def kpts(self, atoms: Atoms) -> tuple[int, int, int]:
        recip = np.linalg.norm(atoms.cell.reciprocal(), axis=1)
        return tuple(max(1, int(np.ceil(self.kpt_density_angstrom * g - 1e-6))) for g in recip)


def bulk_2h(compound: str, orthorhombic: bool = False) -> Atoms:
    """2H-MX2 bulk: the 6-atom hexagonal cell, or the 12-atom a x sqrt(3)a one."""
    from ase.build import make_supercell
    from ase.spacegroup import crystal

    p = COMPOUNDS[compound]
    atoms = crystal(
        [p["metal"], p["chalcogen"]],
        basis=[(1 / 3, 2 / 3, 1 / 4), (1 / 3, 2 / 3, p["z_x"])],
        spacegroup=194,
        cellpar=[p["a"], p["a"], p["c"], 90, 90, 120],
    )
    if orthorhombic:
        atoms = make_supercell(atoms, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
        atoms.wrap()
    atoms.info.clear()  # drop crystal()'s spacegroup bookkeeping; frames carry their own provenance
    return atoms


def perturbed(atoms: Atoms, rng: np.random.Generator, max_strain: float = 0.015,
              max_displacement: float = 0.15) -> Atoms:
    """Isotropic strain in [-max_strain, max_strain] and uniform random displacements."""
    new = atoms.copy()
    strain = rng.uniform(-max_strain, max_strain)
    new.set_cell(new.cell * (1 + strain), scale_atoms=True)
    amplitude = rng.uniform(0.3, 1.0) * max_displacement
    direction = rng.normal(size=new.positions.shape)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    new.positions += direction * amplitude * rng.uniform(0, 1, size=(len(new), 1))
    new.info["isotropic_strain"] = float(strain)
    return new


def pbe_d3_calculator(atoms: Atoms, settings: DFTSettings, txt: str | os.PathLike = "-"):
    from ase.calculators.mixing import SumCalculator
    from dftd3.ase import DFTD3
    from gpaw import GPAW, PW, FermiDirac

    dft = GPAW(
        mode=PW(settings.ecut_ev),
        xc=settings.xc,
        kpts={"size": settings.kpts(atoms), "gamma": True},
        occupations=FermiDirac(settings.smearing_ev),
        convergence={"energy": settings.scf_energy_tol_ev},
        symmetry={"point_group": False, "time_reversal": settings.time_reversal},
        txt=txt,
    )
    return SumCalculator([dft, DFTD3(method=settings.xc, damping=settings.d3_damping)])


def provenance(settings: DFTSettings) -> dict:
    import gpaw

    try:
        from importlib.metadata import version

        d3_version = version("dftd3")
    except Exception:  # noqa: BLE001 - provenance is best effort for the D3 wrapper only
        d3_version = "unknown"
    info = {f"dft_{k}": v for k, v in asdict(settings).items()}
    info.update(dft_code="GPAW", dft_code_version=gpaw.__version__, dft_d3="dftd3 " + d3_version)
    return info


def label(atoms: Atoms, settings: DFTSettings, txt: str | os.PathLike = "-") -> Atoms:
    """Compute energy, forces and stress (eV, eV/Å, eV/Å³; ASE sign) and attach them."""
    from ase.calculators.singlepoint import SinglePointCalculator

    work = atoms.copy()
    work.calc = pbe_d3_calculator(work, settings, txt=txt)
    energy = work.get_potential_energy()
    forces = work.get_forces()
    stress = work.get_stress(voigt=True)
    out = atoms.copy()
    out.info.update(provenance(settings))
    out.info["dft_kpts"] = "x".join(map(str, settings.kpts(atoms)))
    out.calc = SinglePointCalculator(out, energy=energy, forces=forces, stress=stress)
    return out


def generate(compound: str, output: str | os.PathLike, n_frames: int, *,
             orthorhombic_every: int = 0, seed: int = 0, settings: DFTSettings | None = None,
             max_strain: float = 0.015, max_displacement: float = 0.15, log=sys.stderr) -> Path:
    """Append labelled frames to ``output`` until it holds ``n_frames``.

    Frame i is drawn from a generator seeded by (seed, i), so a resumed run
    produces exactly the frames an uninterrupted one would have.
    ``orthorhombic_every=k`` makes every k-th frame a 12-atom cell.
    """
    from ase.io import read, write

    settings = settings or DFTSettings()
    output = Path(output)
    done = len(read(output, index=":")) if output.exists() and output.stat().st_size else 0
    for i in range(done, n_frames):
        rng = np.random.default_rng([seed, i])
        ortho = orthorhombic_every > 0 and i % orthorhombic_every == orthorhombic_every - 1
        atoms = perturbed(bulk_2h(compound, ortho), rng, max_strain, max_displacement)
        atoms.info.update(compound=compound, frame_index=i, generator_seed=seed)
        framed = label(atoms, settings, txt=os.devnull)
        tmp = output.with_suffix(output.suffix + ".part")
        write(tmp, framed, format="extxyz")
        with open(output, "a") as dst, open(tmp) as src:
            dst.write(src.read())  # one write of a complete frame: a kill never leaves half a frame
        tmp.unlink()
        print(f"[dft] {compound} frame {i + 1}/{n_frames}: {len(atoms)} atoms, "
              f"E = {framed.get_potential_energy():.4f} eV, kpts {framed.info['dft_kpts']}",
              file=log, flush=True)
    return output
