"""Bearer tokens and scopes over HTTP.

The first part wires service.http.auth into a two-route app, so the rules are tested
whatever the real routes are. The second part checks the real app: every
endpoint except /healthz and /readyz wants a token (api.md, Authentication).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from service.http import problems
from service.http.auth import AUTH_RESPONSES, Granted, Scope, require_scope
from service.settings import Settings
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.tokens import ALL_SCOPES, TokenStore, api_tokens

ADMIN = "env-admin-token-0123456789abcdefghijklmnop"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


# --- service.http.auth on a small app ------------------------------------------------------


def small_app(settings: Settings, tokens: TokenStore | None) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    problems.add_problem_schema(app)
    app.state.settings = settings
    if tokens is not None:
        app.state.tokens = tokens

    @app.get("/read", responses=AUTH_RESPONSES)
    async def read(
        granted: Annotated[Granted, Depends(require_scope(Scope.TICKETS_READ))],
    ) -> dict[str, list[str]]:
        return {"granted": sorted(granted)}

    @app.post(
        "/write",
        responses=AUTH_RESPONSES,
        dependencies=[Depends(require_scope(Scope.EVENTS_WRITE))],
    )
    async def write() -> dict[str, bool]:
        return {"written": True}

    return app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'auth.db'}", admin_token=ADMIN)


@pytest.fixture
def store(settings: Settings) -> Iterator[TokenStore]:
    engine = create_sql_engine(DatabaseConfig.parse(settings.database_url))
    store = TokenStore(engine, cache_seconds=60.0)
    store.create_schema()
    yield store
    engine.dispose()


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(settings: Settings, store: TokenStore) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(small_app(settings, store)) as client:
        yield client


async def test_no_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/read")
    assert_unauthorized(response)
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["title"] == "Unauthorized"


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer ", "Token abc", "slk_x"]
)
async def test_malformed_authorization_is_401(client: httpx.AsyncClient, header: str) -> None:
    assert_unauthorized(await client.get("/read", headers={"Authorization": header}))


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/read", headers=bearer("slk_0123456789abcdef_" + "A" * 43))
    assert_unauthorized(response)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_non_ascii_token_is_401_not_an_error(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/read", headers={b"Authorization": "Bearer caf\xe9".encode("latin-1")}
    )
    assert_unauthorized(response)


async def test_token_without_the_scope_is_403(client: httpx.AsyncClient, store: TokenStore) -> None:
    _, token = store.create(["events:write"])
    response = await client.get("/read", headers=bearer(token))
    body = assert_problem(response, 403)
    assert body["title"] == "Forbidden"
    assert "tickets:read" in body["detail"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert (await client.post("/write", headers=bearer(token))).json() == {"written": True}


async def test_token_with_the_scope_passes_and_sees_its_scopes(
    client: httpx.AsyncClient, store: TokenStore
) -> None:
    _, token = store.create(["tickets:read", "audit:read"])
    response = await client.get("/read", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"granted": ["audit:read", "tickets:read"]}
    assert_problem(await client.post("/write", headers=bearer(token)), 403)


async def test_the_scheme_name_is_case_insensitive(
    client: httpx.AsyncClient, store: TokenStore
) -> None:
    _, token = store.create(["tickets:read"])
    assert (
        await client.get("/read", headers={"Authorization": f"bearer {token}"})
    ).status_code == 200


async def test_admin_scope_passes_everywhere(client: httpx.AsyncClient, store: TokenStore) -> None:
    _, token = store.create(["admin"])
    assert (await client.get("/read", headers=bearer(token))).json() == {
        "granted": sorted(ALL_SCOPES)
    }
    assert (await client.post("/write", headers=bearer(token))).status_code == 200


async def test_the_environment_admin_token_has_every_scope(client: httpx.AsyncClient) -> None:
    assert (await client.get("/read", headers=bearer(ADMIN))).json() == {
        "granted": sorted(ALL_SCOPES)
    }
    assert (await client.post("/write", headers=bearer(ADMIN))).status_code == 200


@pytest.mark.parametrize("near_miss", [ADMIN[:-1], ADMIN + "x", ADMIN.upper(), ADMIN[:-1] + "Q"])
async def test_near_misses_of_the_admin_token_are_401(
    client: httpx.AsyncClient, near_miss: str
) -> None:
    assert_unauthorized(await client.get("/read", headers=bearer(near_miss)))


async def test_without_an_admin_token_configured_none_is_accepted(
    settings: Settings, store: TokenStore
) -> None:
    unset = settings.model_copy(update={"admin_token": None})
    async with asgi_client(small_app(unset, store)) as client:
        assert_unauthorized(await client.get("/read", headers=bearer(ADMIN)))
        assert_unauthorized(await client.get("/read", headers=bearer("None")))


async def test_a_revoked_token_is_refused_at_once(
    client: httpx.AsyncClient, store: TokenStore
) -> None:
    info, token = store.create(["tickets:read"])
    assert (await client.get("/read", headers=bearer(token))).status_code == 200  # cached now
    assert store.revoke(info.token_id)
    assert_unauthorized(await client.get("/read", headers=bearer(token)))


async def test_an_unreachable_token_store_is_503_but_cached_tokens_still_pass(
    client: httpx.AsyncClient, store: TokenStore, settings: Settings
) -> None:
    _, known = store.create(["tickets:read"])
    _, fresh = store.create(["tickets:read"])
    assert (await client.get("/read", headers=bearer(known))).status_code == 200
    engine = create_sql_engine(DatabaseConfig.parse(settings.database_url))
    api_tokens.drop(engine)
    engine.dispose()
    assert (await client.get("/read", headers=bearer(known))).status_code == 200
    assert assert_problem(await client.get("/read", headers=bearer(fresh)), 503)["title"]
    assert (await client.get("/read", headers=bearer(ADMIN))).status_code == 200


async def test_a_missing_token_store_is_503(settings: Settings) -> None:
    async with asgi_client(small_app(settings, None)) as client:
        assert_problem(
            await client.get("/read", headers=bearer("slk_0123456789abcdef_" + "A" * 43)), 503
        )


async def test_openapi_documents_the_scheme_and_the_answers(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    for path, method in (("/read", "get"), ("/write", "post")):
        operation = document["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": []}]
        for status in ("401", "403"):
            content = operation["responses"][status]["content"]
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
    assert "Problem" in document["components"]["schemas"]


# --- the real app, served by uvicorn ----------------------------------------------------

OPEN_PATHS = {"/healthz", "/readyz"}


@pytest.fixture(scope="module")
def auth_server(module_database_url: str) -> Iterator[str]:
    from tests.support.server import running_server

    # No token cache, so a revocation made by another process shows at once.
    settings = Settings(
        database_url=module_database_url,
        admin_token=ADMIN,
        projections_enabled=False,
        token_cache_seconds=0.0,
    )
    with running_server(settings) as url:
        yield url


@pytest.fixture
def cli_store(module_database_url: str) -> Iterator[TokenStore]:
    """The store as `slaclock tokens` sees it: another process, same database."""
    engine = create_sql_engine(DatabaseConfig.parse(module_database_url))
    store = TokenStore(engine)
    store.create_schema()
    yield store
    engine.dispose()


@pytest.fixture
def http(auth_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=auth_server, timeout=30) as client:
        yield client


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_endpoint_but_health_and_readiness_wants_a_token(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    checked = 0
    for path, method, operation in _operations(document):
        url = path.replace("{", "").replace("}", "")  # {ticket_id} -> ticket_id, a valid id
        response = http.request(method.upper(), url)
        if path in OPEN_PATHS:
            assert response.status_code != 401, path
            continue
        assert_unauthorized(response)
        assert operation.get("security") == [{"bearerAuth": []}], (method, path)
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
        checked += 1
    assert checked >= 8


def test_real_app_scopes(http: httpx.Client, cli_store: TokenStore) -> None:
    _, writer = cli_store.create(["events:write"])
    _, reader = cli_store.create(["tickets:read"])
    _, auditor = cli_store.create(["audit:read"])
    calendar = "/v1/calendars/24x7"
    assert_problem(http.get(calendar, headers=bearer(writer)), 403)
    assert http.get(calendar, headers=bearer(reader)).status_code == 200
    assert http.get(calendar, headers=bearer(ADMIN)).status_code == 200
    assert_problem(http.get("/v1/tickets/NOPE-1/events", headers=bearer(reader)), 403)
    assert_problem(http.get("/v1/tickets/NOPE-1/events", headers=bearer(auditor)), 404)
    assert_problem(http.put("/v1/calendars/office", headers=bearer(reader), json={}), 403)


def test_real_app_refuses_unknown_and_revoked_tokens(
    http: httpx.Client, cli_store: TokenStore
) -> None:
    info, token = cli_store.create(["admin"])
    assert http.get("/v1/calendars/24x7", headers=bearer(token)).status_code == 200
    cli_store.revoke(info.token_id)
    assert_unauthorized(http.get("/v1/calendars/24x7", headers=bearer(token)))
    assert_unauthorized(http.get("/v1/calendars/24x7", headers=bearer("slk_nope")))
