"""The command line's grammar and usage errors (nothing here opens a database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main as cli


def parse(*argv: str) -> dict[str, object]:
    return vars(cli.build_parser().parse_args(list(argv)))


def test_serve_defaults_come_from_settings() -> None:
    args = parse("serve")
    assert args["host"] is None
    assert args["port"] is None
    assert args["handler"] is cli.cmd_serve


def test_serve_takes_host_and_port() -> None:
    args = parse("serve", "--host", "0.0.0.0", "--port", "9000")
    assert args["host"] == "0.0.0.0"
    assert args["port"] == 9000


def test_tokens_create_collects_repeated_scopes() -> None:
    args = parse("tokens", "create", "--scope", "audit:read", "--scope", "admin", "--name", "ops")
    assert args["scope"] == ["audit:read", "admin"]
    assert args["name"] == "ops"
    assert args["handler"] is cli.cmd_tokens_create


def test_tokens_create_name_defaults_to_empty() -> None:
    assert parse("tokens", "create", "--scope", "admin")["name"] == ""


def test_token_commands_route_to_their_handlers() -> None:
    assert parse("tokens", "list")["handler"] is cli.cmd_tokens_list
    assert parse("tokens", "list", "--json")["json"] is True
    revoke = parse("tokens", "revoke", "abc")
    assert revoke["handler"] is cli.cmd_tokens_revoke
    assert revoke["token_id"] == "abc"


def test_openapi_output_is_optional() -> None:
    assert parse("openapi")["output"] is None
    assert parse("openapi", "--output", "openapi/openapi.json")["output"] == Path(
        "openapi/openapi.json"
    )


def test_job_commands_route_to_their_handlers() -> None:
    load = parse("policies", "load", "policies")
    assert load["handler"] is cli.cmd_policies_load
    assert load["directory"] == Path("policies")
    assert parse("project")["handler"] is cli.cmd_project
    assert parse("rebuild")["handler"] is cli.cmd_rebuild


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["serve", "--port", "0"],
        ["serve", "--port", "65536"],
        ["serve", "--port", "http"],
        ["tokens"],
        ["tokens", "create"],
        ["tokens", "create", "--scope"],
        ["tokens", "revoke"],
        ["policies"],
        ["policies", "load"],
        ["rebuild", "--now"],
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "error" in err


def test_a_bad_port_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--port", "70000"]) == 2
    assert "port out of range 1-65535: 70000" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "tokens", "openapi", "policies", "project", "rebuild"):
        assert command in out


def test_scope_help_lists_every_scope(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tokens", "create", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    scopes = ("admin", "audit:read", "contracts:write", "events:write", "policies:write")
    for scope in (*scopes, "tickets:read"):
        assert scope in out
