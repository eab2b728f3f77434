"""Zoo model names: ``family/[lk-|ext-]act[-minmax][-bn|-nobn]``.

- ``family``: width, depth, params, allcnn, resnet;
- form: no prefix = single (plain activation), ``lk-`` = linked, ``ext-`` = the plain
  net widened so that its parameter count matches the linked form;
- ``act``: a zoo name of the registry of linked kinds (relu, prelu, selu, swish ...);
  ``-minmax`` (only ``lk-relu``: a kind's zoo policy) selects LK-ReLU's min-max policy
  instead of the mirror (CReLU) policy;
- ``-bn`` / ``-nobn`` override the family's batch-norm default (resnet: on; the
  others: off, as in the paper). With BN on, a BatchNorm2d follows every hidden conv
  (conv -> BN -> activation; the conv then has no bias); dense layers get none.

:func:`names` lists each model once, in canonical spelling (the default BN setting
has no suffix); :func:`parse_name` also accepts the redundant explicit default.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

from linkedonnx.errors import BadInputError
from linkedonnx.kinds import KINDS, ZOO_ACTIVATIONS

FAMILIES: tuple[str, ...] = ("width", "depth", "params", "allcnn", "resnet")
ACTIVATIONS: tuple[str, ...] = ZOO_ACTIVATIONS
SINGLE, LINKED, EXTENDED = "single", "linked", "extended"
#: The variants of a model name (``ModelName.form``): plain, linked, widened plain.
VARIANTS: tuple[str, ...] = (SINGLE, LINKED, EXTENDED)
_PREFIX = {SINGLE: "", LINKED: "lk-", EXTENDED: "ext-"}
MIRROR, MINMAX = "mirror", "minmax"
#: zoo policy suffix (other than the mirror default) -> the activation it applies to.
POLICIES: dict[str, str] = {k.zoo_policy: k.zoo_name for k in KINDS.values() if k.zoo_policy}

#: Whether each family uses batch norm when the name has no -bn/-nobn suffix.
BN_DEFAULT: dict[str, bool] = {
    "width": False,
    "depth": False,
    "params": False,
    "allcnn": False,
    "resnet": True,
}


@dataclass(frozen=True)
class ModelName:
    """A parsed zoo name.

    ``policy`` is 'mirror' or 'minmax' for the linked form and None otherwise;
    ``batch_norm`` is resolved (the family default unless the name overrides it).
    """

    family: str
    activation: str
    form: str
    policy: str | None
    batch_norm: bool

    @property
    def linked(self) -> bool:
        """True for the linked (``lk-``) form."""
        return self.form == LINKED

    @property
    def extended(self) -> bool:
        """True for the extended (``ext-``) form."""
        return self.form == EXTENDED

    @property
    def name(self) -> str:
        """The canonical spelling (no suffix for the family's BN default)."""
        text = f"{self.family}/{_PREFIX[self.form]}{self.activation}"
        if self.policy in POLICIES:
            text += f"-{self.policy}"
        if self.batch_norm != BN_DEFAULT[self.family]:
            text += "-bn" if self.batch_norm else "-nobn"
        return text

    def __str__(self) -> str:
        return self.name


def _variants(family: str) -> list[ModelName]:
    """Every model of ``family``: each activation × 3 variants, plus the linked model of
    each extra policy (lk-relu-minmax), × BN on/off."""
    out = []
    for batch_norm in (BN_DEFAULT[family], not BN_DEFAULT[family]):
        for activation in ACTIVATIONS:
            for form in VARIANTS:
                policy = MIRROR if form == LINKED else None
                out.append(ModelName(family, activation, form, policy, batch_norm))
        for policy, activation in POLICIES.items():
            out.append(ModelName(family, activation, LINKED, policy, batch_norm))
    return out


@cache
def _all() -> dict[str, ModelName]:
    return {m.name: m for family in FAMILIES for m in _variants(family)}


def names(family: str | None = None) -> list[str]:
    """Return every canonical model name, sorted; only ``family``'s when given.

    Raises BadInputError for an unknown family.
    """
    if family is not None and family not in FAMILIES:
        raise BadInputError(
            f"unknown model family {family!r}; expected one of {', '.join(FAMILIES)}"
        )
    return sorted(n for n, m in _all().items() if family is None or m.family == family)


def _unknown(name: str, why: str) -> BadInputError:
    close = difflib.get_close_matches(name, list(_all()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return BadInputError(f"unknown model name {name!r} ({why}){hint}")


def parse_name(name: str) -> ModelName:
    """Parse a zoo name into a :class:`ModelName`.

    Raises BadInputError (one line, suggesting close names) when it is not a zoo name.
    """
    if not isinstance(name, str):
        raise BadInputError(f"model name must be a string, not {type(name).__name__}")
    text = name.strip().lower()
    family, sep, rest = text.partition("/")
    if not sep or family not in FAMILIES:
        raise (_unknown(name, f"family must be one of {', '.join(FAMILIES)}"))
    batch_norm = BN_DEFAULT[family]
    if rest.endswith("-nobn"):
        batch_norm, rest = False, rest[: -len("-nobn")]
    elif rest.endswith("-bn"):
        batch_norm, rest = True, rest[: -len("-bn")]
    policy = None
    for suffix in POLICIES:
        if rest.endswith(f"-{suffix}"):
            policy, rest = suffix, rest[: -len(suffix) - 1]
            break
    form = SINGLE
    if rest.startswith("lk-"):
        form, rest = LINKED, rest[3:]
    elif rest.startswith("ext-"):
        form, rest = EXTENDED, rest[4:]
    if rest not in ACTIVATIONS:
        raise (_unknown(name, f"activation must be one of {', '.join(ACTIVATIONS)}"))
    if policy is not None and (form != LINKED or rest != POLICIES[policy]):
        raise (_unknown(name, f"-{policy} exists only for lk-{POLICIES[policy]}"))
    if form == LINKED and policy is None:
        policy = MIRROR
    return ModelName(family, rest, form, policy, batch_norm)
