"""The dispatcher's HTTP client against real loopback servers: the test receiver and raw
asyncio servers whose answers are written byte by byte here."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest

from service.webhooks.sender import HttpSender, SendError
from tests.support.receiver import Receiver
from tests.support.server import free_port

BODY = b'{"type":"breached"}'
HEADERS = {"webhook-id": "msg_1", "content-type": "application/json"}
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"

# Called with the request's number on its connection (1, 2, ...) and the writer; True keeps
# the connection open for another request.
Handler = Callable[[int, asyncio.StreamWriter], Awaitable[bool]]


class RawServer:
    """A loopback HTTP/1.1 server answering each request as its handler writes."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed_by_client = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook?a=1"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        number = 0
        try:
            while (request := await _read_request(reader)) is not None:
                self.requests.append(request)
                number += 1
                if not await self._handler(number, writer):
                    return
                await writer.drain()
            self.closed_by_client += 1
        except ConnectionError:
            self.closed_by_client += 1
        finally:
            self._writers.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").lower().split("\r\n")
    length = next(int(line.split(":")[1]) for line in lines if line.startswith("content-length:"))
    return head + await reader.readexactly(length)


def answering(*answers: bytes, keep: bool = True) -> Handler:
    """Write ``answers`` (one after the other) to every request."""

    async def handle(_number: int, writer: asyncio.StreamWriter) -> bool:
        for answer in answers:
            writer.write(answer)
        return keep

    return handle


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    client = HttpSender(timeout_seconds=2.0, keep_alive=4)
    yield client
    await client.aclose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver(free_port())
    hook.start()
    yield hook
    hook.close()


async def test_posts_to_the_receiver_on_one_kept_alive_connection(
    sender: HttpSender, receiver: Receiver
) -> None:
    for n in range(5):
        assert (
            await sender.post(receiver.url, BODY, dict(HEADERS, **{"webhook-id": f"m{n}"})) == 204
        )
    assert sender.connections_opened == 1
    assert receiver.ids() == [f"m{n}" for n in range(5)]
    first = receiver.received[0]
    assert first.body == BODY
    assert first.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert first.headers["content-length"] == str(len(BODY))
    assert first.headers["content-type"] == "application/json"


async def test_concurrent_posts_share_a_pool_of_connections(
    sender: HttpSender, receiver: Receiver
) -> None:
    answers = await asyncio.gather(*(sender.post(receiver.url, BODY, HEADERS) for _ in range(40)))
    assert answers == [204] * 40
    opened = sender.connections_opened
    await asyncio.gather(*(sender.post(receiver.url, BODY, HEADERS) for _ in range(4)))
    assert sender.connections_opened == opened  # four kept alive, taken again
    assert len(receiver.received) == 44


async def test_a_500_is_an_answer_and_the_connection_serves_again(sender: HttpSender) -> None:
    error = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\n\r\noops!"
    async with RawServer(answering(error)) as server:
        assert await sender.post(server.url, BODY, HEADERS) == 500
        assert await sender.post(server.url, BODY, HEADERS) == 500
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /hook?a=1 HTTP/1.1\r\n")
    assert server.requests[0].endswith(b"\r\n\r\n" + BODY)


async def test_a_204_without_length_has_no_body(sender: HttpSender) -> None:
    async with RawServer(answering(NO_CONTENT)) as server:
        for _ in range(3):
            assert await sender.post(server.url, BODY, HEADERS) == 204
    assert server.connections == 1


async def test_a_chunked_answer_is_read_to_its_end(sender: HttpSender) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"5;note=x\r\nhello\r\n1A\r\n" + b"z" * 26 + b"\r\n0\r\nx-trailer: 1\r\n\r\n"
    async with RawServer(answering(head, chunks)) as server:
        assert await sender.post(server.url, BODY, HEADERS) == 200
        assert await sender.post(server.url, BODY, HEADERS) == 200
    assert server.connections == 1  # the body was framed right: the next answer parsed


async def test_interim_answers_are_skipped(sender: HttpSender) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
    async with RawServer(answering(interim, b"HTTP/1.1 202 OK\r\ncontent-length: 0\r\n\r\n")) as s:
        assert await sender.post(s.url, BODY, HEADERS) == 202
        assert await sender.post(s.url, BODY, HEADERS) == 202
    assert s.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\n\r\nread to the close",
        b"HTTP/1.1 200 OK\r\n\r\nread to the close",
    ],
)
async def test_a_connection_the_answer_closes_is_not_reused(
    sender: HttpSender, answer: bytes
) -> None:
    async with RawServer(answering(answer, keep=False)) as server:
        assert await sender.post(server.url, BODY, HEADERS) == 200
        assert await sender.post(server.url, BODY, HEADERS) == 200
    assert server.connections == 2
    assert len(server.requests) == 2


