"""Two servers compared request for request: one with a lane in front of FastAPI, one without.

Each side has a writer token (``events:write``) and a reader token (``tickets:read``)
made in its own database, so a test can ask both sides the same thing with the same
kind of credential.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.tokens import TokenStore
from tests.support.server import admin_client, serving

Layer = TypeVar("Layer")


@dataclass
class Side:
    app: FastAPI
    base_url: str
    writer_token: str
    reader_token: str


def writer_and_reader_tokens(database_url: str) -> tuple[str, str]:
    """An ``events:write`` token and a ``tickets:read`` token, made in this database."""
    engine = create_sql_engine(DatabaseConfig.parse(database_url))
    try:
        store = TokenStore(engine)
        store.create_schema()
        _, writer = store.create(["events:write"], name="writer")
        _, reader = store.create(["tickets:read"], name="reader")
    finally:
        engine.dispose()
    return writer, reader


def start_side(
    stack: ExitStack, settings: Settings, set_up: Callable[[httpx.Client], None]
) -> Side:
    """A server for ``settings``, serving until ``stack`` closes, once ``set_up`` has run
    with an admin client; with its writer and reader tokens."""
    app = create_app(settings)
    base_url = stack.enter_context(serving(app))
    with admin_client(base_url) as http:
        set_up(http)
    return Side(app, base_url, *writer_and_reader_tokens(settings.database_url))


def layer_of(app: FastAPI, kind: type[Layer]) -> Layer:
    """The middleware of type ``kind`` in ``app``'s stack (AttributeError past the last
    layer: the app has none)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, kind):
        layer = layer.app
    return layer


def comparable(response: httpx.Response, body: Any) -> dict[str, Any]:
    """What both sides' answers must agree on: status, the headers clients act on, and
    ``body`` (the response's, with the server's own clock already masked)."""
    return {
        "status": response.status_code,
        "content-type": response.headers.get("content-type"),
        "www-authenticate": response.headers.get("www-authenticate"),
        "retry-after": response.headers.get("retry-after"),
        "body": body,
    }
