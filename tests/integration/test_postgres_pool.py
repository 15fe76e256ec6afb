"""The read-model engine keeps its PostgreSQL connections instead of reopening them."""

from __future__ import annotations

import threading

from sqlalchemy import event, text

from service.storage.database import POSTGRES_POOL_SIZE, DatabaseConfig, create_sql_engine
from tests.conftest import temporary_database


def test_concurrent_reads_reuse_the_connections_they_opened(postgres_url: str) -> None:
    with temporary_database(postgres_url) as url:
        engine = create_sql_engine(DatabaseConfig.parse(url))
        opened: list[object] = []
        event.listen(engine, "connect", lambda *_: opened.append(object()))
        together = threading.Barrier(POSTGRES_POOL_SIZE, timeout=30)

        def read() -> None:
            with engine.connect() as conn:
                together.wait()  # every thread holds a connection at once
                conn.execute(text("SELECT 1"))

        try:
            for _ in range(3):
                threads = [threading.Thread(target=read) for _ in range(POSTGRES_POOL_SIZE)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                assert not together.broken
            # Opened once, by the first burst; the next two reused them.
            assert len(opened) == POSTGRES_POOL_SIZE
        finally:
            engine.dispose()
