"""Benchmark: 1,000 profile checks over X, Bluesky and Mastodon against rate-limited loopback fakes.

Each fake adds 100 ms of latency per request and enforces a fixed-window rate limit that it
advertises in the platform's own headers (X `x-rate-limit-*`, Bluesky `RateLimit-*`, Mastodon
`X-RateLimit-*` with an ISO reset). The connectors use the X batch endpoint (100 per call), Bluesky
`getProfiles` (25 per call) and Mastodon's single lookup. The script prints checks per second next
to the ideal bound those limits and that latency allow (with at most `--concurrency` requests in
flight per host, the politeness cap the connectors use), and next to a 20-thread loop making one
request per handle against the same servers. Targets (issue 4): within 1.3x of the bound and at
least 3x the naive loop. Run: `python bench/connectors.py` (about 20 s). Exit 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `connectors` package it benchmarks.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import requests

from auditor.model.types import Profile, ProfileStatus, Secret
from connectors.base import Connector, ConnectorSettings
from connectors.fakes import FakeAccount, FakeBluesky, FakeMastodon, FakeServer, FakeX
from connectors.http import parse_iso_instant
from connectors.platforms.bluesky import BlueskyConnector
from connectors.platforms.mastodon import MastodonConnector
from connectors.platforms.x import XConnector

TOKEN = "bench-token"  # noqa: S105 - the fake server's made-up token
LATENCY = 0.1


@dataclass
class Leg:
    name: str
    server: FakeServer
    connector: type[Connector]
    handles: list[str]
    batch: int
    limit: int
    window: float
    base: str = ""

    def requests_needed(self) -> int:
        return math.ceil(len(self.handles) / self.batch)

    def ideal_seconds(self, concurrency: int) -> float:
        """Fastest possible finish: at most `limit` requests per window, at most `concurrency` in
        flight, each taking LATENCY, starting at a window boundary."""
        needed = self.requests_needed()
        per_window = min(self.limit, int(concurrency * self.window / LATENCY))
        full = math.ceil(needed / per_window) - 1
        rest = needed - full * per_window
        return full * self.window + math.ceil(rest / concurrency) * LATENCY


def build(total: int, x_limit: int, other_limit: int) -> list[Leg]:
    n_x = total // 3 + total % 3
    n_other = total // 3
    x_accounts = [FakeAccount(f"school{i}", id=str(10_000 + i), name=f"School {i}") for i in range(n_x)]
    bsky_accounts = [FakeAccount(f"school{i}.bsky.social", name=f"School {i}") for i in range(n_other)]
    masto_accounts = [FakeAccount(f"school{i}@k12.social", name=f"School {i}") for i in range(n_other)]
    window = 1.0
    x = FakeX(x_accounts, token=TOKEN, latency=LATENCY, rate_limit=(x_limit, window))
    bsky = FakeBluesky(bsky_accounts, latency=LATENCY, rate_limit=(other_limit, window))
    masto = FakeMastodon(masto_accounts, latency=LATENCY, rate_limit=(other_limit, window))
    return [
        Leg("x", x, XConnector, [a.handle for a in x_accounts], 100, x_limit, window),
        Leg("bluesky", bsky, BlueskyConnector, [a.handle for a in bsky_accounts], 25, other_limit, window),
        Leg("mastodon", masto, MastodonConnector, [f"{a.handle}@k12.social" for a in masto_accounts], 1,
            other_limit, window, "/_i/{instance}"),
    ]  # fmt: skip


def wait_for_window_start(window: float) -> None:
    now = time.time()
    time.sleep(math.ceil(now / window) * window - now + 0.001)


def run_connectors(legs: list[Leg], concurrency: int) -> tuple[float, int]:
    results: dict[str, dict[str, Profile]] = {}

    def run(leg: Leg) -> None:
        settings = ConnectorSettings(
            base_url=leg.server.url + leg.base, timeout=10, budget_seconds=120, max_concurrency=concurrency
        )
        with leg.connector(settings, Secret(TOKEN)) as connector:
            results[leg.name] = dict(connector.lookup_many(leg.handles))

    wait_for_window_start(legs[0].window)
    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(leg,)) for leg in legs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    found = sum(1 for r in results.values() for p in r.values() if p.status is ProfileStatus.FOUND)
    return elapsed, found


def run_naive(legs: list[Leg], threads: int = 20) -> tuple[float, int]:
    """One request per handle from a 20-thread pool; waits for the advertised reset on a 429."""
    local = threading.local()
    jobs: list[tuple[str, str]] = []
    for i in range(max(len(leg.handles) for leg in legs)):
        jobs += [(leg.name, leg.handles[i]) for leg in legs if i < len(leg.handles)]
    urls = {leg.name: leg.server.url for leg in legs}

    def one(job: tuple[str, str]) -> bool:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        platform, handle = job
        while True:
            if platform == "x":
                resp = session.get(f"{urls['x']}/2/users/by/username/{handle}",
                                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)  # fmt: skip
                reset = float(resp.headers.get("x-rate-limit-reset") or 0)
            elif platform == "bluesky":
                resp = session.get(f"{urls['bluesky']}/xrpc/app.bsky.actor.getProfile", params={"actor": handle},
                                   timeout=10)  # fmt: skip
                reset = float(resp.headers.get("RateLimit-Reset") or 0)
            else:
                user, _, instance = handle.partition("@")
                resp = session.get(f"{urls['mastodon']}/_i/{instance}/api/v1/accounts/lookup", params={"acct": user},
                                   timeout=10)  # fmt: skip
                reset = parse_iso_instant(resp.headers.get("X-RateLimit-Reset")) or 0
            if resp.status_code != 429:
                return resp.status_code == 200 and "errors" not in resp.json()
            time.sleep(max(0.05, reset - time.time()))

    wait_for_window_start(legs[0].window)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = sum(pool.map(one, jobs))
    return time.perf_counter() - started, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handles", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight per host")
    parser.add_argument("--x-limit", type=int, default=25, help="X requests per 1 s window")
    parser.add_argument("--limit", type=int, default=100, help="Bluesky/Mastodon requests per 1 s window")
    args = parser.parse_args(argv)

    legs = build(args.handles, args.x_limit, args.limit)
    for leg in legs:
        leg.server.start()
    try:
        elapsed, found = run_connectors(legs, args.concurrency)
        for leg in legs:
            leg.server.requests.clear()
        naive_elapsed, naive_found = run_naive(legs)
    finally:
        for leg in legs:
            leg.server.stop()

    total = args.handles
    ideal = max(leg.ideal_seconds(args.concurrency) for leg in legs)
    rate, bound, naive = total / elapsed, total / ideal, total / naive_elapsed
    print(f"{'':28}{'checks/s':>10}{'seconds':>10}")
    print(f"{'connectors (batched)':28}{rate:10.1f}{elapsed:10.2f}   found {found}/{total}")
    print(f"{'ideal bound':28}{bound:10.1f}{ideal:10.2f}")
    print(f"{'naive 20-thread loop':28}{naive:10.1f}{naive_elapsed:10.2f}   found {naive_found}/{total}")
    for leg in legs:
        print(f"  {leg.name:9} {len(leg.handles):4} handles, {leg.requests_needed():4} requests, "
              f"limit {leg.limit}/{leg.window:g}s, bound {leg.ideal_seconds(args.concurrency):.2f}s")  # fmt: skip
    within = bound / rate
    speedup = rate / naive
    ok = within <= 1.3 and speedup >= 3 and found == total
    print(f"bound/measured = {within:.2f} (target <= 1.3); speedup over naive = {speedup:.1f}x (target >= 3)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
