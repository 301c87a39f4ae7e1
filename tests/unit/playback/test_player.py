"""Player hands out Playbacks that own their stream slot: released once, however they end."""

from __future__ import annotations

import pytest

from pytest_sse_replay import faults
from pytest_sse_replay.cassette._model import (
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from pytest_sse_replay.playback._player import Player

URL = "https://api.example.com/stream"
SSE = [("content-type", "text/event-stream")]


def cassette(*, stream: bool = True) -> Cassette:
    headers = SSE if stream else [("content-type", "application/json")]
    body = b"data: 1\n\n" if stream else b"{}"
    response = RecordedResponse(200, list(headers), [Chunk(0.01, body)])
    return Cassette([Interaction(RecordedRequest("GET", URL), response)])


def test_a_stream_holds_its_slot_until_released_once() -> None:
    """An event stream counts as open until its Playback is released; a second release
    (a client closing twice, an error after the end) gives nothing back twice."""
    player = Player(cassette())
    playback = player.prepare(RecordedRequest("GET", URL), None)
    assert playback.holds_slot
    assert playback.played is not None
    assert playback.played.index == 0
    assert player.open_streams == 1
    playback.release()
    playback.release()
    assert player.open_streams == 0
    assert not playback.holds_slot


def test_leaving_the_playback_releases_it_even_on_error() -> None:
    """As a context manager, a Playback gives its slot back however the block ends."""
    player = Player(cassette())
    seen: list[int] = []

    def play_and_fail() -> None:
        with player.prepare(RecordedRequest("GET", URL), None):
            seen.append(player.open_streams)
            raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError, match="went away"):
        play_and_fail()
    assert seen == [1]
    assert player.open_streams == 0


def test_a_plain_response_or_an_error_fault_holds_no_slot() -> None:
    """Only event streams count: a JSON answer, or a stream turned into a 429, hold nothing."""
    assert not Player(cassette(stream=False)).prepare(RecordedRequest("GET", URL), None).holds_slot
    limited = Player(cassette(), faults=[faults.error(429)])
    playback = limited.prepare(RecordedRequest("GET", URL), None)
    assert playback.plan.status == 429
    assert not playback.holds_slot
    assert limited.open_streams == 0


def test_connection_limit_counts_the_playbacks_still_open() -> None:
    """faults.connection_limit sees the streams whose Playbacks are not released yet."""
    player = Player(cassette(), faults=[faults.connection_limit(1)])
    first = player.prepare(RecordedRequest("GET", URL), None)
    second = player.prepare(RecordedRequest("GET", URL), None)
    assert (first.plan.status, second.plan.status) == (200, 429)
    first.release()
    third = player.prepare(RecordedRequest("GET", URL), None)
    assert third.plan.status == 200
