"""EventLog and Contract: the sequence, the patterns, every assertion, the failure messages."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_sse_replay.assertions._contract import Contract
from pytest_sse_replay.assertions._eventlog import EventLog
from pytest_sse_replay.sse._event import Event
from pytest_sse_replay.sse._pattern import compile_pattern


def named(name: str, t: float = 0.0, id: str = "", **data: Any) -> Event:
    """A named event (`event: name`) with a compact JSON object as its data."""
    return Event(type=name, data=json.dumps(data, separators=(",", ":")), id=id, t=t)


def typed(kind: str, t: float = 0.0, **data: Any) -> Event:
    """A data-only event whose name comes from the JSON "type" key."""
    payload = json.dumps({"type": kind, **data}, separators=(",", ":"))
    return Event(data=payload, t=t)


def text(block: str) -> str:
    """An expected message written as an indented block: dedented, no final newline."""
    return textwrap.dedent(block).rstrip("\n")


def failure(call: Any) -> str:
    """The message of the AssertionError `call()` raises."""
    with pytest.raises(AssertionError) as info:
        call()
    return str(info.value)


# The four stream shapes (docs/index.md), as a well-behaved server sends them.


def data_only() -> EventLog:
    return EventLog(
        [
            typed("section", 0.40, index=0, text="Summary"),
            typed("section", 0.90, index=1, text="Findings"),
            typed("section", 1.30, index=2, text="Risks"),
            typed("done", 1.35),
        ]
    )


def async_job() -> EventLog:
    return EventLog(
        [
            named("intermediate", 0.2, "1", sequence=1, text="Reading"),
            named("intermediate", 0.5, "2", sequence=2, text="Drafting"),
            named("proposed_change", 0.8, "3", sequence=3, path="a.py"),
            named("final", 1.1, "4", sequence=4, text="Done"),
            named("usage", 1.2, "5", sequence=5, tokens=812),
        ]
    )


def job_status() -> EventLog:
    return EventLog(
        [
            named("status", 0.05, status="running"),
            named("progress", 0.5, progress=0.0),
            named("progress", 1.0, progress=0.25),
            named("progress", 1.5, progress=0.25),
            named("progress", 2.0, progress=1.0),
            named("completed", 2.1, status="completed"),
        ]
    )


def multi_agent() -> EventLog:
    return EventLog(
        [
            named("job.started", 0.05, "1", jobId="j1"),
            named("agent.started", 0.10, "2", agentId="a1"),
            named("agent.started", 0.12, "3", agentId="a2"),
            named("agent.completed", 0.70, "4", agentId="a2", score=0.6),
            named("agent.completed", 0.90, "5", agentId="a1", score=0.8),
            named("score.computed", 1.20, "6", score=0.7),
            named("complete", 1.25, "7", jobId="j1"),
        ]
    )


AGENT_RUN = Contract(
    first="job.started",
    order=["job.started", "agent.*", "score.computed", "complete|error"],
    pairs=[("agent.started", "agent.completed", "agentId")],
    once=["job.started", "score.computed"],
    terminal="complete|error",
    within={"job.started": 0.5},
)


# --------------------------------------------------------------------------- the sequence


def test_sequence_indexing_len_and_iteration() -> None:
    """An EventLog indexes, measures and iterates like the list of events it was built from."""
    events = list(multi_agent())
    log = EventLog(events)
    assert len(log) == 7
    assert log[0] is events[0]
    assert log[-1] is events[-1]
    assert list(log) == events
    assert events[3] in log
    assert log.index(events[2]) == 2


def test_slice_is_an_eventlog() -> None:
    """Slicing gives an EventLog of the sliced events, so assertions work on a part."""
    part = multi_agent()[1:5]
    assert isinstance(part, EventLog)
    assert part.names == ["agent.started", "agent.started", "agent.completed", "agent.completed"]
    assert part.assert_pairs("agent.started", "agent.completed", "agentId") is part


def test_equality_with_lists_tuples_and_logs() -> None:
    """An EventLog equals a list, tuple or EventLog of equal events, ignoring arrival times."""
    log = job_status()
    untimed = [Event(e.type, e.data, e.id, e.retry) for e in log]
    assert log == untimed
    assert untimed == log
    assert log == tuple(untimed)
    assert log == EventLog(untimed)
    assert log != untimed[:-1]
    assert log != "status"


def test_unhashable_and_repr() -> None:
    """An EventLog is mutable, so unhashable, and its repr shows its events."""
    log = EventLog([Event("status", "{}")])
    with pytest.raises(TypeError):
        hash(log)
    assert repr(log) == "EventLog([Event(type='status', data='{}')])"


def test_constructor_rejects_bytes_and_non_events() -> None:
    """EventLog() takes events only: bytes point at from_bytes, other items are a TypeError."""
    with pytest.raises(TypeError, match="from_bytes"):
        EventLog(b"data: x\n\n")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Event objects, not str"):
        EventLog(["complete"])  # type: ignore[list-item]


def test_names_use_event_field_or_json_type() -> None:
    """`names` lists Event.name: the event field, else the JSON "type", else "message"."""
    log = EventLog([named("status"), typed("section"), Event(data="[DONE]")])
    assert log.names == ["status", "section", "message"]


def test_filter_returns_matching_events() -> None:
    """filter() keeps the events whose name matches the pattern, in order, as a new log."""
    log = multi_agent()
    agents = log.filter("agent.*")
    assert isinstance(agents, EventLog)
    assert agents.names == ["agent.started"] * 2 + ["agent.completed"] * 2
    assert len(log) == 7


def test_append_adds_at_the_end() -> None:
    """append() adds an event at the end, and assertions see it."""
    log = multi_agent()[:-1]
    log.append(named("complete", 1.3))
    assert log.assert_terminal("complete") is log


def test_append_from_threads() -> None:
    """append() from several threads at once loses no event."""
    log = EventLog()

    def produce() -> None:
        for i in range(1000):
            log.append(named("progress", progress=i))

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log) == 4000


def test_assertions_chain() -> None:
    """Every assertion returns the log itself, so a contract reads as one chain."""
    log = multi_agent()
    result = (
        log.assert_first("job.started")
        .assert_order("job.started", "agent.*", "score.computed", "complete|error")
        .assert_before("agent.started", "agent.completed")
        .assert_count("agent.started", 2)
        .assert_once("score.computed")
        .assert_pairs("agent.started", "agent.completed", "agentId")
        .assert_terminal("complete|error")
        .assert_last("complete")
        .assert_within("job.started", 0.1)
    )
    assert result is log


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("agent.*", "agent.started", True),
        ("agent.*", "agent", False),
        ("complete|error", "error", True),
        ("complete | error", "complete", True),
        ("complete|error", "completed", False),
        ("Complete", "complete", False),
        ("agent.?tarted", "agent.started", True),
        ("[cf]*", "final", True),
        ("[!cf]*", "final", False),
        ("*", "", True),
    ],
)
def test_pattern_matching(pattern: str, name: str, matches: bool) -> None:
    """Patterns are case-sensitive shell globs on the name, with `|` between alternatives."""
    assert compile_pattern(pattern)(name) is matches


def test_pattern_is_compiled_once() -> None:
    """The same pattern text gives the same compiled pattern (a cache, not a recompile)."""
    assert compile_pattern("agent.*|complete") is compile_pattern("agent.*|complete")


@pytest.mark.parametrize("pattern", ["", "complete|", "|error", "a||b", " | "])
def test_empty_alternative_is_rejected(pattern: str) -> None:
    """A pattern with an empty alternative (often a stray `|`) is a ValueError."""
    with pytest.raises(ValueError, match="empty alternative"):
        multi_agent().assert_count(pattern)


def test_pattern_must_be_a_string() -> None:
    """A pattern that is not a str is a TypeError, not a confusing match failure."""
    with pytest.raises(TypeError, match="is a str"):
        multi_agent().assert_first(None)  # type: ignore[arg-type]


def test_data_only_names_match_like_named_events() -> None:
    """Data-only events are matched on their JSON "type" just as named events are."""
    data_only().assert_order("section", "done").assert_terminal("done|error")


# --------------------------------------------------------------------------- assert_order


@pytest.mark.parametrize(
    ("log", "patterns"),
    [
        (data_only(), ("section", "done")),
        (async_job(), ("intermediate", "proposed_change", "final", "usage")),
        (job_status(), ("status", "progress", "completed|failed|canceled")),
        (multi_agent(), ("job.started", "agent.*", "score.computed", "complete|error")),
    ],
)
def test_order_passes_on_the_four_shapes(log: EventLog, patterns: tuple[str, ...]) -> None:
    """assert_order passes when each group of events comes entirely before the next."""
    assert log.assert_order(*patterns) is log


def test_order_failure_text() -> None:
    """An event after the first event of the next group fails, with both marked."""
    log = EventLog([*multi_agent()[:6], named("agent.completed", 1.22, "8", agentId="a3")])
    log.append(named("complete", 1.25, "7", jobId="j1"))
    assert failure(lambda: log.assert_order("job.started", "agent.*", "score.computed")) == text(
        """\
        assert_order('job.started', 'agent.*', 'score.computed'): #6 agent.completed (matching 'agent.*') comes after #5 score.computed (matching 'score.computed')
        timeline (8 events):
          #      t  name             id  data
          0  0.050  job.started      1   {"jobId":"j1"}
          1  0.100  agent.started    2   {"agentId":"a1"}
          2  0.120  agent.started    3   {"agentId":"a2"}
          3  0.700  agent.completed  4   {"agentId":"a2","score":0.6}
          4  0.900  agent.completed  5   {"agentId":"a1","score":0.8}
        > 5  1.200  score.computed   6   {"score":0.7}                 <- first 'score.computed'
        > 6  1.220  agent.completed  8   {"agentId":"a3"}              <- 'agent.*' after #5
          7  1.250  complete         7   {"jobId":"j1"}
        """
    )


def test_order_counts_every_late_event() -> None:
    """When several events are out of order the first is described and all are counted."""
    log = EventLog([named("final"), named("intermediate"), named("intermediate")])
    message = failure(lambda: log.assert_order("intermediate", "final"))
    assert message.splitlines()[0] == (
        "assert_order('intermediate', 'final'): #1 intermediate (matching 'intermediate') "
        "comes after #0 final (matching 'final'); 2 events out of order"
    )
    assert message.count("<- 'intermediate' after #0") == 2


def test_order_pattern_matching_nothing_fails_with_names() -> None:
    """A pattern that matches no event fails, listing the names and a likely typo fix."""
    message = failure(lambda: multi_agent().assert_order("job.started", "complet"))
    assert message.splitlines()[:3] == [
        "assert_order('job.started', 'complet'): no event matches 'complet'",
        "names in the stream: job.started (1), agent.started (2), agent.completed (2), "
        "score.computed (1), complete (1)",
        "did you mean 'complete' for 'complet'?",
    ]


def test_order_several_patterns_matching_nothing() -> None:
    """Every pattern that matches nothing is named in the one-line rule."""
    message = failure(lambda: job_status().assert_order("queued", "progress", "done"))
    assert message.splitlines()[0] == (
        "assert_order('queued', 'progress', 'done'): no event matches 'queued' nor 'done'"
    )


def test_order_overlapping_patterns_fail() -> None:
    """An event matching two of the patterns fails: which group it is in would be a guess."""
    message = failure(lambda: multi_agent().assert_order("agent.*", "agent.completed"))
    assert message.splitlines()[0] == (
        "assert_order('agent.*', 'agent.completed'): #3 agent.completed matches more than one "
        "of the patterns (each event may match only one), 1 more such event"
    )
    assert "<- matches 'agent.*' and 'agent.completed'" in message


def test_order_on_empty_log_fails() -> None:
    """On an empty log every pattern matches nothing, so assert_order fails."""
    message = failure(lambda: EventLog().assert_order("status", "completed"))
    assert message == (
        "assert_order('status', 'completed'): no event matches 'status' nor 'completed'\n"
        "timeline: no events"
    )


def failed_run() -> EventLog:
    """The error path of a multi-agent run: no score.computed, `error` at the end."""
    return EventLog(
        [
            named("job.started", 0.05, "1", jobId="j1"),
            named("agent.started", 0.10, "2", agentId="a1"),
            named("agent.completed", 0.70, "3", agentId="a1", score=0.6),
            named("error", 0.80, "4", message="boom"),
        ]
    )


ONE_CHAIN = ("job.started", "agent.*", "score.computed?", "complete|error")


@pytest.mark.parametrize("log", [multi_agent(), failed_run()], ids=["success", "error"])
def test_order_optional_step_covers_success_and_error_runs(log: EventLog) -> None:
    """A step ending in `?` may match nothing, so one chain holds on both runs."""
    assert log.assert_order(*ONE_CHAIN) is log
    assert Contract(order=list(ONE_CHAIN)).check(log) is log


def test_order_optional_step_keeps_its_place_when_present() -> None:
    """An optional step that matches must still sit between its neighbours."""
    log = EventLog([*multi_agent()[:5], named("complete", 1.0, "7"), named("score.computed")])
    message = failure(lambda: log.assert_order(*ONE_CHAIN))
    assert message.splitlines()[0] == (
        "assert_order('job.started', 'agent.*', 'score.computed?', 'complete|error'): "
        "#6 score.computed (matching 'score.computed') comes after #5 complete "
        "(matching 'complete|error')"
    )
    with pytest.raises(AssertionError, match="comes after"):
        Contract(order=list(ONE_CHAIN)).check(log)


def test_order_absent_optional_step_links_its_neighbours() -> None:
    """With an optional step absent, the steps either side of it are still ordered."""
    log = EventLog([named("job.started"), named("error"), named("agent.started")])
    message = failure(lambda: log.assert_order(*ONE_CHAIN))
    assert "#1 error (matching 'complete|error') comes after" not in message
    assert "#2 agent.started (matching 'agent.*') comes after #1 error" in message


def test_order_required_steps_still_required_beside_optional_ones() -> None:
    """Only the steps marked `?` may be missing; the others must still match."""
    message = failure(lambda: failed_run().assert_order("job.started", "score.computed?", "done"))
    assert message.splitlines()[0].endswith("no event matches 'done'")


def test_order_only_optional_steps_pass_on_an_empty_log() -> None:
    """A chain of optional steps asks nothing of an empty log."""
    EventLog().assert_order("status?", "completed?")


def test_order_optional_step_needs_a_pattern() -> None:
    """A lone `?` is a ValueError, found when the contract is built."""
    with pytest.raises(ValueError, match="no pattern before its '\\?'"):
        Contract(order=["job.started", " ?"])


def test_order_needs_a_pattern() -> None:
    """assert_order() without patterns is a ValueError; with one it checks that it matches."""
    with pytest.raises(ValueError, match="at least one pattern"):
        multi_agent().assert_order()
    multi_agent().assert_order("score.computed")
    with pytest.raises(AssertionError, match="no event matches 'error'"):
        multi_agent().assert_order("error")


# --------------------------------------------------------------------------- assert_before


def test_before_passes() -> None:
    """assert_before compares first occurrences: a later `a` after a `b` is fine."""
    log = async_job()
    log.append(named("intermediate", 1.3, "6", sequence=6))
    assert log.assert_before("intermediate", "final") is log


def test_before_failure_text() -> None:
    """The first `b` before the first `a` fails, and both events are marked."""
    log = EventLog([typed("section", index=0), typed("done"), typed("error", statusCode=429)])
    assert failure(lambda: log.assert_before("error", "done")) == text(
        """\
        assert_before('error', 'done'): the first 'done' (#1 done) comes before the first 'error' (#2 error)
        timeline (3 events):
          #  name     data
          0  section  {"type":"section","index":0}
        > 1  done     {"type":"done"}                    <- first 'done', before any 'error'
        > 2  error    {"type":"error","statusCode":429}  <- first 'error'
        """
    )


def test_before_same_event_fails() -> None:
    """When one event is the first match of both patterns, `a` is not before `b`."""
    message = failure(lambda: multi_agent().assert_before("agent.*", "agent.started"))
    assert message.splitlines()[0] == (
        "assert_before('agent.*', 'agent.started'): #1 agent.started matches both "
        "'agent.*' and 'agent.started'"
    )


def test_before_missing_pattern_fails() -> None:
    """Both patterns must match: a missing `b` is a failure, not a pass."""
    message = failure(lambda: job_status().assert_before("status", "failed"))
    assert message.splitlines()[0] == (
        "assert_before('status', 'failed'): no event matches 'failed'"
    )


# --------------------------------------------------------------------------- first and last


def test_first_and_last_pass() -> None:
    """assert_first and assert_last check the first and the last event's names."""
    job_status().assert_first("status").assert_last("completed|failed|canceled")
    data_only().assert_first("section").assert_last("done")


def test_first_failure_marks_first_event_and_first_match() -> None:
    """A wrong first event is marked, and so is the first event that does match."""
    message = failure(lambda: multi_agent()[1:].assert_first("job.started|agent.completed"))
    assert message.splitlines()[0] == (
        "assert_first('job.started|agent.completed'): the first event is #0 agent.started, "
        "which does not match 'job.started|agent.completed'"
    )
    assert '> 0  0.100  agent.started    3   {"agentId":"a1"}' not in message
    assert "<- first event" in message
    assert "<- first 'job.started|agent.completed'" in message


def test_last_failure_without_any_match_lists_names() -> None:
    """When the pattern matches nothing at all, the names in the stream are listed."""
    message = failure(lambda: async_job().assert_last("done"))
    assert message.splitlines()[:2] == [
        "assert_last('done'): the last event is #4 usage, which does not match 'done'",
        "names in the stream: intermediate (2), proposed_change (1), final (1), usage (1)",
    ]
    assert "<- last event" in message


@pytest.mark.parametrize("method", ["assert_first", "assert_last", "assert_terminal"])
def test_end_assertions_fail_on_empty_log(method: str) -> None:
    """assert_first, assert_last and assert_terminal fail on an empty log."""
    message = failure(lambda: getattr(EventLog(), method)("complete"))
    assert message == f"{method}('complete'): the log is empty\ntimeline: no events"


# --------------------------------------------------------------------------- assert_count


def test_count_passes() -> None:
    """assert_count checks exact counts, bounds, and `at least one` by default."""
    log = async_job()
    log.assert_count("intermediate", 2).assert_count("intermediate")
    log.assert_count("intermediate", min=2).assert_count("intermediate", max=2)
    log.assert_count("intermediate|final", min=1, max=3).assert_count("error", 0)
    log.assert_count("error", max=0).assert_count("*", min=5, max=5)


def test_count_zero_passes_on_empty_log() -> None:
    """assert_count(p, 0) is the one way a pattern matching nothing passes, even when empty."""
    assert EventLog().assert_count("error", 0) == []


def test_count_failure_text() -> None:
    """Too many matches fail with the expectation, the count and every match marked."""
    log = EventLog(
        [
            named("status", 0.1, status="running"),
            named("completed", 0.2, status="completed"),
            named("completed", 0.3, status="completed"),
        ]
    )
    assert failure(lambda: log.assert_count("completed|failed", max=1)) == text(
        """\
        assert_count('completed|failed', max=1): expected at most 1 'completed|failed', found 2
        timeline (3 events):
          #      t  name       data
          0  0.100  status     {"status":"running"}
        > 1  0.200  completed  {"status":"completed"}  <- 'completed|failed' 1 of 2
        > 2  0.300  completed  {"status":"completed"}  <- 'completed|failed' 2 of 2
        """
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"n": 3}, "expected exactly 3 'intermediate', found 2"),
        ({"min": 3}, "expected at least 3 'intermediate', found 2"),
        ({"min": 3, "max": 4}, "expected between 3 and 4 'intermediate', found 2"),
        ({"min": 3, "max": 3}, "expected exactly 3 'intermediate', found 2"),
        ({"max": 1}, "expected at most 1 'intermediate', found 2"),
    ],
)
def test_count_expectations(kwargs: dict[str, int], expected: str) -> None:
    """The one-line rule states the expected count in words."""
    message = failure(lambda: async_job().assert_count("intermediate", **kwargs))
    assert message.splitlines()[0].endswith(": " + expected)


