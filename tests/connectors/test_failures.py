"""Every platform, through the real requests stack: each way a lookup can fail is an UNKNOWN value
with a reason, never an exception and never "found"; rate limits are waited out as the headers say."""

from __future__ import annotations

import time

import pytest

from auditor.model.types import ProfileStatus
from connectors.fakes import FakeClock

from .helpers import CASES, TOKEN, connect, start

ALL = list(CASES)


@pytest.mark.parametrize("name", ALL)
def test_found_account_is_found_with_its_id_and_name(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        profile = connect(case, server).lookup(case.handle)
    assert profile.status is ProfileStatus.FOUND, profile.reason
    assert profile.platform_id
    assert profile.display_name == "Lincoln High School"
    assert profile.fetched_at is not None
    assert server.requests[0].header("User-Agent").startswith("district-social-auditor/")


@pytest.mark.parametrize("name", [n for n in ALL if CASES[n].needs_token])
def test_missing_token_is_unknown_without_any_request(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        profile = connect(case, server, token=None).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == "no credentials"
    assert server.requests == []


@pytest.mark.parametrize("name", [n for n in ALL if n != "bluesky"])
def test_rejected_token_is_unknown_and_never_echoed(name: str) -> None:
    case = CASES[name]
    kw = {"auth": True} if name == "mastodon" else {}
    with start(case, **kw) as server:
        connector = connect(case, server, token="wrong-" + TOKEN)
        profile = connector.lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason
    assert TOKEN not in profile.reason and "wrong-" not in profile.reason


@pytest.mark.parametrize("name", ALL)
def test_5xx_is_retried_then_unknown(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("status", status=503, body={"error": "unavailable"}, times=5)
        clock = FakeClock()
        profile = connect(case, server, retries=2, clock=clock).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == "HTTP 503 after 3 attempts"
    assert len(server.requests) == 3
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff between attempts


@pytest.mark.parametrize("name", ALL)
def test_one_5xx_then_success_is_found(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("status", status=502, body={}, times=1)
        profile = connect(case, server, retries=2, clock=FakeClock()).lookup(case.handle)
    assert profile.status is ProfileStatus.FOUND, profile.reason


@pytest.mark.parametrize("name", ["x", "mastodon", "bluesky", "facebook"])
def test_timeout_is_unknown(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("delay", seconds=0.6, times=3)
        started = time.monotonic()
        profile = connect(case, server, timeout=0.2, retries=1).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == "timed out after 0.2 s"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("name", ALL)
def test_truncated_json_is_unknown(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("truncated")
        profile = connect(case, server).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason.startswith("unparseable answer")


@pytest.mark.parametrize("name", ALL)
def test_html_error_page_is_unknown(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("html", status=403)
        profile = connect(case, server).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == "unparseable answer (HTML page, HTTP 403)"


@pytest.mark.parametrize("name", ["x", "bluesky", "mastodon", "youtube"])
def test_oversized_body_is_unknown(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("oversize", size=2 * 1024 * 1024)
        profile = connect(case, server, max_body_bytes=256 * 1024).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == f"response larger than {256 * 1024} bytes"


@pytest.mark.parametrize("name", ["x", "mastodon", "bluesky", "facebook", "instagram", "threads"])
def test_429_with_platform_headers_is_waited_out_then_found(name: str) -> None:
    case = CASES[name]
    clock = FakeClock()
    with start(case, clock=clock) as server:
        server.fail("rate_limit", seconds=90)
        profile = connect(case, server, clock=clock, budget_seconds=600).lookup(case.handle)
    assert profile.status is ProfileStatus.FOUND, profile.reason
    assert len(server.requests) == 2
    # X and Bluesky round the reset up to a whole second; Meta speaks in whole minutes.
    assert 89.9 <= sum(clock.sleeps) <= (121 if name in ("facebook", "instagram", "threads") else 91.1)


@pytest.mark.parametrize("name", ["x", "mastodon", "bluesky", "facebook"])
def test_429_past_the_budget_gives_up_without_waiting(name: str) -> None:
    case = CASES[name]
    clock = FakeClock()
    with start(case, clock=clock) as server:
        server.fail("rate_limit", seconds=900)
        profile = connect(case, server, clock=clock, budget_seconds=60).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == "rate-limited past the budget"
    assert clock.sleeps == []


def test_mastodon_429_waits_in_real_time_for_the_iso_reset() -> None:
    case = CASES["mastodon"]
    with start(case) as server:
        server.fail("rate_limit", seconds=0.8)
        started = time.monotonic()
        profile = connect(case, server).lookup(case.handle)
        elapsed = time.monotonic() - started
    assert profile.status is ProfileStatus.FOUND
    assert 0.7 <= elapsed < 2.0
    assert server.requests[0].path == server.requests[1].path


def test_dropped_connection_is_retried_then_unknown() -> None:
    case = CASES["x"]
    with start(case) as server:
        server.fail("disconnect", times=5)
        profile = connect(case, server, retries=1, clock=FakeClock()).lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason in ("connection failed", "truncated response")
    assert len(server.requests) == 2
