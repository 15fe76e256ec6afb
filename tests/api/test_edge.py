"""Every answer's headers, authentication before the body, and slow clients timed out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.cli.main import openapi_settings
from service.settings import Settings
from tests.api.fixtures import define_plan
from tests.support.server import (
    ADMIN_TOKEN,
    admin_client,
    free_port,
    running_server,
    serve_argv,
    wait_until_healthy,
)

BODY_TIMEOUT = 1.0
HEADER_TIMEOUT = 1.0
OPENED = {
    "event_id": "e1",
    "type": "opened",
    "occurred_at": "2026-03-02T09:15:00Z",
    "data": {"plan": "standard", "customer": "acme", "priority": "high"},
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path_factory.mktemp('edge') / 'edge.db'}",
        admin_token=ADMIN_TOKEN,
        projections_enabled=False,
        body_timeout_seconds=BODY_TIMEOUT,
    )
    with running_server(settings) as url, admin_client(url) as http:
        define_plan(http, "dublin", "standard")
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with admin_client(base_url) as http:
        yield http


def _assert_edge_headers(answer: httpx.Response) -> None:
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-request-id"]


def _answers(client: httpx.Client) -> dict[str, httpx.Response]:
    lane = {"content-type": "application/json"}
    return {
        "health": client.get("/healthz"),
        "fast lane 201": client.post("/v1/tickets/edge-1/events", json=OPENED, headers=lane),
        "declared route 200": client.post(
            "/v1/tickets/edge-1/events",
            content=json.dumps(OPENED),
            headers={"content-type": "application/json; charset=utf-8"},
        ),
        "401": client.get("/v1/tickets", headers={"Authorization": "Bearer nope"}),
        "404": client.get("/no/such/path"),
        "413": client.post("/v1/events/batch", content=b"x" * (3 * 1024 * 1024)),
        "422": client.post("/v1/tickets/edge-2/events", json={"type": "opened"}),
        "metrics": client.get("/metrics"),
    }


def test_every_answer_says_nosniff_no_store_and_its_request_id(client: httpx.Client) -> None:
    answers = _answers(client)
    assert [a.status_code for a in answers.values()] == [200, 201, 200, 401, 404, 413, 422, 200]
    for answer in answers.values():
        _assert_edge_headers(answer)


@pytest.mark.parametrize("lane", ["application/json", "application/json; charset=utf-8"])
def test_a_request_id_is_echoed_or_made(client: httpx.Client, lane: str) -> None:
    body = json.dumps({**OPENED, "event_id": "e-rid"})
    given = client.post(
        "/v1/tickets/edge-rid/events",
        content=body,
        headers={"x-request-id": "client-chosen.id:42", "content-type": lane},
    )
    assert given.headers["x-request-id"] == "client-chosen.id:42"
    made = client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] != client.get("/healthz").headers["x-request-id"]
    # A value that could forge log lines is replaced, not echoed.
    odd = client.get("/healthz", headers={"x-request-id": "a b\tc"})
    assert len(odd.headers["x-request-id"]) == 32


def _routes_with_bodies() -> list[tuple[str, str]]:
    document: dict[str, Any] = create_app(openapi_settings()).openapi()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                concrete = path.replace("{", "x").replace("}", "")
                found.append((method.upper(), concrete))
    return found


@pytest.mark.parametrize(("method", "path"), _routes_with_bodies())
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_authentication_comes_before_the_body_is_judged(
    base_url: str, method: str, path: str, content_type: str
) -> None:
    headers = {"content-type": content_type}
    answer = httpx.request(method, base_url + path, content=b"{not json", headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    _assert_edge_headers(answer)


def test_a_wrong_token_is_refused_before_the_body_is_judged(base_url: str) -> None:
    headers = {"content-type": "application/json", "authorization": "Bearer slk_nope"}
    answer = httpx.post(base_url + "/v1/events/batch", content=b"{not json", headers=headers)
    assert answer.status_code == 401


def _trickle(base_url: str, content_type: str) -> tuple[bytes, float]:
    """Send headers, then the body one byte per 0.5 s; the bytes received and when they came."""
    host, port = base_url.removeprefix("http://").split(":")
    body = json.dumps({**OPENED, "event_id": "e-slow"}).encode()
    head = (
        f"POST /v1/tickets/slow-1/events HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    received = b""
    with socket.create_connection((host, int(port)), timeout=0.5) as sock:
        sock.sendall(head)
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
                chunk = sock.recv(65536)
            except TimeoutError:
                continue  # nothing yet: keep trickling
            except OSError:
                break  # the server closed the connection
            if not chunk:
                break
            received += chunk
        return received, time.monotonic() - started


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8"], ids=["lane", "route"]
)
def test_a_trickled_body_gets_408_and_the_connection_is_closed(
    base_url: str, content_type: str
) -> None:
    received, seconds = _trickle(base_url, content_type)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b"application/problem+json" in received
    assert b"x-request-id" in received.lower()
    # The whole body would take ~50 s at this pace; the server cut it near its deadline.
    assert seconds < 10 * BODY_TIMEOUT


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`slaclock serve` itself, since the header deadline is in how it runs uvicorn."""
    directory = tmp_path_factory.mktemp("served")
    port = free_port()
    environment = {
        **os.environ,
        "SLA_DATABASE_URL": f"sqlite:///{directory / 'served.db'}",
        "SLA_ADMIN_TOKEN": ADMIN_TOKEN,
        "SLA_PROJECTIONS_ENABLED": "false",
        "SLA_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "SLA_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(serve_argv(port), cwd=directory, env=environment)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _trickle_headers(base_url: str) -> tuple[bytes, float]:
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    received = b""
    with socket.create_connection((host, int(port)), timeout=0.5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for byte in b"X-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    return received, time.monotonic() - started


def test_trickled_headers_get_408_and_the_connection_is_closed(served: str) -> None:
    received, seconds = _trickle_headers(served)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert seconds < 10 * HEADER_TIMEOUT


def test_prompt_requests_on_one_connection_outlive_the_header_deadline(served: str) -> None:
    with httpx.Client(base_url=served) as http:
        for _ in range(3):
            assert http.get("/healthz").status_code == 200
            time.sleep(HEADER_TIMEOUT / 2)
        answer = http.get("/healthz")
    assert answer.status_code == 200
    _assert_edge_headers(answer)
