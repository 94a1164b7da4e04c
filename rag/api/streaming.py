"""Server-Sent Events over the Answerer's blocking event stream.

    events = answerer.stream(question)                        # a generator that blocks on the LLM
    first = await next_event(events)                          # errors before the stream starts are plain 4xx/5xx
    return event_stream(render(first, in_threads(events)))    # render: an async generator of SSE text

Each step of the generator runs in the thread pool, so the event loop never waits on the LLM. When the client
goes away, Starlette cancels the response; `in_threads` then closes the generator, which closes the LLM's
stream: the work stops instead of running to the end for nobody.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any, TypeVar

import anyio
from starlette.responses import StreamingResponse

T = TypeVar("T")
_END: Any = object()

EVENT_STREAM = "text/event-stream"


async def in_threads(events: Generator[T, None, None]) -> AsyncIterator[T]:
    """The rest of `events`, each step in a worker thread; `events` is closed however this ends."""
    try:
        while (event := await next_event(events)) is not None:
            yield event
    finally:
        # Shielded: after a cancellation (the client left) this still runs, and waits for the close.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(events.close)


def sse(data: str, event: str | None = None) -> str:
    """One event. `data` is one line of JSON (json.dumps escapes newlines) or the literal [DONE]."""
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


def stream_doc(events: dict[str, str]) -> dict[str, Any]:
    """The OpenAPI content of an event stream whose events are these schemas (by name), one per event kind."""
    refs = [{"$ref": f"#/components/schemas/{model}"} for model in dict.fromkeys(events.values())]
    listing = "; ".join(f"`{name}`: {model}" for name, model in events.items())
    return {"schema": {"oneOf": refs, "description": f"Server-Sent Events ({listing})."}, "x-sse-events": events}


def event_stream(body: AsyncIterator[str]) -> StreamingResponse:
    # no-cache: the events are for this request only; X-Accel-Buffering: nginx would otherwise hold them back.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type=EVENT_STREAM, headers=headers)


async def next_event(events: Generator[T, None, None]) -> T | None:
    """The next event, taken in a worker thread; None at the end. Take the first one before the response starts:
    what fails there still gets a status code."""
    # next() with a default: a StopIteration must not cross into the coroutine.
    item = await anyio.to_thread.run_sync(next, events, _END)
    return None if item is _END else item
