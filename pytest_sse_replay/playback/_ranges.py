"""Byte ranges of a recorded body: cut, removed, shifted, each piece keeping its time.

Faults and Last-Event-ID resume rewrite scripts with these; the times move with the
bytes, so a rewritten stream keeps its pace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..cassette import Chunk

__all__ = ["shift_chunks", "slice_chunks", "time_before", "without_ranges"]


def slice_chunks(chunks: Sequence[Chunk], start: int, stop: int) -> list[Chunk]:
    """The bytes [start, stop) of the body, each piece keeping the time of its chunk."""
    out: list[Chunk] = []
    position = 0
    for chunk in chunks:
        end = position + len(chunk.data)
        if end > start and position < stop and chunk.data:
            a, b = max(start - position, 0), min(stop, end) - position
            out.append(chunk if b - a == len(chunk.data) else Chunk(chunk.t, chunk.data[a:b]))
        position = end
        if position >= stop:
            break
    return out


def without_ranges(
    chunks: Sequence[Chunk], removed: Sequence[tuple[int, int]]
) -> tuple[Chunk, ...]:
    """The body less the byte ranges `removed` (sorted, disjoint). What is left of a chunk
    stays one chunk: the server never wrote the removed bytes, the rest it wrote as it did."""
    out: list[Chunk] = []
    position = 0
    ranges = iter(removed)
    gap = next(ranges, None)
    for chunk in chunks:
        start, end = position, position + len(chunk.data)
        position = end
        parts: list[bytes] = []
        cursor = start
        while gap is not None and gap[0] < end:
            if gap[0] > cursor:
                parts.append(chunk.data[cursor - start : gap[0] - start])
            cursor = max(cursor, min(gap[1], end))
            if gap[1] > end:
                break
            gap = next(ranges, None)
        if cursor < end:
            parts.append(chunk.data[cursor - start :])
        data = b"".join(parts)
        if data:
            out.append(chunk if len(data) == len(chunk.data) else Chunk(chunk.t, data))
    return tuple(out)


def time_before(chunks: Sequence[Chunk], offset: int, default: float) -> float:
    """When the byte just before `offset` arrived (`default` at the very start)."""
    position = 0
    for chunk in chunks:
        position += len(chunk.data)
        if chunk.data and position >= offset > 0:
            return chunk.t
    return default


def shift_chunks(chunks: Iterable[Chunk], seconds: float) -> list[Chunk]:
    return [Chunk(round(chunk.t + seconds, 6), chunk.data) for chunk in chunks]
