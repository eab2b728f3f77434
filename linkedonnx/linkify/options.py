"""Linkify options: which linked form replaces the activations, and whether the
function is preserved. Torch-free (checkpoint metadata and the CLI read it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linkedonnx.errors import BadInputError
from linkedonnx.kinds import KINDS


def _default_policy(zoo_name: str) -> str | None:
    """'mirror' for an activation that other kinds extend with a policy (LK-ReLU), else None."""
    policies = any(k.zoo_policy and k.zoo_name == zoo_name for k in KINDS.values())
    return "mirror" if policies else None


#: linked activation name -> (plain activation kind it extends, LK-ReLU policy or None),
#: one per registered kind (its ``linkify_name``; the mirror ReLU's policy is 'mirror').
ACTIVATIONS: dict[str, tuple[str, str | None]] = {
    k.linkify_name: (k.zoo_name, k.zoo_policy or _default_policy(k.zoo_name))
    for k in KINDS.values()
}


@dataclass(frozen=True)
class LinkifyOptions:
    """What :func:`linkedonnx.linkify.linkify` was asked for: the linked ``activation``
    (a key of :data:`ACTIVATIONS`) and ``preserve_function`` (second-half consumer weights
    zero, so that the result computes what the original did)."""

    activation: str = "lk-relu"
    preserve_function: bool = True

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise BadInputError(
                f"unknown linked activation {self.activation!r}; "
                f"expected one of {', '.join(ACTIVATIONS)}"
            )
        if not isinstance(self.preserve_function, bool):
            raise BadInputError("linkify option preserve_function must be true or false")

    @property
    def kind(self) -> str:
        """The plain activation kind whose linked form this is ('relu', 'prelu', ...)."""
        return ACTIVATIONS[self.activation][0]

    @property
    def policy(self) -> str | None:
        """LK-ReLU's policy ('mirror' or 'minmax'), None for the other forms."""
        return ACTIVATIONS[self.activation][1]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the checkpoint spec's ``linkify`` object)."""
        return {"activation": self.activation, "preserve_function": self.preserve_function}

    @classmethod
    def from_dict(cls, data: Any) -> LinkifyOptions:
        """Parse the ``linkify`` object; raise BadInputError when it is not one."""
        if not isinstance(data, dict) or set(data) - {"activation", "preserve_function"}:
            raise BadInputError(f"not a linkify object: {data!r}")
        if not isinstance(data.get("activation", "lk-relu"), str):
            raise BadInputError(f"not a linkify object: {data!r}")
        return cls(**data)
