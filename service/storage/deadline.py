"""ASGI layer in front of everything: no request waits on a database that is down.

While the store-outage circuit (service/storage/store_circuit.py) is open, a request that needs
the store gets 503 with ``Retry-After`` at once. A request already running when
the circuit opens gets the same answer as soon as it opens, unless its answer
has started: the handler may be stuck in a driver call that Python cannot
interrupt, so it is left to finish on its own and whatever it sends is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.problems import ProblemError, problem_response
from service.storage.store_circuit import RETRY_AFTER_SECONDS, UNAVAILABLE_DETAIL, StoreCircuit

# Routes that never touch the store, or (/readyz) report the circuit themselves.
EXEMPT = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"})
# Served during an outage too, from memory (the outage shows there); token checks
# that would need the database answer 503 at once (service/http/auth.py).
OPEN_DURING_OUTAGE = frozenset({"/metrics"})


def unavailable() -> ProblemError:
    return ProblemError(
        503,
        "Service unavailable",
        UNAVAILABLE_DETAIL,
        slug="unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class OutageGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        circuit = _circuit(scope)
        if circuit is None or scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if circuit.is_open:
            if scope["path"] in OPEN_DURING_OUTAGE:
                await self.app(scope, receive, send)
                return
            await problem_response(unavailable())(scope, receive, send)
            return
        await self._guarded(circuit, scope, receive, send)

    async def _guarded(
        self, circuit: StoreCircuit, scope: Scope, receive: Receive, send: Send
    ) -> None:
        state = {"started": False, "abandoned": False}

        async def guarded_send(message: Message) -> None:
            if state["abandoned"]:
                return
            state["started"] = True
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        opened = circuit.opened()
        try:
            await asyncio.wait({handler, opened}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # this request was cancelled (the client left, shutdown)
            handler.cancel()
            raise
        finally:
            circuit.forget(opened)
        if handler.done() or state["started"]:
            await handler
            return
        state["abandoned"] = True
        handler.add_done_callback(_quietly)
        handler.cancel()
        await problem_response(unavailable())(scope, receive, send)


def _circuit(scope: Scope) -> StoreCircuit | None:
    app: Any = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    circuit = getattr(runtime, "circuit", None)
    return circuit if isinstance(circuit, StoreCircuit) else None


def _quietly(task: asyncio.Future[None]) -> None:
    # An abandoned handler's own outcome has nobody left to hear it.
    with contextlib.suppress(BaseException):
        task.exception()
