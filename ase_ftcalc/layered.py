"""Layered split calculator: an intralayer model per isolated layer + an interlayer model.

Universal potentials fit intralayer bonding (~1 eV/f.u.) and interlayer
binding (~0.1 eV/f.u.) with one set of weights and get interlayer physics
(stacking order, sliding barriers) wrong.  :class:`LayeredSplitCalculator`
splits the energy of a layered structure

    E = sum_L E_intra(layer L alone) + E_inter

* ``E_intra``: any ASE calculator (e.g. CHGNet) evaluated on each layer in a
  copy padded with ``vacuum`` along the stacking axis (periodic in-plane).
* ``E_inter`` (``interlayer_mode='direct'``): a calculator that computes only
  interlayer terms on the whole structure (e.g. ``ilp/tmd`` with per-layer
  molecule ids, see ``lammps_plugin.layered_specs``);
  (``interlayer_mode='subtract'``): any total-energy calculator C (e.g. D3 via
  ``dftd3.ase.DFTD3``) as ``C(all) - sum_L C(layer L alone)``, the layer copies
  open (non-periodic) along the stacking axis so that C's interactions of a
  layer with its own in-plane images cancel exactly.

Forces and stress are the same sums (stress of a part scaled by its cell
volume over the structure's), so they are derivatives of the energy.  Layers
come from atom tags, from explicit labels, or from clustering atomic heights
along the stacking axis (:func:`detect_layers`).

This module imports no LAMMPS code: pass calculators or ``ase_ftcalc.spec``
strings.  As a spec: ``ase_ftcalc.layered:split?intralayer='chgnet'&interlayer=None``
(intralayer CHGNet only, e.g. next to ``ilp/tmd`` under ``hybrid/overlay``)
or ``ase_ftcalc.layered:chgnet_d3``.  Units: eV, Å, eV/Å³ (ASE).
"""
from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

DEFAULT_GAP = 2.2  # Å: a height gap larger than this separates two layers


def _normal(atoms, axis: int) -> np.ndarray:
    cell = atoms.cell.array
    others = [i for i in range(3) if i != axis]
    n = np.cross(cell[others[0]], cell[others[1]])
    norm = np.linalg.norm(n)
    if norm < 1e-12:
        n = np.eye(3)[axis]
    else:
        n = n / norm
    if np.dot(n, cell[axis]) < 0:
        n = -n
    return n


def detect_layers(atoms, axis: int = 2, gap: float | None = DEFAULT_GAP, n_layers: int | None = None):
    """Per-atom layer index (0 = lowest along the stacking normal) and image shift along ``axis``.

    Atoms are sorted by height along the normal of the two in-plane cell
    vectors; a height gap larger than ``gap`` (Å) starts a new layer, or, with
    ``n_layers``, the ``n_layers`` (periodic) / ``n_layers - 1`` largest gaps do.
    When the structure is periodic along ``axis`` the heights wrap, and the
    integer shifts (in units of the ``axis`` cell vector) make each layer
    contiguous: ``positions + shift[:, None] * cell[axis]``.
    """
    n = _normal(atoms, axis)
    h = atoms.positions @ n
    periodic = bool(atoms.pbc[axis])
    period = abs(float(np.dot(atoms.cell.array[axis], n))) if periodic else None
    if periodic and period < 1e-8:
        raise ValueError("periodic stacking axis with a zero-length cell vector")
    nat = len(atoms)
    if nat == 0:
        raise ValueError("no atoms")
    base = np.floor(h / period).astype(int) if periodic else np.zeros(nat, dtype=int)
    hw = h - base * period if periodic else h
    order = np.argsort(hw, kind="stable")
    hs = hw[order]
    gaps = np.diff(hs)
    labels_sorted = np.zeros(nat, dtype=int)
    img = np.zeros(nat, dtype=int)  # extra image shift, by sorted index
    if periodic:
        gaps_all = np.append(gaps, hs[0] + period - hs[-1])  # gap after sorted atom k; last: wrap-around
        if n_layers is not None:
            cuts = np.sort(np.argsort(gaps_all, kind="stable")[::-1][:n_layers])
        else:
            cuts = np.flatnonzero(gaps_all > gap)
        if len(cuts) == 0:
            cuts = np.array([nat - 1])  # one layer spanning the period: keep it as it is
        start = (int(cuts[-1]) + 1) % nat  # the walk starts right after a cut
        img[:start] = 1  # atoms below the start belong on top: next image
        cut_set = set(cuts.tolist())
        label = 0
        for k in np.roll(np.arange(nat), -start):
            labels_sorted[k] = label
            if k in cut_set:
                label += 1
    else:
        if n_layers is not None:
            cuts = np.sort(np.argsort(gaps, kind="stable")[::-1][: max(n_layers - 1, 0)])
        else:
            cuts = np.flatnonzero(gaps > gap)
        for c in cuts:
            labels_sorted[c + 1:] += 1
    layer = np.empty(nat, dtype=int)
    layer[order] = labels_sorted
    shift = -base
    shift[order] += img
    hu = h + shift * period if periodic else h
    means = np.array([hu[layer == L].mean() for L in range(layer.max() + 1)])
    rank = np.empty(len(means), dtype=int)
    rank[np.argsort(means)] = np.arange(len(means))
    return rank[layer], shift


