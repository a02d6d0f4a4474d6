"""Issue 14's Done-when, through the CLI: the demo district's nightly audit, three nights in a row.

Night 1 is `auditor demo` itself (its own loopback platforms, its audit as the nightly auditor
identity). Nights 2 and 3 are what the district's scheduled job runs, `auditor audit --as auditor`
with the nightly identity, against the same story's platforms started again (`start_platforms`),
pointed at through AUDITOR_<PLATFORM>_BASE_URL. On night 3 the handle a parent reported is gone.

What is planted comes from the story itself (`story.impostors`, `story.legitimate`,
`story.watched`): adding an impostor to the story adds it to this test. Every night, every
impostor on every platform is found, handle-only and display-name-only alike, each with a reason
naming the rule or the characters; the watched handle is looked up; nothing legitimate (the
neighbouring district, the PTA, the booster club, the police, the superintendent's namesake) is
flagged although discovery saw each of them; and the run prints what discovery spent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.model.types import normalise_handle
from auditor.services.demo import platform_urls, start_platforms
from auditor.services.demo.story import WATCHED_GONE_ON, Stranger, impostors, legitimate, watched
from connectors.fakes import FakeServer
from connectors.fakes.platforms import search_hits
from tests.e2e.conftest import Cli

LOOKALIKE_CHECKS = ("impersonation.suspected", "account.unlisted")
SEARCH_PATHS = ("/xrpc/app.bsky.actor.searchActors", "/api/v2/search", "/youtube/v3/search")


def _subject(s: Stranger) -> str:
    return f"candidate:{s.platform}:{normalise_handle(s.handle)}"


def _flags(items: list[dict[str, Any]], s: Stranger) -> list[dict[str, Any]]:
    """The look-alike findings about `s` that are not resolved."""
    key = f":{s.platform}:{normalise_handle(s.handle)}"
    return [
        f
        for f in items
        if f["check_id"] in LOOKALIKE_CHECKS and f["subject"].endswith(key) and f["state"] != "resolved"
    ]


def _assert_every_impostor_found(items: list[dict[str, Any]], planted: list[Stranger], night: int) -> None:
    by_subject = {f["subject"]: f for f in items if f["check_id"] == "impersonation.suspected"}
    # ... and nothing else is flagged: not the district's own accounts, not anyone legitimate.
    flagged = {k for k, f in by_subject.items() if f["severity"] == "high" and f["state"] != "resolved"}
    assert flagged == {_subject(s) for s in planted}, (night, flagged ^ {_subject(s) for s in planted})
    for s in planted:
        finding = by_subject.get(_subject(s))
        assert finding is not None, (night, s.platform, s.handle, s.found_by)
        assert finding["severity"] == "high" and finding["state"] in ("new", "open"), (night, finding)
        assert s.reason in finding["message"], (night, s.handle, finding["message"])
        if s.imitates == "display name":  # a random handle: the display name alone gave it away
            assert "display name copies" in finding["message"], finding["message"]


def _assert_nothing_legitimate_flagged(items: list[dict[str, Any]], night: int, today: Any) -> None:
    for s in legitimate(today):
        assert not _flags(items, s), (night, s.reason, s.handle, _flags(items, s))


def _seen(server: FakeServer, s: Stranger) -> bool:
    """Whether the auditor asked the platform something that answers with `s`'s account."""
    account = next(a for a in server.accounts.values() if a.id == s.account.id)
    for req in server.requests:
        if req.path.endswith(SEARCH_PATHS):
            limit = int(req.param("limit") or req.param("maxResults") or 25)
            hits = search_hits(
                server.accounts.values(), req.param("q") or "", limit, any_word=s.platform == "youtube"
            )
            if account in hits:
                return True
    return False


