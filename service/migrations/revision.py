"""For developers: write the next revision from what the models changed.

``python -m service.migrations.revision "add tickets.region"`` upgrades a scratch
SQLite database to head, lets Alembic's autogenerate compare it with the models,
and writes ``service/migrations/versions/v<NNNN>_<slug>.py``. Read it before
committing: autogenerate names the first generation's tables (``slaproj_g1_*``),
and a read-model change must be applied to every generation the database holds
(``projections.schema.existing_generations``), since a rebuild may have made others.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.script import Script

from service.migrations.schema import alembic_config, head_revision, scripts, upgrade
from service.storage.database import DatabaseConfig, create_sql_engine


def next_revision_id(message: str) -> str:
    number = len(list(scripts().walk_revisions())) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    return f"{number:04d}_{slug}"


def write_revision(message: str) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_sql_engine(DatabaseConfig.parse(f"sqlite:///{scratch}/head.db"))
        try:
            upgrade(engine)
            with engine.connect() as conn:
                config = alembic_config(conn)
                config.set_main_option("file_template", "v%%(rev)s")
                script = command.revision(
                    config,
                    message=message,
                    autogenerate=True,
                    rev_id=next_revision_id(message),
                    head=head_revision(),
                )
        finally:
            engine.dispose()
    assert isinstance(script, Script), "one head, so one new revision"
    return Path(script.path)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if not words:
        print('usage: python -m service.migrations.revision "what changes"', file=sys.stderr)
        return 2
    print(write_revision(" ".join(words)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
