"""``/v1/webhooks``: subscriptions and their deliveries (scope ``admin``).

Handlers are plain functions (FastAPI runs them in its thread pool): each is one
short database transaction through ``WebhookApi``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.problems import ProblemError, documented
from service.webhooks.api import WebhookApi
from service.webhooks.schemas import (
    DeliveryListOut,
    DeliveryOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookListOut,
    WebhookOut,
)

router = APIRouter(tags=["webhooks"], route_class=AuthFirstRoute)
ADMIN = [Depends(require_scope(Scope.ADMIN))]
WebhookId = Annotated[str, Path(min_length=1, max_length=64)]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64)]
Status = Literal["pending", "sending", "delivered", "dead"]


def get_api(request: Request) -> WebhookApi:
    api = getattr(request.app.state, "webhooks", None)
    if api is None:
        raise ProblemError(503, "Service unavailable", "the service is starting or stopping")
    assert isinstance(api, WebhookApi)
    return api


Api = Annotated[WebhookApi, Depends(get_api)]


@router.post(
    "/v1/webhooks",
    operation_id="create_webhook",
    status_code=201,
    dependencies=ADMIN,
    response_model=WebhookCreatedOut,
    responses={**AUTH_RESPONSES, **documented(422)},
)
def create_webhook(body: WebhookIn, api: Api) -> WebhookCreatedOut:
    return api.create(body)


@router.get(
    "/v1/webhooks",
    operation_id="list_webhooks",
    dependencies=ADMIN,
    response_model=WebhookListOut,
    responses=AUTH_RESPONSES,
)
def list_webhooks(api: Api) -> WebhookListOut:
    return WebhookListOut(items=api.listing())


@router.get(
    "/v1/webhooks/{webhook_id}",
    operation_id="get_webhook",
    dependencies=ADMIN,
    response_model=WebhookOut,
    responses={**AUTH_RESPONSES, **documented(404)},
)
def get_webhook(webhook_id: WebhookId, api: Api) -> WebhookOut:
    return api.get(webhook_id)


@router.delete(
    "/v1/webhooks/{webhook_id}",
    operation_id="delete_webhook",
    status_code=204,
    dependencies=ADMIN,
    response_class=Response,
    responses={**AUTH_RESPONSES, **documented(404)},
)
def delete_webhook(webhook_id: WebhookId, api: Api) -> Response:
    api.delete(webhook_id)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    dependencies=ADMIN,
    response_model=DeliveryListOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def list_deliveries(
    webhook_id: WebhookId,
    api: Api,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryListOut:
    return DeliveryListOut(items=api.deliveries(webhook_id, limit, status))


@router.post(
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    operation_id="redeliver_webhook_delivery",
    status_code=202,
    dependencies=ADMIN,
    response_model=DeliveryOut,
    responses={**AUTH_RESPONSES, **documented(404, 409)},
)
def redeliver(webhook_id: WebhookId, delivery_id: DeliveryId, api: Api) -> DeliveryOut:
    return api.redeliver(webhook_id, delivery_id)
