"""`ftcalc bench parity|learning-curve|structure|elastic|phonons|compare`: argument parsing only.

Heavy imports (torch, CHGNet, phonopy, matscipy) happen inside the command
functions.  Calculators are spec strings (``ase_ftcalc.spec``), optionally
named: ``--calc chgnet --calc ft=model.pt --calc emt``.  Each command writes
``<name>.json``, ``<name>.csv`` and ``<name>.png`` into ``--output``.
"""
from __future__ import annotations

import argparse

WS2_RAMAN_CM1 = "E2g^2=27,E2g^1=356,A1g=421"  # bulk 2H-WS2 Raman (shear mode, in-plane, out-of-plane)


def _add_calcs(p):
    p.add_argument("--calc", action="append", metavar="[NAME=]SPEC",
                   help="calculator spec (repeatable): chgnet, chgnet:0.2.0, model.pt, emt, module:factory; "
                   "NAME=SPEC names it in tables and plots (default: chgnet)")


def _add_structure(p):
    p.add_argument("--structure", help="structure file ase.io.read understands (default: the 6-atom 2H cell "
                   "of --compound)")
    p.add_argument("--compound", default="WS2", choices=["WS2", "MoS2"], help="bundled 2H-MX2 (default WS2)")


def _add_output(p, default):
    p.add_argument("-o", "--output", default=default, help=f"output folder (default {default})")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--progress", action="store_true", help="progress bars")


