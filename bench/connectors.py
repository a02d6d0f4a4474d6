"""Benchmark: 1,000 profile checks over X, Bluesky and Mastodon at the product's default settings.

The fakes (connectors/fakes) run in a child process, so the CPU figures are the client's own: each
adds `--latency` (100 ms) per request and enforces the same fixed-window rate limit on every
platform (`--limit` requests per `--window` seconds, advertised in the platform's own headers: X
`x-rate-limit-*`, Bluesky `RateLimit-*`, Mastodon `X-RateLimit-*` with an ISO reset).

The product is timed as `auditor audit` calls it: each connector built with the product's default
settings (`ConnectorSettings`: concurrency, timeout, retries, budget; only the base URL points at
the fake), the platforms one after another, each through the audit service's `_lookup_all` (slices
of batch x concurrency handles to `lookup_many`). X uses its batch endpoint (100 per call), Bluesky
`getProfiles` (25 per call), Mastodon its single lookup.

Two baselines, each a competent user's loop: one `requests.Session` per platform, sequential,
reusing its connection, reading the rate-limit headers and sleeping to the reset when the window is
spent or on a 429. "batched" uses the same batch endpoints as the connectors (the fair baseline the
target is measured against); "per handle" makes one request per handle (what most scripts do).

The rate-limit/latency bound is the least time any client could take within the limits: each host
served independently (so platforms in parallel), at most `concurrency` requests in flight, each
taking the latency, at most `limit` per window, starting on a window boundary. The product runs the
platforms one after another, so the bound of that design (the sum over platforms) is printed too.

Targets (issue 17): within 1.3x of the bound and at least 3x the fair (batched) loop. Run:
`python bench/connectors.py` (about 1 minute; `--per-handle` adds the ~100 s per-handle loop).
Exit 1 if a target is missed. The figures depend on the machine's load, printed first.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform as pyplatform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `connectors` package it benchmarks.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import requests

from auditor.model.types import ProfileStatus, Secret
from auditor.services.audit import _lookup_all
from connectors.base import Connector, ConnectorSettings
from connectors.fakes import FakeAccount, FakeBluesky, FakeMastodon, FakeServer, FakeX
from connectors.http import parse_iso_instant
from connectors.platforms.bluesky import BlueskyConnector
from connectors.platforms.mastodon import MastodonConnector
from connectors.platforms.x import XConnector

TOKEN = "bench-token"  # noqa: S105 - the fake server's made-up token
INSTANCE = "k12.social"


def machine() -> str:
    """CPU model, cores and the load averages, for reading the figures."""
    model = pyplatform.processor() or pyplatform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model
            )
    except OSError:
        pass
    one, five, fifteen = os.getloadavg()
    return f"{model}, {os.cpu_count()} cores, load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def split(total: int) -> dict[str, list[str]]:
    """The handles each platform checks (a third each)."""
    n_x = total // 3 + total % 3
    n_other = total // 3
    return {
        "x": [f"school{i}" for i in range(n_x)],
        "bluesky": [f"school{i}.bsky.social" for i in range(n_other)],
        "mastodon": [f"school{i}@{INSTANCE}" for i in range(n_other)],
    }


# --------------------------------------------------------------------------------------------------
# The fakes, in a child process


def serve(conn: Connection, total: int, latency: float, limit: int, window: float) -> None:
    """Runs the three fakes until told to stop; answers "count" with (requests, throttled) each."""
    handles = split(total)
    servers: dict[str, FakeServer] = {
        "x": FakeX(
            [FakeAccount(h, id=str(10_000 + i), name=f"School {i}") for i, h in enumerate(handles["x"])],
            token=TOKEN, latency=latency, rate_limit=(limit, window),
        ),
        "bluesky": FakeBluesky(
            [FakeAccount(h, name=f"School {i}") for i, h in enumerate(handles["bluesky"])],
            latency=latency, rate_limit=(limit, window),
        ),
        "mastodon": FakeMastodon(
            [FakeAccount(h, name=f"School {i}") for i, h in enumerate(handles["mastodon"])],
            latency=latency, rate_limit=(limit, window),
        ),
    }  # fmt: skip
    for server in servers.values():
        server.start()
    conn.send({name: server.url for name, server in servers.items()})
    try:
        while (command := conn.recv()) != "stop":
            if command == "count":
                conn.send({n: (len(s.requests), s.throttled) for n, s in servers.items()})
                for s in servers.values():
                    s.requests.clear()
                    s.throttled = 0
    finally:
        for server in servers.values():
            server.stop()


# --------------------------------------------------------------------------------------------------
# What is timed


@dataclass
class Leg:
    name: str
    connector: type[Connector]
    handles: list[str]
    batch: int
    base: str = ""

    def requests_needed(self, batched: bool = True) -> int:
        return math.ceil(len(self.handles) / (self.batch if batched else 1))


@dataclass
class Timing:
    wall: float
    cpu: float
    found: int
    per_leg: dict[str, float]


def bound_seconds(needed: int, *, concurrency: int, latency: float, limit: int, window: float) -> float:
    """Fastest possible finish of `needed` requests to one host: at most `limit` per window, at most
    `concurrency` in flight, each taking `latency`, starting at a window boundary."""
    if needed == 0:
        return 0.0
    per_window = max(1, min(limit, int(concurrency * window / latency)))
    full = math.ceil(needed / per_window) - 1
    rest = needed - full * per_window
    return full * window + math.ceil(rest / concurrency) * latency


def wait_for_window_start(window: float) -> None:
    now = time.time()
    time.sleep(math.ceil(now / window) * window - now + 0.001)


def timed(window: float, legs: list[Leg], run: Callable[[Leg], int]) -> Timing:
    """The legs one after another, from a window boundary; wall and process CPU time."""
    wait_for_window_start(window)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    found = 0
    per_leg: dict[str, float] = {}
    for leg in legs:
        started = time.perf_counter()
        found += run(leg)
        per_leg[leg.name] = time.perf_counter() - started
    return Timing(time.perf_counter() - wall0, time.process_time() - cpu0, found, per_leg)


def run_product(urls: dict[str, str]) -> Callable[[Leg], int]:
    def run(leg: Leg) -> int:
        # The product's defaults for this platform; only the base URL points at the fake.
        settings = ConnectorSettings.load(
            leg.connector.platform,
            leg.connector.default_settings,
            {"base_url": urls[leg.name] + leg.base},
            env={},
        )
        with leg.connector(settings, Secret(TOKEN)) as connector:
            seen = _lookup_all(connector, leg.handles, leg.connector.platform.label, None)
        return sum(1 for p in seen.values() if p.status is ProfileStatus.FOUND)

    return run


def run_naive(urls: dict[str, str], batched: bool) -> Callable[[Leg], int]:
    """A competent user's loop: one Session per platform, sequential, honouring the rate limit."""

    def epoch(value: str | None) -> float:
        return float(value or 0)

    def iso(value: str | None) -> float:
        return parse_iso_instant(value) or 0.0

    def run(leg: Leg) -> int:
        found = 0
        size = leg.batch if batched else 1
        with requests.Session() as session:
            for i in range(0, len(leg.handles), size):
                chunk = leg.handles[i : i + size]
                while True:
                    if leg.name == "x":
                        if batched:
                            url, params = f"{urls['x']}/2/users/by", {"usernames": ",".join(chunk)}
                        else:
                            url, params = f"{urls['x']}/2/users/by/username/{chunk[0]}", {}
                        resp = session.get(url, params=params, headers={"Authorization": f"Bearer {TOKEN}"},
                                           timeout=10)  # fmt: skip
                        remaining, reset_key, reset_of = (
                            resp.headers.get("x-rate-limit-remaining"),
                            "x-rate-limit-reset",
                            epoch,
                        )
                    elif leg.name == "bluesky":
                        path, key = ("getProfiles", "actors") if batched else ("getProfile", "actor")
                        resp = session.get(f"{urls['bluesky']}/xrpc/app.bsky.actor.{path}",
                                           params={key: chunk if batched else chunk[0]}, timeout=10)  # fmt: skip
                        remaining, reset_key, reset_of = (
                            resp.headers.get("RateLimit-Remaining"),
                            "RateLimit-Reset",
                            epoch,
                        )
                    else:
                        user = chunk[0].partition("@")[0]
                        resp = session.get(f"{urls['mastodon']}/_i/{INSTANCE}/api/v1/accounts/lookup",
                                           params={"acct": user}, timeout=10)  # fmt: skip
                        remaining, reset_key, reset_of = (
                            resp.headers.get("X-RateLimit-Remaining"),
                            "X-RateLimit-Reset",
                            iso,
                        )
                    reset = reset_of(resp.headers.get(reset_key))
                    if resp.status_code == 429:
                        time.sleep(max(0.01, reset - time.time()))
                        continue
                    if remaining == "0":
                        time.sleep(max(0.0, reset - time.time()))
                    break
                if resp.status_code == 200:
                    data: Any = resp.json()
                    if leg.name == "x":
                        found += len(data.get("data") or [])
                    elif leg.name == "bluesky":
                        found += len(data.get("profiles") or []) if batched else 1
                    else:
                        found += 1
        return found

    return run


# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each fake adds per request")
    parser.add_argument(
        "--limit", type=int, default=100, help="requests per window, the same on every platform"
    )
    parser.add_argument("--window", type=float, default=1.0, help="rate-limit window in seconds")
    parser.add_argument("--per-handle", action="store_true", help="also time the one-request-per-handle loop")
    args = parser.parse_args(argv)

    print(f"machine: {machine()}")
    handles = split(args.handles)
    legs = [
        Leg("x", XConnector, handles["x"], XConnector.batch_size),
        Leg("bluesky", BlueskyConnector, handles["bluesky"], BlueskyConnector.batch_size),
        Leg(
            "mastodon", MastodonConnector, handles["mastodon"], MastodonConnector.batch_size, "/_i/{instance}"
        ),
    ]
    defaults = {leg.name: leg.connector.default_settings for leg in legs}
    concurrency = {name: s.max_concurrency for name, s in defaults.items()}
    s = defaults["x"]
    print(f"product defaults: max_concurrency {sorted(set(concurrency.values()))} per host, timeout {s.timeout:g} s, "
          f"retries {s.retries}, budget {s.budget_seconds} s; platforms checked one after another")  # fmt: skip
    print(f"fakes: latency {args.latency * 1000:.0f} ms, limit {args.limit} per {args.window:g} s on every platform, "
          "in a child process (CPU below is the client's)")  # fmt: skip

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=serve, args=(child, args.handles, args.latency, args.limit, args.window), daemon=True
    )
    proc.start()
    try:
        urls: dict[str, str] = parent.recv()
        runs: list[tuple[str, Timing, dict[str, tuple[int, int]]]] = []
        for label, run in [
            ("product (audit path)", run_product(urls)),
            ("naive loop, batched", run_naive(urls, batched=True)),
            *([("naive loop, per handle", run_naive(urls, batched=False))] if args.per_handle else []),
        ]:
            timing = timed(args.window, legs, run)
            parent.send("count")
            runs.append((label, timing, parent.recv()))
        parent.send("stop")
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()

    def bound_of(leg: Leg) -> float:
        return bound_seconds(leg.requests_needed(), concurrency=concurrency[leg.name], latency=args.latency,
                             limit=args.limit, window=args.window)  # fmt: skip

    bound = max(bound_of(leg) for leg in legs)
    bound_sequential = sum(bound_of(leg) for leg in legs)
    total = args.handles
    print()
    print(
        f"{'':26}{'checks/s':>10}{'wall s':>9}{'CPU s':>8}  {'x':>6}{'bluesky':>8}{'mastodon':>9}  requests (429s)"
    )
    for label, t, counts in runs:
        legs_s = "".join(f"{t.per_leg[leg.name]:{w}.2f}" for leg, w in zip(legs, (6, 8, 9), strict=True))
        reqs = ", ".join(f"{n} {c[0]}" + (f" ({c[1]})" if c[1] else "") for n, c in counts.items())
        print(
            f"{label:26}{total / t.wall:10.1f}{t.wall:9.2f}{t.cpu:8.2f}  {legs_s}  {reqs}  found {t.found}/{total}"
        )
    print(f"{'bound (hosts in parallel)':26}{total / bound:10.1f}{bound:9.2f}")
    print(f"{'bound (one after another)':26}{total / bound_sequential:10.1f}{bound_sequential:9.2f}")
    for leg in legs:
        print(f"  {leg.name:9} {len(leg.handles):4} handles, {leg.requests_needed():4} requests batched "
              f"({leg.batch}/call), concurrency {concurrency[leg.name]}, bound {bound_of(leg):.2f} s")  # fmt: skip

    product = runs[0][1]
    fair = runs[1][1]
    within = product.wall / bound
    speedup = fair.wall / product.wall
    ok_bound, ok_speed = within <= 1.3, speedup >= 3
    print()
    print(f"product / bound = {within:.2f}x (target <= 1.3x): {'met' if ok_bound else 'MISSED'}"
          f"  [{product.wall / bound_sequential:.2f}x the one-after-another bound]")  # fmt: skip
    print(
        f"speed-up over the batched naive loop = {speedup:.1f}x (target >= 3x): {'met' if ok_speed else 'MISSED'}"
    )
    if len(runs) > 2:
        print(f"speed-up over the per-handle naive loop = {runs[2][1].wall / product.wall:.1f}x")
    complete = product.found == total
    if not complete:
        print(f"the product found {product.found} of {total} accounts: MISSED")
    print(f"machine after: {machine()}")
    return 0 if ok_bound and ok_speed and complete else 1


if __name__ == "__main__":
    sys.exit(main())
