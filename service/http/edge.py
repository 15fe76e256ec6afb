"""The outermost ASGI layer: request ids, answer headers, the body deadline and HTTP metrics.

It wraps everything, the ingest fast lane included, so every answer (errors and
the fast lane's too) carries the same headers and is counted the same way:

* ``X-Request-ID``: the client's, when it is a sane token, else a new random 128-bit
  id in hex; set in the logging context for every line logged while serving it;
* ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``: answers
  are per-caller API data, never for a browser to guess at or a cache to keep;
* a deadline for the request body (``SLA_BODY_TIMEOUT_SECONDS``): a client
  that trickles its body gets 408 and its connection closed, instead of
  holding a connection for ever.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.http_metrics import UNMATCHED, HttpMetrics
from service.http.problems import ProblemError, problem_response
from service.logging_setup import request_id

REQUEST_ID = b"x-request-id"
ROUTE_KEY = "slaclock.route"
"""Where a layer that answers without FastAPI's routing (the fast lane) names its route."""

_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_FIXED_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


class BodyTimeout(HTTPException):
    """Raised from ``receive``: FastAPI passes HTTPException through body parsing untouched."""

    def __init__(self, seconds: float) -> None:
        detail = f"the request body did not arrive within {seconds:g} s"
        super().__init__(408, detail, headers={"Connection": "close"})


class Edge:
    def __init__(self, app: ASGIApp, *, body_timeout: float, metrics: HttpMetrics | None) -> None:
        self.app = app
        self.deadlines = BodyDeadlines(body_timeout)
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _request_id(scope)
        token = request_id.set(rid.decode())
        status = 500  # what the client sees if the app fails before answering

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _FIXED_HEADERS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra, (REQUEST_ID, rid)]
            await send(message)

        try:
            await self._serve(scope, self.deadlines.receive(receive), send_with_headers)
        finally:
            request_id.reset(token)
            if self.metrics is not None:
                seconds = time.perf_counter() - started
                self.metrics.observe(scope["method"], _route_of(scope), status, seconds)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = False

        async def tracking_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BodyTimeout as timeout:  # raised where no exception handler stands (the fast lane)
            if answered:
                raise
            problem = ProblemError(
                408, "Request timeout", timeout.detail, headers=dict(timeout.headers or {})
            )
            await problem_response(problem)(scope, receive, tracking_send)


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == REQUEST_ID:
            return value if _SANE_ID.fullmatch(value) else _fresh_id()
    return _fresh_id()


def _fresh_id() -> bytes:
    # 128 random bits, as many as a uuid4 has, without its getrandom() call: every
    # system call on the event loop hands the GIL to the writer or a reader thread
    # and waits to win it back. A request id names a request; it guards nothing.
    return b"%032x" % random.getrandbits(128)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None) if route is not None else scope.get(ROUTE_KEY)
    return template if isinstance(template, str) else UNMATCHED


class BodyDeadlines:
    """Deadlines for request bodies, kept by one periodic sweep rather than a timer each.

    A timeout scope per ``receive`` cost about 15 us per request on the ingest
    path (benchmarks/edge_overhead.py); registering the waiting task in a dict
    costs well under one. Every ``tick`` seconds, while any body is being read,
    the sweep cancels the reads past their deadline, which ``receive`` turns into
    ``BodyTimeout``; a deadline is so enforced at most ``tick`` late.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.tick = min(0.25, seconds / 4)
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def receive(self, receive: Receive) -> Receive:
        """``receive`` with a deadline for the body, counted from now (the request's start)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            task = asyncio.current_task()
            assert task is not None
            self._waiting[task] = deadline
            self._keep_sweeping(loop)
            try:
                message = await receive()
            except asyncio.CancelledError:
                if task not in self._expired:
                    raise
                self._expired.discard(task)
                task.uncancel()
                raise BodyTimeout(self.seconds) from None
            finally:
                self._waiting.pop(task, None)
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return receive_in_time

    def _keep_sweeping(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sweep is None or self._loop is not loop:
            self._loop = loop
            self._sweep = loop.call_later(self.tick, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = loop.time()
        for task, deadline in list(self._waiting.items()):
            if deadline <= now:
                del self._waiting[task]
                self._expired.add(task)
                task.cancel()
        if self._waiting:
            self._keep_sweeping(loop)