@pytest.fixture
def night(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start the story's platforms as they are on a given night, and point the CLI at them."""
    running: list[dict[str, FakeServer]] = []

    def start(n: int) -> dict[str, FakeServer]:
        for servers in running:
            for server in servers.values():
                server.stop()
        servers = start_platforms(datetime.now(UTC).date(), n)
        running.append(servers)
        for platform, url in platform_urls(servers).items():
            monkeypatch.setenv(f"AUDITOR_{platform.upper()}_BASE_URL", url)
        return servers

    yield start
    for servers in running:
        for server in servers.values():
            server.stop()


@pytest.mark.slow
def test_nightly_audits_find_every_planted_impostor_keep_watching_and_flag_nothing_legitimate(
    cli: Cli, tmp_path: Path, night: Any
) -> None:
    where = tmp_path / "demo"
    today = datetime.now(UTC).date()
    planted = impostors(today)
    reported = watched(today)
    assert {s.platform for s in planted} >= {"x", "instagram", "bluesky", "mastodon", "youtube"}
    assert {s.found_by for s in planted} == {"search", "probe", "watch"}
    assert {s.imitates for s in planted} == {"handle", "display name"}

    def as_admin(*args: str) -> Any:
        return cli.ok("--registry", str(where / "registry.db"), "--identity", "demo-admin", *args,
                      passfile=where / "passphrase")  # fmt: skip

    def nightly_audit() -> Any:
        result = cli(
            "--registry", str(where / "registry.db"), "--identity", "demo-nightly",
            "audit", "--as", "auditor", "--json", passfile=where / "nightly.passphrase",
        )  # fmt: skip
        assert result.exit_code == 3, result.output  # high findings: the impostors
        return result

    # Night 1: the demo itself. The parent's report is on the watchlist and was looked at.
    demo = cli.ok("demo", "--dir", str(where))
    assert (
        "Look-alike discovery" in demo.stdout and "X: " in demo.stdout and "1 watched handle" in demo.stdout
    )
    listed = json.loads(as_admin("watch", "list", "--json").stdout)["items"]
    assert [(w["platform"], w["handle"]) for w in listed] == [(reported.platform, reported.handle)]
    items = json.loads(as_admin("finding", "list", "--all", "--json").stdout)["items"]
    _assert_every_impostor_found(items, planted, 1)
    _assert_nothing_legitimate_flagged(items, 1, today)
    assert {f["state"] for f in items if f["subject"] == _subject(reported)} == {"new"}

    # Nights 2 and 3: the scheduled job, against the story's platforms as they are that night.
    for n in (2, WATCHED_GONE_ON):
        servers = night(n)
        result = nightly_audit()
        run = json.loads(result.stdout)
        items = run["items"]
        x = servers["x"]
        asked = {
            normalise_handle(h)
            for r in x.requests
            for h in [*(r.param("usernames") or "").split(","), r.path.rsplit("/", 1)[-1]]
        }
        assert normalise_handle(reported.handle) in asked, n  # looked at every night

        # What discovery spent, per platform, on stderr and in the JSON; within the budget.
        discovery = {d["platform"]: d for d in run["run"]["discovery"]}
        assert set(discovery) >= {"x", "instagram", "bluesky", "mastodon", "youtube"}
        assert all(
            d["probes"] <= d["probe_budget"] and d["searches"] <= d["search_budget"]
            for d in discovery.values()
        )
        assert discovery["x"]["watched"] == 1
        assert (
            f"Discovery: X: {discovery['x']['probes']} of {discovery['x']['probe_budget']} look-alike probes"
            in result.output
        )

        _assert_nothing_legitimate_flagged(items, n, today)
        for s in legitimate(today):  # ... although discovery saw every one of them
            assert _seen(servers[s.platform], s), (n, s.reason, s.handle)

        squat = next(f for f in items if f["subject"] == _subject(reported))
        if n < WATCHED_GONE_ON:
            _assert_every_impostor_found(items, planted, n)
            assert squat["state"] == "open", squat
            assert {f["state"] for f in items if f["subject"] in {_subject(s) for s in planted}} == {"open"}
        else:
            # Gone from X: the night it looked and found it gone, and only then, it resolves.
            _assert_every_impostor_found(items, [s for s in planted if s != reported], n)
            assert squat["state"] == "resolved", squat
            gone = next(f for f in items if f["subject"] == f"absent:x:{normalise_handle(reported.handle)}")
            assert (gone["severity"], gone["state"]) == ("info", "new")
            assert "watched handle does not exist" in gone["message"]

    history = json.loads(as_admin("audit", "history", "--json").stdout)["items"]
    assert [r["identity"] for r in history] == ["demo-nightly"] * 3
