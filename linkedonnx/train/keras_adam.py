"""Adam as Keras 2 applied it (the optimizer the paper's authors trained with).

Keras 2's ``keras.optimizers.Adam.get_updates`` computes, at step t = 1, 2, ...::

    lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
    m_t  = beta1 * m + (1 - beta1) * g
    v_t  = beta2 * v + (1 - beta2) * g**2
    p_t  = p - lr_t * m_t / (sqrt(v_t) + eps)

so eps is added to the *uncorrected* sqrt(v_t); PyTorch's Adam adds it to the
bias-corrected sqrt(v_t / (1 - beta2**t)), i.e. it equals this update only with an eps of
eps / sqrt(1 - beta2**t), which is ~30x larger at step 1 and shrinks to eps later.
With ``decay`` > 0, ``lr`` is scaled by 1 / (1 + decay * (t - 1)) as Keras does (the
depth runs use no decay).

Keras' default eps: 1e-8 up to Keras 2.1.2, ``K.epsilon()`` = 1e-7 from 2.1.3 on. The
authors' repository pins no version (``keras>=2.0``, ``tensorflow>=1.4``) and its
release (0.1.0, 2017-12-01) predates Keras 2.1.3 (January 2018), so
:data:`KERAS_EPSILON` is 1e-8.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

#: Adam's eps in the Keras version the authors could have used (see the module doc).
KERAS_EPSILON = 1e-8


class KerasAdam(torch.optim.Optimizer):
    """Keras 2's Adam update (see the module doc). ``lr``, ``betas``, ``eps`` and
    ``decay`` as Keras names them (Keras' ``beta_1``, ``beta_2``, ``epsilon``, ``decay``).
    Raises ValueError for a negative lr, eps or decay or a beta outside [0, 1)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = KERAS_EPSILON,
        decay: float = 0.0,
    ) -> None:
        if lr < 0 or eps < 0 or decay < 0:
            raise ValueError(f"lr, eps and decay must be >= 0, got {lr}, {eps}, {decay}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "decay": decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Apply one Keras-2 Adam update to every parameter with a gradient; return the
        closure's loss when a closure is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float64)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = int(state["step"])
                lr = group["lr"] / (1.0 + group["decay"] * (t - 1))
                lr_t = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1.0 - beta2)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-lr_t)
        return loss
