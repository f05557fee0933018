"""Fine-tuning CHGNet on a user's DFT frames (energies, forces, stresses).

Defaults follow the seed paper: Adam, learning rate 1e-2, 5 epochs, batch
size 4, 8:1:1 split, loss on energy/force/stress, all but the last atom
convolution and the readout frozen.  Crystal graphs are built once and
reused in every epoch; forces and stress share one backward pass.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .frames import FrameSet, read_frames, validate_frames
from .metrics import parity_stats
from .model import atoms_to_graph, forward_for_training, load_model, predict_graphs
from .units import ase_stress_to_chgnet_gpa

log = logging.getLogger(__name__)

FREEZE_PRESETS = ("paper", "readout", "none")


def _frozen_modules(net, preset: str):
    """Modules whose weights stay fixed under a named preset."""
    if preset == "paper":
        # CHGNet's own fine-tuning example: embeddings, basis expansions, bond
        # and angle layers and all but the last atom convolution.
        return [net.atom_embedding, net.bond_embedding, net.angle_embedding,
                net.bond_basis_expansion, net.angle_basis_expansion,
                *net.atom_conv_layers[:-1], net.bond_conv_layers, net.angle_layers]
    if preset == "readout":
        return [m for name, m in net.named_children() if name not in ("mlp", "readout_norm")]
    if preset == "none":
        return []
    raise ValueError(f"unknown freeze preset {preset!r}; use one of {FREEZE_PRESETS} or a list of parameter names")


def apply_freezing(net, freeze: str | Sequence[str], *, train_magmom_head: bool) -> list[str]:
    """Set requires_grad per preset or explicit parameter-name prefixes; return trainable names.

    The composition model is never trained by gradient (it is refitted), and
    the magnetic-moment head is kept as it was when frames carry no magmoms.
    """
    net.requires_grad_(True)
    if isinstance(freeze, str):
        for module in _frozen_modules(net, freeze):
            module.requires_grad_(False)
    else:
        prefixes = tuple(freeze)
        names = [n for n, _ in net.named_parameters()]
        unknown = [p for p in prefixes if not any(n.startswith(p) for n in names)]
        if unknown:
            raise ValueError(f"freeze: no parameter starts with {unknown}; names look like {names[:3]}")
        for name, param in net.named_parameters():
            if name.startswith(prefixes):
                param.requires_grad_(False)
    net.composition_model.requires_grad_(False)
    if not train_magmom_head:
        net.site_wise.requires_grad_(False)
    return [n for n, p in net.named_parameters() if p.requires_grad]


def refit_reference_energies(net, graphs, energies_ev: np.ndarray) -> dict[str, float]:
    """Shift the per-element reference energies so the model's absolute energies match the DFT data.

    Least-squares change of the composition-model weights (minimum norm, so
    elements absent from the data and directions the data cannot resolve,
    e.g. W vs S in pure WS2, keep their pretrained split).
    """
    from .modelfile import element_reference_energies

    max_z = net.composition_model.max_num_elements
    fractions = np.zeros((len(graphs), max_z))
    for i, graph in enumerate(graphs):
        counts = np.bincount(graph.atomic_number.numpy() - 1, minlength=max_z)
        fractions[i] = counts / counts.sum()
    predicted = np.array([r["energy"] / len(g.atomic_number) for r, g in zip(
        predict_graphs(net, graphs, forces=False, magmoms=False, site_energies=False), graphs)])
    residual = energies_ev / np.array([len(g.atomic_number) for g in graphs]) - predicted
    delta = np.linalg.lstsq(fractions, residual, rcond=None)[0]
    with torch.no_grad():
        net.composition_model.fc.weight += torch.tensor(delta, dtype=net.composition_model.fc.weight.dtype)
    present = {s for g in graphs for s in _symbols(g)}
    return {el: e for el, e in element_reference_energies(net).items() if el in present}


def _symbols(graph) -> set[str]:
    from ase.data import chemical_symbols

    return {chemical_symbols[int(z)] for z in graph.atomic_number}


def split_indices(n: int, fractions=(0.8, 0.1, 0.1), seed: int = 0):
    """Train/validation/test indices; too few frames for a validation set -> all train."""
    n_val = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    if n_val == 0 or n - n_val - n_test < 1:
        return list(range(n)), [], []
    order = np.random.default_rng(seed).permutation(n).tolist()
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


@dataclass
class FineTuneResult:
    """What a fine-tuning run did and how well it fits; JSON-savable via ``to_dict``."""

    model_path: str | None
    config: dict
    n_train: int
    n_val: int
    n_test: int
    split: dict
    history: list[dict] = field(default_factory=list)
    test_metrics: dict = field(default_factory=dict)
    element_reference_energies_ev: dict = field(default_factory=dict)
    trainable_parameters: int = 0
    training_data_sha256: str = ""
    train_seconds: float = 0.0
    frames_epochs_per_second: float = 0.0
    net: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("net")
        return out

    def save_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    def calculator(self, **kwargs):
        """An FTCalculator with the fine-tuned weights (in memory)."""
        from .calculator import FTCalculator

        return FTCalculator(model=self.net, **kwargs)


def _targets(frame_set: FrameSet, indices, *, stress: bool, magmoms: bool):
    out = []
    for i in indices:
        fr = frame_set.frames[i]
        t = {"e": torch.tensor(fr.energy / len(fr.atoms), dtype=torch.float32),
             "f": torch.tensor(fr.forces, dtype=torch.float32)}
        if stress:
            t["s"] = torch.tensor(ase_stress_to_chgnet_gpa(fr.stress), dtype=torch.float32)
        if magmoms:
            t["m"] = torch.tensor(np.abs(fr.magmoms), dtype=torch.float32)
        out.append(t)
    return out


def _collate(targets: list[dict]) -> dict:
    batch = {"e": torch.stack([t["e"] for t in targets])}
    for key in ("f", "s", "m"):
        if key in targets[0]:
            batch[key] = [t[key] for t in targets]
    return batch


def evaluate(net, graphs, frame_set: FrameSet, indices, *, stress: bool) -> dict:
    """MAE/slope of energy (eV/atom), forces (eV/Å) and stress (GPa) on the given frames."""
    if not indices:
        return {}
    preds = predict_graphs(net, [graphs[i] for i in indices], stress=stress, magmoms=False, site_energies=False)
    frames = [frame_set.frames[i] for i in indices]
    e_ref = [f.energy / len(f.atoms) for f in frames]
    e_pred = [p["energy"] / len(f.atoms) for p, f in zip(preds, frames)]
    metrics = {"energy_ev_per_atom": parity_stats(e_ref, e_pred),
               "forces_ev_per_a": parity_stats(np.concatenate([f.forces.ravel() for f in frames]),
                                               np.concatenate([p["forces"].ravel() for p in preds]))}
    if stress:
        metrics["stress_gpa"] = parity_stats(
            np.concatenate([ase_stress_to_chgnet_gpa(f.stress).ravel() for f in frames]),
            np.concatenate([p["stress_gpa"].ravel() for p in preds]))
    return metrics


def fine_tune(
    frames,
    output: str | os.PathLike | None = None,
    *,
    base_model="0.3.0",
    epochs: int = 5,
    batch_size: int = 4,
    learning_rate: float = 1e-2,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    freeze: str | Sequence[str] = "paper",
    energy_weight: float = 1.0,
    force_weight: float = 1.0,
    stress_weight: float = 0.1,
    magmom_weight: float = 0.1,
    criterion: str = "MSE",
    refit_reference: bool = True,
    use_stress: bool | None = None,
    seed: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    keep_checkpoints: bool = False,
    overwrite: bool = False,
    num_threads: int | None = None,
    progress: bool = True,
    on_epoch_end=None,
) -> FineTuneResult:
    """Fine-tune CHGNet on DFT frames and (optionally) write one model file.

    ``frames``: ASE Atoms with DFT labels, or paths of files ``ase.io.read``
    understands.  Energies in eV, forces eV/Å, stress eV/Å³ (ASE sign).
    A run with ``output`` keeps per-epoch checkpoints in
    ``<output>.checkpoints/`` and resumes from them if interrupted.
    ``on_epoch_end(history_row)`` is called after each epoch's checkpoint.
    """
    from chgnet.trainer.trainer import CombinedLoss
    from tqdm.auto import tqdm

    from .modelfile import save_model

    if isinstance(frames, (str, os.PathLike)) or (
            len(frames) and isinstance(frames[0], (str, os.PathLike))):
        frames = read_frames(frames)
    frame_set = validate_frames(list(frames), use_stress=use_stress)
    output = Path(output) if output is not None else None
    if output is not None and output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if num_threads:
        torch.set_num_threads(num_threads)
    stress, magmoms = frame_set.has_stress, frame_set.has_magmoms
    config = dict(base_model=str(base_model), epochs=epochs, batch_size=batch_size,
                  learning_rate=learning_rate, split=list(split),
                  freeze=freeze if isinstance(freeze, str) else list(freeze),
                  loss_weights=dict(energy=energy_weight, force=force_weight, stress=stress_weight,
                                    magmom=magmom_weight),
                  criterion=criterion, refit_reference=refit_reference, use_stress=stress,
                  use_magmoms=magmoms, seed=seed, optimizer="Adam",
                  scheduler="cosine, 10 steps per epoch, eta_min = 0.01 lr")
    digest = frame_set.digest()
    train_idx, val_idx, test_idx = split_indices(len(frame_set), split, seed)
    if not val_idx:
        warnings.warn(f"{len(frame_set)} frames are too few for an 8:1:1 split: training on all of them, "
                      "with no validation or test set", stacklevel=2)

    torch.manual_seed(seed)
    net, _ = load_model(base_model, trainable=True)
    graphs = [atoms_to_graph(net, fr.atoms, graph_id=fr.source) for fr in frame_set.frames]
    reference = (refit_reference_energies(net, [graphs[i] for i in train_idx],
                                          np.array([frame_set.frames[i].energy for i in train_idx]))
                 if refit_reference else {})
    trainable = apply_freezing(net, freeze, train_magmom_head=magmoms)
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("freeze leaves no trainable parameter")
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10 * epochs,
                                                           eta_min=1e-2 * learning_rate)
    loss_fn = CombinedLoss(target_str="ef" + ("s" if stress else "") + ("m" if magmoms else ""),
                           criterion=criterion, energy_loss_ratio=energy_weight,
                           force_loss_ratio=force_weight, stress_loss_ratio=stress_weight,
                           mag_loss_ratio=magmom_weight)
    targets = _targets(frame_set, range(len(frame_set)), stress=stress, magmoms=magmoms)

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else (
        output.with_name(output.name + ".checkpoints") if output else Path(tempfile.mkdtemp(prefix="ftcalc-")))
    ckpt_path = ckpt_dir / "last.pt"
    history, start_epoch = [], 0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if state["training_data_sha256"] == digest and state["config"] == json.loads(json.dumps(config)):
            net.load_state_dict(state["net"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            history, start_epoch = state["history"], state["epoch"] + 1
            log.info("resuming from %s after epoch %d", ckpt_path, start_epoch)
        else:
            raise ValueError(f"{ckpt_path} belongs to other data or settings; remove it or pick another "
                             "checkpoint_dir")

    n_batches = int(np.ceil(len(train_idx) / batch_size))
    steps = set((np.arange(1, 11) * n_batches // 10).tolist())  # upstream: 10 lr steps per epoch
    t0 = time.perf_counter()
    bar = tqdm(total=epochs * n_batches, initial=start_epoch * n_batches, disable=not progress,
               desc="fine-tune", unit="batch")
    for epoch in range(start_epoch, epochs):
        net.train()
        order = np.random.default_rng([seed, epoch]).permutation(train_idx)
        losses = []
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            prediction = forward_for_training(net, [graphs[i] for i in idx], stress=stress, magmoms=magmoms)
            loss = loss_fn(_collate([targets[i] for i in idx]), prediction)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if b + 1 in steps:
                scheduler.step()
            losses.append(float(loss))
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.4g}")
        net.eval()
        val = evaluate(net, graphs, frame_set, val_idx, stress=stress)
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
               "lr": optimizer.param_groups[0]["lr"]}
        row.update({f"val_{k}_mae": v["mae"] for k, v in val.items()})
        history.append(row)
        if val and progress:
            bar.write(f"epoch {epoch + 1}/{epochs}: loss {row['train_loss']:.4g}, val MAE "
                      f"E {1000 * row['val_energy_ev_per_atom_mae']:.2f} meV/atom, "
                      f"F {row['val_forces_ev_per_a_mae']:.4f} eV/Å"
                      + (f", σ {row['val_stress_gpa_mae']:.3f} GPa" if stress else ""))
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        tmp = ckpt_path.with_suffix(".part")
        torch.save({"epoch": epoch, "net": net.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "history": history, "config": config,
                    "training_data_sha256": digest}, tmp)
        os.replace(tmp, ckpt_path)
        if on_epoch_end is not None:
            on_epoch_end(row)
    bar.close()
    seconds = time.perf_counter() - t0
    done_epochs = epochs - start_epoch
    net.eval()
    net.requires_grad_(False)
    test = evaluate(net, graphs, frame_set, test_idx, stress=stress)
    result = FineTuneResult(
        model_path=str(output) if output else None, config=config, n_train=len(train_idx),
        n_val=len(val_idx), n_test=len(test_idx),
        split={"train": [int(i) for i in train_idx], "val": [int(i) for i in val_idx],
               "test": [int(i) for i in test_idx]},
        history=history, test_metrics=test, element_reference_energies_ev=reference,
        trainable_parameters=sum(p.numel() for n, p in net.named_parameters() if n in trainable),
        training_data_sha256=digest, train_seconds=seconds,
        frames_epochs_per_second=len(train_idx) * done_epochs / seconds if seconds > 0 else 0.0,
        net=net)
    metadata = {k: v for k, v in result.to_dict().items() if k != "model_path"}
    metadata["base_model"] = f"CHGNet {base_model}"
    metadata["training_sources"] = frame_set.sources
    net.ftcalc_metadata = metadata
    if output is not None:
        save_model(net, output, metadata=metadata, overwrite=overwrite)
    if not keep_checkpoints:
        import shutil

        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return result
