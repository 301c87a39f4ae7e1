"""The benchmarks of pytest-sse-replay: `python bench/run.py` (see docs/performance.md)."""
