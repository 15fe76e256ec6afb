"""Alembic revisions, oldest first: ``v0001_baseline`` is the schema slaclock 0.1.0 made."""