def test_count_default_is_at_least_one() -> None:
    """assert_count(p) with no count fails when nothing matches."""
    message = failure(lambda: async_job().assert_count("error"))
    assert message.splitlines()[0] == "assert_count('error'): expected at least 1 'error', found 0"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n": 1, "min": 1}, TypeError),
        ({"n": -1}, ValueError),
        ({"min": -1}, ValueError),
        ({"min": 3, "max": 2}, ValueError),
        ({"n": 1.5}, ValueError),
    ],
)
def test_count_bad_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Contradictory or negative counts are errors in the test, raised before any check."""
    with pytest.raises(error):
        async_job().assert_count("final", **kwargs)


def test_once() -> None:
    """assert_once passes on exactly one match and fails on none or two."""
    multi_agent().assert_once("job.started").assert_once("score.computed")
    message = failure(lambda: multi_agent().assert_once("agent.started"))
    assert message.splitlines()[0] == (
        "assert_once('agent.started'): expected exactly 1 'agent.started', found 2"
    )
    message = failure(lambda: multi_agent().assert_once("error"))
    assert message.splitlines()[0] == "assert_once('error'): expected exactly 1 'error', found 0"


# --------------------------------------------------------------------------- assert_pairs


def pairs(log: EventLog) -> EventLog:
    return log.assert_pairs("agent.started", "agent.completed", "agentId")


def test_pairs_pass_interleaved_and_reused() -> None:
    """Pairs of different keys interleave freely, and a key may open again once closed."""
    pairs(multi_agent())
    pairs(
        EventLog(
            [
                named("agent.started", agentId="a1"),
                named("agent.completed", agentId="a1"),
                named("agent.started", agentId="a1"),
                named("agent.started", agentId=2),
                named("agent.completed", agentId=2),
                named("agent.completed", agentId="a1"),
                named("score.computed"),
            ]
        )
    )


def test_pairs_unclosed_failure_text() -> None:
    """An open never closed fails, and the open event is marked with its key."""
    events = list(multi_agent())
    del events[4]  # agent.completed a1
    log = EventLog(events)
    assert failure(lambda: pairs(log)) == text(
        """\
        assert_pairs('agent.started', 'agent.completed', 'agentId'): 1 open never closed
        timeline (6 events):
          #      t  name             id  data
          0  0.050  job.started      1   {"jobId":"j1"}
        > 1  0.100  agent.started    2   {"agentId":"a1"}              <- agentId="a1" never closed
          2  0.120  agent.started    3   {"agentId":"a2"}
          3  0.700  agent.completed  4   {"agentId":"a2","score":0.6}
          4  1.200  score.computed   6   {"score":0.7}
          5  1.250  complete         7   {"jobId":"j1"}
        """
    )


def test_pairs_close_without_open_and_double_close() -> None:
    """A close with no open of its key fails; so does a second close of the same key."""
    log = EventLog(
        [
            named("agent.started", agentId="a1"),
            named("agent.completed", agentId="a1"),
            named("agent.completed", agentId="a1"),
            named("agent.completed", agentId="a9"),
        ]
    )
    message = failure(lambda: pairs(log))
    assert message.splitlines()[0].endswith("): 2 closes without an open")
    assert '<- agentId="a1" already closed at #1' in message
    assert '<- agentId="a9" closed without an open' in message


def test_pairs_nested_same_key_fails() -> None:
    """Opening a key that is still open fails, even when both opens are closed later."""
    log = EventLog(
        [
            named("agent.started", agentId="a1"),
            named("agent.started", agentId="a1"),
            named("agent.completed", agentId="a1"),
            named("agent.completed", agentId="a1"),
        ]
    )
    message = failure(lambda: pairs(log))
    assert message.splitlines()[0].endswith(
        "): 1 open of a value already open, 1 close without an open"
    )
    assert '> 1  agent.started    {"agentId":"a1"}  <- agentId="a1" opened again, ' in message
    assert "still open from #0" in message


def test_pairs_missing_key_and_bad_data() -> None:
    """A missing key, non-JSON data or a JSON non-object is a clear failure, not a crash."""
    log = EventLog(
        [
            named("agent.started", agentId="a1"),
            named("agent.started", agent="a2"),
            Event("agent.completed", "a1 done"),
            Event("agent.completed", '["a1"]'),
            named("agent.completed", agentId="a1"),
        ]
    )
    message = failure(lambda: pairs(log))
    assert message.splitlines()[0] == (
        "assert_pairs('agent.started', 'agent.completed', 'agentId'): "
        "1 event without 'agentId', 2 events whose data is not a JSON object"
    )
    assert "<- no 'agentId' in the data" in message
    assert "<- data is not JSON" in message
    assert "<- data is a JSON list, not an object" in message


def test_pairs_misspelt_key_names_the_keys_seen() -> None:
    """When no matched event has the key, the failure lists the keys they do have."""
    message = failure(
        lambda: multi_agent().assert_pairs("agent.started", "agent.completed", "agent_id")
    )
    lines = message.splitlines()
    assert lines[0] == (
        "assert_pairs('agent.started', 'agent.completed', 'agent_id'): 4 events without 'agent_id'"
    )
    assert lines[1] == "keys in the JSON data: agentId, score"
    assert lines[2] == "did you mean 'agentId'?"


def test_pairs_key_hint_only_when_the_key_is_never_there() -> None:
    """A key that some events have is not a typo: no list of keys is offered."""
    log = EventLog([named("agent.started", agentId="a1"), named("agent.completed", agent="a1")])
    assert "keys in the JSON data" not in failure(lambda: pairs(log))


def test_pairs_key_types_are_distinct() -> None:
    """Key values compare as JSON values: the string "1" does not close the number 1."""
    log = EventLog([named("agent.started", agentId=1), named("agent.completed", agentId="1")])
    message = failure(lambda: pairs(log))
    assert '<- agentId="1" closed without an open' in message
    assert "<- agentId=1 never closed" in message


def test_pairs_object_keys_compare_by_value() -> None:
    """A JSON object as the key closes the open with the same object, whatever its key order."""
    log = EventLog(
        [
            Event("agent.started", '{"agentId": {"run": 1, "name": "a1"}}'),
            Event("agent.completed", '{"agentId": {"name": "a1", "run": 1}}'),
        ]
    )
    assert pairs(log) is log


def test_pairs_event_matching_both_patterns() -> None:
    """An event matching both the open and the close pattern fails instead of guessing."""
    message = failure(lambda: multi_agent().assert_pairs("agent.*", "agent.completed", "agentId"))
    assert message.splitlines()[0].endswith(
        "): 2 opens never closed, 2 events matching both patterns"
    )


def test_pairs_without_any_open_fails() -> None:
    """The open pattern must match: an empty log, or no opens at all, fails."""
    message = failure(lambda: pairs(EventLog()))
    assert message.splitlines()[0] == (
        "assert_pairs('agent.started', 'agent.completed', 'agentId'): "
        "no event matches 'agent.started'"
    )
    message = failure(lambda: pairs(EventLog([named("agent.completed", agentId="a1")])))
    assert message.splitlines()[0].endswith(
        "no event matches 'agent.started'; 1 close without an open"
    )


# --------------------------------------------------------------------------- assert_terminal


def test_terminal_passes() -> None:
    """One terminal event, last, passes; so does a finished job's single terminal event."""
    job_status().assert_terminal("completed|failed|canceled")
    multi_agent().assert_terminal("complete|error")
    EventLog([named("completed", status="completed")]).assert_terminal("completed|failed")


