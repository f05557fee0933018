"""FTCalculator: CHGNet (pretrained or fine-tuned) as an ASE calculator."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from .checks import check_results
from .model import PRETRAINED_VERSIONS, atoms_to_graph, load_model, predict_graphs, resolve_device
from .units import chgnet_gpa_to_ase_stress


def _file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve_dispersion(dispersion, metadata: dict):
    """The D3 settings to add: the model file's (``"auto"``), explicit ones, or None."""
    from .dispersion import D3Settings

    stored = D3Settings.parse(metadata.get("dispersion"))
    if isinstance(dispersion, str) and dispersion == "auto":
        return stored
    wanted = D3Settings.parse(dispersion)
    if wanted is not None and stored is not None:
        raise ValueError("this model was trained on labels minus D3 and adds D3 itself "
                         f"({stored.damping}); do not add D3 again (use dispersion='auto')")
    return wanted


class FTCalculator(Calculator):
    """CHGNet for ASE: energy (eV), forces (eV/Å), stress (eV/Å³, ASE sign), magmoms (μB).

    Parameters
    ----------
    model
        Pretrained version ("0.3.0" default, "0.2.0", "r2scan"), a model file
        written by :func:`ase_ftcalc.fine_tune`/:func:`ase_ftcalc.save_model`, or a CHGNet module.
    device
        "auto" (default: CUDA when available, else CPU), "cpu", "cuda", "cuda:N".
    num_threads
        torch intra-op threads, set before every calculation (LAMMPS and other
        hosts reset it); None leaves torch's setting alone.
    compute_stress
        None: stress only when asked for.  True: always (saves a second pass
        when an optimiser asks forces and stress of the same structure).
    dispersion
        "auto" (default): add Grimme D3 when the model file says it was trained
        on labels minus D3 (Δ-learning); None/"none": never add it (the bare
        network); "d3"/"d3bj": add D3 to a model trained without it.

    ``parameters`` (and ``todict()``) record the model (name or file and its
    SHA-256), device and dispersion, so trajectories and databases keep which
    model made the numbers.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "magmoms", "energies"]

    def __init__(self, model: str | Path | torch.nn.Module = "0.3.0", *, device: str = "auto",
                 num_threads: int | None = None, compute_stress: bool | None = None, dispersion="auto",
                 **kwargs):
        super().__init__(**kwargs)
        self.device = resolve_device(device)
        self.net, self.metadata = load_model(model, device=self.device)
        self.num_threads = num_threads
        self.compute_stress = compute_stress
        self.dispersion = _resolve_dispersion(dispersion, self.metadata)
        self._d3 = None
        if self.dispersion is not None:
            from .dispersion import d3_calculator

            self._d3 = d3_calculator(self.dispersion)
        self.parameters.update(self._describe(model))

    def _describe(self, model) -> dict:
        if isinstance(model, torch.nn.Module):
            name, digest = self.metadata.get("base_model", "CHGNet module (in memory)"), None
        elif str(model) in PRETRAINED_VERSIONS:
            name, digest = f"CHGNet {model}", None
        else:
            name, digest = str(Path(model).resolve()), _file_sha256(model)
        return {"model": name, "model_sha256": digest, "device": self.device,
                "dispersion": None if self.dispersion is None else self.dispersion.todict(),
                "compute_stress": self.compute_stress}

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "FTCalculator":
        return cls(model=Path(path), **kwargs)

    @property
    def training_fingerprints(self) -> set[str]:
        """Structure fingerprints of the frames this model trained or validated on (empty if unknown)."""
        prints = self.metadata.get("frame_fingerprints") or {}
        return set(prints.get("train", [])) | set(prints.get("val", []))

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        want_stress = "stress" in properties or bool(self.compute_stress)
        # Forces cost one backward pass; an energy-only query (e.g. a line search) skips it.
        want_forces = "forces" in properties or want_stress
        graph = atoms_to_graph(self.net, self.atoms).to(self.device)
        (res,) = predict_graphs(self.net, [graph], forces=want_forces, stress=want_stress)
        if want_stress:
            res["stress"] = chgnet_gpa_to_ase_stress(res.pop("stress_gpa"))
        if self._d3 is not None:
            _add_d3(res, self._d3, self.atoms, per_atom="energies" in properties, settings=self.dispersion)
        check_results(res)  # an error, never a NaN (and no NaN left in self.results for a second call)
        self.results["energy"] = self.results["free_energy"] = res["energy"]
        self.results["magmoms"] = res["magmoms"]
        if "energies" in res:
            self.results["energies"] = res["energies"]
        if want_forces:
            self.results["forces"] = res["forces"]
        if want_stress:
            self.results["stress"] = res["stress"]

    def predict_batch(self, atoms_list, *, batch_size: int = 16, stress: bool = True, progress: bool = False):
        """Many structures at once through the network (:func:`predict_batch` with this model)."""
        return predict_batch(atoms_list, self, batch_size=batch_size, stress=stress, progress=progress)


def _add_d3(res: dict, d3, atoms, *, per_atom: bool, settings=None) -> None:
    """Add D3's energy, forces and stress to a CHGNet result (in place).

    Per-atom energies get half of each D3 pair energy when asked for; otherwise
    they are dropped, since CHGNet's alone would not sum to the total.
    """
    work = atoms.copy()
    work.calc = d3
    res["energy"] += float(work.get_potential_energy())
    if "forces" in res:
        res["forces"] = res["forces"] + work.get_forces()
    if "stress" in res:
        res["stress"] = res["stress"] + work.get_stress(voigt=True)
    site = res.pop("energies", None)
    if per_atom and site is not None:
        from .dispersion import d3_site_energies

        res["energies"] = site + d3_site_energies(atoms, settings)


def predict_batch(atoms_list, calculator_or_model="0.3.0", *, batch_size: int = 16, stress: bool = True,
                  progress: bool = False, device: str = "auto") -> list[dict[str, np.ndarray]]:
    """Energy, forces, stress (ASE units) for many structures, batched through CHGNet.

    Returns one dict per structure with keys energy (eV), forces (eV/Å),
    stress (Voigt-6, eV/Å³), magmoms, energies.  A model file trained with
    Δ-learning gets its D3 added back, as :class:`FTCalculator` does.
    """
    if isinstance(calculator_or_model, FTCalculator):
        calc = calculator_or_model
    else:
        calc = FTCalculator(calculator_or_model, device=device)
    net, d3 = calc.net, calc._d3
    from tqdm.auto import tqdm

    out = []
    starts = range(0, len(atoms_list), batch_size)
    for start in tqdm(starts, desc="CHGNet batches", disable=not progress):
        chunk = atoms_list[start:start + batch_size]
        graphs = [atoms_to_graph(net, atoms, f"structure {start + k}").to(calc.device) for k, atoms in enumerate(chunk)]
        for atoms, res in zip(chunk, predict_graphs(net, graphs, forces=True, stress=stress)):
            if stress:
                res["stress"] = chgnet_gpa_to_ase_stress(res.pop("stress_gpa"))
            if d3 is not None:
                _add_d3(res, d3, atoms, per_atom=True, settings=calc.dispersion)
            check_results(res, f"structure {len(out)}")
            out.append(res)
    return out
