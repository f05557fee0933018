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

from .frames import FrameSet, drop_duplicates, read_frames, structure_fingerprints, validate_frames
from .metrics import parity_stats
from .model import atoms_to_graph, forward_for_training, load_model, predict_graphs, resolve_device
from .options import check_finetune_options, check_output_path
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


def split_indices(n: int, fractions=(0.8, 0.1, 0.1), seed: int = 0, groups: Sequence[str] | None = None):
    """Train/validation/test indices; too few frames for a validation set -> all train.

    ``groups``: one label per frame (a relaxation trajectory, an MD run); whole groups go to one side,
    so consecutive steps of one trajectory never straddle train and test.
    """
    n_val = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    if n_val == 0 or n - n_val - n_test < 1:
        return list(range(n)), [], []
    if groups is None or len(set(groups)) == n:
        order = np.random.default_rng(seed).permutation(n).tolist()
        return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]
    names = list(dict.fromkeys(groups))
    members = {g: [i for i, x in enumerate(groups) if x == g] for g in names}
    val, test, train = [], [], []
    for k in np.random.default_rng(seed).permutation(len(names)):
        g = members[names[k]]
        target = val if len(val) < n_val else test if len(test) < n_test else train
        target.extend(g)
    if not train:
        raise ValueError(f"{len(names)} groups are too few to split {n} frames into train/validation/test "
                         "with whole groups; pass split_by=None to split frame by frame")
    return sorted(train), sorted(val), sorted(test)


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
    test_set_metrics: dict = field(default_factory=dict)   # name -> metrics on a named test set
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


def evaluate(net, graphs, frame_set: FrameSet, indices, *, stress: bool, offsets=None) -> dict:
    """MAE/slope of energy (eV/atom), forces (eV/Å) and stress (GPa) on the given frames.

    ``offsets[i]``: a dispersion part (energy eV, forces eV/Å, stress eV/Å³) that frame i's labels had
    removed for Δ-learning; it is added back to labels and predictions, so the figures are those of the
    total the user gets.
    """
    if not indices:
        return {}
    preds = predict_graphs(net, [graphs[i] for i in indices], stress=stress, magmoms=False, site_energies=False)
    frames = [frame_set.frames[i] for i in indices]
    zero = {"energy": 0.0, "forces": 0.0, "stress": np.zeros(6)}
    off = [offsets[i] if offsets is not None else zero for i in indices]
    e_ref = [(f.energy + o["energy"]) / len(f.atoms) for f, o in zip(frames, off)]
    e_pred = [(p["energy"] + o["energy"]) / len(f.atoms) for p, f, o in zip(preds, frames, off)]
    metrics = {"energy_ev_per_atom": parity_stats(e_ref, e_pred),
               "forces_ev_per_a": parity_stats(
                   np.concatenate([(f.forces + o["forces"]).ravel() for f, o in zip(frames, off)]),
                   np.concatenate([(p["forces"] + o["forces"]).ravel() for p, o in zip(preds, off)]))}
    if stress:
        metrics["stress_gpa"] = parity_stats(
            np.concatenate([ase_stress_to_chgnet_gpa(f.stress + o["stress"]).ravel() for f, o in zip(frames, off)]),
            np.concatenate([(p["stress_gpa"] + ase_stress_to_chgnet_gpa(o["stress"])).ravel()
                            for p, o in zip(preds, off)]))
    for m in metrics.values():
        m["n"] = len(indices)
    return metrics


def subtract_dispersion(frame_set: FrameSet, settings) -> tuple[FrameSet, list[dict]]:
    """Labels minus D3 (Δ-learning targets) and the D3 parts removed, per frame."""
    from .dispersion import d3_labels
    from .frames import Frame

    frames, parts = [], []
    for fr in frame_set.frames:
        d3 = d3_labels(fr.atoms, settings)
        d3.setdefault("stress", np.zeros(6))
        parts.append(d3)
        frames.append(Frame(fr.atoms, fr.energy - d3["energy"], fr.forces - d3["forces"],
                            None if fr.stress is None else fr.stress - d3["stress"], fr.magmoms, fr.source))
    return FrameSet(frames, frame_set.has_stress, frame_set.has_magmoms, list(frame_set.sources)), parts


