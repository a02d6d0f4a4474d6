"""The shared HTTP layer every platform and roster connector talks through.

One `HttpClient` per connector holds one pooled `requests.Session` per host, a timeout on every
call, retries with exponential backoff on 5xx and connection errors, rate limits honoured from the
platform's own headers (see docs/platform-apis.md §10: X `x-rate-limit-*` epoch seconds, Mastodon
`X-RateLimit-Reset` ISO 8601, Bluesky `RateLimit-*` + `RateLimit-Policy`, Meta `X-App-Usage` /
`X-Business-Use-Case-Usage` percentages with `estimated_time_to_regain_access` minutes, and
`Retry-After` for Microsoft Graph and everything else), bounded concurrency per host, a run
`Budget` (deadline) so a nightly run cannot hang, a maximum response body size and a `User-Agent`
naming the tool. Library errors are translated here into `HttpFailure` subclasses of
`ConnectorError`; each carries a short `reason` that callers put into `Profile.unknown(...)`, and
no message ever contains a URL query string or header value (Meta sends tokens in the query).

Public API::

    clock = SystemClock()                      # or any object with now(), monotonic(), sleep(s)
    budget = Budget(600, clock)                # shared by every connector of one run
    client = HttpClient("x", base_url="https://api.x.com", style=XRateLimits(),
                        timeout=10, max_concurrency=4, retries=2, budget=budget, clock=clock)
    resp = client.get("/2/users/by", params={"usernames": "a,b"},
                      headers={"Authorization": "Bearer ..."})
    resp.status, resp.headers, resp.json()     # json() raises UnparseableResponse
    client.close()

`get`/`request` return an `HttpResponse` for every status below 500 except throttling (the
platforms put "not found" in 4xx bodies, so the connector decides); they raise `TimeoutFailure`,
`ConnectionFailure`, `ServerFailure`, `RateLimitedPastBudget`, `BudgetExhausted` or
`ResponseTooLarge`.

Every attempt has one deadline covering connect, headers and body together: `timeout` seconds, or
less when the budget has less left (a single slow request never outlasts the budget). Socket
timeouts alone cannot give that (they bound each read, and a server sending a byte a second never
trips them), so a watchdog thread shuts the attempt's socket down when its deadline passes, and the
body is streamed with the deadline checked between chunks. A timed-out attempt is a
`TimeoutFailure` ("timed out after N s"); one cut short by the budget is `BudgetExhausted` with the
budget's own reason (a run's deadline says "not checked: the run's deadline passed").

JSON answers are read through `Doc` (`response.doc()`), a view that checks each field's type as it is
read: a list where an object belongs, a number for a username, nesting deeper than the parser
allows, a date that is not a date, all raise `UnexpectedShape` ("the platform answered in an
unexpected shape (data.username is a number, not text)"), which the connector base turns into that
account's `Profile.unknown`. Rate-limit styles: `XRateLimits`, `MastodonRateLimits`, `BlueskyRateLimits`,
`MetaRateLimits`, `RetryAfterRateLimits` (generic; also the base of the others, so a `Retry-After`
header is honoured everywhere). `requests` is imported lazily so `auditor --help` stays fast.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import itertools
import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from auditor import __version__
from auditor.model.errors import ConnectorError
from auditor.model.types import parse_date, parse_datetime

if TYPE_CHECKING:
    import requests

USER_AGENT = f"district-social-auditor/{__version__} (+https://github.com/district-social-auditor/auditor)"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BODY = 4 * 1024 * 1024  # a profile answer is a few KB; 4 MB means something is wrong
DEFAULT_THROTTLE_FALLBACK = 60.0  # throttled with no header saying how long: wait a minute

# --------------------------------------------------------------------------------------------------
# Errors: every one has a short, secret-free `reason` for Profile.unknown(...)


class HttpFailure(ConnectorError):
    """A request could not produce a usable answer. `reason` is short and safe to show."""

    def __init__(self, reason: str, hint: str = "", *, host: str = "") -> None:
        where = f" ({host})" if host else ""
        super().__init__(f"{reason}{where}", hint)
        self.reason = reason
        self.host = host


class TimeoutFailure(HttpFailure):
    """The server did not answer within the timeout (after retries)."""


class ConnectionFailure(HttpFailure):
    """The connection failed or broke off (after retries)."""


class ServerFailure(HttpFailure):
    """The server kept answering 5xx."""

    def __init__(self, reason: str, hint: str = "", *, host: str = "", status: int = 0) -> None:
        super().__init__(reason, hint, host=host)
        self.status = status


class RateLimitedPastBudget(HttpFailure):
    """Waiting for the rate-limit reset would overrun the run budget."""


class BudgetExhausted(HttpFailure):
    """The run's deadline has passed; no further request is made."""