def layers_from_labels(atoms, labels, axis: int = 2):
    """Layer index (0.. by height) and contiguity shifts for given per-atom labels (e.g. tags)."""
    labels = np.asarray(labels)
    if labels.shape != (len(atoms),):
        raise ValueError(f"layer labels must have one entry per atom ({len(atoms)}), got shape {labels.shape}")
    uniq, layer = np.unique(labels, return_inverse=True)
    n = _normal(atoms, axis)
    h = atoms.positions @ n
    shift = np.zeros(len(atoms), dtype=int)
    if atoms.pbc[axis]:
        period = abs(float(np.dot(atoms.cell.array[axis], n)))
        for L in range(len(uniq)):
            idx = np.flatnonzero(layer == L)
            ang = 2 * np.pi * h[idx] / period  # circular mean keeps a wrapped layer together
            center = np.mod(period * np.angle(np.exp(1j * ang).mean()) / (2 * np.pi), period)
            shift[idx] = -np.rint((h[idx] - center) / period).astype(int)
    hu = h + shift * (abs(float(np.dot(atoms.cell.array[axis], n))) if atoms.pbc[axis] else 0.0)
    means = np.array([hu[layer == L].mean() for L in range(len(uniq))])
    rank = np.empty(len(means), dtype=int)
    rank[np.argsort(means)] = np.arange(len(means))
    return rank[layer], shift


def layer_indices(atoms, layers=None, axis: int = 2, gap: float = DEFAULT_GAP):
    """(layer index per atom, contiguity shift per atom) from a layer specification.

    ``layers``: None (atom tags when they name at least two layers, else ``'auto'``), ``'auto'``
    (:func:`detect_layers` with ``gap``), ``'tags'``, an int (that many layers, cut at the largest
    height gaps) or per-atom labels.
    """
    spec = layers
    if spec is None:
        tags = atoms.get_tags()
        spec = "tags" if len(np.unique(tags)) >= 2 else "auto"
    if isinstance(spec, str):
        if spec == "auto":
            return detect_layers(atoms, axis, gap=gap)
        if spec == "tags":
            return layers_from_labels(atoms, atoms.get_tags(), axis)
        raise ValueError(f"layers must be None, 'auto', 'tags', an int or per-atom labels, not {spec!r}")
    if isinstance(spec, (int, np.integer)):
        return detect_layers(atoms, axis, gap=None, n_layers=int(spec))
    return layers_from_labels(atoms, spec, axis)


def separate_layers(atoms, axis: int = 2, gap: float = DEFAULT_GAP, bond_scale: float = 1.2):
    """Layer index per atom if ``atoms`` are two or more layers along ``axis`` that no bond joins, else None.

    Layers come from :func:`detect_layers`; a bond is a pair closer than the sum of ASE's natural
    cutoffs × ``bond_scale``.  A 3D-bonded crystal whose atomic planes happen to lie more than ``gap``
    apart (rock salt along [001]) is therefore not layered.
    """
    from ase.neighborlist import natural_cutoffs
    from matscipy.neighbours import neighbour_list

    layer, _ = detect_layers(atoms, axis, gap=gap)
    if layer.max() < 1:
        return None
    i, j = neighbour_list("ij", atoms, np.array(natural_cutoffs(atoms, mult=bond_scale)))
    return None if np.any(layer[i] != layer[j]) else layer