def test_terminal_followed_by_events_failure_text() -> None:
    """Events after the terminal one fail, each marked as following it."""
    log = EventLog(
        [
            named("status", 0.05, status="running"),
            named("failed", 0.40, status="failed"),
            named("progress", 0.45, progress=0.5),
        ]
    )
    assert failure(lambda: log.assert_terminal("completed|failed|canceled")) == text(
        """\
        assert_terminal('completed|failed|canceled'): the terminal event #1 failed is followed by 1 event
        timeline (3 events):
          #      t  name      data
          0  0.050  status    {"status":"running"}
        > 1  0.400  failed    {"status":"failed"}   <- terminal event
        > 2  0.450  progress  {"progress":0.5}      <- after the terminal event
        """
    )


def test_terminal_twice_fails() -> None:
    """Two terminal events fail even when the second is last."""
    log = multi_agent()
    log.append(named("error", 1.3, "8", statusCode=500))
    message = failure(lambda: log.assert_terminal("complete|error"))
    assert message.splitlines()[0] == (
        "assert_terminal('complete|error'): 2 events match 'complete|error' (#6, #7), "
        "expected exactly 1"
    )
    assert "<- another terminal event" in message


def test_terminal_missing_fails() -> None:
    """A stream cut before its terminal event fails, with its last event marked."""
    message = failure(lambda: job_status()[:-1].assert_terminal("completed|failed|canceled"))
    assert message.splitlines()[:2] == [
        "assert_terminal('completed|failed|canceled'): no terminal event: "
        "no event matches 'completed|failed|canceled'",
        "names in the stream: status (1), progress (4)",
    ]
    assert "<- last event" in message


