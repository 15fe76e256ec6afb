"""A deadline for a request's headers, which uvicorn does not have.

A client that opens a connection and trickles its request line and headers
(slowloris) would hold the connection for ever: uvicorn's keep-alive timer
only runs between requests, and the body deadline (service/http/edge.py) only
starts once the headers are in. This subclass of uvicorn's httptools protocol
arms a timer when a connection opens and when each request begins, disarms it
when the headers are complete, and answers 408 and closes the connection when
it fires.
"""

from __future__ import annotations

import asyncio
from typing import Any

_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"request headers were not in time"
)


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol] | str:
    """uvicorn's ``http`` argument: the protocol class with a header deadline."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # without httptools uvicorn uses h11, which gets no deadline
        return "auto"

    class HeaderDeadlineProtocol(HttpToolsProtocol):  # type: ignore[misc]
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(_TIMEOUT_ANSWER)
            self.transport.close()

    return HeaderDeadlineProtocol
