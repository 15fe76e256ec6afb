"""The projection child tells the server of each new position on a pipe (its news)."""

from __future__ import annotations

import os
import select
from datetime import timedelta
from pathlib import Path

from projections.tracking import ensure_schema
from service.projection_process import ProjectionProcess
from service.settings import Settings
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import T0, LogWriter
from tests.support.waiting import eventually


def _news_within(fd: int, seconds: float) -> bytes:
    readable, _, _ = select.select([fd], [], [], seconds)
    return os.read(fd, 4096) if readable else b""


def test_each_committed_position_is_news_on_the_pipe(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'news.db'}")
    config = DatabaseConfig.parse(settings.database_url)
    store, engine = EventStore(config), create_sql_engine(config)
    ensure_schema(engine)
    child = ProjectionProcess(settings)
    child.start()
    try:
        news = child.news()
        assert news is not None
        writer = LogWriter(store)
        writer.calendar("office")
        last = writer.policy("gold")
        assert eventually(lambda: child.stats.position == last, seconds=30)
        while _news_within(news, 0.2):  # what the start and the versions told
            pass
        last = writer.opened("N-1", T0 + timedelta(minutes=1), priority="P2")
        assert _news_within(news, 10) == b"n"  # one byte per new position
        assert child.stats.position == last  # told after the position is published
        assert _news_within(news, 0.3) == b""  # nothing new, nothing told
    finally:
        child.stop()
        store.close()
        engine.dispose()
    assert child.news() is None
