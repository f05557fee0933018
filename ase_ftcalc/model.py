"""Loading CHGNet models and fast inference on crystal graphs.

Upstream CHGNet differentiates the energy twice (forces, then stress), each
time with ``create_graph=True`` so that training can backpropagate through
forces.  At inference nobody needs that second-order graph: here one
``torch.autograd.grad`` call returns forces and stress together, without
building it, and the strain tensor that stress needs is only attached when
stress was asked for.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import contextlib
import io
import warnings

import numpy as np
import torch

from .checks import check_structure

# Upstream builds batch volumes with torch.tensor(list of tensors) and warns on every call.
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar",
                        category=UserWarning)

PRETRAINED_VERSIONS = ("0.3.0", "0.2.0", "r2scan")
EV_PER_A3_TO_GPA = 160.21766208  # CHGNet's own constant, kept so numbers match upstream


def resolve_device(device: str | None) -> str:
    """``"auto"``: "cuda" when a CUDA device is visible, else "cpu"; other names pass through (checked)."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device (use 'cpu' or 'auto')")
    return device


def load_model(model: str | Path | torch.nn.Module = "0.3.0", device: str = "auto", *,
               trainable: bool = False):
    """A CHGNet network in eval mode, and the metadata it was saved with.

    ``model`` is a pretrained version ("0.3.0", "0.2.0", "r2scan"), a model
    file written by :func:`ase_ftcalc.save_model` (or an upstream CHGNet
    checkpoint), or a CHGNet module.  Unless ``trainable``, parameters are
    frozen: autograd then skips weight gradients in the force backward pass
    (about a third of its cost).
    """
    from chgnet.model import CHGNet

    if isinstance(model, torch.nn.Module):
        import copy

        # A private copy: freezing or moving the caller's module would be a surprise.
        net, meta = copy.deepcopy(model), getattr(model, "ftcalc_metadata", {})
    elif str(model) in PRETRAINED_VERSIONS:
        with contextlib.redirect_stdout(io.StringIO()):  # CHGNet prints a banner on construction
            net = CHGNet.load(model_name=str(model), use_device="cpu", verbose=False)
        meta = {"base_model": f"CHGNet {model}"}
    else:
        from .modelfile import read_model_file

        net, meta = read_model_file(model)
    net = net.to(resolve_device(device))
    net.eval()
    if not trainable:
        net.requires_grad_(False)
    net.ftcalc_metadata = meta
    return net, meta


def atoms_to_graph(net, atoms, graph_id=None, *, builder: str = "numpy"):
    """Crystal graph of an ASE Atoms with the network's cutoffs.

    ``builder="numpy"`` (default): :func:`ase_ftcalc.graph.atoms_to_crystal_graph`,
    a vectorised build of the same graph (same neighbour set, same pairing and
    angles; edge order may differ), tens of times faster.  ``builder="upstream"``:
    CHGNet's own ``CrystalGraphConverter`` via a pymatgen Structure.
    """
    converter = net.graph_converter
    check_structure(atoms, converter.atom_graph_cutoff, graph_id)  # NaN, overlaps, density: one clear error
    if builder == "upstream":
        from pymatgen.io.ase import AseAtomsAdaptor

        structure = AseAtomsAdaptor.get_structure(atoms)
        return converter(structure, graph_id=graph_id)
    if builder != "numpy":
        raise ValueError(f"unknown graph builder {builder!r}; use 'numpy' or 'upstream'")
    from .graph import atoms_to_crystal_graph

    return atoms_to_crystal_graph(
        atoms,
        atom_graph_cutoff=converter.atom_graph_cutoff,
        bond_graph_cutoff=converter.bond_graph_cutoff,
        graph_id=graph_id,
        on_isolated_atoms=converter.on_isolated_atoms,
    )