# --------------------------------------------------------------------------- assert_increasing


def test_increasing_passes() -> None:
    """Non-decreasing values pass; events without the key and non-JSON data are skipped."""
    async_job().assert_increasing("sequence")
    log = job_status()
    log.append(Event(data="[DONE]"))
    assert log.assert_increasing("progress") is log


def test_increasing_drop_failure_text() -> None:
    """A value below the one before it fails, marked with both values."""
    log = EventLog(
        [
            named("intermediate", id="1", sequence=1),
            named("intermediate", id="2", sequence=3),
            named("intermediate", id="3", sequence=2),
            named("final", id="4", sequence=4),
        ]
    )
    assert failure(lambda: log.assert_increasing("sequence")) == text(
        """\
        assert_increasing('sequence'): sequence goes down at #2 intermediate: 2 after 3 at #1
        timeline (4 events):
          #  name          id  data
          0  intermediate  1   {"sequence":1}
          1  intermediate  2   {"sequence":3}
        > 2  intermediate  3   {"sequence":2}  <- sequence 2 < 3 at #1
          3  final         4   {"sequence":4}
        """
    )


@pytest.mark.parametrize("value", ["0.5", True, None, [1]])
def test_increasing_non_numbers_fail(value: object) -> None:
    """A value that is not a number (a string, a bool, null, a list) fails clearly."""
    log = EventLog([named("progress", progress=0.1), named("progress", progress=value)])
    message = failure(lambda: log.assert_increasing("progress"))
    shown = json.dumps(value)
    assert message.splitlines()[0] == (
        f"assert_increasing('progress'): progress={shown} at #1 progress is not a number"
    )


