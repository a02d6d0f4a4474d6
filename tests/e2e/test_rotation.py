"""Issue 18: a rotation task is closed by proof, step by step, through the CLI an administrator uses
when a coach leaves: offboard, generate (pending), set it on the platform, confirm each step (the
TOTP step with a code computed from the NEW seed by pyotp), cancel and roll back; the audit's
findings at each step; and no secret in any output or in the log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_escrow_cli import CODE, IG, PASSWORD, SEED, add_identity, setup_district

NEW_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
IG_LABEL = "Instagram account @nnhs_athletics"
NEW_CODES = "fresh-code-1111, fresh-code-2222"


def _task(cli: Cli) -> dict:
    """The Instagram account's open task (offboarding opens one for the X account too)."""
    items = [
        t
        for t in json.loads(cli.ok("task", "list", "--json").output)["items"]
        if t["account"] == "Instagram account @nnhs_athletics"
    ]
    assert len(items) == 1, items
    return items[0]


def _shown(cli: Cli) -> dict:
    return json.loads(cli.ok("secret", "show", IG, "--reason", "check", "--json").output)["items"][0]


def _rotation_findings(cli: Cli) -> dict[str, list[str]]:
    """escrow.rotation_* findings of an offline audit: check id -> messages."""
    cli("policy", "init", "--preset", "naperville-203")  # once; later calls say it is stored
    assert cli("audit", "--offline").exit_code in (0, 3)  # 3: findings at or above --fail-on
    found = json.loads(cli.ok("finding", "list", "--format", "json").output)["items"]
    out: dict[str, list[str]] = {}
    for f in found:
        if (
            f["check_id"].startswith("escrow.rotation")
            and f["state"] in ("new", "open")
            and IG_LABEL in f["message"]
        ):
            out.setdefault(f["check_id"], []).append(f["message"])
    return out


def _offboarded(cli: Cli) -> dict:
    setup_district(cli)
    add_identity(cli, "mlee", email="mlee@d203.org")
    cli.ok("--identity", "it-admin", "offboard", "mlee@d203.org", "--to", "dcho@d203.org", "--yes")
    return _task(cli)


def test_offboarding_task_is_closed_only_by_proof_of_every_step(cli: Cli) -> None:
    task = _offboarded(cli)
    tid = task["id"]
    assert task["outstanding"] == ["password", "totp", "recovery-codes", "platform-admins", "sessions"]
    assert _rotation_findings(cli) == {
        "escrow.rotation_pending": [
            f"Instagram account @nnhs_athletics has a credential rotation task opened on "
            f"{datetime.now(UTC).date().isoformat()}, due on "
            f"{(datetime.now(UTC).date() + timedelta(days=14)).isoformat()}: 5 of 5 steps to confirm "
            "(password, totp, recovery-codes, platform-admins, sessions)."
        ]
    }

    # Generating stages a pending password: the current one is unchanged and the task stays open.
    out = cli.ok("secret", "generate", IG).output
    assert "Staged as pending" in out and f"Rotation task {tid} (open)" in out
    assert _shown(cli)["password"] == PASSWORD
    pending = json.loads(
        cli.ok("secret", "show", IG, "--pending", "--reason", "typing it on Instagram", "--json").output
    )["items"][0]
    new_password = pending["password"]
    assert new_password and new_password != PASSWORD and pending.get("totp_seed") in (None, "")
    show = cli.ok("task", "show", tid).output
    assert "Pending (not yet current): password" in show and "[ ] password: to do" in show
    assert "a new password is staged: `auditor secret show instagram:nnhs_athletics --pending" in show
    assert "a new credential is pending" in _rotation_findings(cli)["escrow.rotation_pending"][0]

    # The password step makes the pending one current (a new version).
    out = cli.ok("task", "confirm", tid, "password").output
    assert "credential version 2 is now current" in out and "Still to confirm: totp" in out
    assert _shown(cli)["password"] == new_password
    assert _shown(cli)["totp_seed"] == SEED  # two-factor is not rotated until its own step

    # Two-factor: a code of the OLD key is refused as such; the NEW key's code confirms it.
    cli.ok("secret", "set", IG, "--pending", "--stdin", input=f"totp={NEW_SEED}\n")
    old = cli("task", "confirm", tid, "totp", "--stdin", input=pyotp.TOTP(SEED).now() + "\n")
    assert old.exit_code == 2 and "OLD TOTP key" in old.stderr
    wrong = cli("task", "confirm", tid, "totp", "--stdin", input="000000\n")
    if pyotp.TOTP(NEW_SEED).verify("000000", valid_window=1):  # pragma: no cover (one in 333,333)
        pytest.skip("000000 is a valid code right now")
    assert wrong.exit_code == 2 and "does not match the new TOTP key" in wrong.stderr
    assert _shown(cli)["totp_seed"] == SEED
    out = cli.ok("task", "confirm", tid, "totp", "--stdin", input=pyotp.TOTP(NEW_SEED).now() + "\n").output
    assert "credential version 3 is now current" in out
    assert _shown(cli)["totp_seed"] == NEW_SEED

    # Recovery codes: a set holding an old code is refused; a new set confirms.
    cli.ok("secret", "set", IG, "--pending", "--stdin", input=f"recovery_codes={CODE}, brand-new-3333\n")
    stale = cli("task", "confirm", tid, "recovery-codes")
    assert stale.exit_code == 2 and "ones the task started with" in stale.stderr
    cli.ok("secret", "set", IG, "--pending", "--stdin", input=f"recovery_codes={NEW_CODES}\n")
    cli.ok("task", "confirm", tid, "recovery-codes")
    assert CODE not in json.dumps(_shown(cli)) and "fresh-code-1111" in json.dumps(_shown(cli))

    # The platform steps need an attestation with a note.
    bare = cli("task", "confirm", tid, "platform-admins")
    assert bare.exit_code == 2 and "--note" in bare.stderr
    cli.ok("task", "confirm", tid, "platform-admins", "--note", "removed mlee from Meta Business Suite")
    assert _rotation_findings(cli) == {
        "escrow.rotation_pending": [
            f"Instagram account @nnhs_athletics has a credential rotation task opened on "
            f"{datetime.now(UTC).date().isoformat()}, due on "
            f"{(datetime.now(UTC).date() + timedelta(days=14)).isoformat()}: 1 of 5 steps to confirm (sessions)."
        ]
    }
    out = cli.ok("task", "confirm", tid, "sessions", "--note", "logged out all sessions").output
    assert f"Task {tid} is done" in out
    assert [t["account"] for t in json.loads(cli.ok("task", "list", "--json").output)["items"]] == [
        "X account @nnhs"  # owned by the coach too, never escrowed: still to take back
    ]
    assert _rotation_findings(cli) == {}
    done = json.loads(cli.ok("task", "show", tid, "--json").output)["item"]
    assert done["status"] == "done" and [s["state"] for s in done["steps"]] == ["confirmed"] * 5
    assert done["steps"][1]["evidence"] == "a current code of the new TOTP key (credential version 3)"

    # Everything is in the reveal log, and no value is: not the passwords, seeds or codes.
    log = cli.ok("log", "show", "--json").output
    events = json.loads(log)["items"]
    assert [e["details"]["item"] for e in events if e["action"] == "task-confirm"] == [
        "password",
        "totp",
        "recovery-codes",
        "platform-admins",
        "sessions",
    ]
    assert any(e["action"] == "reveal" and e["details"].get("pending") for e in events)
    for value in (PASSWORD, new_password, SEED, NEW_SEED, CODE, "fresh-code-1111"):
        assert value not in log
    report = cli.ok("report", "offboarding", "--format", "json").output
    assert "sessions: confirmed" in report and "attested: logged out all sessions" in report
    for value in (PASSWORD, new_password, SEED, NEW_SEED, "fresh-code-1111"):
        assert value not in report
    raw = (cli.registry).read_bytes()
    for value in (new_password, NEW_SEED, "fresh-code-1111"):
        assert value.encode() not in raw


