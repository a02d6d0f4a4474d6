"""The loopback fake-server machinery shared by every platform fake.

`FakeServer` runs a stdlib `ThreadingHTTPServer` on 127.0.0.1 (port 0), records every request it
receives (`RecordedRequest`: method, path, query, headers) so tests can assert exactly what a
connector sent, adds optional latency, enforces an optional rate limit in fixed windows (advertised
in the platform's own headers by the subclass), and plays injected `Fault`s: an HTTP status with a
body, truncated JSON, an HTML error page, an oversized body, a delay, a rate-limit answer, a
dropped connection, or a slow drip (one byte every `seconds`, in the headers or in the body: each
byte arrives well inside any read timeout, so only a whole-request deadline ends it). Subclasses (fakes/platforms.py) answer the platform's real request and response
shapes from an in-memory dataset of `FakeAccount`s. `FakeClock` is an injectable clock whose
`sleep` advances time instantly; share it between a server and a connector to test waits fast.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from auditor.model.types import normalise_handle
from connectors.http import Clock, SystemClock

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p></body></html>\n"
)


class FakeClock:
    """A clock whose sleep advances time at once. Thread-safe; records every sleep."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return self.now()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass
class FakeAccount:
    """One account in a fake platform's dataset. `status`: found, suspended, deactivated, protected
    (X `protected`, Bluesky `!no-unauthenticated`; on Mastodon `locked`, which stays visible),
    restricted (Facebook), personal (Instagram: exists but not business/creator), handle_invalid
    (Bluesky: the domain handle no longer verifies). `followers` below 0: Mastodon hides the counts."""

    handle: str
    status: str = "found"
    id: str = ""
    name: str = ""
    bio: str = ""
    website: str = ""
    followers: int = 1200
    created_at: str = "2019-08-01T12:00:00.000Z"
    last_post_at: str = ""
    verified: bool = False
    verified_kind: str = ""
    instance: str = ""  # Mastodon home instance
    # In the platform's search index: a new account is not there for a while (and a search ranks and
    # cuts its results), so only exact lookup finds it. Lookups answer either way.
    searchable: bool = True
    links: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # raw keys merged into the rendered object

    @property
    def key(self) -> str:
        return normalise_handle(self.handle)


@dataclass
class Fault:
    """A misbehaviour played on the next `times` requests whose path contains `path`."""

    kind: str  # status | truncated | html | oversize | delay | rate_limit | disconnect | drip
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # delay, or seconds until the rate-limit reset
    times: int = 1
    path: str = ""
    size: int = 0  # oversize: bytes to send
    phase: str = "body"  # drip: "headers" (a header line never ends) or "body" (headers sent at once)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


