"""`ftcalc bench parity|learning-curve` and `ftcalc select`: fits to DFT frames."""
from __future__ import annotations

from .options import add_calculators, add_output, calculators, load_frames, prepare_output, write_outputs


def register(sub, bench) -> None:
    p = bench.add_parser("parity", help="MAE, RMSE, R², parity slopes of E/F/σ against DFT frames",
                         description="Energies per atom (one offset per composition removed; per-element "
                         "references when compositions vary), force components (eV/Å), stress components "
                         "(GPa). Default frames: the held-out test split of the bundled WS2 PBE-D3 frames.")
    add_calculators(p)
    p.add_argument("--frames", nargs="+", help="DFT frame files (default: bundled WS2 test split)")
    p.add_argument("--all-frames", action="store_true", help="use every frame, not only the test split")
    p.add_argument("--test-every", type=int, default=5, help="frame i is a test frame when i %% N == 0 (default 5)")
    p.add_argument("--energy-offset", default="auto", choices=["auto", "composition", "element", "none"],
                   help="energy offset removed before comparing: per composition, per element, or none")
    p.add_argument("--test-set", action="append", default=[], metavar="NAME=FILE",
                   help="a named test set scored separately (repeatable), e.g. c-strain=cs.extxyz; "
                   "'bundled' adds the bundled WS2 out-of-distribution sets")
    p.add_argument("--seen", default="exclude", choices=["exclude", "flag"],
                   help="frames a fine-tuned model trained/validated on: left out for every calculator "
                   "(default) or kept and flagged")
    add_output(p, "bench-parity")
    p.set_defaults(func=_parity)

    p = bench.add_parser("learning-curve", help="fine-tune on N frames (several seeds), parity on a fixed test set",
                         description="For each N, fine-tune CHGNet on N frames drawn from the training pool "
                         "with several seeds and evaluate parity on the fixed test split. Models and metrics "
                         "are cached in --cache, so a re-run resumes.")
    p.add_argument("--frames", nargs="+", help="DFT frame files (default: bundled WS2)")
    p.add_argument("--sizes", default="1,5,10,20,40,all", help="training-set sizes (default 1,5,10,20,40,all)")
    p.add_argument("--seeds", default="0,1,2", help="seeds (default 0,1,2)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--test-every", type=int, default=5, help="frame i is a test frame when i %% N == 0 (default 5)")
    p.add_argument("--base-model", default="0.3.0")
    p.add_argument("--cache", help="cache folder (default OUTPUT/cache)")
    p.add_argument("--test-set", action="append", default=[], metavar="NAME=FILE",
                   help="a named out-of-distribution test set scored beside the fixed split (repeatable)")
    add_output(p, "bench-learning-curve")
    p.set_defaults(func=_learning_curve)

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
    add_output(p, "select")
    p.set_defaults(func=_select)


def _parity(args) -> int:
    from ..fit.learning_curve import fixed_split
    from ..fit.parity import parity, plot_parity

    out = prepare_output(args)
    if args.test_set:
        return _parity_sets(args, out)
    frames = load_frames(args)
    if not args.all_frames:
        _, test = fixed_split(len(frames), args.test_every)
        frames = [frames[i] for i in test]
    result = parity(calculators(args), frames, energy_offset=args.energy_offset, progress=args.progress,
                    seen=args.seen)
    print(result.summary())
    for name, res in result.calculators.items():
        for fail in res.failures:
            print(f"  {name} failed on {fail['source']}: {fail['error']}")
    write_outputs(out, "parity", result, result.table(), plot_parity(result))
    return 0


def _named_sets(items) -> dict:
    """``--test-set NAME=FILE`` (repeatable; 'bundled' adds the bundled WS2 sets) -> {name: frames}."""
    from ase_ftcalc.frames import read_frames

    sets = {}
    for item in items:
        if item == "bundled":
            from ase_ftcalc.data import bundled_test_sets

            sets.update(bundled_test_sets("WS2"))
            continue
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--test-set {item!r}: expected NAME=FILE (or 'bundled')")
        sets[name] = read_frames(path)
    return sets


def _parity_sets(args, out) -> int:
    from ..fit.parity import parity_sets, plot_parity_sets

    sets = _named_sets(args.test_set)
    result = parity_sets(calculators(args), sets, energy_offset=args.energy_offset, progress=args.progress,
                         seen=args.seen)
    print(result.summary())
    write_outputs(out, "parity", result, result.table(), plot_parity_sets(result))
    return 0


def _learning_curve(args) -> int:
    from pathlib import Path

    from ..fit.learning_curve import learning_curve, plot_learning_curve

    out = prepare_output(args)
    sizes = [s if s == "all" else int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    result = learning_curve(load_frames(args), sizes=sizes, seeds=seeds, epochs=args.epochs,
                            test_every=args.test_every, base_model=args.base_model,
                            cache_dir=Path(args.cache) if args.cache else out / "cache", progress=args.progress,
                            test_sets=_named_sets(args.test_set))
    print(result.summary())
    write_outputs(out, "learning_curve", result, result.table(), plot_learning_curve(result))
    return 0


def _select(args) -> int:
    from ..core.runner import calculators_from_specs
    from ..fit.select import plot_selection, select_frames, selected_vs_random

    out = prepare_output(args)
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
        write_outputs(out, "select_compare", result, result.table(), plot_selection(result))
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
    write_outputs(out, "select", result, rows, plot_selection(result))
    print(f"wrote {out / 'selected.extxyz'}")
    return 0
