"""Last-Event-ID: a reconnecting client gets the recorded stream from after that event on.

A script transform like the faults, applied by the replay transport to every event-stream
response before the faults. The recorded stream is cut after the event whose id the
client sends, as a server that honours `Last-Event-ID` would. When the recording has no
ids, or none equal to the one sent, the whole stream is played (a server that does not
know the id starts over).
"""

from __future__ import annotations

from ..cassette import Chunk
from ..sse import event_boundaries, parse_events
from ._plan import Script
from ._ranges import slice_chunks, time_before

__all__ = ["resume"]


def resume(script: Script, last_event_id: str | None, recorded_id: str | None = None) -> Script:
    """`script` from after the event with id `last_event_id` (the request's header).

    `recorded_id` is the header the recorded request carried, if any: a recording of a
    reconnection already starts after that event, so the same id sent again gets it whole.
    The remainder keeps its gaps, moved earlier so it starts as the new request does.
    """
    if not last_event_id or last_event_id == recorded_id:
        return script
    body = script.body
    events = parse_events([body])
    # An event without an `id` line carries the id in effect before it: the first event
    # with the value is the one whose block set it, where a server would resume.
    pairs = zip(events, event_boundaries(body), strict=True)
    end = next((end for event, end in pairs if event.id == last_event_id), None)
    if end is None:
        return script
    earlier = time_before(script.chunks, end, script.headers_t) - script.headers_t
    rest = [
        Chunk(round(max(chunk.t - earlier, script.headers_t), 6), chunk.data)
        for chunk in slice_chunks(script.chunks, end, len(body))
    ]
    return script.with_(chunks=tuple(rest))
