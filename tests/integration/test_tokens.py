"""TokenStore and the `slaclock tokens` CLI against real SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from domain.errors import ValidationFailed
from service.cli.main import main
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.tokens import ALL_SCOPES, Scope, TokenStore, api_tokens


class FakeClock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tokens_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_database")
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('tokens') / 'slaclock.db'}"


@pytest.fixture
def engine(tokens_db_url: str) -> Iterator[Engine]:
    engine = create_sql_engine(DatabaseConfig.parse(tokens_db_url))
    try:
        yield engine
    finally:
        # The PostgreSQL database is shared by the module: leave no tokens behind.
        api_tokens.drop(engine, checkfirst=True)
        with engine.begin() as conn:  # the next start makes the table again
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> TokenStore:
    store = TokenStore(engine, cache_seconds=5.0, clock=clock)
    store.create_schema()
    return store


def secret_of(token: str) -> str:
    return token.split("_", 2)[2]


# --- create, list, revoke ---------------------------------------------------------


def test_created_token_authenticates_with_its_scopes(store: TokenStore) -> None:
    info, token = store.create(["tickets:read", "events:write"], "ingest")
    assert token.startswith(f"slk_{info.token_id}_")
    assert info.scopes == ("events:write", "tickets:read")
    assert info.name == "ingest"
    assert info.active
    assert info.created_at.tzinfo is UTC
    assert store.authenticate(token) == frozenset({"events:write", "tickets:read"})


def test_every_token_is_different(store: TokenStore) -> None:
    tokens = [store.create(["audit:read"])[1] for _ in range(5)]
    assert len(set(tokens)) == 5
    assert len({t.split("_")[1] for t in tokens}) == 5


def test_list_shows_every_token_without_secrets(store: TokenStore) -> None:
    first, first_token = store.create(["audit:read"], "auditor")
    second, _ = store.create(["admin"], "ops")
    listed = store.list()
    assert [t.token_id for t in listed] == [first.token_id, second.token_id]
    assert listed[0].name == "auditor"
    assert listed[0].scopes == ("audit:read",)
    assert listed[0].created_at == first.created_at
    assert listed[0].created_at.tzinfo is UTC
    assert secret_of(first_token) not in repr(listed)


def test_only_the_hash_of_the_secret_is_stored(store: TokenStore, engine: Engine) -> None:
    info, token = store.create(["events:write"], "ingest")
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens)).one()
    stored = " ".join(str(value) for value in row)
    assert secret_of(token) not in stored
    assert token not in stored
    assert row.secret_sha256 == hashlib.sha256(secret_of(token).encode()).hexdigest()
    assert row.token_id == info.token_id


def test_revoked_token_is_refused_at_once_in_the_same_process(store: TokenStore) -> None:
    info, token = store.create(["tickets:read"])
    assert store.authenticate(token) is not None  # now cached
    assert store.revoke(info.token_id) is True
    assert store.authenticate(token) is None
    [listed] = store.list()
    assert listed.revoked_at is not None
    assert listed.revoked_at.tzinfo is UTC
    assert not listed.active


def test_revoking_twice_keeps_the_first_revocation(store: TokenStore) -> None:
    info, _ = store.create(["tickets:read"])
    assert store.revoke(info.token_id) is True
    [first] = store.list()
    assert store.revoke(info.token_id) is True
    [second] = store.list()
    assert second.revoked_at == first.revoked_at


def test_revoking_an_unknown_id_says_so(store: TokenStore) -> None:
    store.create(["tickets:read"])
    assert store.revoke("0123456789abcdef") is False
    assert all(t.active for t in store.list())


def test_create_schema_is_idempotent(store: TokenStore) -> None:
    _, token = store.create(["audit:read"])
    store.create_schema()
    assert store.authenticate(token) == frozenset({"audit:read"})


# --- refusing ---------------------------------------------------------------------


def test_unknown_well_formed_token_is_refused(store: TokenStore) -> None:
    store.create(["admin"])
    assert store.authenticate("slk_0123456789abcdef_" + "A" * 43) is None


def test_right_id_with_wrong_secret_is_refused(store: TokenStore) -> None:
    info, token = store.create(["admin"])
    secret = secret_of(token)
    # Same length, one character off at the end: a prefix match must not pass.
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert store.authenticate(f"slk_{info.token_id}_{wrong}") is None
    assert store.authenticate(f"slk_{info.token_id}_{secret[:-1]}") is None
    assert store.authenticate(token) == ALL_SCOPES


@pytest.mark.parametrize(
    "garbage",
    ["", "slk_", "slk__", "Bearer x", "slk_0123456789ABCDEF_" + "A" * 43, "not-a-token", "é" * 60],
)
def test_malformed_tokens_are_refused(store: TokenStore, garbage: str) -> None:
    assert store.authenticate(garbage) is None


def test_token_with_a_suffix_is_refused(store: TokenStore) -> None:
    _, token = store.create(["admin"])
    assert store.authenticate(token + "x") is None
    assert store.authenticate(" " + token) is None


# --- scopes -------------------------------------------------------------------------


def test_a_scoped_token_grants_only_its_scopes(store: TokenStore) -> None:
    _, token = store.create(["events:write"])
    granted = store.authenticate(token)
    assert granted == frozenset({Scope.EVENTS_WRITE})
    assert Scope.TICKETS_READ not in granted
    assert Scope.ADMIN not in granted


def test_admin_implies_every_scope(store: TokenStore) -> None:
    _, token = store.create(["admin"])
    assert store.authenticate(token) == ALL_SCOPES
    assert {
        "events:write",
        "tickets:read",
        "audit:read",
        "policies:write",
        "contracts:write",
        "metrics:read",
        "admin",
    } == ALL_SCOPES


def test_duplicate_scopes_are_stored_once(store: TokenStore) -> None:
    info, _ = store.create(["audit:read", "audit:read", "admin"])
    assert info.scopes == ("admin", "audit:read")
    assert store.list()[0].scopes == ("admin", "audit:read")


def test_unknown_scope_is_rejected_and_nothing_is_stored(store: TokenStore) -> None:
    with pytest.raises(ValidationFailed) as failure:
        store.create(["tickets:read", "tickets:write"])
    assert [e.field for e in failure.value.errors] == ["scopes[1]"]
    assert "tickets:write" in failure.value.detail
    assert store.list() == []


def test_a_token_needs_a_scope(store: TokenStore) -> None:
    with pytest.raises(ValidationFailed):
        store.create([])


def test_name_length_is_bounded(store: TokenStore) -> None:
    store.create(["audit:read"], "n" * 200)
    with pytest.raises(ValidationFailed):
        store.create(["audit:read"], "n" * 201)


# --- the cache ------------------------------------------------------------------------


def test_revocation_reaches_other_processes_within_the_cache_window(
    engine: Engine, store: TokenStore, clock: FakeClock
) -> None:
    other_clock = FakeClock()
    other = TokenStore(engine, cache_seconds=5.0, clock=other_clock)  # another process
    info, token = store.create(["tickets:read"])
    assert other.authenticate(token) == frozenset({"tickets:read"})
    store.revoke(info.token_id)
    other_clock.now += 4.9
    assert other.authenticate(token) == frozenset({"tickets:read"})  # still cached
    other_clock.now += 0.2
    assert other.authenticate(token) is None


def test_without_a_cache_revocation_reaches_other_processes_at_once(
    engine: Engine, store: TokenStore
) -> None:
    other = TokenStore(engine, cache_seconds=0.0)
    info, token = store.create(["tickets:read"])
    assert other.authenticate(token) == frozenset({"tickets:read"})
    store.revoke(info.token_id)
    assert other.authenticate(token) is None


def test_answers_are_cached_both_ways(engine: Engine, store: TokenStore, clock: FakeClock) -> None:
    info, token = store.create(["audit:read"])
    wrong = f"slk_{info.token_id}_" + "B" * 43
    assert store.authenticate(token) == frozenset({"audit:read"})
    assert store.authenticate(wrong) is None
    api_tokens.drop(engine)  # from now on only the cache can answer
    assert store.authenticate(token) == frozenset({"audit:read"})
    assert store.authenticate(wrong) is None
    assert store.cached(token) is not None
    clock.now += 5.0
    assert store.cached(token) is None
    with pytest.raises(SQLAlchemyError):
        store.authenticate(token)


def test_the_cache_is_bounded_and_drops_the_oldest(engine: Engine, clock: FakeClock) -> None:
    store = TokenStore(engine, cache_seconds=60.0, clock=clock, cache_max_entries=2)
    store.create_schema()
    tokens = [store.create(["audit:read"])[1] for _ in range(3)]
    for token in tokens:
        assert store.authenticate(token) is not None
    api_tokens.drop(engine)
    assert store.authenticate(tokens[2]) == frozenset({"audit:read"})
    assert store.authenticate(tokens[1]) == frozenset({"audit:read"})
    with pytest.raises(SQLAlchemyError):
        store.authenticate(tokens[0])


# --- the CLI ------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def printed_token(out: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith("token: ")]
    return line.removeprefix("token: ")


def test_cli_creates_a_token_that_authenticates(
    tokens_db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", tokens_db_url)
    code, out, err = run_cli(
        capsys,
        "tokens",
        "create",
        "--scope",
        "events:write",
        "--scope",
        "tickets:read",
        "--name",
        "ci",
    )
    assert code == 0, err
    token = printed_token(out)
    assert "shown again" in err
    store = TokenStore(engine)
    assert store.authenticate(token) == frozenset({"events:write", "tickets:read"})
    [info] = store.list()
    assert f"token_id: {info.token_id}" in out
    assert info.name == "ci"


def test_cli_lists_and_revokes(
    tokens_db_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", tokens_db_url)
    _, out, _ = run_cli(capsys, "tokens", "create", "--scope", "audit:read", "--name", "auditor")
    token = printed_token(out)
    token_id = token.split("_")[1]

    code, out, _ = run_cli(capsys, "tokens", "list")
    assert code == 0
    assert token_id in out
    assert "auditor" in out
    assert secret_of(token) not in out

    code, out, _ = run_cli(capsys, "tokens", "revoke", token_id)
    assert code == 0
    assert TokenStore(engine).authenticate(token) is None

    code, out, _ = run_cli(capsys, "tokens", "list", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert row["token_id"] == token_id
    assert row["scopes"] == ["audit:read"]
    assert row["revoked_at"] is not None


def test_cli_list_on_an_empty_database_prints_only_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    code, out, _ = run_cli(capsys, "tokens", "list")
    assert code == 0
    assert out.splitlines()[0].split()[0] == "ID"
    assert len(out.splitlines()) == 1


def test_cli_revoking_an_unknown_id_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", f"sqlite:///{tmp_path}/t.db")
    code, _, err = run_cli(capsys, "tokens", "revoke", "0123456789abcdef")
    assert code == 1
    assert "no token with id '0123456789abcdef'" in err


def test_cli_unknown_scope_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", f"sqlite:///{tmp_path}/t.db")
    code, out, err = run_cli(capsys, "tokens", "create", "--scope", "tickets:write")
    assert code == 1
    assert out == ""
    assert err.startswith("slaclock: error: ")
    assert "tickets:write" in err
    assert "Traceback" not in err
    code, out, _ = run_cli(capsys, "tokens", "list", "--json")
    assert json.loads(out) == []


def test_cli_unreachable_database_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on the loopback: nothing listens there, the connection is refused at once.
    monkeypatch.setenv("SLA_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    code, _, err = run_cli(capsys, "tokens", "list")
    assert code == 1
    assert err.startswith("slaclock: error: database error: ")
    assert len(err.strip().splitlines()) == 1


def test_cli_unsupported_database_url_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", "mysql://localhost/x")
    code, _, err = run_cli(capsys, "tokens", "list")
    assert code == 1
    assert "unsupported database URL scheme 'mysql'" in err


def test_cli_invalid_setting_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", f"sqlite:///{tmp_path}/t.db")
    monkeypatch.setenv("SLA_TOKEN_CACHE_SECONDS", "soon")
    code, _, err = run_cli(capsys, "tokens", "list")
    assert code == 1
    assert "invalid settings: SLA_TOKEN_CACHE_SECONDS" in err
