"""LAMMPS-vs-direct time per MD step for pair_style ase (overhead of the bridge).

    python -m lammps_plugin.bench --spec chgnet --repeat 4 4 4 --steps 5

Both sides do the same work per step: forces of a moved structure with one
calculator pass (energy and virial only on the first/last step in LAMMPS,
as thermo output asks).  Uses one torch thread unless --threads.
"""
from __future__ import annotations

import argparse
import time


def overhead(spec: str = "chgnet", compound: str = "WS2", repeat=(4, 4, 4), steps: int = 5,
             threads: int = 1) -> dict:
    import torch

    from ase_ftcalc.reference_values import EXPERIMENT_2H as COMPOUNDS
    from ase_ftcalc.structures import bulk_2h

    from .bridge import register_calculator, resolve_calculator
    from .fallback import atoms_to_lammps
    from ._lmp import open_lammps

    torch.set_num_threads(threads)
    atoms = bulk_2h(compound) * tuple(repeat)
    atoms.rattle(0.02, seed=1)
    calc = resolve_calculator(spec)

    name = register_calculator(calc, "bench_calc")
    lmp = open_lammps()
    lmp.commands_string("units metal\natom_style atomic\natom_modify map array")
    p = COMPOUNDS[compound]
    atoms_to_lammps(lmp, atoms, [p["metal"], p["chalcogen"]])
    lmp.commands_string(
        f"pair_style ase {name} threads {threads}\npair_coeff * * {p['metal']} {p['chalcogen']}\n"
        "velocity all create 300 1\nfix nve all nve\nthermo 100000\nrun 0")  # warm-up + setup

    direct_atoms = atoms.copy()
    direct_atoms.calc = calc
    direct_atoms.get_forces()  # warm-up
    # interleave the two so that load from other processes hits both alike
    t_direct = t_lmp = 0.0
    for _ in range(steps):
        direct_atoms.positions += 1e-4  # a new structure: no cached result
        t0 = time.perf_counter()
        direct_atoms.get_forces()
        t_direct += time.perf_counter() - t0
        t0 = time.perf_counter()
        lmp.command("run 1 pre no post no")
        t_lmp += time.perf_counter() - t0
    lmp.close()
    t_direct /= steps
    t_lmp /= steps
    return dict(natoms=len(atoms), spec=spec, threads=threads, steps=steps,
                direct_s_per_step=t_direct, lammps_s_per_step=t_lmp,
                overhead_percent=100.0 * (t_lmp / t_direct - 1.0))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default="chgnet")
    ap.add_argument("--compound", default="WS2")
    ap.add_argument("--repeat", type=int, nargs=3, default=(4, 4, 4))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    r = overhead(args.spec, args.compound, args.repeat, args.steps, args.threads)
    print(f"{r['natoms']} atoms, {r['spec']}, {r['threads']} thread(s): direct {r['direct_s_per_step']:.3f} s/step, "
          f"LAMMPS {r['lammps_s_per_step']:.3f} s/step, overhead {r['overhead_percent']:+.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
