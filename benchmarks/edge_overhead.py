"""The edge layer's cost per request, in process: a trivial ASGI app with and without it.

Run: .venv/bin/python -m benchmarks.edge_overhead [--requests 200000]
Prints microseconds per request for the bare app, the app behind service/http/edge.py
(request id, headers, body deadline, HTTP metrics), and the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from starlette.types import Message, Receive, Scope, Send

from service.http.edge import Edge
from service.http.http_metrics import HttpMetrics

_SCOPE: Scope = {
    "type": "http",
    "method": "POST",
    "path": "/v1/tickets/t/events",
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
}


async def _bare(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    scope["slaclock.route"] = "/v1/tickets/{ticket_id}/events"
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b"{}", "more_body": False}


async def _send(_: Message) -> None:
    return None


async def _per_request(app: object, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(_SCOPE), _receive, _send)  # type: ignore[operator]
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int) -> None:
    edged = Edge(_bare, body_timeout=30.0, metrics=HttpMetrics("bench"))
    for _ in range(2):  # alternate, so drift in a shared machine hits both
        bare = await _per_request(_bare, requests)
        edge = await _per_request(edged, requests)
        print(f"bare {bare:6.2f} us  edge {edge:6.2f} us  edge cost {edge - bare:6.2f} us/request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200_000)
    asyncio.run(main(parser.parse_args().requests))
