"""Checks of `speed` and `faults` where they are given, so a mistake fails at construction.

`ReplayTransport(...)`, the `sse_cassette` marker and `sse-replay serve` share them: without
them a wrong value would only fail deep inside the first request (`'<' not supported between
'str' and 'int'`), or never (a fault class instead of a fault does nothing useful).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._plan import Fault

__all__ = ["check_faults", "check_speed"]


def check_speed(speed: object, where: str) -> float:
    """`speed` as a float: a finite number >= 0 (TypeError for a non-number, else ValueError)."""
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise TypeError(
            f"{where}: speed must be a number >= 0 (0: at once, 1: as recorded, 2: twice as "
            f"fast), not {speed!r}"
        )
    # Compared as given: math.isinf(10**400) raises OverflowError (no float holds it).
    if not 0 <= speed <= sys.float_info.max:
        raise ValueError(f"{where}: speed must be a finite number >= 0, not {speed!r}")
    return float(speed)


def _is_fault(value: object) -> bool:
    return not isinstance(value, type) and callable(getattr(value, "apply", None))


def _called(cls: type) -> str:
    """How the fault made from the class `cls` is written: `faults.merge()`."""
    if cls.__module__ == "pytest_sse_replay.faults":
        return f"faults.{cls.__name__}()"
    return f"{cls.__name__}()"


def check_faults(faults: object, where: str) -> tuple[Fault, ...]:
    """`faults` as a tuple: a list (or tuple) of fault objects, each checked.

    A single fault, a fault class (`faults.merge` for `faults.merge()`) or anything else
    is a TypeError saying what was expected.
    """
    if _is_fault(faults):
        raise TypeError(
            f"{where}: faults is a list of faults, not one fault: did you mean faults=[{faults!r}]?"
        )
    if isinstance(faults, type) and callable(getattr(faults, "apply", None)):
        raise TypeError(
            f"{where}: faults is a list of faults, not the class {faults.__name__}: "
            f"did you mean faults=[{_called(faults)}]?"
        )
    if not isinstance(faults, Sequence) or isinstance(faults, str | bytes):
        raise TypeError(
            f"{where}: faults must be a list of faults from pytest_sse_replay.faults "
            f"(e.g. [faults.split(size=1)]), not {faults!r}"
        )
    for index, fault in enumerate(faults):
        if _is_fault(fault):
            continue
        if isinstance(fault, type) and callable(getattr(fault, "apply", None)):
            raise TypeError(
                f"{where}: faults[{index}] is the class {fault.__name__}, not a fault: "
                f"did you mean {_called(fault)}?"
            )
        raise TypeError(
            f"{where}: faults[{index}] is {fault!r} ({type(fault).__name__}), not a fault: "
            "expected one from pytest_sse_replay.faults, e.g. faults.split(size=1)"
        )
    return tuple(faults)
