"""`auditor connector ...` / `auditor profile fetch` through Typer's CliRunner, against fakes."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from auditor.cli import connector as cli
from auditor.model.types import Platform, Secret
from connectors.fakes import FakeAccount, FakeBluesky, FakeX
from connectors.tokens import MemoryTokenStore

from .helpers import TOKEN

runner = CliRunner()


def _app() -> typer.Typer:
    # The real root app: its error boundary is what turns errors into `error:` lines and exit codes.
    from auditor.cli import app

    return app


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> MemoryTokenStore:
    tokens = MemoryTokenStore()
    monkeypatch.setattr(cli, "token_store_factory", lambda: tokens)
    return tokens


def test_list_shows_missing_and_configured_credentials(store: MemoryTokenStore) -> None:
    result = runner.invoke(_app(), ["connector", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "missing: no credentials" in lines["X"]
    assert "not needed" in lines["Bluesky"]
    assert "missing: setting ig_user_id" not in lines["Instagram"]  # the token is missing first
    store.set(Platform.X, Secret(TOKEN))
    result = runner.invoke(_app(), ["connector", "list"])
    assert "configured" in {line.split()[0]: line for line in result.output.splitlines()}["X"]
    assert TOKEN not in result.output


def test_set_token_from_stdin_and_hidden_prompt_never_echoes(store: MemoryTokenStore) -> None:
    result = runner.invoke(_app(), ["connector", "set-token", "x", "--stdin"], input=TOKEN + "\n")
    assert result.exit_code == 0, result.output
    assert store.get(Platform.X) == Secret(TOKEN)
    assert TOKEN not in result.output
    result = runner.invoke(_app(), ["connector", "set-token", "youtube"], input="yt-" + TOKEN + "\n")
    assert result.exit_code == 0, result.output
    assert store.get(Platform.YOUTUBE) == Secret("yt-" + TOKEN)
    assert TOKEN not in result.output


def test_set_token_refuses_platforms_without_tokens(store: MemoryTokenStore) -> None:
    result = runner.invoke(_app(), ["connector", "set-token", "bluesky", "--stdin"], input="x\n")
    assert result.exit_code == 2
    assert "Bluesky needs no token" in result.output


def test_set_token_without_keyring_fails_clearly() -> None:
    result = runner.invoke(_app(), ["connector", "set-token", "x", "--stdin"], input=TOKEN + "\n")
    assert result.exit_code == 1
    assert "no OS keyring is available" in result.output and TOKEN not in result.output


def test_connector_test_reports_ok_and_diagnoses_failure(
    store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        FakeBluesky([FakeAccount("bsky.app", name="Bluesky")]) as bsky,
        FakeX([FakeAccount("XDevelopers")], token=TOKEN) as x,
    ):
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", bsky.url)
        monkeypatch.setenv("AUDITOR_X_BASE_URL", x.url)
        ok = runner.invoke(_app(), ["connector", "test", "bluesky"])
        failed = runner.invoke(_app(), ["connector", "test", "x"])
        store.set(Platform.X, Secret("wrong"))
        refused = runner.invoke(_app(), ["connector", "test", "twitter"])
    assert ok.exit_code == 0 and "OK: Bluesky answered for bsky.app: found" in ok.output
    assert failed.exit_code == 1 and "no credentials" in failed.output
    assert "auditor connector set-token x" in failed.output
    assert refused.exit_code == 1 and "token was refused" in refused.output
    assert x.requests[0].path == "/2/users/by/username/XDevelopers"


def test_profile_fetch_json_and_table(store: MemoryTokenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeBluesky([FakeAccount("lincolnhs.bsky.social", name="Lincoln HS", bio="Official")]) as bsky:
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", bsky.url)
        as_json = runner.invoke(
            _app(), ["profile", "fetch", "bsky", "lincolnhs.bsky.social", "--format", "json"]
        )
        table = runner.invoke(_app(), ["profile", "fetch", "bluesky", "lincolnhs.bsky.social"])
        missing = runner.invoke(_app(), ["profile", "fetch", "bluesky", "nobody.bsky.social"])
    data = json.loads(as_json.output)
    assert as_json.exit_code == 0 and data["status"] == "found" and data["display_name"] == "Lincoln HS"
    assert "display name    Lincoln HS" in table.output
    assert missing.exit_code == 0 and "not_found" in missing.output


def test_every_command_has_help_with_an_example() -> None:
    for args in (
        ["connector", "list"],
        ["connector", "test"],
        ["connector", "set-token"],
        ["profile", "fetch"],
    ):
        result = runner.invoke(_app(), [*args, "--help"])
        assert result.exit_code == 0 and "Example: auditor" in result.output