def test_increasing_nan_fails() -> None:
    """NaN (which Python's JSON accepts) is not a number for this purpose."""
    log = EventLog([Event("progress", '{"progress": NaN}')])
    assert "is not a number" in failure(lambda: log.assert_increasing("progress"))


def test_increasing_counts_all_problems() -> None:
    """Several drops and bad values are all marked and counted in the rule line."""
    log = EventLog([named("p", sequence=s) for s in (3, 2, 1, "x", 5)])
    message = failure(lambda: log.assert_increasing("sequence"))
    assert message.splitlines()[0] == (
        "assert_increasing('sequence'): sequence goes down at #1 p: 2 after 3 at #0 "
        "(2 drops, 1 value that is not a number in all)"
    )


def test_increasing_without_key_fails_with_keys_seen() -> None:
    """When no event has the key, the failure lists the keys that do exist."""
    message = failure(lambda: job_status().assert_increasing("progess"))
    assert message.splitlines()[:3] == [
        "assert_increasing('progess'): no event has 'progess' in its JSON data",
        "keys in the JSON data: status, progress",
        "did you mean 'progress'?",
    ]


def test_increasing_empty_log_fails() -> None:
    """On an empty log no event has the key, so assert_increasing fails."""
    assert failure(lambda: EventLog().assert_increasing("sequence")) == (
        "assert_increasing('sequence'): no event has 'sequence' in its JSON data\n"
        "timeline: no events"
    )


