"""The loopback fakes add the latency they are configured with, and no more.

Every connector test, the benchmarks and `auditor demo` talk to these fakes over keep-alive
connections with the real `requests` stack. A fake that wrote its headers and body in two small
sends on a socket with Nagle's algorithm on made every keep-alive request wait for the client's
delayed ACK (about 40 ms on Linux): a fake "with 100 ms latency" answered in ~140 ms, and the
benchmarks measured that stall instead of the connectors. These tests time sequential requests on
one connection and assert the median the user of a fake would see.
"""

from __future__ import annotations

import statistics
import time

import pytest
import requests

from connectors.fakes import FakeAccount, FakeServer, FakeX
from connectors.roster.fakes import FakeOneRoster

TOKEN = "latency-token"
REQUESTS = 50
# The stall these tests catch is the client's delayed ACK, about 40 ms a request; a busy 2-core CI
# machine adds a few ms of scheduling on its own (a 5 ms bound failed there at 5.0 ms), so the
# bound sits well between the two.
AT_ONCE = 0.02


def _median_seconds(session: requests.Session, url: str) -> float:
    """Median of REQUESTS sequential GETs on one keep-alive connection (after one warm-up)."""
    session.get(url, timeout=10).raise_for_status()
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        resp = session.get(url, timeout=10)
        times.append(time.perf_counter() - started)
        assert resp.status_code == 200
    return statistics.median(times)


def _platform_fake(latency: float) -> FakeServer:
    return FakeX([FakeAccount("district", id="42", name="District")], token=TOKEN, latency=latency)


def _lookup(session: requests.Session, fake: FakeServer) -> float:
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return _median_seconds(session, f"{fake.url}/2/users/by/username/district")


def test_platform_fake_without_latency_answers_keep_alive_requests_at_once() -> None:
    with _platform_fake(0.0) as fake, requests.Session() as session:
        median = _lookup(session, fake)
        # One connection served every request: the stall only showed on keep-alive reuse.
        assert len(fake.requests) == REQUESTS + 1
    assert median < AT_ONCE, f"median {median * 1000:.1f} ms over keep-alive with 0 ms configured"


@pytest.mark.parametrize("latency", [0.1])
def test_platform_fake_adds_the_configured_latency_not_a_stall_on_top(latency: float) -> None:
    with _platform_fake(latency) as fake, requests.Session() as session:
        median = _lookup(session, fake)
    assert latency <= median < latency + AT_ONCE, (
        f"median {median * 1000:.1f} ms with {latency * 1000:.0f} ms configured"
    )


def test_roster_fake_answers_keep_alive_requests_at_once() -> None:
    fake = FakeOneRoster()
    with fake, requests.Session() as session:
        token = session.post(
            fake.token_url,
            data={"grant_type": "client_credentials"},
            auth=(fake.client_id, fake.client_secret),
            timeout=10,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        median = _median_seconds(session, f"{fake.url}{fake.root}/orgs")
    assert median < AT_ONCE, f"median {median * 1000:.1f} ms over keep-alive from the roster fake"
