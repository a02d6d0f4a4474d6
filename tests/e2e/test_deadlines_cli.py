"""Deadlines through the CLI, as a user meets them (issue 11): a loopback platform that sends one byte
at a time no longer hangs `auditor profile fetch` or `auditor audit`. The per-request deadline
(`AUDITOR_<PLATFORM>_TIMEOUT`) and the run's (`BUDGET_SECONDS` for `profile fetch`, `audit
--deadline`) make those accounts unknown with the reason, the audit run is stored, and the audit lock
is free again at once: the next audit runs, with no takeover message. Bounds are several times the
configured deadline (speed itself is measured in benchmarks, not here)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.fakes import FakeBluesky, FakeX
from tests.e2e.conftest import Cli
from tests.e2e.test_audit_cli import BLUESKY_ACCOUNTS, X_ACCOUNTS, _district


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeX, FakeBluesky]]:
    x, bsky = FakeX(X_ACCOUNTS, token="test-token"), FakeBluesky(BLUESKY_ACCOUNTS)
    with x, bsky:
        monkeypatch.setenv("AUDITOR_X_BASE_URL", x.url)
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", bsky.url)
        monkeypatch.setenv("AUDITOR_X_RETRIES", "0")
        monkeypatch.setenv("AUDITOR_BLUESKY_RETRIES", "0")
        yield x, bsky


def _profiles(cli: Cli) -> dict[str, str]:
    """Latest run's profile.unknown messages by account handle."""
    listed = json.loads(cli.ok("finding", "list", "--json", "--check", "profile").output)["items"]
    return {f["message"].split()[2]: f["message"] for f in listed if f["check_id"] == "profile.unknown"}


def _lock_is_free(cli: Cli) -> None:
    """The next audit runs at once (no 75) and finds nothing to take over."""
    again = cli("audit", "--offline")
    assert again.exit_code in (0, 3), again.output
    assert "another audit" not in again.stderr and "took over" not in again.stderr
    assert Path(f"{cli.registry}.audit-lock").read_text() == ""  # released cleanly


# -- profile fetch -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_profile_fetch_of_a_dripping_platform_ends_at_the_request_deadline(
    cli: Cli, fakes: tuple[FakeX, FakeBluesky], monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    _, bsky = fakes
    bsky.fail("drip", seconds=0.5, phase=phase, times=10)
    monkeypatch.setenv("AUDITOR_BLUESKY_TIMEOUT", "2")
    started = time.monotonic()
    result = cli("profile", "fetch", "bluesky", "nchsband.bsky.social", "--format", "json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert shown["status"] == "unknown" and shown["reason"] == "timed out after 2 s"
    assert elapsed < 10


def test_profile_fetch_ends_at_the_budget_even_with_a_long_request_timeout(
    cli: Cli, fakes: tuple[FakeX, FakeBluesky], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bsky = fakes
    bsky.fail("drip", seconds=0.5, times=10)
    monkeypatch.setenv("AUDITOR_BLUESKY_TIMEOUT", "300")
    monkeypatch.setenv("AUDITOR_BLUESKY_BUDGET_SECONDS", "2")
    started = time.monotonic()
    result = cli("profile", "fetch", "bluesky", "nchsband.bsky.social", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == "run budget exhausted"
    assert time.monotonic() - started < 10


def test_connector_test_explains_a_timed_out_platform(
    cli: Cli, fakes: tuple[FakeX, FakeBluesky], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bsky = fakes
    bsky.fail("drip", seconds=0.5, times=10)
    monkeypatch.setenv("AUDITOR_BLUESKY_TIMEOUT", "1")
    result = cli("connector", "test", "bluesky")
    assert result.exit_code == 1
    assert "FAILED: Bluesky could not check bsky.app: timed out after 1 s" in result.stdout
    assert "diagnosis: the platform could not be reached: check the network and AUDITOR_BLUESKY_BASE_URL" in (
        result.stdout
    )


# -- audit -----------------------------------------------------------------------------------------------


def test_audit_against_a_dripping_platform_times_out_those_accounts_and_stores_the_run(
    cli: Cli, fakes: tuple[FakeX, FakeBluesky], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, _ = fakes
    _district(cli)
    x.fail("drip", seconds=0.5, times=1000, path="/2/users")
    monkeypatch.setenv("AUDITOR_X_TIMEOUT", "2")
    started = time.monotonic()
    result = cli("audit", "--check", "profile", "--json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output  # profile.unknown is info: nothing at or above high
    assert elapsed < 10
    run = json.loads(result.stdout)["run"]
    assert run["accounts_checked"] == 4 and run["profiles_unknown"] == 3
    unknown = _profiles(cli)
    assert set(unknown) == {"@naperville203", "@nnhs_athletics", "@nchs_theatre"}  # Bluesky answered
    assert all("(timed out after 2 s)" in m for m in unknown.values())
    [stored] = json.loads(cli.ok("audit", "history", "--json").output)["items"]
    assert stored["id"] == run["id"]
    _lock_is_free(cli)


def test_audit_deadline_stops_the_lookups_left_and_still_stores_the_run(
    cli: Cli, fakes: tuple[FakeX, FakeBluesky], monkeypatch: pytest.MonkeyPatch
) -> None:
    x, bsky = fakes
    _district(cli)
    x.fail("drip", seconds=0.5, times=1000)
    monkeypatch.setenv("AUDITOR_X_TIMEOUT", "300")  # the request timeout would never end it
    started = time.monotonic()
    result = cli("audit", "--deadline", "6", "--json")
    elapsed = time.monotonic() - started
    assert elapsed < 30
    assert result.exit_code == 3, result.output  # the district's escrow and owner findings
    assert (
        "warning: the run's deadline (6 s) passed: 3 inventory profile(s) were not checked" in result.stderr
    )
    run = json.loads(result.stdout)["run"]
    assert run["profiles_unknown"] == 3
    unknown = _profiles(cli)
    assert set(unknown) == {"@naperville203", "@nnhs_athletics", "@nchs_theatre"}
    assert all("(not checked: the run's deadline passed)" in m for m in unknown.values())
    assert [r.path for r in bsky.requests][:1] == ["/xrpc/app.bsky.actor.getProfiles"]  # asked first
    assert len(json.loads(cli.ok("audit", "history", "--json").output)["items"]) == 1
    _lock_is_free(cli)


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_a_deadline_that_is_not_a_positive_number_is_a_usage_error(cli: Cli, value: str) -> None:
    cli.init()
    result = cli("audit", "--deadline", value)
    assert result.exit_code == 2
    assert "--deadline" in result.stderr


@pytest.mark.parametrize("raised", [KeyboardInterrupt, RuntimeError])
def test_the_lock_is_released_when_the_audit_is_interrupted_or_crashes(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, raised: type[BaseException]
) -> None:
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    import auditor.services.audit

    def boom(*args: object, **kwargs: object) -> None:
        raise raised("stop")

    with monkeypatch.context() as patched:
        patched.setattr(auditor.services.audit, "evaluate", boom)
        if raised is KeyboardInterrupt:
            assert cli("audit", "--offline").exit_code == 130  # interrupted
        else:
            with pytest.raises(RuntimeError):
                cli("audit", "--offline")
    assert json.loads(cli.ok("audit", "history", "--json").output)["items"] == []
    _lock_is_free(cli)