def predict_graphs(net, graphs: Sequence, *, forces: bool = True, stress: bool = False,
                   magmoms: bool = True, site_energies: bool = True,
                   crystal_features: bool = False) -> list[dict[str, np.ndarray]]:
    """Energy (eV), forces (eV/Å), stress (3x3 GPa, ASE sign), magmoms (μB), site energies (eV).

    All graphs go through the network as one batch.  Parameters need no
    gradient here; only positions and strains do.
    """
    from chgnet.model.model import BatchedGraph

    differentiate = forces or stress
    for graph in graphs:
        graph.atom_frac_coord.requires_grad_(differentiate)
    with torch.set_grad_enabled(differentiate):
        batch = BatchedGraph.from_graphs(
            list(graphs), net.bond_basis_expansion, net.angle_basis_expansion, compute_stress=stress
        )
        out = net._compute(
            batch,
            compute_magmom=magmoms,
            return_site_energies=site_energies,
            return_crystal_feas=crystal_features,
        )
        n_atoms = out["atoms_per_graph"]
        # _compute returns energy per atom for intensive models; differentiate the total.
        total = out["e"] * n_atoms if net.is_intensive else out["e"]
        grads = []
        if differentiate:
            inputs = (list(batch.atom_positions) if forces else []) + (list(batch.strains) if stress else [])
            grads = torch.autograd.grad(total.sum(), inputs)
    n_graphs = len(graphs)
    force_grads = grads[:n_graphs] if forces else ()
    strain_grads = grads[n_graphs if forces else 0:] if stress else ()
    total = total.detach()
    if net.composition_model is not None:
        reference = net.composition_model(list(graphs)).detach()
        total = total + (reference * n_atoms if net.composition_model.is_intensive else reference)
        site_refs = net.composition_model.get_site_energies(list(graphs)) if site_energies else None
    results = []
    for i, graph in enumerate(graphs):
        res = {"energy": float(total[i])}
        if forces:
            res["forces"] = -force_grads[i].cpu().numpy()
        if stress:
            res["stress_gpa"] = (strain_grads[i] / batch.volumes[i].abs() * EV_PER_A3_TO_GPA).cpu().numpy()
        if magmoms:
            res["magmoms"] = out["m"][i].detach().cpu().numpy()
        if site_energies:
            site = out["site_energies"][i].detach()
            if net.composition_model is not None:
                site = site + site_refs[i]
            res["energies"] = site.cpu().numpy()
        if crystal_features:
            res["crystal_fea"] = out["crystal_fea"][i].detach().cpu().numpy()
        results.append(res)
    return results


def forward_for_training(net, graphs: Sequence, *, stress: bool, magmoms: bool) -> dict:
    """Upstream CHGNet's training outputs (e per atom, f, s in GPa, m) with one fused backward.

    Training needs the force graph (``create_graph=True``) to backpropagate
    force and stress errors; upstream builds it twice, once per quantity.
    """
    from chgnet.model.model import BatchedGraph

    for graph in graphs:
        graph.atom_frac_coord.requires_grad_(True)
    batch = BatchedGraph.from_graphs(
        list(graphs), net.bond_basis_expansion, net.angle_basis_expansion, compute_stress=stress
    )
    out = net._compute(batch, compute_magmom=magmoms)
    n_atoms = out["atoms_per_graph"]
    total = out["e"] * n_atoms if net.is_intensive else out["e"]
    inputs = list(batch.atom_positions) + (list(batch.strains) if stress else [])
    grads = torch.autograd.grad(total.sum(), inputs, create_graph=True)
    n = len(graphs)
    prediction = {"f": [-g for g in grads[:n]]}
    if stress:
        scale = EV_PER_A3_TO_GPA / batch.volumes.abs()  # upstream's signed det flips σ of left-handed cells
        prediction["s"] = [g * s for g, s in zip(grads[n:], scale)]
    energy = out["e"] if net.is_intensive else out["e"] / n_atoms
    if net.composition_model is not None:
        energy = energy + net.composition_model(list(graphs))
    prediction["e"] = energy
    if magmoms:
        prediction["m"] = out["m"]
    return prediction
