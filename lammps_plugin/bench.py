"""LAMMPS-vs-direct time per MD step for pair_style ase (overhead of the bridge).

    python -m lammps_plugin.bench --spec chgnet --repeat 4 4 4 --steps 5
    python -m lammps_plugin.bench --ranks 1 2 --steps 10 --runs 3    # plain lmp, 1 vs 2 MPI ranks

Both sides do the same work per step: forces of a moved structure with one
calculator pass (energy and virial only on the first/last step in LAMMPS,
as thermo output asks).  Uses one torch thread unless --threads.

With --ranks, the same NVE deck runs under mpich's mpiexec with each rank
count, interleaved, --runs times; the time per step is LAMMPS' loop time
(set-up and the calculator's start excluded); the plugin's own end-of-run
line gives the time rank 0 spends gathering the atoms and scattering forces
(with the copies around the calculator call).
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def overhead(spec: str = "chgnet", compound: str = "WS2", repeat=(4, 4, 4), steps: int = 5,
             threads: int = 1) -> dict:
    import torch

    from ase_ftcalc.reference_values import EXPERIMENT_2H as COMPOUNDS
    from ase_ftcalc.structures import bulk_2h

    from .bridge import register_calculator, resolve_calculator
    from .fallback import atoms_to_lammps
    from .build import open_lammps

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


RANKS_DECK = """units metal
atom_style atomic
atom_modify map array
read_data cell.data
pair_style ase {spec} 5.0 threads {threads}
pair_coeff * * {elements}
velocity all create 300 1 mom yes rot yes
fix nve all nve
timestep 0.002
thermo {steps}
run {steps}
"""


def rank_timing(spec: str = "chgnet", compound: str = "WS2", repeat=(4, 4, 4), steps: int = 10,
                threads: int = 1, ranks=(1, 2), runs: int = 3) -> dict:
    """Seconds per MD step of a plain ``lmp`` run for each MPI rank count: {ranks: [per run]}."""
    from ase.io.lammpsdata import write_lammps_data

    from ase_ftcalc.reference_values import EXPERIMENT_2H as COMPOUNDS
    from ase_ftcalc.structures import bulk_2h

    from ._lmp import lmp_command, lmp_environment
    from .build import build_plugin

    p = COMPOUNDS[compound]
    elements = [p["metal"], p["chalcogen"]]
    atoms = bulk_2h(compound) * tuple(repeat)
    atoms.rattle(0.02, seed=1)
    env = lmp_environment(build_plugin().parent)
    times: dict[int, list[float]] = {n: [] for n in ranks}
    bridge: dict[int, list[float]] = {n: [] for n in ranks}  # gather/scatter on rank 0 (pair_ase finish())
    with tempfile.TemporaryDirectory(prefix="rank-timing-") as tmp:
        folder = Path(tmp)
        write_lammps_data(folder / "cell.data", atoms, specorder=elements, masses=True, units="metal",
                          atom_style="atomic")
        (folder / "in.deck").write_text(RANKS_DECK.format(spec=spec, threads=threads, steps=steps,
                                                          elements=" ".join(elements)))
        for run in range(runs):  # interleaved, order reversed every other run: a drifting load hits all alike
            for n in (ranks if run % 2 == 0 else ranks[::-1]):
                proc = subprocess.run(lmp_command("in.deck", n) + ["-log", "none"], cwd=folder, env=env,
                                      capture_output=True, text=True)
                loop = re.search(r"Loop time of (\S+) on (\d+) procs for (\d+) steps", proc.stdout)
                if proc.returncode != 0 or not loop or int(loop.group(2)) != n:
                    raise RuntimeError(f"lmp on {n} rank(s) failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
                times[n].append(float(loop.group(1)) / int(loop.group(3)))
                stats = re.search(r"pair_style ase: \d+ calls.* \((\S+) ms per call\)", proc.stdout)
                bridge[n].append(float(stats.group(1)) if stats else float("nan"))
    return dict(natoms=len(atoms), spec=spec, threads=threads, steps=steps, s_per_step=times,
                bridge_ms_per_call=bridge)


def _print_rank_timing(r: dict) -> None:
    times = r["s_per_step"]
    base = statistics.median(times[min(times)])
    print(f"{r['natoms']} atoms, {r['spec']}, {r['threads']} torch thread(s), {r['steps']} NVE steps per run, "
          f"{len(next(iter(times.values())))} interleaved runs; seconds per step min/median/max:")
    for n, t in times.items():
        med = statistics.median(t)
        b = r["bridge_ms_per_call"][n]
        print(f"  {n} rank(s): {min(t):.4f} / {med:.4f} / {max(t):.4f}   "
              f"median {1e3 * (med - base):+.1f} ms/step ({100 * (med / base - 1):+.1f} %) vs {min(times)} rank(s); "
              f"gather/scatter on rank 0 {min(b):.3f} / {statistics.median(b):.3f} / {max(b):.3f} ms per call")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default="chgnet")
    ap.add_argument("--compound", default="WS2")
    ap.add_argument("--repeat", type=int, nargs=3, default=(4, 4, 4))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ranks", type=int, nargs="+", default=None,
                    help="time plain lmp runs under mpiexec with these rank counts instead")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs per rank count (--ranks)")
    args = ap.parse_args(argv)
    if args.ranks:
        _print_rank_timing(rank_timing(args.spec, args.compound, args.repeat, args.steps, args.threads,
                                       tuple(args.ranks), args.runs))
        return 0
    r = overhead(args.spec, args.compound, args.repeat, args.steps, args.threads)
    print(f"{r['natoms']} atoms, {r['spec']}, {r['threads']} thread(s): direct {r['direct_s_per_step']:.3f} s/step, "
          f"LAMMPS {r['lammps_s_per_step']:.3f} s/step, overhead {r['overhead_percent']:+.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
