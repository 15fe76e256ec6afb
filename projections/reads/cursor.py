"""Opaque keyset cursors: the last row's sort key, the evaluation instant and the filters.

The evaluation instant travels with the cursor, so every page of one listing
is decided at the same instant: a clock that breaches while a client pages
through neither appears twice nor shifts the pages. A cursor is bound to the
listing and filters it came from; reusing it elsewhere is a 422.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationFailed


@dataclass(frozen=True)
class Cursor:
    after: tuple[Any, ...]
    now_us: int


def _filters_digest(listing: str, filters: Mapping[str, Any]) -> str:
    return _digest(listing, tuple(sorted(filters.items())))


@functools.lru_cache(maxsize=4096)
def _digest(listing: str, filters: tuple[tuple[str, Any], ...]) -> str:
    """Kept per listing and filters: a dashboard pages the same few over and over, and
    this was a third of making a one-ticket page (the event loop's, on the read lane)."""
    canonical = json.dumps(
        [listing, dict(filters)], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(listing: str, filters: Mapping[str, Any], after: tuple[Any, ...], now_us: int) -> str:
    body = {"a": list(after), "n": now_us, "f": _filters_digest(listing, filters)}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(listing: str, filters: Mapping[str, Any], token: str | None) -> Cursor | None:
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, now_us, digest = tuple(body["a"]), int(body["n"]), str(body["f"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValidationFailed.single("cursor", "is not a cursor this service issued") from None
    if digest != _filters_digest(listing, filters):
        raise ValidationFailed.single("cursor", "belongs to another listing or other filters")
    return Cursor(after, now_us)