def evaluate_test_sets(net, test_sets: dict, *, dispersion, seen: set[str], use_stress: bool) -> dict:
    """Metrics per named test set on totals; frames the model trained or validated on are left out."""
    from .frames import seen_mask

    out = {}
    for name, frames in test_sets.items():
        if isinstance(frames, (str, os.PathLike)) or (len(frames) and isinstance(frames[0], (str, os.PathLike))):
            frames = read_frames(frames)
        mask = seen_mask(frames, seen)
        unseen = [a for a, m in zip(frames, mask) if not m]
        entry = {"n_frames": len(unseen), "n_seen_excluded": int(sum(mask))}
        if unseen:
            fs = validate_frames(unseen, use_stress=use_stress and all(_label_stress(a) for a in unseen))
            offsets = None
            if dispersion is not None:
                fs, offsets = subtract_dispersion(fs, dispersion)
            graphs = [atoms_to_graph(net, fr.atoms).to(_device(net)) for fr in fs.frames]
            entry.update(evaluate(net, graphs, fs, list(range(len(fs))), stress=fs.has_stress, offsets=offsets))
        out[name] = entry
    return out


def _label_stress(atoms) -> bool:
    return atoms.calc is not None and "stress" in getattr(atoms.calc, "results", {})


def _device(net):
    return next(net.parameters()).device


