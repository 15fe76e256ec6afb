"""The dispatcher's HTTP client: one POST at a time per connection, HTTP/1.1 on asyncio streams.

With httpx the dispatcher made about 540 deliveries/s on an idle machine, short of
10,000 in 10 s, and benchmarks/webhooks.py shows this client posting the same
bodies 17 to 26 times faster. A webhook POST needs little of what a general
client does. Here a request is one write of head and body, the answer is
parsed for its status and framing only (the body is read and discarded), and
connections are kept alive per destination (scheme, host, port), at most
``keep_alive`` idle ones each, dropped after ``IDLE_SECONDS`` unused.

Any error drops the connection it happened on. A kept-alive connection the peer
closed while it was idle fails before any byte of an answer; that attempt is made
once more on a fresh connection rather than counted as a failed delivery. The
timeout covers the whole attempt: connecting, sending, that one retry, and
reading the answer. Redirects are not followed (a 3xx is an answer like any other).
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, urlsplit

IDLE_SECONDS = 5.0  # like httpx: under the idle timeout of most servers (Node: 5 s)
READ_BYTES = 65536
CLOSE_SECONDS = 1.0
HEAD_LIMIT = 65536  # longest answer head (status line and headers) accepted
SAFE = "/?#[]@!$&'()*+,;=%:~-._"  # already legal in a request target: not escaped again
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "slaclock-webhooks"


class SendError(Exception):
    """No answer: the message says why, as ``"<ErrorType>: <detail>"``."""


class ProtocolError(Exception):
    """The peer answered something that is not HTTP/1.x, or broke off mid-answer."""


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body`` to ``url`` and return the answer's status; SendError when none came."""
        ...

    async def aclose(self) -> None:
        """Close every connection it keeps."""
        ...


Key = tuple[str, str, int]  # scheme, host, port


@dataclass(frozen=True)
class _Target:
    key: Key
    host_header: str
    path: str

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) URL with a host: {url[:100]!r}")
        host = parts.hostname.encode("idna").decode("ascii")
        port = parts.port or DEFAULT_PORTS[scheme]
        shown = f"[{host}]" if ":" in host else host
        host_header = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        return cls((scheme, host, port), host_header, quote(target, safe=SAFE))


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False
    idle_since: float = field(default_factory=time.monotonic)

    def fresh(self, now: float) -> bool:
        return now - self.idle_since < IDLE_SECONDS and not self.stale()

    def stale(self) -> bool:
        return self.reader.at_eof() or self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.transport.abort()


class _Pool:
    """Idle kept-alive connections per destination, the most recently used first."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._idle: dict[Key, list[_Connection]] = {}
        self._closed = False

    def take(self, key: Key) -> _Connection | None:
        idle = self._idle.get(key, [])
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.fresh(now):
                conn.reused = True
                return conn
            conn.close()
        return None

    def give(self, key: Key, conn: _Connection) -> bool:
        """Keep ``conn`` for the next request to ``key``; False when there is no room."""
        if self._closed or conn.stale():
            return False
        idle = self._idle.setdefault(key, [])
        now = time.monotonic()
        while idle and not idle[0].fresh(now):  # the oldest expire first
            idle.pop(0).close()
        if len(idle) >= self._keep:
            return False
        conn.idle_since = now
        idle.append(conn)
        return True

    async def close(self) -> None:
        self._closed = True
        conns = [conn for idle in self._idle.values() for conn in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        closing = asyncio.gather(*(c.writer.wait_closed() for c in conns), return_exceptions=True)
        try:  # a TLS peer that never acknowledges the close must not hold up a shutdown
            await asyncio.wait_for(closing, CLOSE_SECONDS)
        except TimeoutError:
            for conn in conns:
                conn.abort()


class _Stale(Exception):
    """A reused connection failed before any byte of an answer: the peer had closed it."""


class HttpSender:
    """The Sender the dispatcher uses: HTTP/1.1, kept-alive connections, Nagle off."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        keep_alive: int = 16,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._pool = _Pool(keep_alive)
        self._tls = tls
        self.connections_opened = 0

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            target = _Target.parse(url)
            request = _request(target, body, headers)
            async with asyncio.timeout(self._timeout):
                return await self._exchange(target, request)
        except TimeoutError as error:
            if error.errno is not None:  # the system's own, e.g. connecting: not our deadline
                raise SendError(f"TimeoutError: {error}") from error
            raise SendError(f"TimeoutError: no answer within {self._timeout:g} s") from None
        except (OSError, EOFError, ValueError, ProtocolError, asyncio.LimitOverrunError) as error:
            raise SendError(f"{type(error).__name__}: {error}") from error

    async def aclose(self) -> None:
        await self._pool.close()

    async def _exchange(self, target: _Target, request: bytes) -> int:
        conn = self._pool.take(target.key)
        if conn is not None:
            try:
                return await self._use(conn, target.key, request)
            except _Stale:
                pass  # closed by the peer while idle: the request goes on a fresh connection
        return await self._use(await self._connect(target), target.key, request)

    async def _use(self, conn: _Connection, key: Key, request: bytes) -> int:
        answered = False
        try:
            status, reusable = await _round_trip(conn, request)
            answered = True
        finally:
            if not answered:
                conn.abort()  # after an error or a cancellation: never reused, half-read or not
        if not (reusable and self._pool.give(key, conn)):
            conn.close()
        return status

    async def _connect(self, target: _Target) -> _Connection:
        scheme, host, port = target.key
        if scheme == "https":
            tls = self._tls or _default_tls()
            opened = asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host, limit=HEAD_LIMIT
            )
        else:
            opened = asyncio.open_connection(host, port, limit=HEAD_LIMIT)
        reader, writer = await opened
        sock = writer.get_extra_info("socket")
        if sock is not None:  # no Nagle: a request must not wait for the previous one's ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections_opened += 1
        return _Connection(reader, writer)


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """One verifying context for the process: making one loads the CA store (milliseconds)."""
    return ssl.create_default_context()


