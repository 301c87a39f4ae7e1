"""What a stream must look like: `EventLog` assertions, `Contract`, structure."""

from __future__ import annotations

from ._contract import Contract, RuleResult
from ._eventlog import EventLog
from ._structure import Structure, compare, incompleteness, parse_timing

__all__ = [
    "Contract",
    "EventLog",
    "RuleResult",
    "Structure",
    "compare",
    "incompleteness",
    "parse_timing",
]
