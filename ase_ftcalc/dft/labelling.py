"""GPAW plane-wave PBE (+ Grimme D3) labels for frames, and the resumable frame file.

Every labelled frame carries its code, version and settings in ``atoms.info``,
so a file found later still says how it was made.  Frames are appended one
complete frame per write, so a killed run never leaves half a frame and a
re-run resumes where it stopped.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms


@dataclass(frozen=True)
class DFTSettings:
    ecut_ev: float = 400.0
    # Γ-centred grid k_i = ceil(kpt_density * |b_i|), |b_i| in 1/Å without 2π:
    # 6x6x2 for the 6-atom 2H cell, 6x3x2 for the 12-atom orthorhombic one.
    kpt_density_angstrom: float = 16.0
    smearing_ev: float = 0.05
    xc: str = "PBE"
    # Grimme D3 damping added to GPAW: "d3zero" (VASP IVDW=11, the seed paper's D3),
    # "d3bj", or None for plain DFT (metals, where dispersion does not matter).
    d3_damping: str | None = "d3zero"
    scf_energy_tol_ev: float = 1e-6
    # k and -k are equivalent without magnetism; rattled cells keep no other symmetry.
    # (frames 0-16 of the first bundled files were made with time reversal off: same numbers, 2x the cost)
    time_reversal: bool = True

    def __post_init__(self):
        from ..options import OptionError, require

        require("ecut_ev", self.ecut_ev, above=0)
        require("kpt_density_angstrom", self.kpt_density_angstrom, above=0)
        require("smearing_ev", self.smearing_ev, above=0)
        require("scf_energy_tol_ev", self.scf_energy_tol_ev, above=0)
        if self.d3_damping not in (None, "d3zero", "d3bj"):
            raise OptionError("d3_damping", "'d3zero', 'd3bj' or None", self.d3_damping)

    def kpts(self, atoms: Atoms) -> tuple[int, int, int]:
        recip = np.linalg.norm(atoms.cell.reciprocal(), axis=1)
        return tuple(max(1, int(np.ceil(self.kpt_density_angstrom * g - 1e-6))) for g in recip)

    @property
    def method(self) -> str:
        return self.xc + ("" if self.d3_damping is None else f"-D3({self.d3_damping})")


def dft_calculator(atoms: Atoms, settings: DFTSettings, txt: str | os.PathLike = "-"):
    """GPAW PW calculator for ``atoms``' cell, with D3 summed on top unless ``settings.d3_damping`` is None.

    Keep the returned calculator across the steps of a relaxation: GPAW then
    starts each step from the previous wavefunctions (the k-grid is fixed by
    the cell it was made for).
    """
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
    if settings.d3_damping is None:
        return dft
    from ase.calculators.mixing import SumCalculator
    from dftd3.ase import DFTD3

    return SumCalculator([dft, DFTD3(method=settings.xc, damping=settings.d3_damping)])


pbe_d3_calculator = dft_calculator  # the name the first generator used


def provenance(settings: DFTSettings) -> dict:
    import gpaw

    try:
        from importlib.metadata import version

        d3_version = version("dftd3")
    except Exception:  # noqa: BLE001 - provenance is best effort for the D3 wrapper only
        d3_version = "unknown"
    info = {f"dft_{k}": v for k, v in asdict(settings).items()}
    if settings.d3_damping is None:
        info["dft_d3_damping"] = "none"
    info.update(dft_code="GPAW", dft_code_version=gpaw.__version__, dft_method=settings.method)
    if settings.d3_damping is not None:
        info["dft_d3"] = "dftd3 " + d3_version
    return info


def label(atoms: Atoms, settings: DFTSettings, txt: str | os.PathLike = "-", *, calculator=None) -> Atoms:
    """Compute energy, forces and stress (eV, eV/Å, eV/Å³; ASE sign) and attach them to a copy.

    ``calculator``: a :func:`dft_calculator` made for this cell, reused (its
    wavefunctions start the SCF); default a new one.
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    work = atoms.copy()
    work.calc = calculator if calculator is not None else dft_calculator(work, settings, txt=txt)
    energy = work.get_potential_energy()
    forces = work.get_forces()
    stress = work.get_stress(voigt=True)
    out = atoms.copy()
    out.calc = None
    out.info.update(provenance(settings))
    out.info["dft_kpts"] = "x".join(map(str, settings.kpts(atoms)))
    out.calc = SinglePointCalculator(out, energy=energy, forces=forces, stress=stress)
    return out


def read_done(output: str | os.PathLike) -> list[Atoms]:
    """Frames already in ``output`` (none when it does not exist); removes an orphan ``.part`` file."""
    from ase.io import read

    output = Path(output)
    part = output.with_suffix(output.suffix + ".part")
    if part.exists():
        part.unlink()  # a kill between writing the part and appending it; the frame is recomputed
    if not output.exists() or not output.stat().st_size:
        return []
    return read(output, index=":")


def append_frame(output: str | os.PathLike, frame: Atoms) -> None:
    """Append one complete frame to an extxyz file in a single write."""
    from ase.io import write

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".part")
    write(tmp, frame, format="extxyz")
    with open(output, "a") as dst, open(tmp) as src:
        dst.write(src.read())
    tmp.unlink()
