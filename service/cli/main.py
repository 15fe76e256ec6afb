"""The ``slaclock`` command line: serve, tokens, openapi and the batch jobs.

Exit codes: 0 success, 1 failure (reported on stderr in one line), 2 usage
error. Everything heavy (the app, uvicorn, the jobs) is imported only by the
command that needs it, so ``slaclock --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydantic
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from domain.errors import DomainError
from service.gc_tuning import collect_less_often
from service.migrations import SchemaNotReady
from service.settings import Settings, unknown_variables
from service.storage.database import DatabaseConfig, UnsupportedDatabase
from service.storage.tokens import ALL_SCOPES, TokenInfo, TokenStore, validate_scopes

Handler = Callable[[argparse.Namespace], int]

# Failures a user can cause or fix (bad input, unreachable database, missing
# file); anything else is a bug and keeps its traceback.
_EXPECTED_ERRORS = (
    DomainError,
    SQLAlchemyError,
    UnsupportedDatabase,
    SchemaNotReady,
    pydantic.ValidationError,
    OSError,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: 2 for usage errors, 0 for --help
        return stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        print("slaclock: error: a command is required", file=sys.stderr)
        return 2
    unknown = unknown_variables()
    if unknown:  # a misspelled setting would otherwise be silently ignored
        for message in unknown:
            print(f"slaclock: error: {message}", file=sys.stderr)
        return 1
    try:
        return handler(args)
    except _EXPECTED_ERRORS as exc:
        print(f"slaclock: error: {_describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    if isinstance(exc, DBAPIError):
        # The driver's own first line; SQLAlchemy's wrapper adds the SQL and a URL.
        reason = str(exc.orig).strip().splitlines()
        return "database error: " + (reason[0] if reason else type(exc.orig).__name__)
    if isinstance(exc, pydantic.ValidationError):
        problems = "; ".join(
            f"SLA_{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        return f"invalid settings: {problems}"
    return str(exc) or type(exc).__name__


# --- the parser --------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slaclock", description="Event-sourced SLA clocks: server and administration."
    )
    parser.add_argument("--version", action="version", version=f"slaclock {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_serve(commands)
    _add_tokens(commands)
    _add_openapi(commands)
    _add_jobs(commands)
    _add_migrate(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slaclock")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {port}")
    return port


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="address to bind (default: SLA_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to bind (default: SLA_PORT or 8000)")
    serve.set_defaults(handler=cmd_serve)


def _add_tokens(commands: Any) -> None:
    tokens = commands.add_parser("tokens", help="create, list and revoke API tokens")
    actions = tokens.add_subparsers(title="token commands", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help=f"a scope to grant, repeatable; one of: {', '.join(sorted(ALL_SCOPES))}",
    )
    create.add_argument("--name", default="", help="a label, e.g. who uses the token")
    create.set_defaults(handler=cmd_tokens_create)
    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=cmd_tokens_list)
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=cmd_tokens_revoke)


def _add_openapi(commands: Any) -> None:
    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", type=Path, help="file to write (default: stdout)")
    openapi.set_defaults(handler=cmd_openapi)


def _add_jobs(commands: Any) -> None:
    policies = commands.add_parser("policies", help="policy administration")
    policy_actions = policies.add_subparsers(
        title="policy commands", metavar="ACTION", required=True
    )
    load = policy_actions.add_parser(
        "load", help="store the calendars and policies in DIR, or the seed packs (--builtin)"
    )
    source = load.add_mutually_exclusive_group(required=True)
    source.add_argument("directory", type=Path, metavar="DIR", nargs="?")
    source.add_argument(
        "--builtin", action="store_true", help="the five seed vendors' packs shipped with slaclock"
    )
    load.set_defaults(handler=cmd_policies_load)
    project = commands.add_parser("project", help="run the projections (without the HTTP API)")
    project.set_defaults(handler=cmd_project)
    rebuild = commands.add_parser("rebuild", help="rebuild the read models from the event log")
    rebuild.set_defaults(handler=cmd_rebuild)
    webhooks = commands.add_parser(
        "webhooks", help="fire and deliver webhooks (one active per database)"
    )
    webhooks.set_defaults(handler=cmd_webhooks)


def _add_migrate(commands: Any) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema to this release's (tokens and read models)",
        description="Upgrade slaclock's tables in place to the schema this release needs. "
        "A database made before slaclock had migrations is recognised and recorded. "
        "The event store's own tables are the eventsourcing library's and are left alone.",
    )
    migrate.add_argument(
        "--database-url", metavar="URL", help="the database (default: SLA_DATABASE_URL)"
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="change nothing: exit 1 unless the schema is at this release's revision "
        "and matches the tables the code defines",
    )
    migrate.set_defaults(handler=cmd_migrate)


# --- serve and openapi ---------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    import uvicorn

    from service.app import create_app
    from service.http.header_deadline import header_deadline_protocol
    from service.logging_setup import configure_logging

    configure_logging(settings)
    _prepare_schema(settings)  # refuse in one line, before uvicorn, when it is behind
    collect_less_often()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_config=None,  # service/logging_setup.py configured every logger
        timeout_keep_alive=settings.keep_alive_seconds,
        http=header_deadline_protocol(settings.header_timeout_seconds),
        ws="none",
    )
    return 0


def _prepare_schema(settings: Settings) -> None:
    from service.migrations.schema import prepared_engine

    config = DatabaseConfig.parse(settings.database_url)
    prepared_engine(config, auto_migrate=settings.auto_migrate).dispose()


def openapi_settings() -> Settings:
    """Defaults only, ignoring the environment: the document must not depend on where it is made."""
    return Settings.model_construct()


def openapi_text() -> str:
    """The OpenAPI document exactly as `make openapi` commits it."""
    from service.app import create_app

    document = create_app(openapi_settings()).openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    text = openapi_text()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    return 0


# --- tokens ----------------------------------------------------------------------


@contextmanager
def open_token_store(settings: Settings) -> Iterator[TokenStore]:
    from service.migrations.schema import prepared_engine

    config = DatabaseConfig.parse(settings.database_url)
    engine = prepared_engine(config, auto_migrate=settings.auto_migrate)
    try:
        yield TokenStore(engine, cache_seconds=settings.token_cache_seconds)
    finally:
        engine.dispose()


def cmd_tokens_create(args: argparse.Namespace) -> int:
    # Bad scopes are refused before the database is opened (or made).
    scopes = validate_scopes(args.scope)
    with open_token_store(Settings()) as store:
        info, token = store.create(scopes, args.name)
    print(f"token_id: {info.token_id}")
    print(f"scopes: {' '.join(info.scopes)}")
    print(f"token: {token}")
    print("Keep the token now: it is stored hashed and cannot be shown again.", file=sys.stderr)
    return 0


def _token_row(info: TokenInfo) -> dict[str, Any]:
    return {
        "token_id": info.token_id,
        "name": info.name,
        "scopes": list(info.scopes),
        "created_at": info.created_at.isoformat(),
        "revoked_at": None if info.revoked_at is None else info.revoked_at.isoformat(),
    }


def cmd_tokens_list(args: argparse.Namespace) -> int:
    with open_token_store(Settings()) as store:
        tokens = store.list()
    if args.json:
        print(json.dumps([_token_row(t) for t in tokens], indent=2))
        return 0
    print(f"{'ID':<16}  {'CREATED':<25}  {'REVOKED':<25}  {'NAME':<20}  SCOPES")
    for t in tokens:
        revoked = "-" if t.revoked_at is None else t.revoked_at.isoformat(timespec="seconds")
        created = t.created_at.isoformat(timespec="seconds")
        print(f"{t.token_id:<16}  {created:<25}  {revoked:<25}  {t.name:<20}  {' '.join(t.scopes)}")
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    with open_token_store(Settings()) as store:
        found = store.revoke(args.token_id)
    if not found:
        print(f"slaclock: error: no token with id {args.token_id!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.token_id}")
    return 0


# --- jobs implemented in service.cli.jobs -------------------------------------------


def cmd_policies_load(args: argparse.Namespace) -> int:
    directory: Path = _builtin_policies() if args.builtin else args.directory
    if not directory.is_dir():
        print(f"slaclock: error: not a directory: {directory}", file=sys.stderr)
        return 1
    from service.cli import jobs as cli_jobs

    cli_jobs.load_policies(Settings(), directory)
    return 0


def _builtin_policies() -> Path:
    from importlib.resources import files

    return Path(str(files("policies")))


def cmd_project(args: argparse.Namespace) -> int:
    from service.cli import jobs as cli_jobs
    from service.logging_setup import configure_logging

    settings = Settings()
    configure_logging(settings)
    cli_jobs.run_projections(settings)
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    from service.logging_setup import configure_logging
    from service.migrations.schema import prepared_engine
    from service.storage.eventstore import EventStore
    from service.webhooks.dispatcher import Dispatcher
    from service.webhooks.notices import contract_notices
    from service.webhooks.process import WebhookWorker, run_webhooks

    settings = Settings()
    configure_logging(settings)
    engine = prepared_engine(
        DatabaseConfig.parse(settings.database_url), auto_migrate=settings.auto_migrate
    )
    dispatcher = Dispatcher(
        engine,
        per_destination=settings.webhook_concurrency,
        timeout_seconds=settings.webhook_timeout_seconds,
        retry_scale=settings.webhook_retry_scale,
    )
    store = EventStore(DatabaseConfig.parse(settings.database_url))
    worker = WebhookWorker(
        engine,
        dispatcher,
        notices=contract_notices(store),
        notice_seconds=settings.webhook_notice_seconds,
    )
    try:
        run_webhooks(worker)
    finally:
        store.close()
        engine.dispose()
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from projections.worker import RebuildStopped
    from service.cli import jobs as cli_jobs

    try:
        cli_jobs.rebuild(Settings())
    except RebuildStopped as stopped:
        return 128 + stopped.signum
    return 0


# --- migrate ------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from service.migrations.command import run_migrate

    overrides = {} if args.database_url is None else {"database_url": args.database_url}
    return run_migrate(Settings(**overrides).database_url, check=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
