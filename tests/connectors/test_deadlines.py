"""Whole-request deadlines through the real requests stack: a loopback server that sends one byte at
a time (each well inside any read timeout) in the headers, the body or the TLS handshake must not
hold a lookup past its deadline, and a budget caps a single slow request too."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from auditor.model.types import ProfileStatus
from connectors.http import RUN_DEADLINE_REASON, Budget, HttpClient, TimeoutFailure

from .helpers import CASES, connect, start

ALL = list(CASES)


@pytest.mark.parametrize("phase", ["headers", "body"])
@pytest.mark.parametrize("name", ALL)
def test_a_server_dripping_bytes_times_out_at_the_deadline(name: str, phase: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("drip", seconds=0.2, phase=phase, times=5)
        started = time.monotonic()
        profile = connect(case, server, timeout=1.0, retries=0).lookup(case.handle)
        elapsed = time.monotonic() - started
    assert profile.status is ProfileStatus.UNKNOWN
    assert profile.reason == "timed out after 1 s"
    assert elapsed < 5.0  # the drip alone would go on for ten minutes


def test_each_retry_has_its_own_deadline_and_the_lookup_still_ends() -> None:
    case = CASES["x"]
    with start(case) as server:
        server.fail("drip", seconds=0.2, times=5)
        started = time.monotonic()
        profile = connect(case, server, timeout=0.8, retries=1).lookup(case.handle)
        elapsed = time.monotonic() - started
    assert profile.reason == "timed out after 0.8 s"
    assert len(server.requests) == 2
    assert elapsed < 6.0


def test_the_connection_is_usable_again_after_a_timed_out_attempt() -> None:
    case = CASES["bluesky"]
    with start(case) as server:
        server.fail("drip", seconds=0.2, phase="body", times=1)
        connector = connect(case, server, timeout=1.0, retries=0)
        first = connector.lookup(case.handle)
        second = connector.lookup(case.handle)
    assert first.reason == "timed out after 1 s"
    assert second.status is ProfileStatus.FOUND, second.reason


@pytest.mark.parametrize("name", ["x", "mastodon", "youtube"])
def test_the_budget_caps_a_single_slow_request(name: str) -> None:
    case = CASES[name]
    with start(case) as server:
        server.fail("drip", seconds=0.2, times=50)
        started = time.monotonic()
        connector = connect(case, server, timeout=60.0, retries=2, budget_seconds=1.5)
        profile = connector.lookup(case.handle)
        elapsed = time.monotonic() - started
        asked = len(server.requests)
        again = connector.lookup(case.handle)
    assert profile.status is ProfileStatus.UNKNOWN and profile.reason == "run budget exhausted"
    assert elapsed < 6.0  # not 60 s per attempt, not three attempts
    assert again.reason == "run budget exhausted" and len(server.requests) == asked  # nothing more sent


def test_an_enclosing_run_deadline_cuts_the_request_short_with_its_own_reason() -> None:
    case = CASES["x"]
    with start(case) as server:
        server.fail("drip", seconds=0.2, times=50)
        run = Budget(1.5, reason=RUN_DEADLINE_REASON)
        connector = connect(case, server, timeout=60.0, budget_seconds=600).within(run)
        started = time.monotonic()
        profiles = connector.lookup_many(["lincolnhs", "other_school"])
        elapsed = time.monotonic() - started
    assert {p.reason for p in profiles.values()} == {"not checked: the run's deadline passed"}
    assert elapsed < 6.0


@pytest.fixture
def tls_dripper() -> Iterator[int]:
    """A TCP server that answers a TLS ClientHello with a record header, then one byte at a time."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"\x16\x03\x03\x01\x00")  # a 256-byte handshake record follows...
                for _ in range(256):
                    if stop.wait(0.2):
                        return
                    conn.sendall(b"\x00")
            except OSError:
                pass

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_a_tls_handshake_dripped_a_byte_at_a_time_times_out(tls_dripper: int) -> None:
    client = HttpClient("x", base_url=f"https://127.0.0.1:{tls_dripper}", timeout=1.0, retries=0)
    started = time.monotonic()
    with client, pytest.raises(TimeoutFailure) as caught:
        client.get("/2/users/by")
    assert caught.value.reason == "timed out after 1 s"
    assert time.monotonic() - started < 5.0
