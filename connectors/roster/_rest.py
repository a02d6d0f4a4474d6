"""What the REST roster sources share: an HttpClient set up for directory listings, OAuth 2.0 client
credentials, and the translation of transport failures into `RosterError`.

The transport itself (pooled session, timeouts, retries on 5xx, `Retry-After`, budget, body cap) is
`connectors.http.HttpClient`, used as is. Roster listings differ from profile lookups in two ways
handled here: pages are large (a Graph page of 999 users), so the body cap is raised; and a sync is
one command, so a failure is an exception naming the source, not a per-handle value. Secrets are
`models.Secret` and are revealed only into the request that needs them; no message carries one.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from auditor.model.types import Secret
from connectors.http import Budget, Clock, HttpClient, HttpFailure, HttpResponse, RetryAfterRateLimits
from connectors.roster.base import RosterError

# A page of 999 Graph users with the selected fields is ~0.5 MB, 500 Google users with
# projection=full a few MB: allow far more than that, but not unbounded.
MAX_PAGE_BYTES = 64 * 1024 * 1024
# Safety stop for a server whose paging never ends (a buggy nextLink loop).
MAX_PAGES = 10_000


@dataclass(frozen=True)
class HttpSettings:
    """Transport knobs shared by the REST sources; tests inject `clock` so waits cost nothing."""

    timeout: float = 30.0
    retries: int = 2
    backoff: float = 1.0
    throttle_fallback: float = 10.0  # 429 without Retry-After (OneRoster server_busy): wait this long
    max_throttle_waits: int = 5
    budget: Budget | None = None
    clock: Clock | None = None


def make_client(name: str, base_url: str, settings: HttpSettings) -> HttpClient:
    return HttpClient(
        name,
        base_url=base_url,
        style=RetryAfterRateLimits(),
        timeout=settings.timeout,
        max_concurrency=1,  # pages are fetched in order; one connection per host is enough
        retries=settings.retries,
        backoff=settings.backoff,
        max_body=MAX_PAGE_BYTES,
        throttle_fallback=settings.throttle_fallback,
        max_throttle_waits=settings.max_throttle_waits,
        budget=settings.budget,
        clock=settings.clock,
    )


@contextmanager
def translated(source: str) -> Iterator[None]:
    """Transport failures (timeout, 5xx after retries, throttled past the budget, unparseable body)
    become RosterError naming the source; their reasons are secret-free by construction."""
    try:
        yield
    except HttpFailure as exc:
        raise RosterError(f"{source}: {exc.message}", exc.hint or "try again later") from exc


def json_of(source: str, response: HttpResponse) -> Any:
    with translated(source):
        return response.json()


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


class ClientCredentials:
    """An OAuth 2.0 client-credentials token (RFC 6749 4.4), fetched on first use and reused until
    shortly before it expires.

    `basic_auth=True` sends `Authorization: Basic base64(urlencode(id):urlencode(secret))` with
    `grant_type` and `scope` in the form (OneRoster, reference 8.3, moodle oauth2_client.php);
    `basic_auth=False` puts `client_id` and `client_secret` in the form (Microsoft identity
    platform, reference 8.4).
    """

    def __init__(
        self,
        client: HttpClient,
        source: str,
        token_url: str,
        client_id: str,
        client_secret: Secret,
        scope: str,
        *,
        basic_auth: bool,
    ) -> None:
        self.client = client
        self.source = source
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.basic_auth = basic_auth
        self._token: Secret | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def header(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self.client.clock.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch()
                # Renew a minute early so a long listing does not cross the expiry mid-page.
                self._expires_at = self.client.clock.monotonic() + max(0.0, lifetime - 60)
            return {"Authorization": f"Bearer {self._token.reveal_str()}"}

    def _fetch(self) -> tuple[Secret, float]:
        form = {"grant_type": "client_credentials", "scope": self.scope}
        headers: dict[str, str] = {}
        if self.basic_auth:
            pair = f"{quote(self.client_id, safe='')}:{quote(self._secret.reveal_str(), safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._secret.reveal_str()
        with translated(self.source):
            response = self.client.request("POST", self.token_url, data=form, headers=headers)
        body = _json_or_none(response)
        if response.status != 200:
            detail = ""
            if isinstance(body, dict) and body.get("error"):
                detail = f": {body.get('error')}"
                if body.get("error_description"):
                    detail += f" ({str(body['error_description']).splitlines()[0][:200]})"
            raise RosterError(
                f"{self.source}: the token endpoint refused the client credentials "
                f"(HTTP {response.status}{detail})",
                "check the client id and secret, and that the app is granted the scope " + repr(self.scope),
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RosterError(f"{self.source}: the token endpoint answered without an access_token")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return Secret(token), lifetime


def _json_or_none(response: HttpResponse) -> Any:
    try:
        return response.json()
    except HttpFailure:
        return None


def error_detail(response: HttpResponse) -> str:
    """The machine-readable part of an error body, for any of the three REST shapes, or ''."""
    body = _json_or_none(response)
    if not isinstance(body, dict):
        kind = "an HTML page" if response.body.lstrip()[:1] == b"<" else "an unparseable body"
        return f" with {kind}"
    # OneRoster imsx_StatusInfoDType (reference 8.3).
    if "imsx_codeMajor" in body:
        minor = ""
        fields = (body.get("imsx_CodeMinor") or {}).get("imsx_codeMinorField") or []
        if fields and isinstance(fields[0], dict):
            minor = str(fields[0].get("imsx_codeMinorFieldValue", ""))
        text = str(body.get("imsx_description", "") or "")
        return f" {minor}: {text}".rstrip(": ") if minor or text else ""
    error = body.get("error")
    if isinstance(error, dict):
        # Graph {"error":{"code":"Request_ResourceNotFound","message":...}}; Google
        # {"error":{"code":404,"message":...,"errors":[{"reason":"notFound"}]}}.
        code = error.get("code")
        reasons = [
            e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict) and e.get("reason")
        ]
        label = reasons[0] if reasons else code
        return f" {label}: {error.get('message', '')}".rstrip(": ")
    if isinstance(error, str):
        return f" {error}"
    return ""
