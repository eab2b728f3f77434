"""Deciding, per activation call site, whether linkify links it, and why (not).

An activation is linked when every path from its output, through ops that keep the
two halves apart on the channel axis (pooling, dropout, padding, flatten, batch
norm), ends in a Conv2d or a Linear that can take twice its inputs; otherwise it is
left, with the first reason found.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from torch import fx

from linkedonnx.linkify.options import LinkifyOptions
from linkedonnx.linkify.sites import ActivationSite, activation_site, describe, use_of
from linkedonnx.linkify.trace import shape_of

#: The linked axis by the rank of the activation's input: channels of NCHW maps,
#: the last axis of (batch, features) vectors (as the zoo's dense layers use).
AXIS_BY_RANK = {4: 1, 2: -1}


@dataclass
class Decision:
    """What linkify does with one activation call site.

    ``label`` names the site (the module path, with 'call i of n' when a module is
    called more than once, or the function and its node). ``widen`` lists the module
    paths to widen in order (batch norms on the way and the consumers), ``consumers``
    the Conv2d/Linear paths alone; ``axis`` is the linked axis.
    """

    site: ActivationSite
    label: str
    linked: bool
    reason: str
    axis: int | None = None
    widen: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)


def _labels(gm: fx.GraphModule, sites: list[ActivationSite]) -> list[str]:
    calls = Counter(s.module for s in sites if s.module is not None)
    seen: Counter[str] = Counter()
    labels = []
    for site in sites:
        if site.module is None:
            labels.append(f"{site.op} at {site.node.name}")
            continue
        seen[site.module] += 1
        n = calls[site.module]
        labels.append(site.module if n == 1 else f"{site.module} (call {seen[site.module]} of {n})")
    return labels


def _walk(gm: fx.GraphModule, start: fx.Node, calls: Counter) -> tuple[str, list[str], list[str]]:
    """Follow ``start``'s output to its consumers; return (reason it stops or '',
    modules to widen, consumer modules)."""
    widen: list[str] = []
    consumers: list[str] = []
    stack = [start]
    while stack:
        value = stack.pop(0)  # breadth first: consumers in graph order
        for user in list(value.users):
            use = use_of(gm, value, user)
            if use.role == "stop":
                return use.reason, widen, consumers
            if use.module is not None:
                if calls[use.module] > 1:
                    what = describe(gm, user)
                    return f"it feeds {what}, which is called more than once", widen, consumers
                widen.append(use.module)
            if use.role == "consume":
                consumers.append(str(use.module))
            else:
                stack.append(user)
    if not consumers:
        return "its output reaches no Conv2d or Linear", widen, consumers
    return "", widen, consumers


def _decide(
    gm: fx.GraphModule, site: ActivationSite, label: str, options: LinkifyOptions, calls: Counter
) -> Decision:
    if site.kind == "other":
        return Decision(site, label, False, f"{site.op} has no linked form")
    if options.preserve_function and site.kind != options.kind:
        return Decision(
            site,
            label,
            False,
            f"{site.op} is not {options.activation}'s first half ({options.kind}); "
            "preserve_function keeps it",
        )
    source = site.node.args[0] if site.node.args else None
    shape = shape_of(source) if isinstance(source, fx.Node) else None
    if shape is None or len(shape) not in AXIS_BY_RANK:
        rank = "unknown" if shape is None else str(len(shape))
        return Decision(site, label, False, f"its input has rank {rank} (linkify handles 2 and 4)")
    if site.inplace and len(source.users) > 1:
        return Decision(site, label, False, "it runs in place on a tensor that other ops also read")
    reason, widen, consumers = _walk(gm, site.node, calls)
    if reason:
        return Decision(site, label, False, reason)
    return Decision(
        site,
        label,
        True,
        f"its output reaches only {', '.join(consumers)}",
        axis=AXIS_BY_RANK[len(shape)],
        widen=widen,
        consumers=consumers,
    )


def plan(gm: fx.GraphModule, options: LinkifyOptions) -> list[Decision]:
    """One Decision per activation call site of ``gm`` (shapes already propagated),
    in graph order."""
    sites = [s for n in gm.graph.nodes if (s := activation_site(gm, n)) is not None]
    calls = Counter(str(n.target) for n in gm.graph.nodes if n.op == "call_module")
    return [
        _decide(gm, site, label, options, calls)
        for site, label in zip(sites, _labels(gm, sites), strict=True)
    ]
