"""The `sse_server` fixture: a real local HTTP server replaying the test's cassette."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ..cassette import Cassette, CassetteError
from ..clients import ReplayServer
from ._config import resolve

__all__ = ["sse_server_fixture"]


def sse_server_fixture(
    request: pytest.FixtureRequest, markers: Sequence[pytest.Mark]
) -> Iterator[str]:
    """The base URL of a local HTTP server replaying this test's `sse_cassette`.

    For code under test that does not use httpx (`requests`, `urllib`, a subprocess, a
    browser). The cassette, speed, faults and match_on come from the marker and settings,
    as for `sse_cassette`. The server only replays: the cassette must exist.
    """

    __tracebackhide__ = True
    settings = resolve(request.node, markers)
    missing = [path for path in settings.paths if not Path(path).exists()]
    if missing:
        pytest.fail(
            f"sse_server: no cassette at {missing[0]}; the sse_server fixture only replays. "
            "Record it first (a test using sse_cassette with --sse-record, or "
            "`sse-replay record URL -o PATH`).",
            pytrace=False,
        )
    cassette = Cassette()
    broken = None
    for path in settings.paths:
        try:
            cassette.interactions.extend(Cassette.load(path).interactions)
        except CassetteError as exc:  # it names the file and the field: one line says it all
            broken = f"sse_server: {exc}"
            break
    if broken is not None:
        pytest.fail(broken, pytrace=False)
    cassette.path = settings.paths[0]
    # Faults from a parametrized `sse_faults` too, as the `sse_cassette` fixture takes them.
    try:
        extra = tuple(request.getfixturevalue("sse_faults") or ())
    except pytest.FixtureLookupError:
        extra = ()
    with ReplayServer(
        cassette,
        speed=settings.speed,
        faults=(*settings.faults, *extra),
        match_on=settings.match_on or None,
        ignore_json_paths=settings.ignore_json_paths,
    ) as url:
        yield url
