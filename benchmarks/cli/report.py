"""`ftcalc bench compare`, `ftcalc demo` and `ftcalc speed`: reports."""
from __future__ import annotations

from .options import integers


def register(sub, bench) -> None:
    p = bench.add_parser(
        "compare", help="several benchmarks for several calculators in one report folder",
        description="Parity on DFT frames, learning curve, relaxed structure, phonons and elastic constants "
        "for each calculator; writes OUT/index.html, CSV tables, PNG figures and results.json.")
    p.add_argument("--calc", action="append", metavar="[NAME=]SPEC",
                   help="calculator spec (repeatable; default: chgnet)")
    p.add_argument("--compound", choices=["WS2", "MoS2"], default="WS2",
                   help="bundled frames and 2H crystal (default WS2)")
    p.add_argument("--frames", nargs="+", help="DFT frame files for parity (default: bundled frames)")
    p.add_argument("--structure", help="crystal for structure/phonons/elastic (default: 2H cell of --compound)")
    p.add_argument("--only", default=",".join(("parity", "structure", "phonons", "elastic")),
                   help="comma-separated benchmarks: parity,learning-curve,structure,phonons,elastic")
    p.add_argument("-o", "--out", default="bench-compare")
    p.set_defaults(func=_compare)

    p = sub.add_parser("demo", help="the seed paper's workflow on the bundled DFT data, ending in a report",
                       description="Vanilla CHGNet, CHGNet fine-tuned on the bundled GPAW PBE-D3 frames and "
                       "sw/mod+ilp/tmd (LAMMPS): parity, learning curve, structure, phonons, elastic "
                       "constants; writes OUT/index.html and OUT/results.json.")
    p.add_argument("--compound", choices=["WS2", "MoS2"], default="WS2")
    p.add_argument("-o", "--out", default="demo-report", help="report folder (default demo-report)")
    p.add_argument("--quick", action="store_true",
                   help="small learning curve, no elastic constants, 100-step MD (a few minutes)")
    p.add_argument("--paper", action="store_true",
                   help="the seed paper's sizes: 768-atom MD, 50+50 ps, 5000 snapshots (for a GPU machine)")
    p.add_argument("--experiment", help="measured EXAFS spectrum to compare with (XDI, columns, .chi, .prj)")
    p.add_argument("--no-classical", action="store_true", help="skip the LAMMPS sw/mod+ilp/tmd potential")
    p.add_argument("--calc", action="append", default=[], metavar="NAME=SPEC",
                   help="add a calculator, e.g. mine=chgnet:/path/model.pt or emt=my.module:factory")
    p.set_defaults(func=_demo)

    p = sub.add_parser("speed", help="time ase_ftcalc against upstream CHGNet (inference and fine-tuning)",
                       description="Forces-only call on a 384-atom 2H-WS2 supercell, upstream "
                       "CHGNetCalculator vs FTCalculator in one run; with --finetune also fine-tuning "
                       "frames·epochs/s vs chgnet.trainer.Trainer on the bundled WS2 frames.")
    p.add_argument("--repeat", default="8,8,1", help="supercell of the 6-atom cell (default 8,8,1: 384 atoms)")
    p.add_argument("--calls", type=int, default=5, help="timed calls per calculator")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--finetune", action="store_true", help="also time fine-tuning")
    p.add_argument("--frames", help="DFT frames for --finetune (default: bundled WS2)")
    p.add_argument("--json", help="write results here")
    p.set_defaults(func=_speed)


def _compare(args) -> int:
    from ase.io import read

    from ase_ftcalc.data import bundled_frames
    from ase_ftcalc.reference_values import experiment_structure, raman_lines
    from ase_ftcalc.structures import bulk_2h

    from ..core.runner import calculators_from_specs
    from ..report.compare import compare

    calculators = calculators_from_specs(args.calc or ["chgnet"])
    frames = [a for f in args.frames for a in read(f, index=":")] if args.frames else bundled_frames(args.compound)
    bulk = read(args.structure) if args.structure else bulk_2h(args.compound)
    structure_ref, raman_ref = ((None, None) if args.structure
                                else (experiment_structure(args.compound), raman_lines(args.compound)))
    compare(calculators, args.out, frames=frames, bulk=bulk, benchmarks=tuple(args.only.split(",")),
            reference_structure=structure_ref, reference_gamma_cm1=raman_ref)
    return 0


def _demo(args) -> int:
    from ..report.demo import DemoOptions, run_demo

    extra = dict(item.split("=", 1) for item in args.calc)
    run_demo(DemoOptions(compound=args.compound, out=args.out, quick=args.quick,
                         classical=not args.no_classical, extra_calculators=extra,
                         experiment=args.experiment, paper=args.paper))
    return 0


def _speed(args) -> int:
    from ..report.speed import finetune_speed, inference_speed

    inf = inference_speed(integers(args.repeat), repeats=args.calls, threads=args.threads)
    print(f"forces-only call, {inf.n_atoms} atoms, {inf.threads} thread(s), median of {inf.repeats}:")
    print(f"  upstream CHGNetCalculator {inf.upstream_seconds:.3f} s")
    print(f"  ase_ftcalc FTCalculator   {inf.ftcalc_seconds:.3f} s")
    print(f"  speed-up {inf.ratio:.2f}x   (max |ΔF| {inf.max_force_diff_ev_per_a:.1e} eV/Å, "
          f"|ΔE| {inf.energy_diff_ev_per_atom:.1e} eV/atom)")
    out = {"inference": inf}
    if args.finetune:
        from ase_ftcalc.data import bundled_frames
        from ase_ftcalc.frames import read_frames

        frames = read_frames(args.frames) if args.frames else bundled_frames("WS2")
        ft = finetune_speed(frames, threads=args.threads)
        print(f"fine-tuning {ft.n_frames} frames, {ft.epochs} epochs, batch {ft.batch_size}:")
        print(f"  upstream Trainer {ft.upstream_seconds:.1f} s ({ft.upstream_frames_epochs_per_second:.2f} frame-epochs/s)")
        print(f"  ase_ftcalc       {ft.ftcalc_seconds:.1f} s ({ft.ftcalc_frames_epochs_per_second:.2f} frame-epochs/s)")
        print(f"  speed-up {ft.ratio:.2f}x")
        out["finetune"] = ft
    if args.json:
        import json

        from ..core.results import jsonable

        with open(args.json, "w") as fh:
            json.dump(jsonable(out), fh, indent=2)
    return 0