def _request(target: _Target, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"host: {target.host_header}",
        f"user-agent: {USER_AGENT}",
        f"content-length: {len(body)}",
    ]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _round_trip(conn: _Connection, request: bytes) -> tuple[int, bool]:
    """Send ``request``; the answer's status and whether the connection may serve another."""
    try:
        conn.writer.write(request)
        await conn.writer.drain()
        first = await conn.reader.read(1)
    except ConnectionError as error:
        if conn.reused:
            raise _Stale from error
        raise
    if not first:
        if conn.reused:
            raise _Stale
        raise ProtocolError("the server closed the connection without answering")
    try:
        return await _read_answer(conn.reader, first)
    except asyncio.IncompleteReadError:
        raise ProtocolError("the server closed the connection mid-answer") from None


async def _read_answer(reader: asyncio.StreamReader, first: bytes) -> tuple[int, bool]:
    version, status, headers = _parse_head(first + await reader.readuntil(b"\r\n\r\n"))
    while 100 <= status < 200:  # interim answers (100 Continue, 103 Early Hints) come first
        version, status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    codings = [c.strip().lower() for c in headers.get("transfer-encoding", "").split(",")]
    if status in (204, 304):
        pass
    elif codings[-1] == "chunked":
        await _skip_chunked(reader)
    elif codings != [""]:
        await _skip_to_close(reader)  # an encoding other than chunked last: framed by the close
        return status, False
    elif "content-length" in headers:
        await _skip(reader, _content_length(headers["content-length"]))
    else:
        await _skip_to_close(reader)
        return status, False
    return status, _keep_alive(version, headers.get("connection", ""))


def _parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    code = parts[1] if len(parts) > 1 else ""
    if not parts[0].startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolError(f"not a header line: {line[:80]!r}")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return parts[0], int(code), headers


def _content_length(value: str) -> int:
    lengths = {v.strip() for v in value.split(",")}  # repeated headers were joined with ", "
    length = lengths.pop() if len(lengths) == 1 else ""
    if not length.isdigit():
        raise ProtocolError(f"bad content-length: {value[:40]!r}")
    return int(length)


def _keep_alive(version: str, connection: str) -> bool:
    tokens = {token.strip().lower() for token in connection.split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


async def _skip(reader: asyncio.StreamReader, size: int) -> None:
    while size > 0:
        data = await reader.read(min(size, READ_BYTES))
        if not data:
            raise ProtocolError("the server closed the connection mid-body")
        size -= len(data)


async def _skip_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        size_field = line.split(b";", 1)[0].strip()
        if not size_field or any(c not in b"0123456789abcdefABCDEF" for c in size_field):
            raise ProtocolError(f"bad chunk size line: {line[:40]!r}")
        size = int(size_field, 16)
        if size == 0:
            break
        await _skip(reader, size)
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("a chunk does not end with CRLF")
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailer fields


async def _skip_to_close(reader: asyncio.StreamReader) -> None:
    while await reader.read(READ_BYTES):
        pass
