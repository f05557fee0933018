"""What a model is: ``ftcalc info`` for model files and the pretrained CHGNet versions.

:func:`describe_model` gathers everything known (JSON-savable; ``--full``);
:func:`summary` turns it into a few lines a person reads.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pretrained_checkpoint(version: str) -> Path | None:
    import chgnet

    folder = Path(chgnet.__file__).parent / "pretrained" / version
    found = sorted(folder.glob("*.pth.tar"))
    return found[0] if found else None


def _pretrained(version: str) -> dict:
    """Upstream's own record: the checkpoint's name carries its test MAEs, its README the dataset."""
    from .model import load_model
    from .modelfile import versions

    net, meta = load_model(version, device="cpu")
    out = {"kind": "pretrained", "base_model": meta["base_model"], **_network(net), "versions": versions()}
    ckpt = _pretrained_checkpoint(version)
    if ckpt is not None:
        out["checkpoint"] = str(ckpt)
        out["checkpoint_sha256"] = _sha256(ckpt)
        # e.g. chgnet_0.3.0_e29f68s314m37: energy 29 meV/atom, force 68 meV/Å, stress 314 MPa, magmom 0.037 μB
        m = re.search(r"_e(\d+)f(\d+)s(\d+)m(\d+)\.pth", ckpt.name)
        if m:
            e, f, s, mag = (int(x) for x in m.groups())
            out["test_metrics"] = {"energy_ev_per_atom": {"mae": e / 1000}, "forces_ev_per_a": {"mae": f / 1000},
                                   "stress_gpa": {"mae": s / 1000}, "magmoms_mu_b": {"mae": mag / 1000}}
        readme = ckpt.parent / "README.md"
        if readme.exists():
            text = readme.read_text()
            m = re.search(r"## Dataset Used\s*\n\s*(.+)", text)
            if m:
                out["training_data"] = m.group(1).strip()
    out["dispersion"] = None
    return out


def _network(net) -> dict:
    from .modelfile import element_reference_energies

    converter = net.graph_converter
    return {"parameters": int(sum(p.numel() for p in net.parameters())),
            "atom_graph_cutoff_a": float(converter.atom_graph_cutoff),
            "bond_graph_cutoff_a": float(converter.bond_graph_cutoff),
            "model_args": {k: v for k, v in net.model_args.items() if isinstance(v, (int, float, str, bool, list))},
            "element_reference_energies_ev": element_reference_energies(net)}


def describe_model(model: str | Path) -> dict:
    """Everything known about a pretrained version ("0.3.0", "0.2.0", "r2scan") or a model file."""
    from .model import PRETRAINED_VERSIONS
    from .modelfile import read_model_file

    if str(model) in PRETRAINED_VERSIONS and not Path(str(model)).is_file():
        return _pretrained(str(model))
    path = Path(model)
    net, meta = read_model_file(path)
    out = {"kind": "file", "file": str(path), "sha256": _sha256(path), **meta, **_network(net)}
    out["base_model"] = meta.get("base_model", "unknown")
    return out


def _metrics_line(m: dict) -> str:
    parts = []
    if "energy_ev_per_atom" in m:
        parts.append(f"energy {1000 * m['energy_ev_per_atom']['mae']:.3g} meV/atom")
    if "forces_ev_per_a" in m:
        f = m["forces_ev_per_a"]
        slope = f" (slope {f['slope_origin']:.3f})" if "slope_origin" in f else ""
        parts.append(f"forces {f['mae']:.4g} eV/Å{slope}")
    if "stress_gpa" in m:
        parts.append(f"stress {m['stress_gpa']['mae']:.3g} GPa")
    if "magmoms_mu_b" in m:
        parts.append(f"magmoms {m['magmoms_mu_b']['mae']:.3g} μB")
    return "MAE " + ", ".join(parts) if parts else "none"


def _files(sources: list[str]) -> str:
    counts: dict[str, int] = {}
    for src in sources:
        path, sep, index = src.rpartition(":")
        name = path if sep and index.isdigit() else "Atoms given in Python"
        counts[name] = counts.get(name, 0) + 1
    listed = [f"{name} ({n})" for name, n in list(counts.items())[:3]]
    more = f" and {len(counts) - 3} more files" if len(counts) > 3 else ""
    return ", ".join(listed) + more


def summary(info: dict) -> list[str]:
    """A dozen lines: base model, dispersion, training frames and split, test metrics, versions, SHA-256."""
    lines = []
    net = (f"{info['parameters']:,} parameters, cutoffs {info['atom_graph_cutoff_a']:g} Å (atoms) / "
           f"{info['bond_graph_cutoff_a']:g} Å (angles)")
    if info["kind"] == "pretrained":
        lines.append(f"model         {info['base_model']}, pretrained (ships with chgnet), {net}")
        if "training_data" in info:
            lines.append(f"trained on    {info['training_data']} (upstream's README)")
        if "test_metrics" in info:
            lines.append(f"test          {_metrics_line(info['test_metrics'])} (upstream's test split)")
        lines.append("dispersion    none (add D3 with the spec chgnet+d3)")
        if "checkpoint" in info:
            lines.append(f"checkpoint    {info['checkpoint']}")
            lines.append(f"SHA-256       {info['checkpoint_sha256']}")
    else:
        lines.append(f"model file    {info['file']}")
        lines.append(f"base model    {info['base_model']}, {net}")
        d3 = info.get("dispersion")
        lines.append("dispersion    " + ("none" if not d3 else f"D3 ({d3.get('method')}, {d3.get('damping')}): "
                                         "trained on labels minus D3, the calculator adds it back"))
        cfg = info.get("config") or {}
        if "n_train" in info:
            n = info["n_train"] + info["n_val"] + info["n_test"]
            split_by = {None: "frame", "auto": "group where frames have one, else by frame"}.get(
                cfg.get("split_by"), cfg.get("split_by"))
            lines.append(f"training      {n} frames: {info['n_train']} train / {info['n_val']} validation / "
                         f"{info['n_test']} test (split by {split_by}); {cfg.get('epochs')} epoch(s), learning rate "
                         f"{cfg.get('learning_rate')}, freeze {cfg.get('freeze')}, stress "
                         f"{'used' if cfg.get('use_stress') else 'not used'}")
        if info.get("training_sources"):
            lines.append(f"frames from   {_files(info['training_sources'])}")
        if info.get("training_data_sha256"):
            lines.append(f"data SHA-256  {info['training_data_sha256']}")
        if "test_metrics" in info:
            n_test = next((m.get("n") for m in info["test_metrics"].values() if isinstance(m, dict)), 0)
            lines.append(f"test          {_metrics_line(info['test_metrics'])}"
                         + (f" on {n_test} held-out frames" if n_test else " (no test set)"))
        for name, m in (info.get("test_set_metrics") or {}).items():
            lines.append(f"test set      {name}: {_metrics_line(m)} on {m.get('n_frames', 0)} frames")
        lines.append(f"file SHA-256  {info['sha256']}")
    vers = info.get("versions") or {}
    if vers:
        label = "versions     " if info["kind"] == "pretrained" else "written with "
        lines.append(f"{label} " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    return lines
