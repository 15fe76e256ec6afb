"""Domain errors. The HTTP layer maps each class to one status in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One bad field: a dotted path such as ``week.mon[0]`` and why it is bad."""

    field: str
    message: str


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """Input is malformed or inconsistent (HTTP 422)."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(detail or summary or "invalid input")

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])


class NotFound(DomainError):
    """The thing asked about does not exist (HTTP 404)."""


class Conflict(DomainError):
    """The request contradicts what is already recorded (HTTP 409)."""


def prefixed(prefix: str, errors: Sequence[FieldError]) -> list[FieldError]:
    """Re-root nested field errors under ``prefix``."""
    return [FieldError(f"{prefix}.{e.field}" if e.field else prefix, e.message) for e in errors]
