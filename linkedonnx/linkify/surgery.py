"""The graph surgery: a linked activation in place of a plain one, and each module on
its way to the consumers widened to the doubled channels.

Widening keeps the original weights for the first half. The second half's consumer
weights are zero with ``preserve_function`` (then W·h(z) = [W, 0]·[h1(z), h2(z)] and
h1 is the original activation, so the function is unchanged), otherwise
Glorot-uniform like the trainer's default init. A batch norm on the way keeps its
parameters and statistics for the first half and starts the second half at identity
(weight 1, bias 0, mean 0, variance 1).
"""

from __future__ import annotations

import torch
from torch import fx, nn

from linkedonnx.kinds import KINDS
from linkedonnx.linkify.options import LinkifyOptions
from linkedonnx.linkify.plan import Decision
from linkedonnx.linkify.trace import shape_of


def linked_module(gm: fx.GraphModule, decision: Decision, options: LinkifyOptions) -> nn.Module:
    """The linked activation module replacing ``decision``'s site: the registered kind's
    torch module, given the module it replaces (an LK-PReLU takes an ``nn.PReLU``'s slopes
    for its first half) or else the site's channel count."""
    axis = int(decision.axis if decision.axis is not None else 1)
    kind = next(k for k in KINDS.values() if k.linkify_name == options.activation)
    site = decision.site
    original = gm.get_submodule(site.module) if site.module is not None else None
    source = site.node.args[0]
    shape = shape_of(source) if isinstance(source, fx.Node) else None
    channels = shape[axis] if shape is not None else 1
    return kind.torch_linked(axis, original, channels)


def _second_half(weight: torch.Tensor, preserve: bool) -> torch.Tensor:
    """New input-side weights for the second half: zeros, or Glorot-uniform for the
    widened layer's fans."""
    if preserve:
        return torch.zeros_like(weight)
    full = torch.empty(
        (weight.shape[0], 2 * weight.shape[1], *weight.shape[2:]),
        dtype=weight.dtype,
        device=weight.device,
    )
    nn.init.xavier_uniform_(full)
    return full[:, weight.shape[1] :].clone()


def widen_conv(conv: nn.Conv2d, preserve: bool) -> nn.Conv2d:
    """A Conv2d like ``conv`` taking twice its input channels (groups must be 1)."""
    new = nn.Conv2d(
        2 * conv.in_channels,
        conv.out_channels,
        conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=1,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        new.weight.copy_(torch.cat([conv.weight, _second_half(conv.weight, preserve)], dim=1))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new.train(conv.training)


def widen_linear(linear: nn.Linear, preserve: bool) -> nn.Linear:
    """A Linear like ``linear`` taking twice its input features (the new ones last)."""
    new = nn.Linear(
        2 * linear.in_features,
        linear.out_features,
        bias=linear.bias is not None,
        device=linear.weight.device,
        dtype=linear.weight.dtype,
    )
    with torch.no_grad():
        new.weight.copy_(torch.cat([linear.weight, _second_half(linear.weight, preserve)], 1))
        if linear.bias is not None:
            new.bias.copy_(linear.bias)
    return new.train(linear.training)


def widen_batch_norm(bn: nn.modules.batchnorm._BatchNorm) -> nn.Module:
    """A batch norm like ``bn`` over twice its features, the second half at identity."""
    ref = bn.weight if bn.weight is not None else bn.running_mean
    new = type(bn)(
        2 * bn.num_features,
        eps=bn.eps,
        momentum=bn.momentum,
        affine=bn.affine,
        track_running_stats=bn.track_running_stats,
        device=None if ref is None else ref.device,
        dtype=None if ref is None else ref.dtype,
    )
    n = bn.num_features
    with torch.no_grad():
        if bn.affine:
            new.weight[:n].copy_(bn.weight)
            new.bias[:n].copy_(bn.bias)
        if bn.track_running_stats:
            new.running_mean[:n].copy_(bn.running_mean)
            new.running_var[:n].copy_(bn.running_var)
            new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new.train(bn.training)


def widened(module: nn.Module, preserve: bool) -> nn.Module:
    """``module`` (Conv2d, Linear or a batch norm) widened to twice its inputs."""
    if isinstance(module, nn.Conv2d):
        return widen_conv(module, preserve)
    if isinstance(module, nn.Linear):
        return widen_linear(module, preserve)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return widen_batch_norm(module)
    raise TypeError(f"cannot widen {type(module).__name__}")


def _taken(gm: fx.GraphModule, path: str) -> bool:
    """True when ``path`` already names an attribute (module, parameter, ...) of ``gm``."""
    parent, _, name = path.rpartition(".")
    try:
        owner = gm.get_submodule(parent) if parent else gm
    except AttributeError:
        return False
    return hasattr(owner, name)


def _activation_target(gm: fx.GraphModule, decision: Decision, shared: bool, index: int) -> str:
    """Where the linked module goes: the site's own module path when the module is
    called only here, else a new free path beside it (or beside the graph node)."""
    module = decision.site.module
    if module is not None and not shared:
        return module
    base = f"{module}_linked{index}" if module is not None else f"{decision.site.node.name}_linked"
    path, k = base, 2
    while _taken(gm, path):
        path, k = f"{base}_{k}", k + 1
    return path


def apply(gm: fx.GraphModule, decisions: list[Decision], options: LinkifyOptions) -> None:
    """Link every linked decision's site in ``gm`` and widen its modules (in place),
    then drop modules no longer called and regenerate the code."""
    calls: dict[str, int] = {}
    for d in decisions:
        if d.site.module is not None:
            calls[d.site.module] = calls.get(d.site.module, 0) + 1
    index: dict[str, int] = {}
    for d in decisions:
        module = d.site.module
        if module is not None:
            index[module] = index.get(module, 0) + 1
        if not d.linked:
            continue
        shared = module is not None and calls[module] > 1
        target = _activation_target(gm, d, shared, index.get(module or "", 0))
        weight = gm.get_submodule(d.consumers[0]).weight  # where and in what dtype to live
        new = linked_module(gm, d, options).to(device=weight.device, dtype=weight.dtype)
        new.train(gm.training)
        gm.add_submodule(target, new)
        node = d.site.node
        with gm.graph.inserting_after(node):
            replacement = gm.graph.call_module(target, (node.args[0],))
        node.replace_all_uses_with(replacement)
        gm.graph.erase_node(node)
        for path in d.widen:
            gm.add_submodule(path, widened(gm.get_submodule(path), options.preserve_function))
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
