"""Fuzz `Cassette.load` for as long as you like: it must return or raise CassetteError.

Each input is also read by the fast literal-block reader and by the safe YAML loader: the
reader must reject what YAML rejects, and read what both read the same (tests/fuzz/oracle.py).

    make fuzz                      # an hour
    make fuzz FUZZ_SECONDS=60      # a minute
    python tests/fuzz/fuzz_load.py --seconds 60 [--engine atheris|hypothesis]

With atheris installed (`pip install atheris`; `make fuzz` tries), libFuzzer drives it,
coverage-guided, from the example cassettes and the hostile files, with YAML's syntax as its
dictionary; each input gets 5 s (-timeout) and the process 2 GB (-rss_limit_mb). Without
atheris, hypothesis generates the inputs of tests/fuzz/yamlish.py (mutated cassettes,
generated YAML, random bytes) in rounds until the time is up, each load under a 5 s alarm.
Any other exception, a hang or a memory blow-up is a failure, printed with its input (atheris
writes it to crash-*/timeout-*/oom-* files in the working directory).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WATCHDOG_SECONDS = 5


class Hang(Exception):
    """Cassette.load ran past the watchdog."""


def _check(path: Path, data: bytes) -> None:
    from pytest_sse_replay import Cassette, CassetteError
    from tests.fuzz.oracle import check_fast_reader

    check_fast_reader(data)
    path.write_bytes(data)
    try:
        Cassette.load(path)
    except CassetteError as exc:
        if not str(exc).startswith(f"{path}: "):
            raise AssertionError(f"a CassetteError that does not name the file: {exc}") from exc


def run_atheris(seconds: int, workdir: Path) -> int:
    # Imported by name: an optional tool with no type information.
    atheris = importlib.import_module("atheris")

    with atheris.instrument_imports():
        import pytest_sse_replay.cassette._model
        import pytest_sse_replay.cassette._yamlio

    from tests.fuzz.yamlish import TOKENS

    corpus = workdir / "corpus"
    corpus.mkdir()
    seeds = [*(ROOT / "cassettes").glob("*.yaml"), *(ROOT / "tests/data/hostile").glob("*.yaml")]
    for index, seed in enumerate(seeds):
        (corpus / f"seed-{index}").write_bytes(seed.read_bytes())
    dictionary = workdir / "yaml.dict"
    dictionary.write_text(
        "".join('"' + "".join(f"\\x{b:02x}" for b in token) + '"\n' for token in TOKENS)
    )
    target = workdir / "input.yaml"

    def one_input(data: bytes) -> None:
        pytest_sse_replay.cassette._file._clear_cache()
        _check(target, data)

    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            f"-timeout={WATCHDOG_SECONDS}",
            "-rss_limit_mb=2048",
            f"-dict={dictionary}",
            "-print_final_stats=1",
            str(corpus),
        ],
        one_input,
    )
    atheris.Fuzz()  # exits the process with libFuzzer's status
    return 0  # pragma: no cover


def run_hypothesis(seconds: int, workdir: Path) -> int:
    from hypothesis import HealthCheck, given, settings

    from pytest_sse_replay.cassette import _file as _cassette
    from tests.fuzz.yamlish import yamlish

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"Cassette.load ran for more than {WATCHDOG_SECONDS} s")

    signal.signal(signal.SIGALRM, alarm)
    target = workdir / "input.yaml"
    examples = 0

    @settings(
        max_examples=5_000,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=yamlish())
    def one_input(data: bytes) -> None:
        nonlocal examples
        examples += 1
        _cassette._clear_cache()
        signal.alarm(WATCHDOG_SECONDS)
        try:
            _check(target, data)
        finally:
            signal.alarm(0)

    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        one_input()  # raises, with the input, on the first failure
        rounds += 1
    print(f"hypothesis: {examples} inputs in {rounds} rounds, no failure")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    args = parser.parse_args()
    engine = args.engine
    if engine == "auto":
        try:
            importlib.import_module("atheris")
        except ImportError:
            engine = "hypothesis"
        else:
            engine = "atheris"
    print(f"fuzzing Cassette.load with {engine} for {args.seconds} s", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        if engine == "atheris":
            return run_atheris(args.seconds, Path(workdir))
        return run_hypothesis(args.seconds, Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