def _default_checkpoint_dir(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoints")


def _check_checkpoint_dir(ckpt_dir: Path) -> None:
    if ckpt_dir.exists() and not ckpt_dir.is_dir():
        raise ValueError(f"checkpoint folder {ckpt_dir} is a file; move it away or pass another checkpoint_dir")


def _remove_orphan_parts(output: Path | None, ckpt_path: Path) -> None:
    """Temporary files of a run killed while writing (the model's, the checkpoint's); nothing reads them."""
    orphans = [ckpt_path.with_suffix(".part")]
    if output is not None:
        orphans += output.parent.glob(f".{output.name}.*.part")  # save_model's mkstemp names
    for orphan in orphans:
        if orphan.is_file():
            log.info("removing %s, left by an interrupted run", orphan)
            orphan.unlink()


def _split_groups(frame_set: FrameSet, split_by: str | None):
    if split_by is None:
        return None
    has_group = ["group" in fr.atoms.info for fr in frame_set.frames]
    if split_by == "group" and not all(has_group):
        missing = next(fr.source for fr, h in zip(frame_set.frames, has_group) if not h)
        raise ValueError(f"split_by='group' but {missing} has no info['group']")
    if split_by not in ("auto", "group"):
        raise ValueError(f"split_by must be 'auto', 'group' or None, not {split_by!r}")
    return frame_set.groups() if any(has_group) else None


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
    dispersion=None,
    split_by: str | None = "auto",
    drop_duplicate_frames: bool = True,
    test_sets: dict | None = None,
    device: str = "cpu",
    check_units: bool = True,
) -> FineTuneResult:
    """Fine-tune CHGNet on DFT frames and (optionally) write one model file.

    ``frames``: ASE Atoms with DFT labels, or paths of files ``ase.io.read``
    understands.  Energies in eV, forces eV/Å, stress eV/Å³ (ASE sign).
    A run with ``output`` keeps per-epoch checkpoints in
    ``<output>.checkpoints/`` and resumes from them if interrupted.
    ``on_epoch_end(history_row)`` is called after each epoch's checkpoint.

    ``dispersion``: ``"d3"`` (PBE, zero damping, as the bundled frames), ``"d3bj"`` or a
    :class:`~ase_ftcalc.dispersion.D3Settings`: Δ-learning — D3 is subtracted from the labels, CHGNet
    learns the rest, and the model file records the D3 settings so :class:`FTCalculator` adds D3 back.
    ``split_by``: ``"auto"`` splits by ``atoms.info["group"]`` when frames carry one (whole relaxation
    trajectories / MD runs on one side), ``"group"`` requires it, None splits frame by frame.
    ``drop_duplicate_frames``: exact duplicates (same structure and labels) are dropped with a warning.
    ``test_sets``: ``{name: frames or files}`` scored after training (totals, frames seen in training
    or validation left out), in ``result.test_set_metrics``.
    ``device``: "cpu", "cuda", "cuda:N" or "auto" (CUDA when available).
    ``check_units``: set aside files whose labels look like another unit (kBar/GPa stress, meV
    energies, meV/Å forces; see :mod:`ase_ftcalc.frames`), with a warning; False trains on everything.
    """
    # Arguments and the output path first: a bad one fails now, not after the epochs.
    check_finetune_options(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, split=split,
                           energy_weight=energy_weight, force_weight=force_weight, stress_weight=stress_weight,
                           magmom_weight=magmom_weight, num_threads=num_threads, seed=seed)
    if isinstance(freeze, str) and freeze not in FREEZE_PRESETS:
        raise ValueError(f"unknown freeze preset {freeze!r}; use one of {FREEZE_PRESETS} or parameter-name prefixes")
    if criterion not in ("MSE", "MAE", "Huber"):
        raise ValueError(f"criterion must be 'MSE', 'MAE' or 'Huber', not {criterion!r}")
    if output is not None:
        check_output_path(output, overwrite=overwrite)
        _check_checkpoint_dir(Path(checkpoint_dir) if checkpoint_dir else _default_checkpoint_dir(Path(output)))
    from chgnet.trainer.trainer import CombinedLoss
    from tqdm.auto import tqdm

    from .modelfile import save_model

    if isinstance(frames, (str, os.PathLike)) or (
            len(frames) and isinstance(frames[0], (str, os.PathLike))):
        frames = read_frames(frames)
    frame_set = validate_frames(list(frames), use_stress=use_stress, check_units=check_units)
    if drop_duplicate_frames:
        frame_set, dropped = drop_duplicates(frame_set)
        if dropped:
            warnings.warn(f"dropped {len(dropped)} duplicate frame(s) (same structure and labels as an earlier "
                          f"one), e.g. {dropped[0][0]} = {dropped[0][1]}", stacklevel=2)
    from .dispersion import D3Settings

    d3 = D3Settings.parse(dispersion)
    device = resolve_device(device)
    output = Path(output) if output is not None else None
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
                  scheduler="cosine, 10 steps per epoch, eta_min = 0.01 lr",
                  dispersion=None if d3 is None else d3.todict(), split_by=split_by)
    digest = frame_set.digest()
    groups = _split_groups(frame_set, split_by)
    train_idx, val_idx, test_idx = split_indices(len(frame_set), split, seed, groups)
    labels_total = frame_set
    offsets = None
    if d3 is not None:
        frame_set, offsets = subtract_dispersion(frame_set, d3)
    if not val_idx:
        warnings.warn(f"{len(frame_set)} frames are too few for an 8:1:1 split: training on all of them, "
                      "with no validation or test set", stacklevel=2)

    torch.manual_seed(seed)
    net, _ = load_model(base_model, device=device, trainable=True)
    graphs = [atoms_to_graph(net, fr.atoms, graph_id=fr.source).to(device) for fr in frame_set.frames]
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
    targets = [{k: v.to(device) for k, v in t.items()}
               for t in _targets(frame_set, range(len(frame_set)), stress=stress, magmoms=magmoms)]

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else (
        _default_checkpoint_dir(output) if output else Path(tempfile.mkdtemp(prefix="ftcalc-")))
    ckpt_path = ckpt_dir / "last.pt"
    _remove_orphan_parts(output, ckpt_path)
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
            if not torch.isfinite(loss):
                bar.close()
                kept = (f"the last good checkpoint (after epoch {epoch}) is kept in {ckpt_path}"
                        if ckpt_path.exists() else "no checkpoint was written yet")
                raise FloatingPointError(
                    f"fine-tuning diverged: loss is {float(loss)} at epoch {epoch + 1}, batch {b + 1} "
                    f"(learning rate {optimizer.param_groups[0]['lr']:.3g}); no model file written, {kept}. "
                    "Try a smaller learning rate or freezing more layers.")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if b + 1 in steps:
                scheduler.step()
            losses.append(float(loss))
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.4g}")
        net.eval()
        val = evaluate(net, graphs, frame_set, val_idx, stress=stress, offsets=offsets)
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
    test = evaluate(net, graphs, frame_set, test_idx, stress=stress, offsets=offsets)
    fingerprints = {name: [f for i in idx for f in structure_fingerprints(labels_total.frames[i].atoms)]
                    for name, idx in (("train", train_idx), ("val", val_idx), ("test", test_idx))}
    test_set_metrics = evaluate_test_sets(
        net, test_sets, dispersion=d3, seen=set(fingerprints["train"]) | set(fingerprints["val"]),
        use_stress=stress) if test_sets else {}
    result = FineTuneResult(
        model_path=str(output) if output else None, config=config, n_train=len(train_idx),
        n_val=len(val_idx), n_test=len(test_idx),
        split={"train": [int(i) for i in train_idx], "val": [int(i) for i in val_idx],
               "test": [int(i) for i in test_idx]},
        history=history, test_metrics=test, test_set_metrics=test_set_metrics,
        element_reference_energies_ev=reference,
        trainable_parameters=sum(p.numel() for n, p in net.named_parameters() if n in trainable),
        training_data_sha256=digest, train_seconds=seconds,
        frames_epochs_per_second=len(train_idx) * done_epochs / seconds if seconds > 0 else 0.0,
        net=net)
    metadata = {k: v for k, v in result.to_dict().items() if k != "model_path"}
    metadata["base_model"] = f"CHGNet {base_model}"
    metadata["training_sources"] = frame_set.sources
    metadata["frame_fingerprints"] = fingerprints
    metadata["dispersion"] = None if d3 is None else d3.todict()
    net.ftcalc_metadata = metadata
    if output is not None:
        save_model(net, output, metadata=metadata, overwrite=overwrite)
    if not keep_checkpoints:
        import shutil

        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return result