class FakeServer:
    """Base of the platform fakes. Use as a context manager, or call start()/stop()."""

    platform = "generic"

    def __init__(
        self,
        accounts: Iterable[FakeAccount] = (),
        *,
        token: str = "test-token",  # noqa: S107 - the fake accepts this made-up token
        latency: float = 0.0,
        rate_limit: tuple[int, float] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        for account in accounts:
            self.add(account)
        self.token = token
        self.latency = latency
        self.rate_limit = rate_limit  # (requests, window seconds), windows aligned on the epoch
        self.clock: Clock = clock or SystemClock()
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.throttled = 0
        self._lock = threading.Lock()
        self._window: tuple[float, int] = (0.0, 0)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- dataset and faults ----------------------------------------------------------------------

    def add(self, account: FakeAccount) -> FakeAccount:
        if not account.id:
            account.id = str(1000 + len(self.accounts))
        self.accounts[self.account_key(account)] = account
        return account

    def account_key(self, account: FakeAccount) -> str:
        return account.key

    def find(self, handle: str) -> FakeAccount | None:
        return self.accounts.get(normalise_handle(handle))

    def find_id(self, account_id: str) -> FakeAccount | None:
        return next((a for a in self.accounts.values() if a.id == account_id), None)

    def fail(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY on each accepted socket: the headers and the body go out in two sends, and
            # with Nagle's algorithm on, the body waited for the client's delayed ACK of the headers
            # (~40 ms on Linux) on every keep-alive request, on top of the configured latency.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True, name=self.platform
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what subclasses provide -----------------------------------------------------------------

    def route(self, req: RecordedRequest) -> Reply:
        return Reply(404, {"error": "no such endpoint"})

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        """The platform's rate-limit headers for a window ending at epoch `reset`."""
        return {}

    def throttled_reply(self, limit: int, reset: float) -> Reply:
        return Reply(429, {"error": "Too many requests"}, self.rate_headers(limit, 0, reset))

    # -- serving ---------------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path in path:
                    fault.times -= 1
                    return fault
        return None

    def _count(self) -> tuple[bool, dict[str, str], int, float]:
        """Count this request against the window; (allowed, headers, limit, reset)."""
        if self.rate_limit is None:
            return True, {}, 0, 0.0
        limit, window = self.rate_limit
        now = self.clock.now()
        start = math.floor(now / window) * window
        reset = start + window
        with self._lock:
            if self._window[0] != start:
                self._window = (start, 0)
            used = self._window[1]
            if used >= limit:
                self.throttled += 1
                return False, {}, limit, reset
            self._window = (start, used + 1)
        return True, self.rate_headers(limit, limit - used - 1, reset), limit, reset

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        req = RecordedRequest(
            handler.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(req)
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(parts.path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None:
            self._play(handler, fault)
            return
        allowed, headers, limit, reset = self._count()
        if not allowed:
            self._send(handler, self.throttled_reply(limit, reset))
            return
        reply = self.route(req)
        reply.headers = {**headers, **reply.headers}
        self._send(handler, reply)

    def _play(self, handler: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.kind == "disconnect":
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.close()
            return
        if fault.kind == "drip":
            self._drip(handler, fault)
            return
        if fault.kind == "rate_limit":
            reset = self.clock.now() + fault.seconds
            reply = self.throttled_reply(100, reset)
            reply.headers.update(fault.headers)
            self._send(handler, reply)
            return
        if fault.kind == "html":
            self._send(
                handler, Reply(fault.status, HTML_ERROR_PAGE, fault.headers, "text/html; charset=utf-8")
            )
            return
        if fault.kind == "truncated":
            text = json.dumps(
                fault.body if fault.body is not None else {"data": {"id": "1", "name": "x" * 40}}
            )
            self._send(handler, Reply(200, text[: len(text) // 2].encode(), fault.headers))
            return
        if fault.kind == "oversize":
            # No Content-Length: the client must stop reading at its cap, not trust a header.
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.close_connection = True
            chunk = b" " * 65536
            try:
                handler.wfile.write(b'{"data": "')
                for _ in range(max(1, (fault.size or 5 * 1024 * 1024) // len(chunk))):
                    handler.wfile.write(chunk)
                handler.wfile.write(b'"}')
            except OSError:
                pass  # the client hung up once it had enough: that is the point
            return
        self._send(handler, Reply(fault.status, fault.body if fault.body is not None else {}, fault.headers))

    def _drip(self, handler: BaseHTTPRequestHandler, fault: Fault) -> None:
        """One byte every `fault.seconds` until the client hangs up (or ten minutes pass)."""
        handler.close_connection = True
        interval = fault.seconds or 1.0
        try:
            if fault.phase == "headers":
                handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            else:
                handler.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
                )
            handler.wfile.flush()
            ends = time.monotonic() + 600
            while self._server is not None and time.monotonic() < ends:
                time.sleep(interval)
                handler.wfile.write(b"a" if fault.phase == "headers" else b" ")
                handler.wfile.flush()
        except OSError:
            pass  # the client gave up: that is the point

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        data = reply.encoded()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True

    # -- helpers for subclasses ------------------------------------------------------------------

    def bearer_ok(self, req: RecordedRequest) -> bool:
        return req.header("Authorization") == f"Bearer {self.token}"


def only(fields: Mapping[str, Any], wanted: Iterable[str] | None) -> dict[str, Any]:
    """The keys a `fields=` parameter asked for (None: all)."""
    if wanted is None:
        return dict(fields)
    keep = set(wanted)
    return {k: v for k, v in fields.items() if k in keep}
