"""Provenance in the cassette file (recorded_at, recorded_with) and the age rules."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_sse_replay import Cassette, CassetteError, RecordingTransport
from pytest_sse_replay.cassette._provenance import (
    calling_distribution,
    distribution_version,
    expired_by,
    major_changes,
    parse_age,
    versions_for,
)
from tests.drivers import Driver

OLD_CASSETTE = """\
version: 1
interactions:
- request:
    method: GET
    url: https://api.example.com/stream
    headers: {}
    body: ''
  response:
    status: 200
    headers:
      content-type: text/event-stream
    headers_t: 0.01
    body: |
      data: {"type":"done"}

    timeline: |
      0.02 22
    end: complete
"""


def test_a_cassette_without_provenance_still_loads(tmp_path: Path) -> None:
    """A version 1 file written before the provenance fields loads, with none of them."""
    path = tmp_path / "old.yaml"
    path.write_text(OLD_CASSETTE)
    loaded = Cassette.load(path)
    assert len(loaded) == 1
    assert loaded.recorded_at is None
    assert loaded.recorded_with == {}


def test_provenance_round_trips(tmp_path: Path) -> None:
    """recorded_at (to the second, UTC, written with Z) and recorded_with survive save/load."""
    path = tmp_path / "old.yaml"
    path.write_text(OLD_CASSETTE)
    cassette = Cassette.load(path)
    cassette.recorded_at = datetime(2026, 3, 1, 12, 30, 5, 999, tzinfo=UTC)
    cassette.recorded_with = {"pytest-sse-replay": "0.1.0", "python": "3.12.1", "openai": "2.3.0"}
    cassette.save()
    text = path.read_text()
    assert "recorded_at: '2026-03-01T12:30:05Z'\n" in text
    assert text.index("recorded_with:") < text.index("interactions:")
    loaded = Cassette.load(path)
    assert loaded.recorded_at == datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert loaded.recorded_with == cassette.recorded_with


def test_an_unquoted_or_offset_time_is_read_as_utc(tmp_path: Path) -> None:
    """A hand-edited time, unquoted or with an offset, is read and turned into UTC."""
    path = tmp_path / "edited.yaml"
    path.write_text(
        OLD_CASSETTE.replace("version: 1\n", "version: 1\nrecorded_at: 2026-03-01T14:00:00+02:00\n")
    )
    assert Cassette.load(path).recorded_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "recorded_at: yesterday",
            "recorded_at: expected a UTC time in ISO 8601*got the text 'yesterday'",
        ),
        (
            "recorded_at: '2026-03-01T12:00:00'",
            "recorded_at: the time 2026-03-01T12:00:00 has no time zone*",
        ),
        ("recorded_at: 5", "recorded_at: expected a UTC time in ISO 8601, got an int 5"),
        (
            "recorded_at: '0001-01-01T00:00:00+14:00'",
            "recorded_at: the time 0001-01-01T00:00:00+14:00 is out of range in UTC",
        ),
        (
            "recorded_at: '9999-12-31T23:59:59-12:00'",
            "recorded_at: the time 9999-12-31T23:59:59-12:00 is out of range in UTC",
        ),
        ("recorded_with: [httpx]", "recorded_with: expected a mapping, got a list"),
        ("recorded_with: {httpx: 0}", "recorded_with.httpx: expected a text, got an int 0"),
    ],
)
def test_bad_provenance_is_a_cassette_error_naming_the_field(
    tmp_path: Path, field: str, message: str
) -> None:
    """A bad recorded_at or recorded_with is a CassetteError naming the file and the field."""
    path = tmp_path / "bad.yaml"
    path.write_text(OLD_CASSETTE.replace("version: 1\n", f"version: 1\n{field}\n"))
    with pytest.raises(CassetteError) as caught:
        Cassette.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert fnmatch.fnmatch(str(caught.value), f"{path}: {message}*"), str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90d", 90 * 86400),
        ("12w", 12 * 7 * 86400),
        ("36h", 36 * 3600),
        ("30m", 1800),
        ("1.5D", 129600),
    ],
)
def test_parse_age(text: str, seconds: float) -> None:
    """Ages are a number and a unit: s, m, h, d, w (any case)."""
    assert parse_age(text, "ini sse_max_age") == seconds


@pytest.mark.parametrize("text", ["90", "3 months", "d", "-1d", ""])
def test_parse_age_refuses_other_text(text: str) -> None:
    """What is not a number with a unit is refused, naming the setting."""
    with pytest.raises(ValueError, match="ini sse_max_age: expected an age such as 90d"):
        parse_age(text, "ini sse_max_age")


def test_expired_by_says_how_old() -> None:
    """Older than the maximum: a phrase with the date and the age; otherwise (or unknown) None."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=120)
    assert expired_by(old, 90 * 86400, now) == "recorded 2026-02-01T00:00:00+00:00, 120 days ago"
    assert expired_by(now - timedelta(days=30), 90 * 86400, now) is None
    assert expired_by(None, 90 * 86400, now) is None
    assert expired_by(old, None, now) is None


