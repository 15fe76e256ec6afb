"""A TCP proxy on loopback that a test can cut, to put a real network fault before a server.

Three states:
- ``up``: bytes flow both ways;
- ``refuse()``: every open connection is reset and new ones are refused
  (the listening socket is closed), as when the server is down;
- ``blackhole()``: connections stay open but nothing flows, and new ones are
  accepted but never reach the server, as in a network partition.
``restore()`` brings it back up: held bytes and held connections go through, as
TCP's retransmissions would after a short partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.server import free_port


class FaultyProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-proxy")

    # --- control, from the test's thread ------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._call(self._open())

    def stop(self) -> None:
        self._call(self._close(reset=True))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def refuse(self) -> None:
        self._call(self._close(reset=True))

    def blackhole(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def restore(self) -> None:
        self._call(self._open())

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    # --- the proxy, on its loop --------------------------------------------------------

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )
        self._flowing.set()

    async def _close(self, *, reset: bool) -> None:
        self._flowing.set()  # held pumps go on to meet their closed sockets
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            if reset:
                transport.abort()
        self._writers.clear()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self._writers.add(client)
        await self._flowing.wait()
        try:
            server_reader, server = await asyncio.open_connection(*self.upstream)
        except OSError:
            client.transport.abort()
            return
        self._writers.add(server)
        await asyncio.gather(self._pump(client_reader, server), self._pump(server_reader, client))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()
            self._writers.discard(writer)


@contextmanager
def faulty_proxy(upstream_host: str, upstream_port: int) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream_host, upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