def test_storing_a_credential_never_closes_the_task(cli: Cli) -> None:
    tid = _offboarded(cli)["id"]
    out = cli.ok("secret", "set", IG, "--stdin", input="password=Changed-Directly-1!\n").output
    assert f"Rotation task {tid} stays open" in out
    # A password already changed on the platform and stored directly is evidence too.
    out = cli.ok("task", "confirm", tid, "password").output
    assert "Confirmed password" in out and "is now current" not in out
    assert _task(cli)["outstanding"] == ["totp", "recovery-codes", "platform-admins", "sessions"]


def test_cancel_rolls_back_the_pending_credential(cli: Cli) -> None:
    tid = _offboarded(cli)["id"]
    cli.ok("secret", "generate", IG)
    out = cli.ok("task", "cancel", tid, "--pending-only", "--reason", "Instagram refused it").output
    assert "task stays open" in out
    assert _shown(cli)["password"] == PASSWORD
    missing = cli("secret", "show", IG, "--pending", "--reason", "x")
    assert missing.exit_code == 2 and "no pending credential" in missing.stderr
    assert _task(cli)["pending"] == []
    assert cli("task", "confirm", tid, "password").exit_code == 2  # nothing new to confirm

    cli.ok("secret", "generate", IG)
    assert cli("task", "cancel", tid, "--reason", "").exit_code == 2
    out = cli.ok("task", "cancel", tid, "--reason", "opened by mistake", "--yes").output
    assert f"Cancelled task {tid}" in out
    assert _shown(cli)["password"] == PASSWORD
    everything = {t["id"]: t for t in json.loads(cli.ok("task", "list", "--all", "--json").output)["items"]}
    assert (
        everything[tid]["status"] == "cancelled" and everything[tid]["cancel_reason"] == "opened by mistake"
    )
    assert _rotation_findings(cli) == {}
    assert "task-cancel" in [e["action"] for e in json.loads(cli.ok("log", "show", "--json").output)["items"]]


def test_generate_without_a_task_opens_one_for_the_password(cli: Cli) -> None:
    setup_district(cli)
    out = cli.ok("secret", "generate", IG).output
    assert "opened now" in out
    task = _task(cli)
    assert task["outstanding"] == ["password"] and task["pending"] == ["password"]
    cli.ok("task", "confirm", task["id"], "password")
    assert cli.ok("task", "list").output.strip() == "No open rotation tasks."
    assert _shown(cli)["password"] != PASSWORD
