"""``linkify``: a PyTorch network's activations turned into linked ones by torch.fx
graph surgery, computing exactly what it computed (with ``preserve_function``)."""

from __future__ import annotations

import torch
from torch import fx, nn

from linkedonnx.linkify.options import LinkifyOptions
from linkedonnx.linkify.plan import plan
from linkedonnx.linkify.report import ActivationEntry, LinkifyReport
from linkedonnx.linkify.surgery import apply
from linkedonnx.linkify.trace import LinkifyError, propagate_shapes, trace


def count_parameters(module: nn.Module) -> int:
    """Number of parameter elements of ``module``."""
    return sum(p.numel() for p in module.parameters())


def linkify(
    module: nn.Module,
    activation: str = "lk-relu",
    *,
    example_input: torch.Tensor,
    preserve_function: bool = True,
) -> tuple[fx.GraphModule, LinkifyReport]:
    """Return a linked copy of ``module`` (left untouched) and the report.

    Every call of an activation (nn.ReLU/PReLU/SELU/SiLU, F.relu, torch.relu, F.silu,
    ..., in-place forms included) whose output reaches only Conv2d/Linear layers through
    channel-keeping ops is replaced by ``activation`` ('lk-relu', 'lk-relu-minmax',
    'lk-prelu', 'lk-selu', 'lk-swish') and its consumers widened; any other call is
    left, with the reason in the report. Decisions are per call site. With
    ``preserve_function`` only activations that are ``activation``'s first half are
    linked and the new consumer weights are zero, so the result computes what
    ``module`` computed; otherwise every supported activation is linked and the new
    weights are Glorot-uniform. ``example_input`` is one input batch (its shapes decide
    axes). The result is a ``torch.fx.GraphModule`` in ``module``'s training mode whose
    state dict keys keep ``module``'s paths.

    Raises LinkifyError (a BadInputError) when the module cannot be traced or the
    example does not run, and BadInputError for an unknown activation.
    """
    options = LinkifyOptions(activation, preserve_function)
    if not isinstance(example_input, torch.Tensor):
        raise LinkifyError("example_input must be a tensor (one batch of inputs)")
    gm = trace(module)
    propagate_shapes(gm, example_input)
    decisions = plan(gm, options)
    report = LinkifyReport(
        activation=options.activation,
        preserve_function=options.preserve_function,
        activations=[
            ActivationEntry(
                site=d.label,
                op=d.site.op,
                kind=d.site.kind,
                linked=d.linked,
                reason=d.reason,
                consumers=tuple(d.consumers),
            )
            for d in decisions
        ],
        params_before=count_parameters(module),
    )
    apply(gm, decisions, options)
    report.params_after = count_parameters(gm)
    return gm, report


def relinkify(module: nn.Module, options: LinkifyOptions, example_input: torch.Tensor) -> nn.Module:
    """The structure :func:`linkify` gives ``module`` under ``options`` (used to reload a
    linkified state dict into a freshly built model). Raises as :func:`linkify` does."""
    linked, _ = linkify(
        module,
        options.activation,
        example_input=example_input,
        preserve_function=options.preserve_function,
    )
    return linked
