"""What a lowering form returns: applied, or the reason it does not apply (as the
onnxscript rewriter's MatchResult does). No torch here."""

from __future__ import annotations


class NotApplicable(Exception):
    """Raised by the site analysis when a form cannot rewrite a site; the message is the
    one-line reason. Forms turn it into ``FormResult.fail``."""


class FormResult:
    """The outcome of one lowering form on one linked node: true when the node was
    rewritten; ``reason`` says why not otherwise (the graph is then untouched)."""

    def __init__(self, form: str) -> None:
        self.form = form
        self.reason: str | None = None

    def fail(self, reason: str) -> FormResult:
        """Mark the form as not applicable for ``reason``; return self."""
        self.reason = reason
        return self

    @property
    def applied(self) -> bool:
        """Whether the form rewrote the node."""
        return self.reason is None

    def __bool__(self) -> bool:
        return self.applied

    def __repr__(self) -> str:
        state = "applied" if self.applied else f"not applicable: {self.reason}"
        return f"FormResult({self.form!r}, {state})"