def register_bench(sub: argparse._SubParsersAction) -> None:
    """Add ``bench`` with its sub-commands to the ``ftcalc`` sub-parsers."""
    bench = sub.add_parser("bench", help="benchmark ASE calculators against DFT and experiment",
                           description="Parity with DFT frames, learning curves of fine-tuning, relaxed "
                           "structure, elastic constants and phonons for any ASE calculators side by side.")
    bsub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    bench.set_defaults(func=lambda args: (bench.print_help(), 1)[1])

    p = bsub.add_parser(
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

    p = bsub.add_parser("parity", help="MAE, RMSE, R², parity slopes of E/F/σ against DFT frames",
                        description="Energies per atom (one offset per composition removed; per-element "
                        "references when compositions vary), force components (eV/Å), stress components "
                        "(GPa). Default frames: the held-out test split of the bundled WS2 PBE-D3 frames.")
    _add_calcs(p)
    p.add_argument("--frames", nargs="+", help="DFT frame files (default: bundled WS2 test split)")
    p.add_argument("--all-frames", action="store_true", help="use every frame, not only the test split")
    p.add_argument("--test-every", type=int, default=5, help="frame i is a test frame when i %% N == 0 (default 5)")
    p.add_argument("--energy-offset", default="auto", choices=["auto", "composition", "element", "none"])
    _add_output(p, "bench-parity")
    p.set_defaults(func=_parity)

    p = bsub.add_parser("learning-curve", help="fine-tune on N frames (several seeds), parity on a fixed test set",
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
    _add_output(p, "bench-learning-curve")
    p.set_defaults(func=_learning_curve)

    p = bsub.add_parser("structure", help="relaxed a, c, d_MX, z_vdW (or lattice parameters) vs reference",
                        description="Full relaxation (FrechetCellFilter, symmetry kept) and structure "
                        "parameters; default reference for WS2: experiment a=3.153, c=12.323, d_MX=2.405, "
                        "z_vdW=3.019 Å.")
    _add_calcs(p)
    _add_structure(p)
    p.add_argument("--reference", help="KEY=VALUE,... in Å/degrees, e.g. a=3.153,c=12.323 (default: WS2 experiment "
                   "for --compound WS2; none otherwise)")
    p.add_argument("--fmax", type=float, default=0.002, help="eV/Å (default 0.002)")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--no-symmetry", action="store_true", help="do not keep the space group while relaxing")
    _add_output(p, "bench-structure")
    p.set_defaults(func=_structure)

    p = bsub.add_parser("elastic", help="6x6 elastic constants (GPa) from stress-strain fits (matscipy)",
                        description="Relax, then fit stress vs strain for the six strain patterns "
                        "(matscipy.elasticity.fit_elastic_constants); relaxed-ion unless --clamped-ion.")
    _add_calcs(p)
    _add_structure(p)
    p.add_argument("--clamped-ion", action="store_true", help="no internal relaxation at each strain")
    p.add_argument("--max-strain", type=float, default=0.01, help="largest strain (default 0.01)")
    p.add_argument("--strain-steps", type=int, default=5, help="strains per pattern (default 5)")
    p.add_argument("--reference", help="C11=...,C33=... in GPa")
    p.add_argument("--fmax", type=float, default=0.002, help="relaxation fmax, eV/Å")
    _add_output(p, "bench-elastic")
    p.set_defaults(func=_elastic)

    p = bsub.add_parser("phonons", help="phonopy bands, DOS and Γ modes (cm⁻¹, irreps) for each calculator",
                        description="Relax, phonopy finite displacements, bands along ASE's standard path, "
                        "DOS and Γ frequencies with irrep labels; comparison against reference Γ "
                        f"frequencies (default for WS2: Raman {WS2_RAMAN_CM1} cm⁻¹) or a phonopy file.")
    _add_calcs(p)
    _add_structure(p)
    p.add_argument("--supercell", help="e.g. 4,4,1 (default: lengths >= 10 Å)")
    p.add_argument("--distance", type=float, default=0.01, help="displacement, Å (default 0.01)")
    p.add_argument("--no-relax", action="store_true", help="use the structure as given")
    p.add_argument("--path", help="special-point path, e.g. GMKGA (default: ASE's standard path)")
    p.add_argument("--reference-gamma", help="LABEL=cm-1,... or cm-1,... (default: WS2 Raman for --compound WS2)")
    p.add_argument("--reference-phonopy", help="reference phonopy yaml (forces or force constants)")
    p.add_argument("--cache", help="folder for displacement forces, reused on re-run (default OUTPUT/cache)")
    _add_output(p, "bench-phonons")
    p.set_defaults(func=_phonons)


# ---------------------------------------------------------------- helpers (run time)

def _setup(args):
    from pathlib import Path

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _calcs(args):
    from ._common import calculators_from_specs

    return calculators_from_specs(args.calc or ["chgnet"])


def _structure_atoms(args):
    if args.structure:
        from ase.io import read

        return read(args.structure)
    from ase_ftcalc.structures import bulk_2h

    return bulk_2h(args.compound)


def _pairs(text, *, allow_plain=False):
    """'a=1,b=2' -> {'a': 1.0, 'b': 2.0}; '1,2' -> [1.0, 2.0] when allow_plain."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if allow_plain and all("=" not in t for t in items):
        return [float(t) for t in items]
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not KEY=VALUE")
        out[key.strip()] = float(value)
    return out


def _write(out, stem, result, rows, fig):
    import csv

    result.save_json(out / f"{stem}.json")
    if rows:
        keys = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        with open(out / f"{stem}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
    fig.savefig(out / f"{stem}.png", dpi=130)
    import matplotlib.pyplot as plt

    plt.close(fig)  # CLI functions run many times in one process (tests, scripts): free the figure
    print(f"wrote {out / stem}.json, .csv, .png")


def _load_frames(args):
    if args.frames:
        from ase_ftcalc.frames import read_frames

        return read_frames(args.frames)
    from ase_ftcalc.data import bundled_frames

    return bundled_frames("WS2")


# ---------------------------------------------------------------- commands

def _parity(args) -> int:
    from .learning_curve import fixed_split
    from .parity import parity, plot_parity

    out = _setup(args)
    frames = _load_frames(args)
    if not args.all_frames:
        _, test = fixed_split(len(frames), args.test_every)
        frames = [frames[i] for i in test]
    result = parity(_calcs(args), frames, energy_offset=args.energy_offset, progress=args.progress)
    print(result.summary())
    for name, res in result.calculators.items():
        for fail in res.failures:
            print(f"  {name} failed on {fail['source']}: {fail['error']}")
    _write(out, "parity", result, result.table(), plot_parity(result))
    return 0


def _learning_curve(args) -> int:
    from pathlib import Path

    from .learning_curve import learning_curve, plot_learning_curve

    out = _setup(args)
    sizes = [s if s == "all" else int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    result = learning_curve(_load_frames(args), sizes=sizes, seeds=seeds, epochs=args.epochs,
                            test_every=args.test_every, base_model=args.base_model,
                            cache_dir=Path(args.cache) if args.cache else out / "cache", progress=args.progress)
    print(result.summary())
    _write(out, "learning_curve", result, result.table(), plot_learning_curve(result))
    return 0


def _structure(args) -> int:
    from .structure import WS2_EXPERIMENT, plot_structure, structure

    out = _setup(args)
    reference = _pairs(args.reference) if args.reference else (
        WS2_EXPERIMENT if not args.structure and args.compound == "WS2" else {})
    result = structure(_calcs(args), _structure_atoms(args), reference=reference, fmax=args.fmax,
                       steps=args.steps, symmetry=not args.no_symmetry, progress=args.progress)
    for row in result.table():
        if "error" in row:
            print(f"  {row['calculator']}: failed: {row['error']}")
        else:
            ref = f" (ref {row['reference']:.4g}, {row['relative_error_percent']:+.2f} %)" if "reference" in row else ""
            print(f"  {row['calculator']:<12} {row['quantity']:<6} {row['value']:.4f}{ref}")
    _write(out, "structure", result, result.table(), plot_structure(result))
    return 0


def _elastic(args) -> int:
    from .elastic import elastic, plot_elastic

    out = _setup(args)
    result = elastic(_calcs(args), _structure_atoms(args), relaxed_ion=not args.clamped_ion,
                     max_strain=args.max_strain, n_steps=args.strain_steps, fmax=args.fmax,
                     reference_gpa=_pairs(args.reference) if args.reference else None, progress=args.progress)
    for name, res in result.calculators.items():
        if "error" in res:
            print(f"  {name}: failed: {res['error']}")
            continue
        print(f"  {name} ({result.family}, {'relaxed' if result.relaxed_ion else 'clamped'}-ion), GPa: "
              + ", ".join(f"{k} {v:.1f}" for k, v in res["summary_gpa"].items()))
    _write(out, "elastic", result, result.table(), plot_elastic(result))
    return 0


def _phonons(args) -> int:
    from pathlib import Path

    from .phonons import phonons, plot_phonons

    out = _setup(args)
    if args.reference_gamma:
        ref = _pairs(args.reference_gamma, allow_plain=True)
    else:
        ref = _pairs(WS2_RAMAN_CM1) if not args.structure and args.compound == "WS2" else None
    supercell = [int(x) for x in args.supercell.split(",")] if args.supercell else None
    result = phonons(_calcs(args), _structure_atoms(args), supercell=supercell, distance=args.distance,
                     relax_first=not args.no_relax, path=args.path, reference_gamma_cm1=ref,
                     reference_phonopy=args.reference_phonopy,
                     cache_dir=Path(args.cache) if args.cache else out / "cache", progress=args.progress)
    for name, res in result.calculators.items():
        if "error" in res:
            print(f"  {name}: failed: {res['error']}")
            continue
        modes = ", ".join(("acoustic " if m["acoustic"] else "") + f"{m['label'] or '?'} {m['frequency_cm1']:.1f}"
                          for m in res["gamma_modes"])
        print(f"  {name}: Γ modes (cm⁻¹): {modes}")
        gamma = res["comparison"].get("gamma")
        if gamma:
            for row in gamma["modes"]:
                if row.get("value_cm1") is not None:
                    print(f"    {row['label'] or '':<8} reference {row['reference_cm1']:.1f}  {row['mode_label'] or '?'} "
                          f"{row['value_cm1']:.1f} cm⁻¹ ({row['difference_cm1']:+.1f})"
                          + ("" if row["label_matched"] or row["label"] is None else "  [no mode with this irrep]"))
            print("    vs reference Γ: " + (f"MAE {gamma['mae_cm1']:.1f} cm⁻¹" if gamma["mae_cm1"] is not None
                                            else "no optical mode to compare"))
    _write(out, "phonons", result, result.gamma_table(), plot_phonons(result))
    return 0


def _compare(args) -> int:
    from ase.io import read

    from ase_ftcalc.data import bundled_frames
    from ase_ftcalc.structures import bulk_2h

    from ._common import calculators_from_specs
    from .compare import compare
    from .demo import EXPERIMENT

    calculators = calculators_from_specs(args.calc or ["chgnet"])
    frames = [a for f in args.frames for a in read(f, index=":")] if args.frames else bundled_frames(args.compound)
    bulk = read(args.structure) if args.structure else bulk_2h(args.compound)
    ref = EXPERIMENT[args.compound] if not args.structure else {"structure": None, "raman_cm1": None}
    compare(calculators, args.out, frames=frames, bulk=bulk, benchmarks=tuple(args.only.split(",")),
            reference_structure=ref["structure"], reference_gamma_cm1=ref["raman_cm1"])
    return 0
