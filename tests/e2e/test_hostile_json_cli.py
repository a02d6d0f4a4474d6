"""A platform answering hostile JSON (issue 11: "deeply nested or wrongly typed platform JSON crashes
the whole audit with a traceback and stores no run"): through `auditor audit`, that platform's
accounts are profile.unknown with the reason, the other platform is still read, the run is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.fakes import FakeBluesky, FakeX
from connectors.fakes.server import RecordedRequest, Reply
from tests.e2e.conftest import Cli
from tests.e2e.test_audit_cli import BLUESKY_ACCOUNTS, X_ACCOUNTS, _district

DEEP = b"[" * 100_000 + b"]" * 100_000
X_HANDLES = {"@naperville203", "@nnhs_athletics", "@nchs_theatre"}
BSKY_HANDLES = {"nchsband.bsky.social"}

HOSTILE: dict[str, dict[str, Any]] = {
    "x": {
        "nested 100,000 deep": DEEP,
        "data is a string": {"data": "naperville203"},
        "a username is a number": {"data": [{"id": "1001", "username": 203, "name": "Naperville 203"}]},
        "a list for the answer": [{"data": []}],
    },
    "bluesky": {
        "nested 100,000 deep": DEEP,
        "profiles is an object": {"profiles": {"did": "did:plc:x"}},
        "a handle is a number": {"profiles": [{"did": "did:plc:x", "handle": 5}]},
        "a list for the answer": [{"profiles": []}],
    },
}
CASES = [(platform, hostile) for platform, bodies in HOSTILE.items() for hostile in bodies]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeX, FakeBluesky]]:
    x, bsky = FakeX(X_ACCOUNTS, token="test-token"), FakeBluesky(BLUESKY_ACCOUNTS)
    with x, bsky:
        monkeypatch.setenv("AUDITOR_X_BASE_URL", x.url)
        monkeypatch.setenv("AUDITOR_BLUESKY_BASE_URL", bsky.url)
        monkeypatch.setenv("AUDITOR_X_RETRIES", "0")
        yield x, bsky


def _answer(server: Any, body: Any) -> None:
    def route(req: RecordedRequest) -> Reply:
        return Reply(200, body if isinstance(body, bytes) else json.dumps(body).encode())

    server.route = route


@pytest.mark.parametrize(("platform", "hostile"), CASES)
def test_hostile_json_makes_that_platform_unknown_and_the_run_is_stored(
    cli: Cli, fakes: tuple[FakeX, FakeBluesky], platform: str, hostile: str
) -> None:
    x, bsky = fakes
    _district(cli)
    _answer(x if platform == "x" else bsky, HOSTILE[platform][hostile])
    result = cli("audit", "--json")
    assert result.exit_code == 3, result.output  # the district's escrow and owner findings still count
    assert "Traceback" not in result.output
    run = json.loads(result.stdout)["run"]
    listed = json.loads(cli.ok("finding", "list", "--json", "--check", "profile").output)["items"]
    unknown = {f["message"].split()[2]: f["message"] for f in listed if f["check_id"] == "profile.unknown"}
    hit, spared = (X_HANDLES, BSKY_HANDLES) if platform == "x" else (BSKY_HANDLES, X_HANDLES)
    assert set(unknown) == hit
    assert all("the platform answered in an unexpected shape" in m for m in unknown.values()), unknown
    assert run["profiles_unknown"] == len(hit) and not spared & set(unknown)
    [stored] = json.loads(cli.ok("audit", "history", "--json").output)["items"]
    assert stored["id"] == run["id"]
