"""The watchlist through the CLI (issue 14): staff-reported handles that every audit looks at.

The district is tests/e2e/test_audit_cli.py's, audited against the loopback X fake. Every night's
audit looks up every watched handle (the fake records the lookup); a finding on one resolves only
when a run looked and X said the account is gone; a watched handle that does not exist is an info
finding, and is flagged as an impostor only once it appears and imitates the district.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.model.types import normalise_handle
from connectors.fakes import FakeAccount, FakeBluesky, FakeX
from tests.e2e.conftest import Cli
from tests.e2e.test_audit_cli import BLUESKY_ACCOUNTS, RECENT, X_ACCOUNTS, X_TOKEN, _district

# Reported by a parent: a look-alike of @naperville203 (3 for e, a separator).
SQUAT = FakeAccount(
    "nap3rville_203",
    id="1777",
    name="Naperville 203 news",
    bio="News of Naperville 203.",
    created_at=RECENT,
    last_post_at=RECENT,
)
NOT_YET = "naperv1lle_203"  # reported, but nobody has registered it (yet)
IMPERSONATION = ("--check", "impersonation.suspected", "--json")


@pytest.fixture
def x(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeX]:
    fake_x, bsky = FakeX([*X_ACCOUNTS, SQUAT], token=X_TOKEN), FakeBluesky(BLUESKY_ACCOUNTS)
    with fake_x, bsky:
        monkeypatch.setenv("AUDITOR_X_BASE_URL", fake_x.url)
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", bsky.url)
        monkeypatch.setenv("AUDITOR_X_RETRIES", "0")
        yield fake_x


def _watch_findings(cli: Cli, *args: str) -> dict[str, dict[str, Any]]:
    result = cli("audit", *IMPERSONATION, *args)
    assert result.exit_code in (0, 3), result.output
    items = json.loads(result.stdout)["items"]
    return {f["subject"]: f for f in items if f["subject"].startswith(("candidate:x:", "absent:x:"))}


def _looked_up(x: FakeX, since: int, handle: str) -> bool:
    for req in x.requests[since:]:
        names = [*(req.param("usernames") or "").split(","), req.path.rsplit("/", 1)[-1]]
        if handle in {normalise_handle(n) for n in names}:
            return True
    return False


def test_add_list_remove_and_import(cli: Cli, x: FakeX) -> None:
    _district(cli)
    assert (
        "Watching x:nap3rville_203"
        in cli.ok("watch", "add", "x:@Nap3rville_203", "--note", "parent, 3 March").output
    )
    cli.ok("watch", "add", "https://www.instagram.com/nnhs.offical/")
    listed = json.loads(cli.ok("watch", "list", "--format", "json").output)["items"]
    assert [(w["platform"], w["handle"], w["note"]) for w in listed] == [
        ("instagram", "nnhs.offical", ""),
        ("x", "Nap3rville_203", "parent, 3 March"),
    ]
    assert listed[1]["added_by"] == "it-admin"
    assert (
        cli.ok("watch", "list", "--format", "csv").output.splitlines()[0]
        == "platform,display,note,added_by,added_at"
    )

    # A bad file names every bad line and imports nothing.
    bad = cli.file(
        "bad.csv", "platform,handle,note\nx,good_one,ok\nfriendster,someone,\nx,,empty\nx,other_one,\n"
    )
    result = cli("watch", "import", str(bad))
    assert result.exit_code == 1
    assert "bad.csv line 3:" in result.output and "bad.csv line 4:" in result.output
    assert "nothing was imported" in result.output
    assert len(json.loads(cli.ok("watch", "list", "--json").output)["items"]) == 2

    lines = cli.file(
        "reported.txt", "# from the front office\nx:good_one\nhttps://bsky.app/profile/d203.bsky.social\n"
    )
    assert "Watching 2 handle(s)" in cli.ok("watch", "import", str(lines)).output
    rows = cli.file("reported.csv", "Platform,Handle,Note\nx,good_one,seen twice\n")
    cli.ok("watch", "import", str(rows))
    listed = json.loads(cli.ok("watch", "list", "--json").output)["items"]
    assert {w["platform"] + ":" + w["handle"]: w["note"] for w in listed} == {
        "bluesky:d203.bsky.social": "",
        "instagram:nnhs.offical": "",
        "x:good_one": "seen twice",
        "x:Nap3rville_203": "parent, 3 March",
    }

    assert "No longer watching x:nap3rville_203" in cli.ok("watch", "remove", "X:nap3rville_203").output
    missing = cli("watch", "remove", "x:nap3rville_203")
    assert missing.exit_code == 1 and "is not on the watchlist" in missing.output
    assert cli("watch", "add", "friendster:someone").exit_code == 2


def test_every_night_looks_at_every_watched_handle(cli: Cli, x: FakeX) -> None:
    _district(cli)
    cli.ok("watch", "add", "x:nap3rville_203", "--note", "reported by a parent")
    cli.ok("watch", "add", f"x:{NOT_YET}")

    # Night 1: the squat is an impostor; the handle nobody has registered is only info.
    before = len(x.requests)
    night1 = _watch_findings(cli)
    assert _looked_up(x, before, "nap3rville_203") and _looked_up(x, before, NOT_YET)
    squat = night1["candidate:x:nap3rville_203"]
    assert (squat["severity"], squat["state"]) == ("high", "new")
    absent = night1[f"absent:x:{NOT_YET}"]
    assert (absent["severity"], absent["state"]) == ("info", "new")
    assert "watched handle does not exist (yet)" in absent["message"]
    assert f"candidate:x:{NOT_YET}" not in night1

    # Night 2, no file given: both are looked at again, and nothing resolves.
    before = len(x.requests)
    night2 = _watch_findings(cli)
    assert _looked_up(x, before, "nap3rville_203") and _looked_up(x, before, NOT_YET)
    assert night2["candidate:x:nap3rville_203"]["state"] == "open"
    assert night2[f"absent:x:{NOT_YET}"]["state"] == "open"

    # Night 3, X unreachable: it could not look, so both stay open.
    fault = x.fail("status", status=503, times=1000, path="/2/users")
    night3 = _watch_findings(cli)
    assert night3["candidate:x:nap3rville_203"]["state"] == "open"
    assert night3[f"absent:x:{NOT_YET}"]["state"] == "open"
    assert f"candidate:x:{NOT_YET}" not in night3  # known not to exist: not scored by name alone
    x.faults.remove(fault)

    # Night 4: X says the squat is gone (resolved, now info); the other one appeared as an impostor.
    x.accounts.pop("nap3rville_203")
    x.add(FakeAccount(NOT_YET, id="1888", name="Naperville 203", bio="Official news of Naperville 203"))
    night4 = _watch_findings(cli)
    assert night4["candidate:x:nap3rville_203"]["state"] == "resolved"
    assert (night4["absent:x:nap3rville_203"]["severity"], night4["absent:x:nap3rville_203"]["state"]) == (
        "info",
        "new",
    )
    assert night4[f"absent:x:{NOT_YET}"]["state"] == "resolved"
    appeared = night4[f"candidate:x:{NOT_YET}"]
    assert (appeared["severity"], appeared["state"]) == ("high", "new")


def test_a_reported_handle_that_does_not_exist_is_not_an_impostor(cli: Cli, x: FakeX) -> None:
    _district(cli)
    staff = cli.file("reported.txt", f"x:{NOT_YET}\n")
    found = _watch_findings(cli, "--candidates", str(staff))
    assert f"candidate:x:{NOT_YET}" not in found
    absent = found[f"absent:x:{NOT_YET}"]
    assert absent["severity"] == "info" and "reported handle does not exist (yet)" in absent["message"]


def test_a_handle_the_platform_could_not_have_is_refused_and_changes_are_logged(cli: Cli, x: FakeX) -> None:
    _district(cli)
    # X handles are 1 to 15 letters, digits or underscores: a hyphen or a 16th character is a typo.
    for ref in ("x:naperville-203", "x:naperville203official"):
        result = cli("watch", "add", ref)
        assert result.exit_code == 2, result.output
        assert "is not a valid X handle" in result.output and "1 to 15 letters" in result.output
    bad = cli.file("reported.txt", "x:good_one\ninstagram:.nnhs\nmastodon:someone@nowhere\nx:other_one\n")
    result = cli("watch", "import", str(bad))
    assert result.exit_code == 1
    assert "reported.txt line 2:" in result.output and "not a valid Instagram handle" in result.output
    assert "reported.txt line 3:" in result.output and "not a server name" in result.output
    assert "line 1:" not in result.output and "line 4:" not in result.output
    assert json.loads(cli.ok("watch", "list", "--json").output)["items"] == []

    # A bare Bluesky name is the handle the app shows for it.
    assert (
        "Watching bluesky:naperville203-hq.bsky.social"
        in cli.ok("watch", "add", "bluesky:naperville203-hq").output
    )
    cli.ok("watch", "add", "x:Nap3rville_203", "--note", "parent")
    cli.ok("watch", "remove", "x:nap3rville_203")
    events = [
        (e["action"], e["identity"], e["details"].get("handles"))
        for e in json.loads(cli.ok("log", "show", "--format", "json").output)["items"]
        if e["action"].startswith("watch-")
    ]
    assert events == [
        ("watch-add", "it-admin", ["bluesky:naperville203-hq.bsky.social"]),
        ("watch-add", "it-admin", ["x:nap3rville_203"]),
        ("watch-remove", "it-admin", ["x:nap3rville_203"]),
    ]