def _resolve(calc):
    if calc is None or not isinstance(calc, str):
        return calc
    from .spec import calculator_from_spec

    return calculator_from_spec(calc)


class LayeredSplitCalculator(Calculator):
    """E = sum over layers of an intralayer calculator on each isolated layer + an interlayer term.

    Parameters
    ----------
    intralayer
        ASE calculator (or ``ase_ftcalc.spec`` string) for one isolated layer,
        or a list with one per layer (index 0 = lowest layer).
    interlayer
        ASE calculator or spec string for the interlayer part, or None (the
        intralayer sum alone, e.g. under LAMMPS ``hybrid/overlay`` with ``ilp/tmd``).
    interlayer_mode
        ``'direct'``: the interlayer calculator sees the whole structure and
        computes interlayer terms only (ILP/KC with molecule ids).
        ``'subtract'``: ``C(all) - sum_L C(L)`` for any calculator C (D3, LJ, ...).
    layers
        None: atom tags when they name at least two layers, else ``'auto'``;
        ``'auto'``: :func:`detect_layers` on every call; ``'tags'``; an int (that
        many layers, cut at the largest height gaps); or a per-atom label array.
    axis
        Index of the cell vector along which layers stack.
    vacuum
        Å of empty space around an isolated layer (intralayer copies).
    gap
        Height gap (Å) that separates layers in automatic detection.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, intralayer, interlayer=None, *, interlayer_mode: str = "direct", layers=None,
                 axis: int = 2, vacuum: float = 15.0, gap: float = DEFAULT_GAP, **kwargs):
        super().__init__(**kwargs)
        if interlayer_mode not in ("direct", "subtract"):
            raise ValueError(f"interlayer_mode must be 'direct' or 'subtract', not {interlayer_mode!r}")
        if isinstance(intralayer, (list, tuple)):
            self.intralayer = [_resolve(c) for c in intralayer]
        else:
            self.intralayer = _resolve(intralayer)
        if self.intralayer is None:
            raise ValueError("an intralayer calculator is required")
        self.interlayer = _resolve(interlayer)
        self.interlayer_mode = interlayer_mode
        self.layers = layers
        self.axis = int(axis)
        self.vacuum = float(vacuum)
        self.gap = float(gap)
        self.parts: dict = {}

    # ------------------------------------------------------------------ layers
    def layer_indices(self, atoms):
        """(layer index per atom, contiguity shift per atom) for ``atoms``."""
        return layer_indices(atoms, self.layers, self.axis, self.gap)

    def _layer_copy(self, atoms, idx, shift, padded: bool):
        sub = atoms[idx]
        sub.calc = None
        sub.set_constraint()
        cell = atoms.cell.array.copy()
        sub.positions = sub.positions + shift[idx, None] * cell[self.axis]
        n = _normal(atoms, self.axis)
        h = sub.positions @ n
        if padded:
            thickness = float(h.max() - h.min())
            cell[self.axis] = n * (thickness + self.vacuum)
            sub.set_cell(cell, scale_atoms=False)
            sub.positions = sub.positions + n * (self.vacuum / 2 - h.min())
        else:
            pbc = list(atoms.pbc)
            pbc[self.axis] = False
            sub.pbc = pbc
        return sub

    @staticmethod
    def _evaluate(calc, atoms, want_forces: bool, want_stress: bool):
        props = ["energy"] + (["forces"] if want_forces else []) + (["stress"] if want_stress else [])
        atoms.calc = calc
        calc.calculate(atoms, props, all_changes)  # one pass for all properties
        res = calc.results
        e = float(res["energy"])
        f = np.asarray(res["forces"], dtype=float) if want_forces else None
        s = np.asarray(res["stress"], dtype=float) if want_stress else None
        if s is not None and s.shape == (3, 3):
            from ase.stress import full_3x3_to_voigt_6_stress

            s = full_3x3_to_voigt_6_stress(s)
        atoms.calc = None
        return e, f, s

    # ------------------------------------------------------------------ calculate
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        want_stress = "stress" in properties
        want_forces = "forces" in properties or want_stress
        layer, shift = self.layer_indices(atoms)
        nlayers = int(layer.max()) + 1
        intra = self.intralayer if isinstance(self.intralayer, list) else [self.intralayer] * nlayers
        if len(intra) != nlayers:
            raise ValueError(f"{len(intra)} intralayer calculators for {nlayers} layers")
        volume = atoms.get_volume() if want_stress else 1.0
        energy = 0.0
        forces = np.zeros((len(atoms), 3))
        stress = np.zeros(6)
        e_intra = []
        for L in range(nlayers):
            idx = np.flatnonzero(layer == L)
            sub = self._layer_copy(atoms, idx, shift, padded=True)
            e, f, s = self._evaluate(intra[L], sub, want_forces, want_stress)
            e_intra.append(e)
            energy += e
            if want_forces:
                forces[idx] += f
            if want_stress:
                stress += s * sub.get_volume() / volume
        e_inter = 0.0
        if self.interlayer is not None:
            e, f, s = self._evaluate(self.interlayer, atoms.copy(), want_forces, want_stress)
            e_inter += e
            if want_forces:
                forces += f
            if want_stress:
                stress += s
            if self.interlayer_mode == "subtract":
                for L in range(nlayers):
                    idx = np.flatnonzero(layer == L)
                    sub = self._layer_copy(atoms, idx, shift, padded=False)
                    e, f, s = self._evaluate(self.interlayer, sub, want_forces, want_stress)
                    e_inter -= e
                    if want_forces:
                        forces[idx] -= f
                    if want_stress:
                        stress -= s * abs(np.linalg.det(sub.cell.array)) / volume
        energy += e_inter
        self.parts = {"intralayer_ev": e_intra, "interlayer_ev": e_inter, "n_layers": nlayers,
                      "layer": layer.copy()}
        self.results["energy"] = self.results["free_energy"] = energy
        self.results["intralayer_energy"] = float(sum(e_intra))
        self.results["interlayer_energy"] = float(e_inter)
        if want_forces:
            self.results["forces"] = forces
        if want_stress:
            self.results["stress"] = stress


# ---------------------------------------------------------------------- spec factories


def split(intralayer="chgnet", interlayer=None, interlayer_mode: str = "direct", layers=None, axis: int = 2,
          vacuum: float = 15.0, gap: float = DEFAULT_GAP):
    """Spec factory: ``ase_ftcalc.layered:split?intralayer='chgnet:/m.pt'&interlayer='SPEC'&interlayer_mode='subtract'``.

    ``intralayer``/``interlayer`` are calculator specs (or calculators when called from Python).
    """
    return LayeredSplitCalculator(intralayer, interlayer, interlayer_mode=interlayer_mode, layers=layers,
                                  axis=axis, vacuum=vacuum, gap=gap)


def d3_calculator(method: str = "PBE", damping: str = "d3zero", **kwargs):
    """Grimme D3 (``dftd3.ase.DFTD3``), the dispersion of the bundled PBE-D3 reference data."""
    from dftd3.ase import DFTD3

    return DFTD3(method=method, damping=damping, **kwargs)


def chgnet_d3(model: str = "0.3.0", method: str = "PBE", damping: str = "d3zero", num_threads=None,
              layers=None, axis: int = 2, vacuum: float = 15.0, gap: float = DEFAULT_GAP):
    """Spec factory ``ase_ftcalc.layered:chgnet_d3``: CHGNet per isolated layer + interlayer D3 (subtracted).

    D3 is attractive only: with no interlayer repulsion the layers collapse
    (no equilibrium separation).  Useful as the dispersion part of a sum or for
    the sliding profile at fixed separation; for binding use an ILP/KC interlayer term.
    """
    from .calculator import FTCalculator

    return LayeredSplitCalculator(FTCalculator(model, num_threads=num_threads),
                                  d3_calculator(method, damping), interlayer_mode="subtract",
                                  layers=layers, axis=axis, vacuum=vacuum, gap=gap)


def chgnet_layers(model: str = "0.3.0", num_threads=None, layers=None, axis: int = 2, vacuum: float = 15.0,
                  gap: float = DEFAULT_GAP):
    """Spec factory ``ase_ftcalc.layered:chgnet_layers``: CHGNet on each isolated layer, no interlayer term.

    For a plain ``lmp`` deck: ``pair_style hybrid/overlay ase ase_ftcalc.layered:chgnet_layers ilp/tmd 16.0``.
    """
    from .calculator import FTCalculator

    return LayeredSplitCalculator(FTCalculator(model, num_threads=num_threads), None, layers=layers, axis=axis,
                                  vacuum=vacuum, gap=gap)
