"""Resume state in checkpoint form: optimizer state and RNG state as named tensors plus
JSON metadata (checkpoints hold tensors and strings only, no pickle)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from linkedonnx.errors import BadInputError, first_line

_OPTIM = "optimizer."
_RNG = "rng.torch"


def pack_state(
    optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None = None
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split the optimizer's (and scaler's) state into tensors and JSON metadata."""
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {_RNG: torch.get_rng_state()}
    meta_state: dict[str, dict[str, Any]] = {}
    for index, entry in sd["state"].items():
        plain: dict[str, Any] = {}
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"{_OPTIM}{index}.{key}"] = value
            else:
                plain[key] = value
        meta_state[str(index)] = plain
    meta = {"param_groups": sd["param_groups"], "state": meta_state}
    if scaler is not None and scaler.is_enabled():
        meta["scaler"] = scaler.state_dict()
    return tensors, meta


def unpack_state(
    tensors: dict[str, Tensor],
    meta: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Restore what :func:`pack_state` saved into ``optimizer`` (and ``scaler``) and
    torch's RNG. Raises BadInputError when it does not fit this optimizer."""
    try:
        state: dict[int, dict[str, Any]] = {
            int(k): dict(v) for k, v in meta.get("state", {}).items()
        }
        for name, value in tensors.items():
            if name.startswith(_OPTIM):
                index, key = name[len(_OPTIM) :].split(".", 1)
                state.setdefault(int(index), {})[key] = value
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        if scaler is not None and scaler.is_enabled() and "scaler" in meta:
            scaler.load_state_dict(meta["scaler"])
        if _RNG in tensors:
            torch.set_rng_state(tensors[_RNG].to(torch.uint8))
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise BadInputError(
            f"checkpoint's optimizer state does not fit this run ({type(exc).__name__}: "
            f"{first_line(exc, '')})"
        ) from None