def test_a_recording_time_in_the_future_is_expired() -> None:
    """A recorded_at to come (past a day of clock skew) cannot keep a cassette young forever:
    under a maximum age it counts as expired, saying why; a few hours ahead is a clock."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    future = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert expired_by(future, 86400, now) == (
        "recorded 9999-12-31T23:59:59+00:00, in the future: its age cannot be known"
    )
    assert expired_by(now + timedelta(hours=5), 86400, now) is None
    assert expired_by(future, None, now) is None


def test_major_changes_compare_first_numbers_of_installed_packages() -> None:
    """Only packages installed now in another major version are reported; Python never."""
    import httpx

    major = int(httpx.__version__.split(".")[0])
    changes = major_changes(
        {
            "httpx": f"{major + 1}.0.0",
            "pytest": pytest.__version__,
            "python": "2.7.18",
            "not-installed-anywhere": "1.0",
        }
    )
    assert changes == [f"httpx {major + 1}.0.0 -> {httpx.__version__}"]


def test_a_test_calling_httpx_itself_has_no_calling_sdk() -> None:
    """A request made from test code (no installed package) names no SDK."""
    assert calling_distribution() is None


def test_calling_distribution_finds_the_installed_package_in_the_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From inside an installed package's code, that package and its version are found."""
    import importlib

    from pytest_sse_replay.cassette import _provenance as _provenance

    (tmp_path / "fakesdk_unit").mkdir()
    (tmp_path / "fakesdk_unit" / "__init__.py").write_text("def call(f):\n    return f()\n")
    info = tmp_path / "fakesdk_unit-4.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakesdk-unit\nVersion: 4.1.0\n")
    (info / "top_level.txt").write_text("fakesdk_unit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    caches = (_provenance._distributions, _provenance._distribution_of)
    for cache in caches:
        cache.cache_clear()
    try:
        sdk = importlib.import_module("fakesdk_unit")
        assert sdk.call(calling_distribution) == ("fakesdk-unit", "4.1.0")
    finally:
        for cache in caches:
            cache.cache_clear()


def test_versions_for_names_this_package_python_and_the_client() -> None:
    """Every recording names this package, Python and the client library's version."""
    import httpx

    versions = versions_for("httpx")
    assert versions["httpx"] == httpx.__version__
    assert set(versions) == {"pytest-sse-replay", "python", "httpx"}


def test_recording_transport_writes_provenance_for_each_client(
    driver: Driver, live_server: str, tmp_path: Path
) -> None:
    """A RecordingTransport's cassette, saved without the plugin, says when and with what."""
    import importlib.metadata

    recorder = RecordingTransport()
    before = datetime.now(UTC).replace(microsecond=0)
    driver.stream(recorder, "GET", live_server + "/tokens")
    loaded = Cassette.load(recorder.save(tmp_path / "c.yaml"))
    assert loaded.recorded_at is not None
    assert before <= loaded.recorded_at <= datetime.now(UTC)
    client = driver.id.split("-")[0]
    assert loaded.recorded_with[client] == importlib.metadata.version(client)
    assert {"pytest-sse-replay", "python"} <= set(loaded.recorded_with)


def test_requests_and_aiohttp_recordings_write_provenance(live_server: str, tmp_path: Path) -> None:
    """Cassettes recorded through the requests and aiohttp faces say when and with what too."""
    import asyncio
    import importlib.metadata

    import requests

    from pytest_sse_replay import RecordingAdapter, recording_session

    adapter = RecordingAdapter()
    with requests.Session() as session:
        session.mount("http://", adapter)
        session.get(live_server + "/tokens", timeout=10).content  # noqa: B018
    by_requests = Cassette.load(adapter.save(tmp_path / "requests.yaml"))

    async def record() -> None:
        async with (
            recording_session(tmp_path / "aiohttp.yaml") as session,
            session.get(live_server + "/tokens") as response,
        ):
            await response.read()

    asyncio.run(asyncio.wait_for(record(), 30))
    by_aiohttp = Cassette.load(tmp_path / "aiohttp.yaml")
    for cassette, client in ((by_requests, "requests"), (by_aiohttp, "aiohttp")):
        assert cassette.recorded_at is not None
        assert cassette.recorded_with[client] == importlib.metadata.version(client)
        assert {"pytest-sse-replay", "python"} <= set(cassette.recorded_with)


def test_a_recorded_with_entry_of_an_empty_name_is_no_major_change() -> None:
    """A cassette's recorded_with naming the package '' (hand-edited, hostile) is no package
    installed, not a ValueError from importlib.metadata at the test's setup."""
    assert major_changes({"": "1.0", "httpx": "9.0.0"}) == [
        f"httpx 9.0.0 -> {distribution_version('httpx')}"
    ]
