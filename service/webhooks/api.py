"""What the webhook routes do, off the event loop (plain SQLAlchemy calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from domain.business_time import from_us
from domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from domain.webhooks.signing import BadSecret, generate_secret, secret_key
from domain.webhooks.targets import target_problem
from projections.tracking import write_transaction
from projections.webhooks import deliveries as outbox
from projections.webhooks import keeping
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import wall_us
from service.webhooks.schemas import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut


class WebhookApi:
    def __init__(self, engine: Engine, own_host: str, own_port: int) -> None:
        self._engine = engine
        self._host = own_host
        self._port = own_port

    def create(self, body: WebhookIn) -> WebhookCreatedOut:
        self._check(body)
        filters = body.filters.model_dump(exclude_none=True)
        sub = subs.Subscription(
            id=subs.new_id(),
            url=body.url,
            kinds=frozenset(kind.value for kind in body.kinds),
            filters={name: frozenset(values) for name, values in filters.items()},
            created_at_us=wall_us(),
            secret=body.secret or generate_secret(),
        )
        with self._engine.connect() as conn, write_transaction(conn):
            keeping.subscribe(conn, sub, wall_us())
        return WebhookCreatedOut(**_out(sub).model_dump(), secret=sub.secret)

    def _check(self, body: WebhookIn) -> None:
        errors = []
        if (problem := target_problem(body.url, self._host, self._port)) is not None:
            errors.append(FieldError("url", problem))
        if body.secret is not None:
            try:
                secret_key(body.secret)
            except BadSecret as error:
                errors.append(FieldError("secret", str(error)))
        if errors:
            raise ValidationFailed(errors)

    def listing(self) -> list[WebhookOut]:
        with self._engine.connect() as conn:
            return [_out(sub) for sub in subs.load_all(conn)]

    def get(self, webhook_id: str) -> WebhookOut:
        with self._engine.connect() as conn:
            return _out(self._found(conn, webhook_id))

    def delete(self, webhook_id: str) -> None:
        with self._engine.connect() as conn, write_transaction(conn):
            if not keeping.unsubscribe(conn, webhook_id):
                raise NotFound(f"no webhook {webhook_id!r}")

    def deliveries(self, webhook_id: str, limit: int, status: str | None) -> list[DeliveryOut]:
        with self._engine.connect() as conn:
            self._found(conn, webhook_id)
            return [_delivery(row) for row in outbox.listing(conn, webhook_id, limit, status)]

    def redeliver(self, webhook_id: str, delivery_id: str) -> DeliveryOut:
        """Queue a delivery again now (409 while it is being sent)."""
        with self._engine.connect() as conn, write_transaction(conn):
            self._found(conn, webhook_id)
            if outbox.one(conn, webhook_id, delivery_id) is None:
                raise NotFound(f"no delivery {delivery_id!r} of webhook {webhook_id!r}")
            if not outbox.redeliver(conn, webhook_id, delivery_id, wall_us()):
                raise Conflict(f"delivery {delivery_id!r} is being sent right now")
            row = outbox.one(conn, webhook_id, delivery_id)
        assert row is not None
        return _delivery(row)

    @staticmethod
    def _found(conn: Connection, webhook_id: str) -> subs.Subscription:
        sub = subs.load_one(conn, webhook_id)
        if sub is None:
            raise NotFound(f"no webhook {webhook_id!r}")
        return sub


def _out(sub: subs.Subscription) -> WebhookOut:
    return WebhookOut(
        id=sub.id,
        url=sub.url,
        kinds=sorted(sub.kinds),
        filters=sub.filters_out(),
        created_at=from_us(sub.created_at_us),
    )


def _at(value: object) -> Any:
    return None if value is None else from_us(int(str(value)))


def _delivery(row: Mapping[str, Any]) -> DeliveryOut:
    return DeliveryOut(
        id=row["id"],
        kind=row["kind"],
        # A contract notice has no metric; its ticket_id column holds the contract's id.
        ticket_id=row["ticket_id"] if row["metric"] else None,
        metric=row["metric"] or None,
        contract_id=None if row["metric"] else row["ticket_id"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=from_us(row["created_at_us"]),
        next_attempt_at=_at(row["next_attempt_us"]) if row["status"] == "pending" else None,
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        delivered_at=_at(row["delivered_at_us"]),
        payload=orjson.loads(row["payload"]),
    )