# --------------------------------------------------------------------------- assert_within


def test_within_passes_inclusive() -> None:
    """The first match arriving at exactly the limit passes."""
    job_status().assert_within("progress", 0.5).assert_within("completed", 3)


def test_within_failure_text() -> None:
    """A late first match fails with its arrival time and the limit."""
    log = EventLog([named("status", 0.05), named("progress", 2.5), named("completed", 2.75)])
    assert failure(lambda: log.assert_within("progress", 2.0)) == text(
        """\
        assert_within('progress', 2.0): the first 'progress' (#1 progress) arrived at 2.5s, after the 2s limit
        timeline (3 events):
          #      t  name       data
          0  0.050  status     {}
        > 1  2.500  progress   {}    <- 2.5s > 2s
          2  2.750  completed  {}
        """
    )


def test_within_uses_first_match_only() -> None:
    """Only the first matching event counts; later ones may arrive any time."""
    multi_agent().assert_within("agent.*", 0.1)


def test_within_missing_and_bad_limit() -> None:
    """A pattern that matches nothing fails; a negative limit is a ValueError."""
    message = failure(lambda: multi_agent().assert_within("error", 1))
    assert message.splitlines()[0] == "assert_within('error', 1): no event matches 'error'"
    with pytest.raises(ValueError, match="seconds must be a number >= 0"):
        multi_agent().assert_within("complete", -1)


# --------------------------------------------------------------------------- the timeline


def long_progress(count: int = 300) -> EventLog:
    events = [named("progress", i / 100, str(i), progress=i) for i in range(count)]
    events.append(named("completed", count / 100, str(count), status="completed"))
    return EventLog(events)


def test_long_timeline_is_shortened_around_marks() -> None:
    """A long stream shows the first and last events and a few around each marked one."""
    events = list(long_progress())
    events[150] = named("progress", 1.5, "150", progress=1)
    log = EventLog(events)
    assert failure(lambda: log.assert_increasing("progress")) == text(
        """\
        assert_increasing('progress'): progress goes down at #150 progress: 1 after 149 at #149
        timeline (301 events):
            #      t  name       id   data
            0  0.000  progress   0    {"progress":0}
          ... 147 events ...
          148  1.480  progress   148  {"progress":148}
          149  1.490  progress   149  {"progress":149}
        > 150  1.500  progress   150  {"progress":1}          <- progress 1 < 149 at #149
          151  1.510  progress   151  {"progress":151}
          152  1.520  progress   152  {"progress":152}
          ... 147 events ...
          300  3.000  completed  300  {"status":"completed"}
        """
    )


def test_long_timeline_without_marks_shows_both_ends() -> None:
    """With nothing to mark, a long stream shows its first and last few events."""
    message = failure(lambda: long_progress(100).assert_count("failed"))
    lines = message.splitlines()
    assert lines[2:4] == ["timeline (101 events):", "    #      t  name       id   data"]
    assert lines[9] == "  ... 91 events ..."
    assert len(lines) == 15


