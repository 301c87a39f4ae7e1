"""`sse_before_record`: the user's last word on each interaction before it is saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..cassette import Interaction

__all__ = [
    "FIXTURE",
    "BeforeRecord",
    "BeforeRecordError",
    "apply_before_record",
    "check_before_record",
]

FIXTURE = "sse_before_record"

BeforeRecord = Callable[[Interaction], "Interaction | None"]


class BeforeRecordError(TypeError):
    """The hook's function returned something else than an interaction or None."""


def check_before_record(value: object) -> BeforeRecord | None:
    """The fixture's value: None (keep everything as recorded) or a function."""
    if value is None or callable(value):
        return value
    raise TypeError(
        f"fixture {FIXTURE} must return a function (or None), got {type(value).__name__}: {value!r}"
    )


def apply_before_record(
    hook: BeforeRecord, interactions: Sequence[Interaction]
) -> list[Interaction]:
    """Each interaction through `hook`, in order: what it returns is kept, None drops it."""
    kept: list[Interaction] = []
    for interaction in interactions:
        result = hook(interaction)
        if result is None:
            continue
        if not isinstance(result, Interaction):
            raise BeforeRecordError(
                f"fixture {FIXTURE}: its function must return the interaction (changed or "
                f"not) or None to drop it, got {type(result).__name__}: {result!r:.200}"
            )
        kept.append(result)
    return kept
