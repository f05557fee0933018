"""`ftcalc bench eos|rank`, `ftcalc select`, `ftcalc mc`: argument parsing only.

Heavy imports happen inside the command functions.  Register with
``register_more(sub, bench_sub)`` where ``sub`` are the ``ftcalc`` sub-parsers
and ``bench_sub`` the sub-parsers of ``ftcalc bench`` (found in ``sub`` when
not given).
"""
from __future__ import annotations

import argparse

from .bench_commands import _add_calcs, _add_output, _add_structure


def _bench_subparsers(sub):
    bench = sub.choices.get("bench")
    if bench is None:
        raise ValueError("register `ftcalc bench` (register_bench) before register_more, or pass bench_sub")
    for action in bench._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise ValueError("`ftcalc bench` has no sub-commands")


def register_more(sub: argparse._SubParsersAction, bench_sub: argparse._SubParsersAction | None = None) -> None:
    """Add ``bench eos``, ``bench rank`` (to ``bench_sub``) and ``select``, ``mc`` (to ``sub``)."""
    bench_sub = bench_sub if bench_sub is not None else _bench_subparsers(sub)

    p = bench_sub.add_parser("eos", help="E(V) fits (V0, B0, B0') and the Δ metric (meV/atom) against a reference",
                             description="Scale the cell over a range of linear strains, fit Birch–Murnaghan "
                             "(ASE EquationOfState) per calculator and report Δ = ∫|E − E_ref| dV / ΔV per atom, "
                             "each curve measured from its minimum. Reference: the first --calc, --reference NAME, "
                             "or E(V) frames (--reference-frames, e.g. from the DFT EOS mode).")
    _add_calcs(p)
    _add_structure(p)
    p.add_argument("--strains", default="-0.10:0.20:0.02",
                   help="linear strains MIN:MAX:STEP or a comma list; write --strains=-0.05:0.1:0.01 when MIN is "
                   "negative (default -0.10:0.20:0.02)")
    p.add_argument("--relax", default="none", choices=["none", "positions", "shape"],
                   help="at each volume: nothing, atoms, or atoms and cell shape at fixed volume")
    p.add_argument("--fmax", type=float, default=0.01, help="eV/Å (default 0.01)")
    p.add_argument("--eos", default="birchmurnaghan", help="ASE EOS name (default birchmurnaghan)")
    p.add_argument("--reference", help="name of the reference calculator (default: the first)")
    p.add_argument("--reference-frames", help="extxyz of labelled E(V) frames (becomes calculator 'reference')")
    p.add_argument("--dft", action="store_true", help="compute the reference E(V) with GPAW PBE-D3 (slow; "
                   "resumable, frames in OUTPUT/dft_eos.extxyz)")
    p.add_argument("--align", default="minimum", choices=["minimum", "none"])
    _add_output(p, "bench-eos")
    p.set_defaults(func=_eos)

    p = bench_sub.add_parser("rank", help="rank vacancy/antisite configurations: Spearman ρ and RMSE vs a reference",
                             description="Enumerate (symmetry-reduced) or sample arrangements of species on the "
                             "sites of an element in a supercell ('X' = vacancy), compute energies with each "
                             "calculator statically and optionally after relaxation, compare with the reference.")
    _add_calcs(p)
    _add_structure(p)
    p.add_argument("--supercell", default="1,1,1", help="repeat of the structure (default 1,1,1)")
    p.add_argument("--sites", required=True, help="element whose sites are re-occupied, e.g. W")
    p.add_argument("--counts", required=True, help="species counts on those sites, e.g. W=7,X=1 or Cu=6,Au=2")
    p.add_argument("--max-configs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--relax", action="store_true", help="also rank after relaxation with each calculator")
    p.add_argument("--relax-cell", action="store_true", help="relax the cell too")
    p.add_argument("--fmax", type=float, default=0.05)
    p.add_argument("--steps", type=int, default=100, help="relaxation steps at most")
    p.add_argument("--reference", help="name of the reference calculator (default: the first)")
    _add_output(p, "bench-rank")
    p.set_defaults(func=_rank)

    p = sub.add_parser("select", help="pick frames to label with DFT: committee force disagreement + FPS",
                       description="Rank candidate structures by how much a committee of calculators disagrees "
                       "on forces, keep the most disputed and pick a diverse subset by farthest-point sampling "
                       "on CHGNet crystal features (or committee energies). --compare instead fine-tunes on "
                       "selected vs random frames of labelled data and compares test MAEs.")
    p.add_argument("candidates", nargs="*", help="structure files (default with --compare: bundled WS2 frames)")
    p.add_argument("--calc", action="append", metavar="[NAME=]SPEC",
                   help="committee member (repeat, >= 2; default chgnet:0.3.0 and chgnet:0.2.0)")
    p.add_argument("-n", "--number", type=int, default=5, help="frames to pick (default 5)")
    p.add_argument("--descriptor", default="crystal", choices=["crystal", "energy"])
    p.add_argument("--descriptor-model", default="0.3.0", help="CHGNet for crystal features (default 0.3.0)")
    p.add_argument("--preselect", type=float, default=3.0, help="keep preselect·n most disputed (default 3)")
    p.add_argument("--compare", action="store_true", help="selected vs random fine-tuning on labelled frames")
    p.add_argument("--seeds", default="0,1,2,3,4", help="random draws for --compare")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--test-every", type=int, default=5)
    _add_output(p, "select")
    p.set_defaults(func=_select)

    p = sub.add_parser("mc", help="Metropolis Monte Carlo / simulated annealing of site occupations and volume",
                       description="Swap moves within species groups (X = vacancy), NPT volume moves, geometric "
                       "temperature schedule with restarts, optional capped relaxation; trajectory, acceptance "
                       "statistics; resumable through OUTPUT/checkpoint.json.")
    p.add_argument("structure", help="structure file (atoms with symbol X are vacancies)")
    p.add_argument("--calc", default="chgnet", metavar="SPEC", help="calculator spec (default chgnet)")
    p.add_argument("--supercell", default="1,1,1")
    p.add_argument("--vacancies", help="ELEMENT=N: turn N random atoms of ELEMENT into vacancies first")
    p.add_argument("--swap", action="append", default=[], metavar="A,B",
                   help="species that may exchange sites (repeatable), e.g. Cu,Au or Cr,X")
    p.add_argument("--steps", type=int, default=1000, help="steps per anneal")
    p.add_argument("--restarts", type=int, default=1, help="anneals (default 1)")
    p.add_argument("--restart-from", default="best", choices=["best", "current", "random"])
    p.add_argument("--t-start", type=float, default=1000.0, help="K")
    p.add_argument("--t-end", type=float, default=10.0, help="K")
    p.add_argument("--volume-prob", type=float, default=0.0, help="probability of a volume move")
    p.add_argument("--max-dlnv", type=float, default=0.02, help="largest |Δ ln V| of a volume move")
    p.add_argument("--pressure-gpa", type=float, default=0.0)
    p.add_argument("--relax-steps", type=int, default=0, help="capped relaxation after each move (0: none)")
    p.add_argument("--relax-cell", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    _add_output(p, "mc")
    p.set_defaults(func=_mc)


# ---------------------------------------------------------------- helpers (run time)

def _strains(text):
    if ":" in text:
        from .eos import linear_strains

        lo, hi, step = (float(x) for x in text.split(":"))
        return linear_strains(lo, hi, step)
    return [float(x) for x in text.split(",") if x.strip()]


def _counts(text):
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not SPECIES=N")
        out[key.strip()] = int(value)
    return out


def _repeat(text):
    return tuple(int(x) for x in text.split(","))


# ---------------------------------------------------------------- commands

def _eos(args) -> int:
    from .bench_commands import _calcs, _setup, _structure_atoms, _write
    from .eos import eos, plot_eos

    out = _setup(args)
    atoms = _structure_atoms(args)
    strains = _strains(args.strains)
    reference_points = None
    if args.dft or args.reference_frames:
        from ase_ftcalc.dft.eos import dft_eos_points, eos_reference

        path = args.reference_frames
        if args.dft:
            path = dft_eos_points(atoms, out / "dft_eos.extxyz", strains)
        reference_points = eos_reference(path)
    calcs = _calcs(args) if (args.calc or reference_points is None) else {}
    result = eos(calcs, atoms, strains=strains, relax=args.relax, fmax=args.fmax, eos_name=args.eos,
                 reference=args.reference, reference_points=reference_points, align=args.align,
                 progress=args.progress)
    print(result.summary())
    _write(out, "eos", result, result.table(), plot_eos(result))
    return 0


def _rank(args) -> int:
    from .bench_commands import _calcs, _setup, _structure_atoms, _write
    from .ranking import configurations, plot_ranking, rank_configurations

    out = _setup(args)
    atoms = _structure_atoms(args) * _repeat(args.supercell)
    configs = configurations(atoms, args.sites, _counts(args.counts), max_configs=args.max_configs, seed=args.seed)
    print(f"{len(configs)} configurations")
    result = rank_configurations(_calcs(args), configs, reference=args.reference, relax=args.relax,
                                 cell=args.relax_cell, fmax=args.fmax, steps=args.steps, progress=args.progress)
    print(result.summary())
    rows = [{"config_id": i, "occupation": occ, "multiplicity": m,
             **{f"{name}_ev_per_atom": e[i] for name, e in result.energies_ev_per_atom.items()},
             **{f"{name}_relaxed_ev_per_atom": e[i] for name, e in result.relaxed_energies_ev_per_atom.items()}}
            for i, (occ, m) in enumerate(zip(result.occupations, result.multiplicities))]
    _write(out, "rank", result, rows, plot_ranking(result))
    return 0


def _select(args) -> int:
    from ._common import calculators_from_specs
    from .bench_commands import _setup, _write
    from .select import plot_selection, select_frames, selected_vs_random

    out = _setup(args)
    if args.candidates:
        from ase.io import read

        candidates = [a for path in args.candidates for a in read(path, index=":")]
    elif args.compare:
        from ase_ftcalc.data import bundled_frames

        candidates = bundled_frames("WS2")
    else:
        raise ValueError("give candidate structure files (or --compare for the bundled frames)")
    committee = calculators_from_specs(args.calc) if args.calc else None
    if args.compare:
        result = selected_vs_random(candidates, args.number, committee=committee, descriptor=args.descriptor,
                                    random_seeds=[int(s) for s in args.seeds.split(",")], epochs=args.epochs,
                                    test_every=args.test_every, preselect=args.preselect, progress=args.progress)
        print(result.summary())
        _write(out, "select_compare", result, result.table(), plot_selection(result))
        return 0
    if committee is None:
        committee = calculators_from_specs(["chgnet:0.3.0", "chgnet:0.2.0"])
    result = select_frames(candidates, committee, args.number, descriptor=args.descriptor,
                           model=args.descriptor_model, preselect=args.preselect, progress=args.progress)
    print(result.summary())
    from ase.io import write

    write(out / "selected.extxyz", [candidates[i] for i in result.selected], format="extxyz")
    rows = [{"candidate": i, "source": result.sources[i], "force_max_ev_per_a": result.force_max_ev_per_a[i],
             "force_mean_ev_per_a": result.force_mean_ev_per_a[i], "selected": i in result.selected}
            for i in range(result.n_candidates)]
    _write(out, "select", result, rows, plot_selection(result))
    print(f"wrote {out / 'selected.extxyz'}")
    return 0


def _mc(args) -> int:
    from ase.io import read

    from ase_ftcalc.spec import calculator_from_spec

    from .bench_commands import _setup, _write
    from .mc import monte_carlo, plot_mc, with_vacancies

    out = _setup(args)
    atoms = read(args.structure) * _repeat(args.supercell)
    if args.vacancies:
        element, _, n = args.vacancies.partition("=")
        atoms = with_vacancies(atoms, element, int(n), seed=args.seed)
    swaps = [tuple(s.strip() for s in group.split(",")) for group in args.swap]
    result = monte_carlo(atoms, calculator_from_spec(args.calc), swaps=swaps, n_steps=args.steps,
                         t_start_k=args.t_start, t_end_k=args.t_end, n_restarts=args.restarts,
                         restart_from=args.restart_from, volume_move_prob=args.volume_prob,
                         max_log_volume_step=args.max_dlnv, pressure_gpa=args.pressure_gpa,
                         relax_steps=args.relax_steps, relax_cell=args.relax_cell, seed=args.seed,
                         checkpoint=out / "checkpoint.json", trajectory=out / "trajectory.extxyz",
                         progress=args.progress)
    print(result.summary())
    from ase.io import write

    write(out / "best.extxyz", result.best_atoms(), format="extxyz")
    rows = [dict(zip(result.records, values)) for values in zip(*result.records.values())]
    _write(out, "mc", result, rows, plot_mc(result))
    return 0