def test_many_marks_are_capped() -> None:
    """Past 20 marked events in a long stream the rest are counted, not shown."""
    message = failure(lambda: long_progress(100).assert_count("progress", max=10))
    assert message.splitlines()[-1] == "  (78 more marked events not shown)"


def test_full_timeline_for_short_streams_with_one_event_gaps() -> None:
    """A one-event gap is shown as the event itself, never as "... 1 event ..."."""
    events = list(long_progress(40))
    events[5] = named("error", 0.05, "5")
    events[11] = named("error", 0.11, "11")
    log = EventLog(events)
    message = failure(lambda: log.assert_count("error", 0))
    assert "... 1 event ..." not in message
    assert "  ... 26 events ...\n" in message


def test_data_preview_is_escaped_and_clipped() -> None:
    """Line breaks in data are shown escaped, and long data is cut to a short preview."""
    log = EventLog([Event("message", "line one\nline two"), Event("big", "x" * 100)])
    message = failure(lambda: log.assert_first("big"))
    assert "> 0  message  line one\\nline two" in message
    assert "> 1  big      " + "x" * 45 + "...  <- first 'big'" in message


# --------------------------------------------------------------------------- building logs


def test_from_bytes_parses_the_body() -> None:
    """from_bytes parses a raw event-stream body into events with no timing."""
    body = b'data: {"type":"section"}\n\ndata: {"type":"done"}\r\n\r\n'
    log = EventLog.from_bytes(body)
    assert log.names == ["section", "done"]
    assert all(event.t == 0 for event in log)
    log.assert_terminal("done").assert_within("done", 0)


def test_from_bytes_rejects_text() -> None:
    """from_bytes takes bytes; a str is a TypeError rather than a silent mis-parse."""
    with pytest.raises(TypeError, match="takes bytes"):
        EventLog.from_bytes("data: x\n\n")  # type: ignore[arg-type]


def save_job_cassette(path: Path) -> Path:
    """An "async job + stream" cassette: a JSON POST answer, then the event stream."""
    from pytest_sse_replay.cassette._model import (
        Cassette,
        Chunk,
        Interaction,
        RecordedRequest,
        RecordedResponse,
    )

    stream = [
        Chunk(0.2, b'event: intermediate\ndata: {"sequence":1}\n\n'),
        Chunk(0.6, b'event: final\ndata: {"sequence":2}\n\nevent: usage\ndata: {"seq'),
        Chunk(0.7, b'uence":3}\n\n'),
    ]
    cassette = Cassette(
        [
            Interaction(
                RecordedRequest("POST", "https://api.example/jobs"),
                RecordedResponse(
                    200, [("content-type", "application/json")], [Chunk(0.1, b'{"job_id":"j1"}')]
                ),
            ),
            Interaction(
                RecordedRequest("GET", "https://api.example/jobs/stream?job_id=j1"),
                RecordedResponse(200, [("content-type", "text/event-stream")], stream),
            ),
        ]
    )
    return cassette.save(path)


def test_from_cassette_reads_every_stream(tmp_path: Path) -> None:
    """from_cassette gives the events of the event-stream responses, with arrival times."""
    path = save_job_cassette(tmp_path / "job.yaml")
    log = EventLog.from_cassette(path)
    assert log.names == ["intermediate", "final", "usage"]
    assert [event.t for event in log] == [0.2, 0.6, 0.7]
    log.assert_increasing("sequence").assert_within("final", 0.6)
    assert EventLog.from_cassette(str(path), interaction=1) == log
    assert EventLog.from_cassette(path, interaction=-1) == log


def test_from_cassette_picks_one_interaction(tmp_path: Path) -> None:
    """Picking a non-stream or missing interaction is an error that says which and why."""
    path = save_job_cassette(tmp_path / "job.yaml")
    with pytest.raises(ValueError, match=r"interaction 0 \(POST .*\) is not an event stream"):
        EventLog.from_cassette(path, interaction=0)
    with pytest.raises(IndexError, match="the cassette has 2"):
        EventLog.from_cassette(path, interaction=2)


# --------------------------------------------------------------------------- Contract


@pytest.mark.parametrize(
    ("contract", "log"),
    [
        (Contract(order=["section", "done"], terminal="done|error"), data_only()),
        (
            Contract(
                order=["intermediate", "final", "usage"],
                once="final",
                increasing="sequence",
                last="usage",
            ),
            async_job(),
        ),
        (
            Contract(
                first="status",
                count={"progress": (1, None)},
                increasing=["progress"],
                terminal="completed|failed|canceled",
                within={"progress": 1.0},
            ),
            job_status(),
        ),
        (AGENT_RUN, multi_agent()),
    ],
)
def test_contract_passes_on_the_four_shapes(contract: Contract, log: EventLog) -> None:
    """A contract that holds returns the very log it was given."""
    assert contract.check(log) is log


def test_contract_reports_every_broken_rule() -> None:
    """All broken rules are listed in one failure, with one timeline tagged by rule."""
    log = EventLog(
        [
            named("job.started", 0.05, "1", jobId="j1"),
            named("agent.started", 0.10, "2", agentId="a1"),
            named("agent.started", 0.12, "3", agentId="a2"),
            named("agent.completed", 0.90, "4", agentId="a1"),
            named("score.computed", 1.20, "5", score=0.8),
            named("complete", 1.25, "6", jobId="j1"),
            named("score.computed", 1.30, "7", score=0.9),
        ]
    )
    assert failure(lambda: AGENT_RUN.check(log)) == text(
        """\
        Contract: 4 of 7 rules failed
          [1] assert_order('job.started', 'agent.*', 'score.computed', 'complete|error'): #6 score.computed (matching 'score.computed') comes after #5 complete (matching 'complete|error')
          [2] assert_pairs('agent.started', 'agent.completed', 'agentId'): 1 open never closed
          [3] assert_once('score.computed'): expected exactly 1 'score.computed', found 2
          [4] assert_terminal('complete|error'): the terminal event #5 complete is followed by 1 event
        timeline (7 events):
          #      t  name             id  data
          0  0.050  job.started      1   {"jobId":"j1"}
          1  0.100  agent.started    2   {"agentId":"a1"}
        > 2  0.120  agent.started    3   {"agentId":"a2"}  <- [2] agentId="a2" never closed
          3  0.900  agent.completed  4   {"agentId":"a1"}
        > 4  1.200  score.computed   5   {"score":0.8}     <- [3] 'score.computed' 1 of 2
        > 5  1.250  complete         6   {"jobId":"j1"}    <- [1] first 'complete|error'; [4] terminal event
        > 6  1.300  score.computed   7   {"score":0.9}     <- [1] 'score.computed' after #5; [3] 'score.computed' 2 of 2; [4] after the terminal event
        """
    )


