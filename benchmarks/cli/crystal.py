"""`ftcalc bench structure|elastic|phonons|eos|rank`: properties of a crystal per calculator."""
from __future__ import annotations

from .options import (add_calculators, add_output, add_structure, calculators, counts, integers, key_values,
                      prepare_output, structure_atoms, write_outputs)


def register(sub, bench) -> None:
    p = bench.add_parser("structure", help="relaxed a, c, d_MX, z_vdW (or lattice parameters) vs reference",
                         description="Full relaxation (FrechetCellFilter, symmetry kept) and structure "
                         "parameters; default reference for the bundled compounds: their experimental a, c, "
                         "d_MX, z_vdW in ase_ftcalc.reference_values.")
    add_calculators(p)
    add_structure(p)
    p.add_argument("--reference", help="KEY=VALUE,... in Å/degrees, e.g. a=3.153,c=12.323 (default: the experiment "
                   "for --compound without --structure; none otherwise)")
    p.add_argument("--fmax", type=float, default=0.002, help="eV/Å (default 0.002)")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--no-symmetry", action="store_true", help="do not keep the space group while relaxing")
    p.add_argument("--no-check", action="store_true",
                   help="skip the robustness check (a looser threshold, starts with c x 1.05 and x 0.96)")
    add_output(p, "bench-structure")
    p.set_defaults(func=_structure)

    p = bench.add_parser("elastic", help="6x6 elastic constants (GPa) from stress-strain fits (matscipy)",
                         description="Relax, then fit stress vs strain for the six strain patterns "
                         "(matscipy.elasticity.fit_elastic_constants); relaxed-ion unless --clamped-ion.")
    add_calculators(p)
    add_structure(p)
    p.add_argument("--clamped-ion", action="store_true", help="no internal relaxation at each strain")
    p.add_argument("--max-strain", type=float, default=0.01, help="largest strain (default 0.01)")
    p.add_argument("--strain-steps", type=int, default=5, help="strains per pattern (default 5)")
    p.add_argument("--reference", help="C11=...,C33=... in GPa")
    p.add_argument("--fmax", type=float, default=0.002, help="relaxation fmax, eV/Å")
    add_output(p, "bench-elastic")
    p.set_defaults(func=_elastic)

    p = bench.add_parser("phonons", help="phonopy bands, DOS and Γ modes (cm⁻¹, irreps) for each calculator",
                         description="Relax, phonopy finite displacements, bands along ASE's standard path, "
                         "DOS and Γ frequencies with irrep labels; comparison against reference Γ "
                         "frequencies (default for the bundled compounds: their Raman lines in "
                         "ase_ftcalc.reference_values, cm⁻¹) or a phonopy file.")
    add_calculators(p)
    add_structure(p)
    p.add_argument("--supercell", help="e.g. 4,4,1 (default: lengths >= 10 Å)")
    p.add_argument("--distance", type=float, default=0.01, help="displacement, Å (default 0.01)")
    p.add_argument("--no-relax", action="store_true", help="use the structure as given")
    p.add_argument("--path", help="special-point path, e.g. GMKGA (default: ASE's standard path)")
    p.add_argument("--reference-gamma", help="LABEL=cm-1,... or cm-1,... (default: Raman lines of --compound)")
    p.add_argument("--reference-phonopy", help="reference phonopy yaml (forces or force constants)")
    p.add_argument("--cache", help="folder for displacement forces, reused on re-run (default OUTPUT/cache)")
    add_output(p, "bench-phonons")
    p.set_defaults(func=_phonons)

    p = bench.add_parser("eos", help="E(V) fits (V0, B0, B0') and the Δ metric (meV/atom) against a reference",
                         description="Scale the cell over a range of linear strains, fit Birch–Murnaghan "
                         "(ASE EquationOfState) per calculator and report Δ = ∫|E − E_ref| dV / ΔV per atom, "
                         "each curve measured from its minimum. Reference: the first --calc, --reference NAME, "
                         "or E(V) frames (--reference-frames, e.g. from the DFT EOS mode).")
    add_calculators(p)
    add_structure(p)
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
    add_output(p, "bench-eos")
    p.set_defaults(func=_eos)

    p = bench.add_parser("rank", help="rank vacancy/antisite configurations: Spearman ρ and RMSE vs a reference",
                         description="Enumerate (symmetry-reduced) or sample arrangements of species on the "
                         "sites of an element in a supercell ('X' = vacancy), compute energies with each "
                         "calculator statically and optionally after relaxation, compare with the reference.")
    add_calculators(p)
    add_structure(p)
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
    add_output(p, "bench-rank")
    p.set_defaults(func=_rank)


