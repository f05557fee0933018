"""`ftcalc bench stacking|mde`: the layered-material benchmarks.

Calculators are spec strings as in the other benchmarks, e.g.
``--calc chgnet --calc split=lammps_plugin.layered_specs:chgnet_ilp``.
"""
from __future__ import annotations

from .options import add_calculators, add_output, calculators, floats, prepare_output, write_outputs


def register(sub, bench) -> None:
    p = bench.add_parser("stacking", help="bilayer sliding path (AA→AB→BA) and binding curve, AB–BA difference",
                         description="Rigid bilayer MX2: energy (meV/atom) along the sliding path shift = "
                         "t·(1/3, 2/3), t in [0, 3), and vs the metal–metal interlayer distance, for each "
                         "calculator; named stackings R: AA, AB, BA; H: AB', AA' (2H), A'B. Optional GPAW "
                         "PBE-D3 reference points (--reference FILE or --dft).")
    add_calculators(p)
    p.add_argument("--compound", default="MoS2", choices=["MoS2", "WS2"])
    p.add_argument("--stacking", default="H", choices=["H", "R"], help="antiparallel (H, default) or parallel (R)")
    p.add_argument("--points-per-segment", type=int, default=6, help="sliding points per AA→AB segment (default 6)")
    p.add_argument("--separation", type=float, help="M–M distance of the sliding scan, Å (default bulk c/2)")
    p.add_argument("--separations", help="M–M distances of the binding curve, Å, comma-separated")
    p.add_argument("--t-separation", type=float, default=1.0, help="stacking point t of the binding curve (default 1)")
    p.add_argument("--vacuum", type=float, default=15.0, help="Å (default 15)")
    p.add_argument("--reference", help="labelled bilayer frames (extxyz from ase_ftcalc.dft.bilayer)")
    p.add_argument("--dft", action="store_true", help="compute PBE-D3 reference points with GPAW "
                   "(quick settings; cached in OUTPUT/dft_bilayer.extxyz, a re-run resumes)")
    p.add_argument("--dft-ts", default="0,1,2", help="t values of the DFT sliding points (default 0,1,2)")
    p.add_argument("--dft-separations", help="M–M distances of DFT binding points, Å (default none)")
    p.add_argument("--dft-ecut", type=float, default=300.0, help="eV (default 300)")
    p.add_argument("--dft-kdensity", type=float, default=5.0, help="k-points per 1/Å (default 5: 2x2x1)")
    p.add_argument("--dft-vacuum", type=float, help="Å (default --vacuum)")
    add_output(p, "bench-stacking")
    p.set_defaults(func=_stacking)

    p = bench.add_parser("mde", help="mean disregistry error of relaxed bilayers (quasi-1D moiré surrogate)",
                         description="Relax a bilayer (default: quasi-1D moiré surrogate cell) with FIRE at "
                         "fixed cell for each calculator; in-plane offsets of reference-species sites to the "
                         "adjacent layer, folded into the Wigner–Seitz cell and matched by linear_sum_assignment; "
                         "mean matched distance (Å) vs the reference calculator and vs the unrelaxed input.")
    add_calculators(p)
    p.add_argument("--reference", help="name of the reference calculator (default: the first --calc)")
    p.add_argument("--structure", help="bilayer structure file (default: quasi-1D moiré of --compound)")
    p.add_argument("--compound", default="MoS2", choices=["MoS2", "WS2"])
    p.add_argument("--stacking", default="R", choices=["H", "R"], help="moiré of parallel (R) or antiparallel (H) layers")
    p.add_argument("--n-cells", type=int, default=12, help="moiré period in a·√3 cells (default 12)")
    p.add_argument("--species", help="reference species (default: the scarcest, e.g. the metal)")
    p.add_argument("--fmax", type=float, default=1e-3, help="eV/Å (default 0.001)")
    p.add_argument("--steps", type=int, default=2000)
    add_output(p, "bench-mde")
    p.set_defaults(func=_mde)


def _stacking(args) -> int:
    from ..layered.stacking import plot_stacking, stacking

    out = prepare_output(args)
    reference = None
    if args.reference:
        from ase.io import read

        reference = read(args.reference, index=":")
    if args.dft:
        from ase_ftcalc.dft.bilayer import bilayer_frames, label_frames
        from ase_ftcalc.dft.labelling import DFTSettings

        settings = DFTSettings(ecut_ev=args.dft_ecut, kpt_density_angstrom=args.dft_kdensity, scf_energy_tol_ev=1e-5)
        vac = args.dft_vacuum or args.vacuum
        frames = bilayer_frames(args.compound, mode="sliding", stacking=args.stacking, ts=floats(args.dft_ts),
                                vacuum=vac)
        if args.dft_separations:
            frames += bilayer_frames(args.compound, mode="separation", stacking=args.stacking,
                                     separations=floats(args.dft_separations), t=args.t_separation, vacuum=vac)
        reference = (reference or []) + label_frames(frames, settings, out / "dft_bilayer.extxyz")
    result = stacking(calculators(args), compound=args.compound, stacking=args.stacking,
                      n_per_segment=args.points_per_segment, separation=args.separation,
                      separations=floats(args.separations), t_separation=args.t_separation, vacuum=args.vacuum,
                      reference_frames=reference, progress=args.progress)
    print(result.summary())
    write_outputs(out, "stacking", result, result.table(), plot_stacking(result))
    return 0


def _mde(args) -> int:
    from ..layered.mde import mde, plot_mde

    out = prepare_output(args)
    atoms = None
    if args.structure:
        from ase.io import read

        atoms = read(args.structure)
    result = mde(calculators(args), atoms, reference=args.reference, fmax=args.fmax, steps=args.steps,
                 species=args.species, progress=args.progress, compound=args.compound, stacking=args.stacking,
                 n_cells=args.n_cells)
    print(result.summary())
    write_outputs(out, "mde", result, result.table(), plot_mde(result))
    return 0
