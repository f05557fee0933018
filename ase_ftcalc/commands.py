"""`ftcalc finetune`, `ftcalc dft`, `ftcalc info`: argument parsing only; work is imported lazily."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="fine-tune CHGNet on DFT frames and write one model file",
                       description="Fine-tune CHGNet on DFT frames (any format ase.io.read reads: extxyz, "
                       "OUTCAR, vasprun.xml, ASE db). Defaults follow the seed paper.")
    p.add_argument("data", nargs="+", help="files with DFT frames (energy eV, forces eV/Å, stress)")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.pt)")
    p.add_argument("--base", default="0.3.0", help="pretrained CHGNet version or model file (default 0.3.0)")
    p.add_argument("--epochs", type=int, default=5, help="passes over the training frames (default 5)")
    p.add_argument("--batch-size", type=int, default=4, help="frames per optimiser step (default 4)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--freeze", default="paper",
                   help="preset paper|readout|none, or comma-separated parameter-name prefixes")
    p.add_argument("--no-stress", action="store_true", help="train without the stress loss")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, shuffling and initial state (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--report", help="also write the run summary (split, history, test MAEs) as JSON")
    p.add_argument("--dispersion", default="none", choices=["none", "d3", "d3zero", "d3bj"],
                   help="Δ-learning: subtract Grimme D3 (PBE; d3 = zero damping, as the bundled frames) from "
                   "the labels, train CHGNet on the rest; the model file adds D3 back when loaded")
    p.add_argument("--split-by", default="auto", choices=["auto", "group", "frame"],
                   help="auto: keep frames of one group (info['group']: a relaxation trajectory, an MD run) on "
                   "one side of the train/val/test split when frames have groups (default); frame: frame by frame")
    p.add_argument("--test-set", action="append", default=[], metavar="NAME=FILE",
                   help="a named test set scored after training (repeatable), e.g. c-strain=cs.extxyz")
    p.add_argument("--keep-duplicates", action="store_true", help="do not drop exact duplicate frames")
    p.add_argument("--no-unit-check", action="store_true",
                   help="train also on files whose labels look like another unit (stress > 500 GPa, forces > "
                   "200 eV/Å, energies 10 eV/atom off their composition's median); they are set aside by default")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    p.set_defaults(func=_finetune)

    p = sub.add_parser("dft", help="label structures with GPAW PBE(-D3) for fine-tuning and tests (resumable)",
                       description="Append DFT-labelled frames (GPAW plane waves, PBE + Grimme D3 by default) "
                       "of one sampling protocol to an extxyz file until it holds -n frames; rerun to resume. "
                       "Protocols: rattle (isotropic strain + displacements), interlayer (c strain + rigid "
                       "sliding), relax (short DFT relaxation trajectories, every step a frame), md (NVT "
                       "snapshots of a cheap calculator, labelled by DFT).")
    p.add_argument("structure", help="a bundled 2H compound (WS2, MoS2) or a structure file (any ASE format)")
    p.add_argument("-o", "--output", required=True, help="extxyz file to append to")
    p.add_argument("-n", "--frames", type=int, default=40, help="total frames wanted in the file (default 40)")
    p.add_argument("--protocol", default="rattle", choices=["rattle", "interlayer", "relax", "md"],
                   help="sampling protocol (default rattle)")
    p.add_argument("--supercell", default=None,
                   help="'ortho' (12-atom orthorhombic 2H cell) or N1,N2,N3 repetitions of the structure")
    p.add_argument("--orthorhombic-every", type=int, default=0,
                   help="rattle on a bundled 2H compound: every k-th frame is the 12-atom cell (0: never)")
    p.add_argument("--seed", type=int, default=0, help="random seed; frame i always comes from (seed, i)")
    p.add_argument("--ecut", type=float, default=400.0, help="plane-wave cutoff, eV (default 400)")
    p.add_argument("--kpt-density", type=float, default=16.0,
                   help="k_i = ceil(density * |b_i|), Å (16 gives 6x6x2 for 2H-WS2)")
    p.add_argument("--smearing", type=float, default=0.05, help="Fermi–Dirac width, eV (default 0.05)")
    p.add_argument("--dispersion", default="d3zero", choices=["d3zero", "d3bj", "none"],
                   help="Grimme D3 damping added to PBE, or none (default d3zero = VASP IVDW=11)")
    g = p.add_argument_group("protocol options")
    g.add_argument("--max-displacement", type=float, default=0.15, help="rattle: largest displacement, Å")
    g.add_argument("--max-strain", type=float, default=0.015, help="rattle: isotropic strain bound, fraction")
    g.add_argument("--c-strain", default="-0.05,0.08", help="interlayer: uniaxial strain range along c (MIN,MAX)")
    g.add_argument("--slide-probability", type=float, default=0.5,
                   help="interlayer: fraction of frames with a random rigid sliding of the upper layers")
    g.add_argument("--rattle-stdev", type=float, default=None,
                   help="interlayer/relax: Gaussian displacement per Cartesian component, Å "
                   "(defaults 0.03 and 0.08)")
    g.add_argument("--steps", type=int, default=6, help="relax: DFT steps (frames) per trajectory (default 6)")
    g.add_argument("--md-calc", default="chgnet+d3", help="md: calculator spec that runs the MD (default chgnet+d3)")
    g.add_argument("--temperatures", default="300,600", help="md: temperatures in K (default 300,600)")
    g.add_argument("--interval", type=float, default=200.0, help="md: fs between snapshots (default 200)")
    p.set_defaults(func=_dft)

    p = sub.add_parser("info", help="show what a model file holds (base model, settings, data hash, MAEs)",
                       description="A summary of a model file or a pretrained version (0.3.0, 0.2.0, r2scan): "
                       "base model, dispersion, training frames and split, test MAEs, versions, SHA-256.")
    p.add_argument("model", help="model file, or a pretrained version")
    p.add_argument("--full", action="store_true", help="print everything the model records, as JSON")
    p.set_defaults(func=_info)


# API argument names -> this command's options, for one-line errors that name what the user typed.
FINETUNE_OPTIONS = {"epochs": "--epochs", "batch_size": "--batch-size", "learning_rate": "--lr",
                    "num_threads": "--threads", "seed": "--seed", "output": "--output"}
DFT_OPTIONS = {"n_frames": "--frames", "ecut_ev": "--ecut", "kpt_density_angstrom": "--kpt-density",
               "smearing_ev": "--smearing", "steps": "--steps", "temperatures": "--temperatures",
               "c_strain": "--c-strain", "supercell": "--supercell", "seed": "--seed",
               "orthorhombic_every": "--orthorhombic-every", "max_displacement": "--max-displacement",
               "max_strain": "--max-strain", "slide_probability": "--slide-probability",
               "rattle_stdev": "--rattle-stdev", "interval_fs": "--interval", "output": "--output"}


def _finetune(args) -> int:
    from .options import check_finetune_options, check_output_path, cli_names

    # Before torch is imported: a bad option or output path fails in a fraction of a second.
    with cli_names(FINETUNE_OPTIONS):
        check_finetune_options(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                               num_threads=args.threads, seed=args.seed)
        check_output_path(args.output, overwrite=args.overwrite)
    if args.report:
        check_output_path(args.report, overwrite=True, option="--report")
    from . import fine_tune

    freeze = args.freeze if args.freeze in ("paper", "readout", "none") else args.freeze.split(",")
    test_sets = {}
    for item in args.test_set:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--test-set {item!r}: expected NAME=FILE")
        test_sets[name] = path
    result = fine_tune(args.data, args.output, base_model=args.base, epochs=args.epochs,
                       batch_size=args.batch_size, learning_rate=args.lr, freeze=freeze,
                       use_stress=False if args.no_stress else None, seed=args.seed,
                       num_threads=args.threads, overwrite=args.overwrite,
                       dispersion=None if args.dispersion == "none" else args.dispersion,
                       split_by=None if args.split_by == "frame" else args.split_by,
                       drop_duplicate_frames=not args.keep_duplicates, test_sets=test_sets or None,
                       device=args.device, check_units=not args.no_unit_check)
    if args.report:
        result.save_json(args.report)
    print(f"wrote {args.output}: {result.n_train} train / {result.n_val} val / {result.n_test} test frames, "
          f"{result.frames_epochs_per_second:.2f} frame-epochs/s")
    test = result.test_metrics
    if test:
        print(f"test MAE: E {1000 * test['energy_ev_per_atom']['mae']:.2f} meV/atom, "
              f"F {test['forces_ev_per_a']['mae']:.4f} eV/Å (slope {test['forces_ev_per_a']['slope_origin']:.3f})"
              + (f", σ {test['stress_gpa']['mae']:.3f} GPa" if "stress_gpa" in test else ""))
    for name, m in result.test_set_metrics.items():
        if "forces_ev_per_a" not in m:
            print(f"test set {name}: no unseen frames ({m['n_seen_excluded']} seen in training left out)")
            continue
        print(f"test set {name} ({m['n_frames']} frames): E {1000 * m['energy_ev_per_atom']['mae']:.2f} meV/atom, "
              f"F {m['forces_ev_per_a']['mae']:.4f} eV/Å (slope {m['forces_ev_per_a']['slope_origin']:.3f})"
              + (f", σ {m['stress_gpa']['mae']:.3f} GPa" if "stress_gpa" in m else "")
              + (f"; {m['n_seen_excluded']} frames seen in training left out" if m["n_seen_excluded"] else ""))
    return 0


def _numbers(option: str, text: str, kind=float, what: str = "comma-separated numbers") -> tuple:
    from .options import OptionError

    try:
        return tuple(kind(x) for x in text.split(","))
    except ValueError:
        raise OptionError(option, what, text) from None


def _dft(args) -> int:
    from .options import check_output_path, cli_names

    with cli_names(DFT_OPTIONS):
        check_output_path(args.output, overwrite=True)
        # The API checks every range (dft.labelling, dft.sampling, dft.generate); here they get the CLI's names.
        from .dft import generate
        from .dft.labelling import DFTSettings
        from .dft.sampling import Interlayer, MDSnapshots, Rattle, Relaxation

        settings = DFTSettings(ecut_ev=args.ecut, kpt_density_angstrom=args.kpt_density,
                               smearing_ev=args.smearing,
                               d3_damping=None if args.dispersion == "none" else args.dispersion)
        rattle = {} if args.rattle_stdev is None else {"rattle_stdev": args.rattle_stdev}
        protocol = {
            "rattle": lambda: Rattle(max_strain=args.max_strain, max_displacement=args.max_displacement),
            "interlayer": lambda: Interlayer(c_strain=_numbers("c_strain", args.c_strain, what="MIN,MAX"),
                                             slide_probability=args.slide_probability, **rattle),
            "relax": lambda: Relaxation(steps=args.steps, **rattle),
            "md": lambda: MDSnapshots(calculator=args.md_calc, temperatures=_numbers("temperatures",
                                                                                     args.temperatures),
                                      interval_fs=args.interval),
        }[args.protocol]()
        supercell = args.supercell
        if supercell not in (None, "ortho"):
            supercell = _numbers("supercell", supercell, int, "'ortho' or three integers N1,N2,N3 ≥ 1")
        generate(args.structure, args.output, args.frames, protocol=protocol, seed=args.seed, settings=settings,
                 supercell=supercell, orthorhombic_every=args.orthorhombic_every)
    return 0


def _info(args) -> int:
    import json

    from .modelinfo import describe_model, summary

    info = describe_model(args.model)
    if args.full:
        print(json.dumps(info, indent=2, default=str))
    else:
        print("\n".join(summary(info)))
    return 0
