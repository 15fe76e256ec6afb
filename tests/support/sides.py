"""Two servers compared request for request: one with a lane in front of FastAPI, one without.

Each side has a writer token (``events:write``) and a reader token (``tickets:read``)
made in its own database, so a test can ask both sides the same thing with the same
kind of credential.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.tokens import TokenStore


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