def _structure(args) -> int:
    from ase_ftcalc.reference_values import experiment_structure, pbe_d3_structure

    from ..crystal.structure import plot_structure, structure

    out = prepare_output(args)
    if args.reference:
        references = {"reference": key_values(args.reference)}
    elif not args.structure:
        references = {"experiment": experiment_structure(args.compound), "PBE-D3": pbe_d3_structure(args.compound)}
    else:
        references = {}
    result = structure(calculators(args), structure_atoms(args), references=references, fmax=args.fmax,
                       steps=args.steps, symmetry=not args.no_symmetry, progress=args.progress,
                       check=not args.no_check)
    for name, res in result.calculators.items():
        if "error" in res:
            print(f"  {name}: failed: {res['error']}")
            continue
        for key, value in res["parameters"].items():
            if key not in ("a", "c", "d_MX", "z_vdW"):
                continue
            refs = "; ".join(f"{ref} {comp[key]['reference']:.4f} ({comp[key]['difference']:+.3f})"
                             for ref, comp in res["comparisons"].items() if key in comp)
            print(f"  {name:<14} {key:<6} {value:.4f} Å" + (f"   vs {refs}" if refs else ""))
        rob = res.get("robustness")
        if rob:
            flag = "PLATEAU: the result depends on threshold/start" if rob["plateau"] else "one well"
            print(f"  {name:<14} spread over fmax {args.fmax}/0.005 and c starts x1.05/x0.96: "
                  f"{rob['max_spread']:.3f} Å ({flag})")
    write_outputs(out, "structure", result, result.table(), plot_structure(result))
    return 0


def _elastic(args) -> int:
    from ..crystal.elastic import elastic, plot_elastic

    out = prepare_output(args)
    result = elastic(calculators(args), structure_atoms(args), relaxed_ion=not args.clamped_ion,
                     max_strain=args.max_strain, n_steps=args.strain_steps, fmax=args.fmax,
                     reference_gpa=key_values(args.reference) if args.reference else None, progress=args.progress)
    for name, res in result.calculators.items():
        if "error" in res:
            print(f"  {name}: failed: {res['error']}")
            continue
        print(f"  {name} ({result.family}, {'relaxed' if result.relaxed_ion else 'clamped'}-ion), GPa: "
              + ", ".join(f"{k} {v:.1f}" for k, v in res["summary_gpa"].items()))
    write_outputs(out, "elastic", result, result.table(), plot_elastic(result))
    return 0


def _phonons(args) -> int:
    from pathlib import Path

    from ase_ftcalc.reference_values import raman_lines

    from ..crystal.phonons import phonons, plot_phonons

    out = prepare_output(args)
    if args.reference_gamma:
        ref = key_values(args.reference_gamma, allow_plain=True)
    else:
        ref = raman_lines(args.compound) if not args.structure else None
    supercell = list(integers(args.supercell)) if args.supercell else None
    result = phonons(calculators(args), structure_atoms(args), supercell=supercell, distance=args.distance,
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
    write_outputs(out, "phonons", result, result.gamma_table(), plot_phonons(result))
    return 0


def _strains(text):
    if ":" in text:
        from ..crystal.eos import linear_strains

        lo, hi, step = (float(x) for x in text.split(":"))
        return linear_strains(lo, hi, step)
    return [float(x) for x in text.split(",") if x.strip()]


def _eos(args) -> int:
    from ..crystal.eos import eos, plot_eos

    out = prepare_output(args)
    atoms = structure_atoms(args)
    strains = _strains(args.strains)
    reference_points = None
    if args.dft or args.reference_frames:
        from ase_ftcalc.dft.eos import dft_eos_points, eos_reference

        path = args.reference_frames
        if args.dft:
            path = dft_eos_points(atoms, out / "dft_eos.extxyz", strains)
        reference_points = eos_reference(path)
    calcs = calculators(args) if (args.calc or reference_points is None) else {}
    result = eos(calcs, atoms, strains=strains, relax=args.relax, fmax=args.fmax, eos_name=args.eos,
                 reference=args.reference, reference_points=reference_points, align=args.align,
                 progress=args.progress)
    print(result.summary())
    write_outputs(out, "eos", result, result.table(), plot_eos(result))
    return 0


def _rank(args) -> int:
    from ..crystal.ranking import configurations, plot_ranking, rank_configurations

    out = prepare_output(args)
    atoms = structure_atoms(args) * integers(args.supercell)
    configs = configurations(atoms, args.sites, counts(args.counts), max_configs=args.max_configs, seed=args.seed)
    print(f"{len(configs)} configurations")
    result = rank_configurations(calculators(args), configs, reference=args.reference, relax=args.relax,
                                 cell=args.relax_cell, fmax=args.fmax, steps=args.steps, progress=args.progress)
    print(result.summary())
    rows = [{"config_id": i, "occupation": occ, "multiplicity": m,
             **{f"{name}_ev_per_atom": e[i] for name, e in result.energies_ev_per_atom.items()},
             **{f"{name}_relaxed_ev_per_atom": e[i] for name, e in result.relaxed_energies_ev_per_atom.items()}}
            for i, (occ, m) in enumerate(zip(result.occupations, result.multiplicities))]
    write_outputs(out, "rank", result, rows, plot_ranking(result))
    return 0
