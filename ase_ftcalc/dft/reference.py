"""The PBE-D3 reference structure of a compound, with the generator's own settings.

A relaxed structure is a result only if it does not depend on the optimiser's
threshold: the cell and positions are relaxed (symmetry kept, ``FixSymmetry``
and ``FrechetCellFilter``) to a loose and then a tight threshold, and both
are recorded.  The trajectory of every step is kept in ``<output>.traj`` with
the BFGS state in ``<output>.bfgs.json``, so an interrupted run restarts from
its last step.  Lengths in Å, energies in eV.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .labelling import DFTSettings, dft_calculator, provenance

THRESHOLDS_EV_PER_A = (0.005, 0.001)


def relax_reference(compound: str, output: str | os.PathLike, *, settings: DFTSettings | None = None,
                    thresholds=THRESHOLDS_EV_PER_A, log=sys.stderr) -> dict:
    """Relax the bundled 2H ``compound`` with DFT; write and return {"structure", "by_threshold", ...}."""
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.io import Trajectory, read
    from ase.optimize import BFGS

    from ..structures import bulk_2h, structure_parameters

    settings = settings or DFTSettings()
    output = Path(output)
    traj_path = output.with_name(output.stem + ".traj")
    atoms = bulk_2h(compound)
    if traj_path.exists() and traj_path.stat().st_size:
        last = read(traj_path, index=-1)
        atoms.set_cell(last.cell, scale_atoms=False)
        atoms.positions = last.positions
    atoms.set_constraint(FixSymmetry(atoms))
    atoms.calc = dft_calculator(atoms, settings, txt=os.devnull)
    by_threshold = {}
    t0 = time.perf_counter()
    with Trajectory(traj_path, "a", atoms) as traj:
        for fmax in thresholds:
            opt = BFGS(FrechetCellFilter(atoms), restart=str(output.with_name(output.stem + ".bfgs.json")),
                       logfile=log)
            opt.attach(traj)
            opt.run(fmax=fmax, steps=200)
            params = structure_parameters(atoms, layered=True)
            by_threshold[str(fmax)] = {k: params[k] for k in ("a", "c", "d_MX", "z_vdW")}
            by_threshold[str(fmax)]["steps"] = opt.get_number_of_steps()
    tight = by_threshold[str(thresholds[-1])]
    result = {
        "compound": compound,
        "method": settings.method,
        "structure": {k: round(tight[k], 4) for k in ("a", "c", "d_MX", "z_vdW")},
        "by_threshold": by_threshold,
        "energy_ev": float(atoms.get_potential_energy()),
        "cell": atoms.cell.array.tolist(),
        "positions": atoms.positions.tolist(),
        "numbers": atoms.numbers.tolist(),
        "settings": {k: v for k, v in provenance(settings).items()},
        "kpts": "x".join(map(str, settings.kpts(atoms))),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    output.write_text(json.dumps(result, indent=2))
    return result
