"""ASE atoms into LAMMPS' box: positions that LAMMPS keeps, and a creation that checks it did.

LAMMPS' ``create_atoms`` keeps an atom only if its position lies in the half-open box, fractional
coordinates in [0, 1), and drops the others without a message.  Along a periodic direction it
remaps the position first (LAMMPS 2025), but along a non-periodic one an atom exactly on the upper
face (the highest atom of a slab whose cell was fitted to its atoms) or a rounding error below the
lower face is lost, and ASE's wrap leaves such directions alone.  ``LAMMPSlib`` meets the same
atom at its first run as ``Lost atoms``.  All routes here place positions with
:func:`box_positions` and create atoms with :func:`create_box_and_atoms`.
"""
from __future__ import annotations

import numpy as np

# fractional; 1e-12 x the cell length moves a face atom by ~1e-11 Å, far above LAMMPS' own
# rounding when it converts positions to fractional coordinates (~1e-16)
FACE_TOL = 1e-12


def lammps_box(prism) -> np.ndarray:
    """Rows a, b, c of the box LAMMPS gets from ``prism`` (``region prism`` below)."""
    xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
    return np.array([[xhi, 0.0, 0.0], [xy, yhi, 0.0], [xz, yz, zhi]])


def box_positions(atoms, prism, tol: float = FACE_TOL) -> np.ndarray:
    """Positions of ``atoms`` in LAMMPS' frame, fractional coordinates in [0, 1).

    Periodic directions are wrapped (a fractional coordinate within ``tol`` below 1 becomes 0).
    Along a non-periodic direction an atom within ``tol`` of a face moves inside by ``tol``; one
    farther out is a ValueError, as LAMMPS would drop it.
    """
    box = lammps_box(prism)
    frac = np.linalg.solve(box.T, (np.asarray(atoms.positions) @ prism.rot_mat).T).T
    for k, periodic in enumerate(np.asarray(atoms.pbc, dtype=bool)):
        f = frac[:, k]
        if periodic:
            f -= np.floor(f)
            f[f >= 1.0 - tol] = 0.0
            continue
        outside = np.flatnonzero((f < -tol) | (f > 1.0 + tol))
        if outside.size:
            shown = outside[:10].tolist()
            raise ValueError(
                f"{outside.size} atom(s) lie outside the cell along its {'abc'[k]} vector, which is not "
                f"periodic (LAMMPS would drop them): indices {shown}{' ...' if outside.size > 10 else ''}; "
                f"enlarge the cell (e.g. atoms.center(vacuum=5.0, axis={k})) or make it periodic")
        np.clip(f, tol, 1.0 - tol, out=f)
    return frac @ box


def create_box_and_atoms(lmp, atoms, types, type_elements, region_id: str = "cell"):
    """Box, atoms (IDs 1..N in ASE order, ``types`` 1-based) and masses in an empty LAMMPS instance.

    ``units`` and ``atom_style`` must be set; ``type_elements[t - 1]`` gives the mass of type t.
    Raises RuntimeError if LAMMPS holds fewer atoms than ``atoms`` afterwards.  Returns the
    ``ase.calculators.lammps.Prism`` (``vector_to_ase`` turns LAMMPS forces back into the
    frame of ``atoms``).
    """
    from ase.calculators.lammps import Prism
    from ase.data import atomic_masses, atomic_numbers

    prism = Prism(atoms.cell.array, pbc=atoms.pbc)
    xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
    lmp.command("boundary " + " ".join("p" if p else "f" for p in atoms.pbc))
    lmp.command(f"region {region_id} prism 0 {xhi!r} 0 {yhi!r} 0 {zhi!r} {xy!r} {xz!r} {yz!r} units box")
    lmp.command(f"create_box {len(type_elements)} {region_id}")
    n = len(atoms)
    pos = box_positions(atoms, prism)
    lmp.create_atoms(n, list(range(1, n + 1)), [int(t) for t in types], pos.ravel().tolist())
    if lmp.get_natoms() != n:
        raise RuntimeError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms: the others lie outside its box")
    for t, e in enumerate(type_elements):
        lmp.command(f"mass {t + 1} {float(atomic_masses[atomic_numbers[e]])!r}")
    return prism
