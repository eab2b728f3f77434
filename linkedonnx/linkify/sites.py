"""What each traced node is, for linkify: an activation call site (and of which kind),
an op that carries a linked activation's two halves through unchanged on the channel
axis, a consumer that can be widened (Conv2d, Linear), or something else (a stop,
with a reason in words)."""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from linkedonnx.kinds import KINDS, UNLINKED_TORCH_FUNCTIONS, UNLINKED_TORCH_MODULES
from linkedonnx.linkify.trace import shape_of

_SOURCES = [(k.zoo_name, *k.torch_sources()) for k in KINDS.values() if k.torch_sources]
#: Activation modules with a linked form, by kind (each registered kind's torch sources).
ACTIVATION_MODULES: tuple[tuple[type[nn.Module], str], ...] = tuple(
    (module, kind) for kind, modules, _ in _SOURCES for module in modules
)
#: Activation functions and tensor methods (strings) with a linked form, by kind.
ACTIVATION_FUNCTIONS: dict[object, str] = {
    f: kind for kind, _, calls in _SOURCES for f in calls if not isinstance(f, str)
}
ACTIVATION_METHODS: dict[str, str] = {
    f: kind for kind, _, calls in _SOURCES for f in calls if isinstance(f, str)
}
#: Calls that run in place: torch's trailing-underscore names.
IN_PLACE_CALLS: set[object] = {
    f
    for _, _, calls in _SOURCES
    for f in calls
    if (f if isinstance(f, str) else getattr(f, "__name__", "")).endswith("_")
}
#: Activations without a linked form: reported as left.
OTHER_ACTIVATION_MODULES: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, name) for name in UNLINKED_TORCH_MODULES
)
OTHER_ACTIVATION_FUNCTIONS: set[object] = {
    *(getattr(F, name) for name in UNLINKED_TORCH_FUNCTIONS),
    torch.prelu,
}

#: Modules that keep dims 0 and 1 (batch, channels) and act per channel or elementwise.
PASS_MODULES: tuple[type[nn.Module], ...] = (
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.Identity,
    nn.ZeroPad2d,
    nn.ConstantPad2d,
    nn.ReflectionPad2d,
    nn.ReplicationPad2d,
)
PASS_FUNCTIONS: set[object] = {
    F.max_pool2d,
    F.avg_pool2d,
    torch.max_pool2d,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    F.dropout,
    F.dropout1d,
    F.dropout2d,
    F.pad,
}
PASS_METHODS: set[str] = {"contiguous"}
FLATTEN_CALLS: set[object] = {torch.flatten, "flatten"}
BATCH_NORMS: dict[type[nn.Module], int] = {nn.BatchNorm2d: 4, nn.BatchNorm1d: 2}
ADD_FUNCTIONS: set[object] = {operator.add, operator.iadd, torch.add}
ADD_METHODS: set[str] = {"add", "add_"}
CONCATS: set[object] = {torch.cat, torch.concat, torch.concatenate}


@dataclass(frozen=True)
class ActivationSite:
    """One call of an activation: the ``node``, its ``kind`` ('relu', 'prelu', 'selu',
    'swish', or 'other' for activations without a linked form), the ``op`` as written
    ('nn.ReLU', 'F.relu', ...), the module path (call_module only) and whether it runs
    in place."""

    node: fx.Node
    kind: str
    op: str
    module: str | None
    inplace: bool


def _target_name(target: object) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", repr(target))
    prefix = {"torch.nn.functional": "F.", "torch": "torch.", "_operator": "operator."}
    return prefix.get(module, f"{module}." if module else "") + name


def module_op(module: nn.Module) -> str:
    """'nn.ReLU' for torch.nn's modules, the class name for others."""
    cls = type(module)
    return f"nn.{cls.__name__}" if cls.__module__.startswith("torch.nn") else cls.__name__


def describe(gm: fx.GraphModule, node: fx.Node) -> str:
    """A short human name of what ``node`` does: 'nn.Conv2d layer1.0.conv1', 'F.relu',
    'tensor.add', 'the model output'."""
    if node.op == "output":
        return "the model output"
    if node.op == "call_module":
        return f"{module_op(gm.get_submodule(str(node.target)))} {node.target}"
    if node.op == "call_method":
        return f"tensor.{node.target}"
    if node.op == "call_function":
        return _target_name(node.target)
    return f"{node.op} {node.target}"


def activation_site(gm: fx.GraphModule, node: fx.Node) -> ActivationSite | None:
    """The ActivationSite of ``node``, or None when it is not an activation call."""
    if node.op == "call_module":
        module = gm.get_submodule(str(node.target))
        op = module_op(module)
        for cls, kind in ACTIVATION_MODULES:
            if type(module) is cls:
                inplace = bool(getattr(module, "inplace", False))
                return ActivationSite(node, kind, op, str(node.target), inplace)
        if isinstance(module, OTHER_ACTIVATION_MODULES):
            return ActivationSite(node, "other", op, str(node.target), False)
        return None
    if node.op == "call_function":
        op = _target_name(node.target)
        inplace = node.target in IN_PLACE_CALLS or bool(node.kwargs.get("inplace", False))
        if node.target in ACTIVATION_FUNCTIONS:
            return ActivationSite(node, ACTIVATION_FUNCTIONS[node.target], op, None, inplace)
        if node.target in OTHER_ACTIVATION_FUNCTIONS:
            return ActivationSite(node, "other", op, None, inplace)
        return None
    if node.op == "call_method" and node.target in ACTIVATION_METHODS:
        inplace = node.target in IN_PLACE_CALLS
        op = f"tensor.{node.target}"
        return ActivationSite(node, ACTIVATION_METHODS[str(node.target)], op, None, inplace)
    return None