class ResponseTooLarge(HttpFailure):
    """The body exceeded the maximum size, so it is treated as unparseable."""


class UnparseableResponse(HttpFailure):
    """The body is not the JSON the platform documents (truncated, HTML error page, ...)."""


SHAPE_REASON = "the platform answered in an unexpected shape"


class UnexpectedShape(HttpFailure):
    """The body is JSON, but not in the shape the platform documents (wrong type, too deep)."""

    def __init__(self, detail: str = "", *, host: str = "") -> None:
        super().__init__(f"{SHAPE_REASON} ({detail})" if detail else SHAPE_REASON, host=host)


# --------------------------------------------------------------------------------------------------
# Clock and budget


class Clock(Protocol):
    """Time source. Injected so tests of waits stay fast: a fake clock's sleep advances time."""

    def now(self) -> float:
        """Wall-clock epoch seconds (rate-limit resets are wall-clock instants)."""
        ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


BUDGET_REASON = "run budget exhausted"
RUN_DEADLINE_REASON = "not checked: the run's deadline passed"


class Budget:
    """A deadline. `seconds=None` means unlimited (interactive use).

    `reason` is what an account that could not be checked in time is told. `parent` is an
    enclosing deadline (a connector's budget inside the audit run's): the sooner one applies, with
    its own reason. `within(parent)` sets it later, e.g. on connectors a factory already made.
    """

    def __init__(
        self,
        seconds: float | None,
        clock: Clock | None = None,
        *,
        reason: str = BUDGET_REASON,
        parent: Budget | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.seconds = seconds
        self.reason = reason
        self.parent = parent
        self.deadline = None if seconds is None else self.clock.monotonic() + seconds

    def within(self, parent: Budget | None) -> Budget:
        """Make `parent` the enclosing deadline (no-op for None or itself); returns self."""
        if parent is not None and parent is not self:
            self.parent = parent
        return self

    def _own(self) -> float:
        if self.deadline is None:
            return math.inf
        return self.deadline - self.clock.monotonic()

    def binding(self) -> Budget:
        """The budget (this one or an enclosing one) with the least time left."""
        best: Budget = self
        left = self._own()
        seen = {id(self)}
        node = self.parent
        while node is not None and id(node) not in seen:
            seen.add(id(node))
            own = node._own()
            if own < left:
                best, left = node, own
            node = node.parent
        return best

    def remaining(self) -> float:
        return self.binding()._own()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    @property
    def exhausted_reason(self) -> str:
        """Why nothing more is checked once this budget (or an enclosing one) is spent."""
        return self.binding().reason


# --------------------------------------------------------------------------------------------------
# Rate-limit header conventions


@dataclass(frozen=True)
class RateState:
    """What a response's headers say about the window: requests left and when it resets."""

    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    limit: int | None = None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    seconds = _float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def parse_iso_instant(value: str | None) -> float | None:
    """Epoch seconds from an ISO 8601 timestamp such as Mastodon's `2026-08-22T20:05:00.000000Z`."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


class RetryAfterRateLimits:
    """Generic convention: throttled means HTTP 429; wait as `Retry-After` says (Microsoft Graph
    throttling doc: "Wait the number of seconds specified in the Retry-After field")."""

    name = "retry-after"

    def observe(self, headers: Mapping[str, str], now: float) -> RateState | None:
        """The window state advertised by a response, or None when the headers say nothing."""
        return None

    def is_throttled(self, status: int, body: bytes) -> bool:
        return status == 429

    def wait_seconds(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
        """How long a throttled response says to wait; None when it does not say."""
        retry_after = parse_retry_after(headers.get("Retry-After"), now)
        if retry_after is not None:
            return retry_after
        state = self.observe(headers, now)
        if state is not None and state.reset_at is not None:
            return max(0.0, state.reset_at - now)
        return None


def x_problem(body: bytes) -> str:
    """The suffix of an X problem `type` (`usage-capped`, `client-forbidden`, ...), '' for others."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    kind = data.get("type") if isinstance(data, dict) else None
    return kind.rsplit("/2/problems/", 1)[-1] if isinstance(kind, str) and "/2/problems/" in kind else ""


class XRateLimits(RetryAfterRateLimits):
    """X v2: `x-rate-limit-limit/-remaining/-reset`, reset in Unix epoch seconds (rate-limits.mdx).

    A 429 whose problem type is `usage-capped` is not throttling: it is the app's monthly (or daily)
    post cap, which no wait within a run lifts, so it is handed to the connector at once."""

    name = "x"

    def is_throttled(self, status: int, body: bytes) -> bool:
        return status == 429 and x_problem(body) != "usage-capped"

    def observe(self, headers: Mapping[str, str], now: float) -> RateState | None:
        remaining = _int(headers.get("x-rate-limit-remaining"))
        reset = _float(headers.get("x-rate-limit-reset"))
        if remaining is None and reset is None:
            return None
        return RateState(remaining, reset, _int(headers.get("x-rate-limit-limit")))


class MastodonRateLimits(RetryAfterRateLimits):
    """Mastodon: `X-RateLimit-*`, but the reset is an ISO 8601 timestamp (api/rate-limits.md)."""

    name = "mastodon"

    def observe(self, headers: Mapping[str, str], now: float) -> RateState | None:
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset = parse_iso_instant(headers.get("X-RateLimit-Reset"))
        if remaining is None and reset is None:
            return None
        return RateState(remaining, reset, _int(headers.get("X-RateLimit-Limit")))


class BlueskyRateLimits(RetryAfterRateLimits):
    """Bluesky xrpc: `RateLimit-Limit/-Remaining/-Reset` (epoch seconds) and `RateLimit-Policy:
    N;w=SECONDS` (xrpc-server rate-limiter-http.ts). Without a reset, the policy window is the wait."""

    name = "bluesky"

    def observe(self, headers: Mapping[str, str], now: float) -> RateState | None:
        remaining = _int(headers.get("RateLimit-Remaining"))
        reset = _float(headers.get("RateLimit-Reset"))
        limit = _int(headers.get("RateLimit-Limit"))
        if reset is None and remaining is not None:
            window = self.policy_window(headers.get("RateLimit-Policy"))
            if window is not None:
                reset = now + window
        if remaining is None and reset is None:
            return None
        return RateState(remaining, reset, limit)

    @staticmethod
    def policy_window(policy: str | None) -> float | None:
        if not policy:
            return None
        for part in policy.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.strip() == "w":
                return _float(value)
        return None


# Meta Graph throttling error codes: 4 app, 17 user, 32 Page, 613 custom, 80001-80014 Business Use
# Case (graph-api/overview/rate-limiting). The HTTP status is unconfirmed, so key on the code.
META_THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})


