"""A real webhook receiver on a loopback port: a minimal HTTP/1.1 server on asyncio.

It runs its own event loop in a thread, keeps connections alive, records every
request (headers lower-cased, raw body, arrival time) and answers ``status``.
``stop()`` closes the port (the receiver is down) and ``start()`` opens the same
port again. ``hold`` makes it keep requests unanswered until released.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time()


class Receiver:
    def __init__(self, port: int, status: int = 204) -> None:
        self.port = port
        self.status = status
        self.received: list[Received] = []
        self.hold = threading.Event()  # set: requests wait, unanswered
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-receiver")
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        async def open_port() -> asyncio.Server:
            return await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True, backlog=1024
            )

        self._server = asyncio.run_coroutine_threadsafe(open_port(), self._loop).result(10)

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._server = None

        async def close() -> None:
            server.close()
            for writer in list(self._writers):  # a down receiver drops its connections too
                writer.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in list(self.received)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while self._server is not None:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = _headers(head)
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(headers, body, time.time()))
                while self.hold.is_set():
                    await asyncio.sleep(0.02)
                reply = f"HTTP/1.1 {self.status} X\r\ncontent-length: 0\r\n\r\n"
                writer.write(reply.encode())
                await writer.drain()
        self._writers.discard(writer)
        writer.close()


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {name.strip().lower(): value.strip() for name, value in pairs}