@dataclass(frozen=True)
class Use:
    """How a user node treats a linked value reaching it.

    ``role`` is 'pass' (the halves flow on to the user's own users), 'consume' (a Conv2d
    or Linear whose input can be widened) or 'stop' (``reason`` says why linking stops
    there). ``module`` is the path of a module that must be widened (a consumer, or a
    batch norm on the way), else None.
    """

    role: str
    reason: str = ""
    module: str | None = None


def _occurrences(node: fx.Node, value: fx.Node) -> int:
    """How many times ``value`` appears among ``node``'s arguments."""
    count = 0

    def visit(arg: fx.Node) -> fx.Node:
        nonlocal count
        count += arg is value
        return arg

    fx.node.map_arg((node.args, node.kwargs), visit)
    return count


def _only_first_argument(node: fx.Node, value: fx.Node) -> bool:
    """True when ``value`` is ``node``'s first positional argument and appears nowhere else."""
    return bool(node.args) and node.args[0] is value and _occurrences(node, value) == 1


def _is_add(node: fx.Node) -> bool:
    """True for a tensor addition (operator.add, +=, torch.add, tensor.add/add_)."""
    if node.op == "call_function":
        return node.target in ADD_FUNCTIONS
    return node.op == "call_method" and node.target in ADD_METHODS


def _keeps_channels(node: fx.Node, value: fx.Node) -> bool:
    """True when ``node``'s output keeps ``value``'s batch and channel dims."""
    before, after = shape_of(value), shape_of(node)
    return before is not None and after is not None and before[:2] == after[:2]


def _flatten_dims(gm: fx.GraphModule, node: fx.Node) -> tuple[object, object]:
    """(start_dim, end_dim) of a flatten node (nn.Flatten, torch.flatten, tensor.flatten)."""
    if node.op == "call_module":
        module = gm.get_submodule(str(node.target))
        return getattr(module, "start_dim", None), getattr(module, "end_dim", None)
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    return start, end


def _flattens_channels_first(gm: fx.GraphModule, node: fx.Node, value: fx.Node) -> bool:
    """True when ``node`` (a flatten) turns a rank-4 ``value`` into (batch, C·H·W), the
    channels outermost, so that the two halves stay two blocks of features."""
    before, after = shape_of(value), shape_of(node)
    if before is None or after is None or len(before) != 4 or len(after) != 2:
        return False
    return _flatten_dims(gm, node) in ((1, -1), (1, 3))


def use_of(gm: fx.GraphModule, value: fx.Node, user: fx.Node) -> Use:
    """How ``user`` treats the linked ``value`` (one of its inputs), see :class:`Use`."""
    what = describe(gm, user)
    if user.op == "output":
        return Use("stop", "it is a model output")
    if not _only_first_argument(user, value):
        if _is_add(user):
            return Use("stop", f"it feeds a residual Add ({user.name})")
        if user.op == "call_function" and user.target in CONCATS:
            return Use("stop", f"it feeds a Concat with other tensors ({user.name})")
        return Use("stop", f"it feeds {what} ({user.name}) in another role than its input")
    rank = len(shape_of(value) or ())
    if user.op == "call_module":
        module = gm.get_submodule(str(user.target))
        path = str(user.target)
        if type(module) is nn.Conv2d:
            if module.groups != 1:
                reason = f"it feeds a grouped or depthwise conv {what} (groups={module.groups})"
                return Use("stop", reason)
            return Use("consume", module=path)
        if type(module) is nn.Linear:
            if rank != 2:
                return Use("stop", f"it feeds {what} over the last axis of a rank-{rank} tensor")
            return Use("consume", module=path)
        if type(module) in BATCH_NORMS:
            if BATCH_NORMS[type(module)] != rank:
                return Use("stop", f"it feeds {what} on a rank-{rank} tensor")
            return Use("pass", module=path)
        if isinstance(module, nn.Flatten):
            if (rank == 2 and _keeps_channels(user, value)) or _flattens_channels_first(
                gm, user, value
            ):
                return Use("pass")
            return Use("stop", f"it feeds {what}, which does not flatten from the channels")
        passes = isinstance(module, PASS_MODULES) and not getattr(module, "return_indices", False)
        if passes and _keeps_channels(user, value):
            return Use("pass")
        if passes:
            return Use("stop", f"it feeds {what}, which changes the channel axis")
    elif user.op in ("call_function", "call_method"):
        target = user.target
        if target in FLATTEN_CALLS:
            if _flattens_channels_first(gm, user, value):
                return Use("pass")
            return Use("stop", f"it feeds {what}, which does not flatten from the channels")
        passes = target in PASS_FUNCTIONS if user.op == "call_function" else target in PASS_METHODS
        if passes and not user.kwargs.get("return_indices", False):
            if _keeps_channels(user, value):
                return Use("pass")
            return Use("stop", f"it feeds {what}, which changes the channel axis")
    if _is_add(user):
        return Use("stop", f"it feeds a residual Add ({user.name})")
    if user.op == "call_function" and user.target in CONCATS:
        return Use("stop", f"it feeds a Concat with other tensors ({user.name})")
    return Use("stop", f"it feeds {what} ({user.name})")
