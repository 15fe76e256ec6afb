"""API tokens: created by the CLI, stored hashed, checked on every request.

A token reads ``slk_<id>_<secret>``: the id finds the row, the secret is 32
random bytes (``secrets.token_urlsafe``). Only SHA-256 of the secret is stored.
A slow password hash (scrypt, PBKDF2) would add nothing here: it protects
guessable human passwords, while a 256-bit random secret cannot be guessed, and
it would cost milliseconds on every request.

Answers (valid or not) are cached in memory for ``cache_seconds``, keyed by a
digest of the whole token so the cache never holds a secret in clear. A
revocation therefore takes effect at once in the process that revoked, and
within ``cache_seconds`` in every other process sharing the database.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from domain.errors import FieldError, ValidationFailed


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    TICKETS_READ = "tickets:read"
    AUDIT_READ = "audit:read"
    POLICIES_WRITE = "policies:write"
    CONTRACTS_WRITE = "contracts:write"
    METRICS_READ = "metrics:read"
    ADMIN = "admin"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)
TOKEN_PREFIX = "slk_"  # noqa: S105 (a format marker, not a secret)
NAME_MAX_LENGTH = 200
_TOKEN_SHAPE = re.compile(r"slk_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{16,128})")
# Compared against when the id is unknown, so that case costs what a wrong secret costs.
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()

metadata = MetaData()

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("name", String(NAME_MAX_LENGTH), nullable=False),
    Column("scopes", Text, nullable=False),  # sorted, space-separated
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never its secret nor its hash."""

    token_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class CachedAnswer:
    """A remembered answer; ``scopes`` is None when the token was refused."""

    scopes: frozenset[str] | None
    expires: float
    token_id: str


def effective_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes a token grants: ``admin`` implies every scope."""
    granted = frozenset(scopes)
    return ALL_SCOPES if Scope.ADMIN in granted else granted


def validate_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Sorted distinct scopes, or ValidationFailed naming each unknown one."""
    given = list(scopes)
    known = ", ".join(sorted(ALL_SCOPES))
    errors = [
        FieldError(f"scopes[{i}]", f"unknown scope {s!r} (known: {known})")
        for i, s in enumerate(given)
        if s not in ALL_SCOPES
    ]
    if not given:
        errors.append(FieldError("scopes", "at least one scope is required"))
    if errors:
        raise ValidationFailed(errors)
    return tuple(sorted(set(given)))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    # SQLite hands DateTime columns back naive; they were written as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class TokenStore:
    def __init__(
        self,
        engine: Engine,
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        cache_max_entries: int = 4096,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache_max_entries = cache_max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, CachedAnswer] = {}
        # Bumped by every revoke: an answer read from the database before a
        # revocation must not be cached after it.
        self._generation = 0

    def create_schema(self) -> None:
        """Create ``api_tokens`` if missing; safe when several processes race to do it."""
        try:
            metadata.create_all(self._engine, tables=[api_tokens], checkfirst=True)
        except SQLAlchemyError:
            if not inspect(self._engine).has_table(api_tokens.name):
                raise

    # --- administration (the CLI) --------------------------------------------

    def create(self, scopes: Iterable[str], name: str = "") -> tuple[TokenInfo, str]:
        """A new token; the clear token is returned here and never again."""
        granted = validate_scopes(scopes)
        if len(name) > NAME_MAX_LENGTH:
            raise ValidationFailed.single("name", f"at most {NAME_MAX_LENGTH} characters")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        info = TokenInfo(token_id, name, granted, datetime.now(UTC), None)
        with self._engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    token_id=token_id,
                    name=name,
                    scopes=" ".join(granted),
                    secret_sha256=_sha256(secret),
                    created_at=info.created_at,
                )
            )
        return info, f"{TOKEN_PREFIX}{token_id}_{secret}"

    def revoke(self, token_id: str) -> bool:
        """Revoke a token; False when there is no such token.

        Revoking a revoked token keeps its first ``revoked_at`` and returns True.
        """
        with self._engine.begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            found = conn.execute(
                select(api_tokens.c.token_id).where(api_tokens.c.token_id == token_id)
            ).first()
        self._forget(token_id)
        return found is not None

    def list(self) -> builtins.list[TokenInfo]:
        """Every token, oldest first, without secrets."""
        query = select(
            api_tokens.c.token_id,
            api_tokens.c.name,
            api_tokens.c.scopes,
            api_tokens.c.created_at,
            api_tokens.c.revoked_at,
        ).order_by(api_tokens.c.created_at, api_tokens.c.token_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            TokenInfo(
                token_id=row.token_id,
                name=row.name,
                scopes=tuple(row.scopes.split()),
                created_at=_utc(row.created_at),
                revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
            )
            for row in rows
        ]

    # --- checking (every request) ---------------------------------------------

    def cached(self, token: str) -> CachedAnswer | None:
        """The remembered answer for ``token`` if still fresh; never touches the database."""
        entry = self._cache.get(_sha256(token))
        if entry is None or entry.expires <= self._clock():
            return None
        return entry

    def authenticate(self, token: str) -> frozenset[str] | None:
        """The scopes of a valid, unrevoked token (``admin`` expanded), else None."""
        match = _TOKEN_SHAPE.fullmatch(token)
        if match is None:
            return None  # malformed: nothing to look up, nothing worth caching
        hit = self.cached(token)
        if hit is not None:
            return hit.scopes
        generation = self._generation
        scopes = self._check(match["id"], match["secret"])
        expires = self._clock() + self._cache_seconds
        self._remember(_sha256(token), CachedAnswer(scopes, expires, match["id"]), generation)
        return scopes

    def _check(self, token_id: str, secret: str) -> frozenset[str] | None:
        query = select(
            api_tokens.c.secret_sha256, api_tokens.c.scopes, api_tokens.c.revoked_at
        ).where(api_tokens.c.token_id == token_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        expected = row.secret_sha256 if row is not None else _DUMMY_HASH
        # Constant time, so response timing says nothing about how much of a secret matched.
        matches = hmac.compare_digest(_sha256(secret).encode(), expected.encode())
        if row is None or not matches or row.revoked_at is not None:
            return None
        return effective_scopes(row.scopes.split())

    def _remember(self, key: str, entry: CachedAnswer, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._cache) >= self._cache_max_entries:
                self._evict()
            self._cache[key] = entry

    def _evict(self) -> None:
        # Bounded, so a flood of made-up tokens cannot grow memory without limit.
        now = self._clock()
        for key in [k for k, v in self._cache.items() if v.expires <= now]:
            del self._cache[key]
        while self._cache and len(self._cache) >= self._cache_max_entries:
            del self._cache[next(iter(self._cache))]

    def _forget(self, token_id: str) -> None:
        with self._lock:
            self._generation += 1
            for key in [k for k, v in self._cache.items() if v.token_id == token_id]:
                del self._cache[key]
