"""FTCalculator: CHGNet (pretrained or fine-tuned) as an ASE calculator."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from .model import atoms_to_graph, load_model, predict_graphs
from .units import chgnet_gpa_to_ase_stress


class FTCalculator(Calculator):
    """CHGNet for ASE: energy (eV), forces (eV/Å), stress (eV/Å³, ASE sign), magmoms (μB).

    Parameters
    ----------
    model
        Pretrained version ("0.3.0" default, "0.2.0", "r2scan"), a model file
        written by :func:`ase_ftcalc.fine_tune`/:func:`ase_ftcalc.save_model`, or a CHGNet module.
    device
        torch device, "cpu" by default (CHGNet's own calculator picks CUDA when present).
    num_threads
        torch intra-op threads, set before every calculation (LAMMPS and other
        hosts reset it); None leaves torch's setting alone.
    compute_stress
        None: stress only when asked for.  True: always (saves a second pass
        when an optimiser asks forces and stress of the same structure).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "magmoms", "energies"]

    def __init__(self, model: str | Path | torch.nn.Module = "0.3.0", *, device: str = "cpu",
                 num_threads: int | None = None, compute_stress: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.net, self.metadata = load_model(model, device=device)
        self.device = device
        self.num_threads = num_threads
        self.compute_stress = compute_stress

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "FTCalculator":
        return cls(model=Path(path), **kwargs)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        want_stress = "stress" in properties or bool(self.compute_stress)
        # Forces cost one backward pass; an energy-only query (e.g. a line search) skips it.
        want_forces = "forces" in properties or want_stress
        graph = atoms_to_graph(self.net, self.atoms).to(self.device)
        (res,) = predict_graphs(self.net, [graph], forces=want_forces, stress=want_stress)
        self.results["energy"] = self.results["free_energy"] = res["energy"]
        self.results["magmoms"] = res["magmoms"]
        self.results["energies"] = res["energies"]
        if want_forces:
            self.results["forces"] = res["forces"]
        if want_stress:
            self.results["stress"] = chgnet_gpa_to_ase_stress(res["stress_gpa"])


def predict_batch(atoms_list, calculator_or_model="0.3.0", *, batch_size: int = 16,
                  stress: bool = True, progress: bool = False) -> list[dict[str, np.ndarray]]:
    """Energy, forces, stress (ASE units) for many structures, batched through CHGNet.

    Returns one dict per structure with keys energy (eV), forces (eV/Å),
    stress (Voigt-6, eV/Å³), magmoms, energies.
    """
    if isinstance(calculator_or_model, FTCalculator):
        net = calculator_or_model.net
    else:
        net, _ = load_model(calculator_or_model)
    from tqdm.auto import tqdm

    device = next(net.parameters()).device
    out = []
    starts = range(0, len(atoms_list), batch_size)
    for start in tqdm(starts, desc="CHGNet batches", disable=not progress):
        chunk = atoms_list[start:start + batch_size]
        graphs = [atoms_to_graph(net, atoms).to(device) for atoms in chunk]
        for res in predict_graphs(net, graphs, forces=True, stress=stress):
            if stress:
                res["stress"] = chgnet_gpa_to_ase_stress(res.pop("stress_gpa"))
            out.append(res)
    return out