def _meta_error_code(body: bytes) -> int | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    return code if isinstance(code, int) else None


class MetaRateLimits(RetryAfterRateLimits):
    """Meta Graph (Facebook, Instagram, Threads): usage percentages in `X-App-Usage` (one-hour
    rolling window) and `X-Business-Use-Case-Usage` (per business object, with
    `estimated_time_to_regain_access` in minutes). At 100 % the window is spent."""

    name = "meta"

    def observe(self, headers: Mapping[str, str], now: float) -> RateState | None:
        usage = self.usage_percent(headers)
        if usage is None:
            return None
        regain = self.regain_minutes(headers)
        if usage >= 100:
            return RateState(0, now + regain * 60 if regain else None)
        return RateState(None, None)

    def is_throttled(self, status: int, body: bytes) -> bool:
        return status == 429 or _meta_error_code(body) in META_THROTTLE_CODES

    def wait_seconds(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
        retry_after = parse_retry_after(headers.get("Retry-After"), now)
        if retry_after is not None:
            return retry_after
        regain = self.regain_minutes(headers)
        return regain * 60 if regain else None

    @staticmethod
    def _json(value: str | None) -> Any:
        if not value:
            return None
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None

    def usage_percent(self, headers: Mapping[str, str]) -> float | None:
        """The highest percentage any Meta usage header reports, or None without such headers."""
        values: list[float] = []
        for name in ("X-App-Usage", "X-Page-Usage"):
            data = self._json(headers.get(name))
            if isinstance(data, dict):
                values += [float(v) for v in data.values() if isinstance(v, int | float)]
        buc = self._json(headers.get("X-Business-Use-Case-Usage"))
        if isinstance(buc, dict):
            for entries in buc.values():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        values += [
                            float(entry[k])
                            for k in ("call_count", "total_cputime", "total_time")
                            if isinstance(entry.get(k), int | float)
                        ]
        return max(values) if values else None

    def regain_minutes(self, headers: Mapping[str, str]) -> float:
        buc = self._json(headers.get("X-Business-Use-Case-Usage"))
        minutes = 0.0
        if isinstance(buc, dict):
            for entries in buc.values():
                for entry in entries if isinstance(entries, list) else []:
                    value = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
                    if isinstance(value, int | float):
                        minutes = max(minutes, float(value))
        return minutes


RateLimitStyle = RetryAfterRateLimits

# --------------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True)
class HttpResponse:
    """A complete, size-checked answer. `headers` is case-insensitive (requests' CaseInsensitiveDict)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    host: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The parsed body; `UnparseableResponse` for HTML error pages, truncated or non-JSON text."""
        if self.content_type == "text/html" or self.body.lstrip()[:1] == b"<":
            raise UnparseableResponse(f"unparseable answer (HTML page, HTTP {self.status})", host=self.host)
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise UnparseableResponse(
                f"unparseable answer (invalid JSON, HTTP {self.status})", host=self.host
            ) from None
        except RecursionError:  # e.g. 100,000 nested arrays: the parser's depth limit
            raise UnexpectedShape("nested too deeply", host=self.host) from None

    def doc(self) -> Doc:
        """The body as a `Doc`: a JSON object, or `UnexpectedShape` (see `Doc`)."""
        return Doc.of(self.json(), host=self.host)


# --------------------------------------------------------------------------------------------------
# Reading JSON answers with their types checked


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Doc:
    """A JSON object from a platform, read with each field's type checked.

    Accessors take a key and return a plain value; a missing key or `null` gives the empty value
    ("" / None / an empty Doc / []), anything of the wrong type raises `UnexpectedShape` naming the
    path (`data[0].username is a number, not text`). So connectors never call `.get` on a string,
    never show a dict as a display name, and never crash on an answer they did not expect.
    """

    __slots__ = ("_data", "_host", "_path")

    def __init__(self, data: Mapping[str, Any], path: str = "", *, host: str = "") -> None:
        self._data = data
        self._path = path
        self._host = host

    @classmethod
    def of(cls, value: Any, path: str = "", *, host: str = "") -> Doc:
        """`value` must be a JSON object (the answer's top level, usually)."""
        if not isinstance(value, dict):
            raise UnexpectedShape(f"{path or 'the answer'} is {_kind(value)}, not an object", host=host)
        return cls(value, path, host=host)

    @classmethod
    def loose(cls, value: Any, *, host: str = "") -> Doc:
        """`value` if it is an object, else an empty Doc: for error bodies, where an answer of any
        other shape means the same failure."""
        return cls(value if isinstance(value, dict) else {}, host=host)

    # -- plumbing

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _wrong(self, key: str, value: Any, wanted: str) -> UnexpectedShape:
        return UnexpectedShape(f"{self._where(key)} is {_kind(value)}, not {wanted}", host=self._host)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __bool__(self) -> bool:
        return bool(self._data)

    def has(self, key: str) -> bool:
        """The key is there and not null."""
        return self._data.get(key) is not None

    def get(self, key: str) -> Any:
        """The raw value (only for values whose type the caller checks itself)."""
        return self._data.get(key)

    # -- typed accessors

    def obj(self, key: str) -> Doc:
        value = self._data.get(key)
        if value is None:
            return Doc({}, self._where(key), host=self._host)
        if not isinstance(value, dict):
            raise self._wrong(key, value, "an object")
        return Doc(value, self._where(key), host=self._host)

    def objs(self, key: str) -> list[Doc]:
        """A list of objects (every element must be one)."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(key, value, "a list")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._wrong(f"{key}[{i}]", item, "an object")
            out.append(Doc(item, f"{self._where(key)}[{i}]", host=self._host))
        return out

    def text(self, key: str, default: str = "") -> str:
        value = self._data.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._wrong(key, value, "text")
        return value

    def ident(self, key: str) -> str:
        """An id: text, or a whole number (LinkedIn, some Graph ids), as text."""
        value = self._data.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise self._wrong(key, value, "an id")

    def count(self, key: str) -> int | None:
        """A whole number (followers); None when absent."""
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self._wrong(key, value, "a whole number")

    def flag(self, key: str) -> bool | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._wrong(key, value, "true/false")
        return value

    def when(self, key: str, normalise: Callable[[str], str] | None = None) -> datetime | None:
        """An ISO 8601 instant; None when absent or empty."""

        text = self.text(key)
        if not text:
            return None
        try:
            return parse_datetime(normalise(text) if normalise else text)
        except ValueError:
            raise UnexpectedShape(f"{self._where(key)} is not a date and time", host=self._host) from None

    def day(self, key: str) -> date | None:
        """An ISO 8601 date (or the date of an instant); None when absent or empty."""

        text = self.text(key)
        if not text:
            return None
        try:
            return parse_date(text)
        except ValueError:
            raise UnexpectedShape(f"{self._where(key)} is not a date", host=self._host) from None


# --------------------------------------------------------------------------------------------------
# Whole-attempt deadlines
#
# `requests` timeouts bound each socket operation, not the request: a server that sends a header or
# body byte just inside the read timeout keeps a request alive for ever. Each attempt therefore gets
# an `_Attempt` with a monotonic deadline; the connection classes below bind their socket to the
# attempt running in the current thread, and one watchdog thread shuts that socket down when the
# deadline passes, which wakes any blocked read (connect, TLS handshake, headers or body).


class _Attempt:
    """One attempt's deadline and the connection it is using."""

    __slots__ = ("at", "conn", "done", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self.conn: Any = None

    def left(self) -> float:
        return self.at - time.monotonic()

    def expire(self) -> None:
        with _BIND_LOCK:
            if self.done:
                return
            self.expired = True
            if self.conn is not None and getattr(self.conn, "_auditor_attempt", None) is self:
                _shut(self.conn)

    def finish(self) -> None:
        with _BIND_LOCK:
            self.done = True
            if self.conn is not None and getattr(self.conn, "_auditor_attempt", None) is self:
                self.conn._auditor_attempt = None
            self.conn = None


_BIND_LOCK = threading.Lock()
_LOCAL = threading.local()


def _shut(conn: Any) -> None:
    """Shut the connection's socket down (caller holds _BIND_LOCK); blocked reads return at once.
    `socket.socket.shutdown` is called directly so a TLS socket's fd is shut without touching its
    SSL state; during a TLS handshake `conn.sock` is not set yet and the connect-time duplicate is."""
    for sock in (getattr(conn, "sock", None), getattr(conn, "_auditor_dup", None)):
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _bind(conn: Any) -> None:
    """Make `conn` the connection of the attempt running in this thread (if any)."""
    attempt: _Attempt | None = getattr(_LOCAL, "attempt", None)
    with _BIND_LOCK:
        conn._auditor_attempt = attempt
        if attempt is not None:
            attempt.conn = conn
            if attempt.expired:
                _shut(conn)


class _Watchdog:
    """One daemon thread expiring attempts at their deadlines (a heap; finished ones are skipped)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Attempt]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, attempt: _Attempt) -> None:
        with self._cond:
            heapq.heappush(self._heap, (attempt.at, next(self._seq), attempt))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _next(self) -> _Attempt:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            self._next().expire()


_WATCHDOG = _Watchdog()


def _after_fork() -> None:
    global _WATCHDOG, _BIND_LOCK
    _WATCHDOG = _Watchdog()
    _BIND_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

_ADAPTER: Any = None


def _adapter_class() -> Any:
    """requests' HTTPAdapter whose pools make connections that bind to the current attempt."""
    global _ADAPTER
    if _ADAPTER is not None:
        return _ADAPTER
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def connect(conn: Any, parent: Any) -> None:
        conn._auditor_dup = None
        _bind(conn)
        try:
            parent.connect(conn)
        finally:
            dup = conn._auditor_dup
            conn._auditor_dup = None
            if dup is not None:
                dup.close()

    def new_conn(conn: Any, parent: Any) -> socket.socket:
        sock: socket.socket = parent._new_conn(conn)
        # A duplicate of the fd for the TLS handshake, when the socket is detached into an
        # SSLSocket that `conn.sock` does not name yet; closed as soon as connect() returns.
        with _BIND_LOCK:
            conn._auditor_dup = sock.dup()
            attempt = getattr(conn, "_auditor_attempt", None)
            if attempt is not None and attempt.expired:
                _shut(conn)
        return sock

    class _Conn(HTTPConnection):
        def connect(self) -> None:
            connect(self, HTTPConnection)

        def _new_conn(self) -> socket.socket:
            return new_conn(self, HTTPConnection)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _bind(self)
            super().request(*args, **kwargs)

    class _SConn(HTTPSConnection):
        def connect(self) -> None:
            connect(self, HTTPSConnection)

        def _new_conn(self) -> socket.socket:
            return new_conn(self, HTTPSConnection)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _bind(self)
            super().request(*args, **kwargs)

    class _Pool(HTTPConnectionPool):
        ConnectionCls = _Conn

    class _SPool(HTTPSConnectionPool):
        ConnectionCls = _SConn

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _SPool}

    _ADAPTER = Adapter
    return Adapter


# --------------------------------------------------------------------------------------------------
# The client


class _Host:
    """Per-host state: the pooled session, the concurrency bound and the rate-limit window."""

    def __init__(self, max_concurrency: int) -> None:
        import requests

        self.session = requests.Session()
        # Our own retry loop decides (it must honour the budget), so urllib3 retries nothing.
        adapter = _adapter_class()(pool_connections=1, pool_maxsize=max(1, max_concurrency), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = False  # no proxies or .netrc credentials picked up silently
        self.slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self.lock = threading.Lock()
        self.remaining: int | None = None
        self.reset_at: float | None = None


class HttpClient:
    """Talks to one platform (one or more hosts). Thread-safe; share one per connector."""

    def __init__(
        self,
        platform: str,
        *,
        base_url: str = "",
        style: RetryAfterRateLimits | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrency: int = 4,
        retries: int = 2,
        backoff: float = 0.5,
        max_body: int = DEFAULT_MAX_BODY,
        throttle_fallback: float = DEFAULT_THROTTLE_FALLBACK,
        max_throttle_waits: int = 5,
        budget: Budget | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.style = style or RetryAfterRateLimits()
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.retries = retries
        self.backoff = backoff
        self.max_body = max_body
        self.throttle_fallback = throttle_fallback
        self.max_throttle_waits = max_throttle_waits
        self.clock: Clock = clock or (budget.clock if budget else SystemClock())
        self.budget = budget or Budget(None, self.clock)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()

    # -- public --------------------------------------------------------------------------------

    def get(
        self, path_or_url: str, *, params: Any = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        return self.request("GET", path_or_url, params=params, headers=headers)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json_body: Any = None,
    ) -> HttpResponse:
        """Send with retries, rate-limit waits and the budget; see the module docstring."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        host = self._host(key)
        failures = 0
        throttled = 0
        while True:
            with host.slots:
                self._wait_for_window(host, parts.netloc)
                resp = self._send_once(
                    host, parts.netloc, method, url, params, headers, data, json_body, failures
                )
            if isinstance(resp, HttpFailure):
                failures += 1
                if failures > self.retries:
                    raise resp
                self._sleep_within_budget(self.backoff * 2 ** (failures - 1), parts.netloc, resp)
                continue
            now = self.clock.now()
            self._observe(host, resp.headers, now)
            if self.style.is_throttled(resp.status, resp.body):
                throttled += 1
                wait = self.style.wait_seconds(resp.status, resp.headers, resp.body, now)
                if wait is None:
                    wait = self.throttle_fallback
                if throttled > self.max_throttle_waits or wait + 0.01 > self.budget.remaining():
                    raise RateLimitedPastBudget("rate-limited past the budget", host=parts.netloc)
                self.clock.sleep(wait + 0.01)
                continue
            if resp.status >= 500:
                failures += 1
                if failures > self.retries:
                    raise ServerFailure(
                        f"HTTP {resp.status} after {failures} attempts", host=parts.netloc, status=resp.status
                    )
                wait = parse_retry_after(resp.headers.get("Retry-After"), now)
                self._sleep_within_budget(
                    wait if wait is not None else self.backoff * 2 ** (failures - 1),
                    parts.netloc,
                    ServerFailure(f"HTTP {resp.status}", host=parts.netloc, status=resp.status),
                )
                continue
            return resp

    def close(self) -> None:
        with self._hosts_lock:
            for host in self._hosts.values():
                host.session.close()
            self._hosts.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _host(self, key: str) -> _Host:
        with self._hosts_lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(self.max_concurrency)
            return host

    def _sleep_within_budget(self, seconds: float, netloc: str, failure: HttpFailure) -> None:
        if seconds >= self.budget.remaining():
            raise failure
        self.clock.sleep(seconds)

    def _wait_for_window(self, host: _Host, netloc: str) -> None:
        """Before sending: if the advertised window is spent, wait for its reset (or give up)."""
        while True:
            if self.budget.expired:
                raise BudgetExhausted(self.budget.exhausted_reason, host=netloc)
            now = self.clock.now()
            with host.lock:
                if host.remaining is None or host.remaining > 0 or host.reset_at is None:
                    if host.remaining is not None:
                        host.remaining -= 1
                    return
                if host.reset_at <= now:
                    host.remaining = None  # a new window: the next answer tells us its size
                    continue
                wait = host.reset_at - now + 0.01
            if wait > self.budget.remaining():
                raise RateLimitedPastBudget("rate-limited past the budget", host=netloc)
            self.clock.sleep(wait)

    def _observe(self, host: _Host, headers: Mapping[str, str], now: float) -> None:
        state = self.style.observe(headers, now)
        if state is None:
            return
        with host.lock:
            if state.reset_at != host.reset_at or host.remaining is None:
                host.reset_at = state.reset_at
                host.remaining = state.remaining
            elif state.remaining is not None:
                # Answers to concurrent requests arrive out of order: the lowest count is freshest.
                host.remaining = min(host.remaining, state.remaining)

    def _send_once(
        self,
        host: _Host,
        netloc: str,
        method: str,
        url: str,
        params: Any,
        headers: Mapping[str, str] | None,
        data: Any,
        json_body: Any,
        attempt: int,
    ) -> HttpResponse | HttpFailure:
        import http.client

        import requests

        allowance = min(self.timeout, self.budget.remaining())
        if allowance <= 0:
            raise BudgetExhausted(self.budget.exhausted_reason, host=netloc)
        capped = allowance < self.timeout  # the budget, not the timeout, sets this deadline
        current = _Attempt(allowance)

        def timed_out() -> HttpFailure:
            if capped:  # cut short by the budget: no retry can help
                raise BudgetExhausted(self.budget.exhausted_reason, host=netloc)
            return TimeoutFailure(f"timed out after {round(allowance, 1):g} s", host=netloc)

        raw: requests.Response | None = None
        _WATCHDOG.arm(current)
        _LOCAL.attempt = current
        try:
            raw = host.session.request(
                method,
                url,
                params=params,
                headers=dict(headers or {}),
                data=data,
                json=json_body,
                timeout=(allowance, allowance),
                stream=True,
                allow_redirects=False,
            )
            body = self._read_body(raw, netloc, current)
            if current.expired:  # shut down mid-body: what arrived may look complete but is not
                return timed_out()
            return HttpResponse(raw.status_code, raw.headers, body, netloc)
        # Messages are built from our own words only: requests' texts embed the URL and its query,
        # which for Meta carries the access token.
        except requests.exceptions.Timeout:
            return timed_out()
        except requests.exceptions.ConnectionError as exc:
            if (
                current.expired
                or "timed out" in type(exc).__name__.lower()
                or "ReadTimeout" in repr(exc.args[:1])
            ):
                return timed_out()
            return ConnectionFailure("connection failed", host=netloc)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            return timed_out() if current.expired else ConnectionFailure("truncated response", host=netloc)
        except (requests.exceptions.RequestException, OSError, http.client.HTTPException):
            return timed_out() if current.expired else ConnectionFailure("request failed", host=netloc)
        finally:
            _LOCAL.attempt = None
            current.finish()
            if raw is not None:
                raw.close()

    def _read_body(self, raw: requests.Response, netloc: str, attempt: _Attempt) -> bytes:
        length = _int(raw.headers.get("Content-Length"))
        if length is not None and length > self.max_body:
            raise ResponseTooLarge(f"response larger than {self.max_body} bytes", host=netloc)
        chunks: list[bytes] = []
        total = 0
        for chunk in raw.iter_content(64 * 1024):
            if attempt.expired or attempt.left() <= 0:
                attempt.expired = True
                break
            total += len(chunk)
            if total > self.max_body:
                raise ResponseTooLarge(f"response larger than {self.max_body} bytes", host=netloc)
            chunks.append(chunk)
        return b"".join(chunks)