def test_contract_hints_are_indented_under_their_rule() -> None:
    """A rule's hints (names in the stream, a likely typo) sit under that rule."""
    message = failure(lambda: Contract(terminal="complet", once="job.*").check(multi_agent()))
    assert message.splitlines()[:4] == [
        "Contract: 1 of 2 rules failed",
        "  [1] assert_terminal('complet'): no terminal event: no event matches 'complet'",
        "      names in the stream: job.started (1), agent.started (2), agent.completed (2), "
        "score.computed (1), complete (1)",
        "      did you mean 'complete' for 'complet'?",
    ]


def test_contract_checks_lists_bytes_and_logs() -> None:
    """check() accepts an EventLog, a list of events or a raw body, and returns a log."""
    contract = Contract(order=["section", "done"], terminal="done")
    log = data_only()
    assert contract.check(list(log)) == log
    assert isinstance(contract.check(tuple(log)), EventLog)
    body = b"".join(event.encode() for event in log)
    assert contract.check(body).names == log.names


def test_contract_checks_a_cassette_path(tmp_path: Path) -> None:
    """check() accepts a cassette path, reading its event streams."""
    path = save_job_cassette(tmp_path / "job.yaml")
    contract = Contract(order=["intermediate", "final", "usage"], increasing="sequence")
    assert contract.check(path).names == ["intermediate", "final", "usage"]
    assert contract.check(str(path)).names == ["intermediate", "final", "usage"]


def test_contract_single_items_and_normalised_fields() -> None:
    """A lone string or tuple stands for a list of one; fields are stored as tuples."""
    contract = Contract(
        once="job.started",
        before=("agent.started", "score.computed"),
        pairs=("agent.started", "agent.completed", "agentId"),
        increasing="score",
    )
    assert contract.once == ("job.started",)
    assert contract.before == (("agent.started", "score.computed"),)
    assert contract.pairs == (("agent.started", "agent.completed", "agentId"),)
    message = failure(lambda: contract.check(multi_agent()))
    assert message.splitlines()[:2] == [
        "Contract: 1 of 4 rules failed",
        "  [1] assert_increasing('score'): "
        "score goes down at #5 score.computed: 0.7 after 0.8 at #4",
    ]


def test_contract_count_forms() -> None:
    """count maps a pattern to an exact number or to inclusive (min, max) bounds."""
    contract = Contract(count={"agent.started": 2, "agent.*": (3, None), "error": (None, 0)})
    contract.check(multi_agent())
    message = failure(lambda: Contract(count={"agent.*": (None, 3)}).check(multi_agent()))
    assert message.splitlines()[1] == (
        "  [1] assert_count('agent.*', max=3): expected at most 3 'agent.*', found 4"
    )


def test_empty_contract_passes() -> None:
    """A contract without rules passes any stream, the empty one included."""
    assert Contract().check([]) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"order": ["job.started", "complete|"]}, ValueError, "empty alternative"),
        ({"first": 3}, TypeError, "is a str"),
        ({"once": [None]}, TypeError, "list of str"),
        ({"pairs": [("a", "b")]}, TypeError, "3-tuples"),
        ({"before": "a"}, TypeError, "2-tuples"),
        ({"count": {"a": -1}}, ValueError, "must be an int >= 0"),
        ({"count": {"a": "1"}}, TypeError, "n or \\(min, max\\)"),
        ({"count": {"a": (2, 1)}}, ValueError, "greater than"),
        ({"within": {"a": -0.5}}, ValueError, ">= 0"),
        ({"within": ["a"]}, TypeError, "expected a dict"),
        ({"increasing": 5}, TypeError, "list of str"),
    ],
)
def test_contract_rejects_bad_rules_when_built(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """A malformed rule is an error where the contract is written, not at its first use."""
    with pytest.raises(error, match=match):
        Contract(**kwargs)


def test_contract_is_frozen() -> None:
    """A shared contract cannot be changed by one test behind the others' backs."""
    with pytest.raises(AttributeError):
        AGENT_RUN.terminal = "error"  # type: ignore[misc]


def test_contract_results_report_each_rule_as_written() -> None:
    """Contract.results applies each rule on its own, in check's order, with check's message."""
    contract = Contract(
        first="job.started",
        order=["job.started", "agent.*", "score.computed?", "complete|error"],
        count={"agent.started": (1, None)},
        within={"complete": 0.5},
    )
    log = EventLog(
        [
            Event("job.started", "{}", t=0.01),
            Event("agent.started", "{}", t=0.02),
            Event("complete", "{}", t=0.9),
        ]
    )
    results = contract.results(log)
    assert (
        [r.rule for r in results]
        == contract.rules
        == [
            "first job.started",
            "order job.started < agent.* < score.computed? < complete|error",
            "count agent.started=1..",
            "within complete 0.5s",
        ]
    )
    assert [r.holds for r in results] == [True, True, True, False]
    failure = results[-1].failure
    assert failure is not None
    assert failure.startswith("assert_within('complete', 0.5)")
    with pytest.raises(AssertionError, match=r"\[1\] assert_within\('complete', 0.5\)"):
        contract.check(log)