async def test_http_1_0_keep_alive_is_honoured(sender: HttpSender) -> None:
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 0\r\n\r\n"
    async with RawServer(answering(answer)) as server:
        assert await sender.post(server.url, BODY, HEADERS) == 200
        assert await sender.post(server.url, BODY, HEADERS) == 200
    assert server.connections == 1


async def test_a_connection_closed_while_idle_is_replaced(sender: HttpSender) -> None:
    async with RawServer(answering(NO_CONTENT, keep=False)) as server:  # closes once answered
        assert await sender.post(server.url, BODY, HEADERS) == 204
        await asyncio.sleep(0.1)
        assert await sender.post(server.url, BODY, HEADERS) == 204
    assert server.connections == 2
    assert len(server.requests) == 2


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_a_kept_alive_connection_dropped_on_the_next_request_is_retried_once(
    sender: HttpSender, how: str
) -> None:
    async def first_only(number: int, writer: asyncio.StreamWriter) -> bool:
        if number == 1:
            writer.write(NO_CONTENT)
            return True
        if how == "reset":
            writer.transport.abort()
        return False  # the race a keep-alive timeout makes: the request meets a closing peer

    async with RawServer(first_only) as server:
        assert await sender.post(server.url, BODY, HEADERS) == 204
        assert await sender.post(server.url, BODY, HEADERS) == 204
    assert server.connections == 2
    assert len(server.requests) == 3  # the second request was sent again on the fresh one


async def test_a_fresh_connection_closed_without_an_answer_fails_without_a_retry(
    sender: HttpSender,
) -> None:
    async with RawServer(answering(keep=False)) as server:
        with pytest.raises(SendError, match=r"^ProtocolError: .*without answering"):
            await sender.post(server.url, BODY, HEADERS)
    assert server.connections == 1


async def test_a_server_that_never_answers_times_out() -> None:
    sender = HttpSender(timeout_seconds=0.3)
    async with RawServer(answering()) as server:
        started = time.monotonic()
        with pytest.raises(SendError, match=r"^TimeoutError: no answer within 0\.3 s"):
            await sender.post(server.url, BODY, HEADERS)
        assert time.monotonic() - started < 2
        for _ in range(100):  # the connection is dropped, not kept for another request
            if server.closed_by_client:
                break
            await asyncio.sleep(0.01)
        assert server.closed_by_client == 1
    await sender.aclose()


async def test_a_redirect_is_not_followed(sender: HttpSender) -> None:
    moved = b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n"
    async with RawServer(answering(moved)) as server:
        assert await sender.post(server.url, BODY, HEADERS) == 302
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "^ProtocolError: not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", "^ProtocolError: .*mid-body"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "bad content-length"),
    ],
)
async def test_a_broken_answer_is_an_error(sender: HttpSender, answer: bytes, error: str) -> None:
    async with RawServer(answering(answer, keep=False)) as server:
        with pytest.raises(SendError, match=error):
            await sender.post(server.url, BODY, HEADERS)


async def test_a_refused_connection_is_an_error(sender: HttpSender) -> None:
    with pytest.raises(SendError, match=r"^ConnectionRefusedError: "):
        await sender.post(f"http://127.0.0.1:{free_port()}/hook", BODY, HEADERS)


async def test_a_header_with_a_line_break_is_refused(sender: HttpSender) -> None:
    with pytest.raises(SendError, match=r"^ValueError: header 'x' holds a line break"):
        await sender.post("http://127.0.0.1:9/hook", BODY, {"x": "a\r\nb: c"})


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ),
            *("-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key)),
            *("-out", str(cert), "-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_is_verified_against_the_host_name(certificate: tuple[Path, Path]) -> None:
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(*certificate)
    trusting = HttpSender(tls=ssl.create_default_context(cafile=str(certificate[0])))
    default = HttpSender()
    server = await asyncio.start_server(_answer_once, "127.0.0.1", 0, ssl=served)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await trusting.post(f"https://localhost:{port}/h", BODY, HEADERS) == 204
        with pytest.raises(SendError, match=r"^SSLCertVerificationError: "):
            await trusting.post(f"https://127.0.0.1:{port}/h", BODY, HEADERS)  # not its name
        with pytest.raises(SendError, match=r"^SSLCertVerificationError: "):
            await default.post(f"https://localhost:{port}/h", BODY, HEADERS)  # self-signed
    finally:
        await trusting.aclose()
        await default.aclose()
        server.close()
        await server.wait_closed()


async def _answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        if await _read_request(reader) is not None:
            writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()
