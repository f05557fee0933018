"""One self-describing model file: weights, architecture, element reference
energies, training settings, library versions and a hash of the training frames.

The file is a torch pickle restricted to tensors and plain Python values, so
it loads with ``weights_only=True`` (no code runs on load).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

FORMAT = "ase-ftcalc-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that is missing, corrupt, or not written by ase-ftcalc/CHGNet."""


def element_reference_energies(net) -> dict[str, float]:
    """Per-element reference energies (eV/atom) of the composition model, non-zero entries only."""
    from ase.data import chemical_symbols

    weights = net.composition_model.fc.weight.detach().cpu().numpy().ravel()
    return {chemical_symbols[z + 1]: float(w) for z, w in enumerate(weights) if w != 0.0}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("ase-ftcalc", "chgnet", "torch", "ase"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


def save_model(net, path: str | os.PathLike, *, metadata: dict | None = None,
               overwrite: bool = False) -> Path:
    """Write ``net`` and ``metadata`` atomically to ``path``; refuses to overwrite unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    _check_finite_weights(state, f"not writing {path}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_args": _plain(net.model_args),
        "state_dict": state,
        "element_reference_energies_ev": element_reference_energies(net),
        "versions": versions(),
        "metadata": _plain(metadata or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide the model from the user's group
        os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    try:  # Linux shows it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def read_model_file(path: str | os.PathLike):
    """(CHGNet network, metadata dict) from an ase-ftcalc model file or an upstream CHGNet checkpoint."""
    from chgnet.model import CHGNet

    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found (pretrained versions: 0.3.0, 0.2.0, r2scan)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad pickle
        try:  # upstream CHGNet trainer checkpoints hold non-tensor objects
            payload = torch.load(path, map_location="cpu", weights_only=False)
        except Exception:  # noqa: BLE001
            raise ModelFileError(f"{path}: not a readable model file ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict):
        raise ModelFileError(f"{path}: not an ase-ftcalc or CHGNet model file")
    if payload.get("format") == FORMAT:
        if payload.get("format_version", 0) > FORMAT_VERSION:
            raise ModelFileError(f"{path}: written by a newer ase-ftcalc (format {payload['format_version']})")
        if not isinstance(payload.get("state_dict"), dict) or not isinstance(payload.get("model_args"), dict):
            raise ModelFileError(f"{path}: an ase-ftcalc model file without weights or architecture (truncated?)")
        state, args, meta = payload["state_dict"], payload["model_args"], payload.get("metadata", {})
        meta = {**meta, "versions": payload.get("versions", {}),
                "element_reference_energies_ev": payload.get("element_reference_energies_ev", {})}
    elif isinstance(payload.get("model"), dict) and "state_dict" in payload["model"]:
        state, args = payload["model"]["state_dict"], payload["model"]["model_args"]
        meta = {"base_model": f"CHGNet checkpoint {path.name}"}
    else:
        raise ModelFileError(f"{path}: not an ase-ftcalc or CHGNet model file (keys: {sorted(payload)[:6]})")
    _check_finite_weights(state, path)
    try:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # CHGNet prints a banner on construction
            net = CHGNet(**args)
        net.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError) as err:
        raise ModelFileError(f"{path}: weights do not fit the CHGNet architecture ({err})") from None
    net.composition_model.fitted = True
    return net, meta


def _check_finite_weights(state: dict, path) -> None:
    """A file with NaN/inf weights (a diverged training) would only ever predict NaN: refuse it."""
    bad = {}
    for name, tensor in state.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            n_bad = int((~torch.isfinite(tensor)).sum())
            if n_bad:
                bad[name] = n_bad
    if bad:
        total = sum(t.numel() for t in state.values() if isinstance(t, torch.Tensor) and t.is_floating_point())
        names = ", ".join(list(bad)[:3]) + (f" and {len(bad) - 3} more tensors" if len(bad) > 3 else "")
        raise ModelFileError(f"{path}: {sum(bad.values())} of {total} weights are NaN or inf (in {names}); "
                             "the model would predict NaN (did its training diverge?)")


def _plain(value):
    """Tensors and numpy scalars -> plain Python, so the file loads with weights_only=True."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
