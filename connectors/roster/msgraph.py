"""Microsoft Graph (Entra ID) users: who the district's tenant says works here.

Reference 8.4. An app token comes from `POST {login}/{tenant}/oauth2/v2.0/token` (client credentials
in the form, scope `https://graph.microsoft.com/.default`; the app needs User.Read.All, and
User-LifeCycleInfo.Read.All for `employeeLeaveDateTime`). The listing is
`GET /v1.0/users?$select=...&$top=999`: `accountEnabled`, `employeeId` and the employee fields only
come back when selected. Paging follows the ENTIRE `@odata.nextLink` URL until it is absent, and only
on the Graph host (the bearer token must not follow a link elsewhere). Throttling (429, or 503 with
`Retry-After`) is waited out by the shared HTTP layer. A disabled account, or a leave date that has
passed, means departed.

Without User-LifeCycleInfo.Read.All Graph does not refuse: it answers `employeeLeaveDateTime` (and
`employeeHireDate`) as null for everyone, so leave dates would silently stop departing anyone. The
source therefore reads the `roles` claim of its own app-only token (a JWT: the application
permissions granted) and, when no lifecycle permission is there, leaves a note for the sync
(`RosterSource.notes`). A token it cannot read as a JWT falls back to the listing: 20 or more users
and not one hire or leave date is the same tell.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster._rest import (
    MAX_PAGES,
    ClientCredentials,
    HttpSettings,
    error_detail,
    json_of,
    make_client,
    same_origin,
    translated,
)
from connectors.roster.base import RosterError, RosterSource, clean_email, parse_bool

PUBLIC_GRAPH = "https://graph.microsoft.com"
SELECT = (
    "id,displayName,userPrincipalName,mail,accountEnabled,jobTitle,department,employeeId,employeeType,"
    "employeeHireDate,employeeLeaveDateTime"
)


# Microsoft's user resource: "In app-only scenarios ... the app must be granted the
# User-LifeCycleInfo.Read.All permission" to read employeeLeaveDateTime; ReadWrite includes Read.
# User.ReadWrite.All is not documented to unlock it, so it does not silence the note.
LIFECYCLE_ROLES = frozenset({"User-LifeCycleInfo.Read.All", "User-LifeCycleInfo.ReadWrite.All"})
# Below this many users, a listing with no hire or leave date at all can be a small tenant that
# records none; from here on it is taken as the missing permission (tokens Graph does not issue
# as readable JWTs).
HEURISTIC_MIN_USERS = 20
NO_LIFECYCLE_NOTE = (
    "{source}: the app is not granted User-LifeCycleInfo.Read.All ({why}), so Graph answers "
    "employeeLeaveDateTime as null for everyone: leave dates cannot be read, and departures come only "
    "from accountEnabled. Grant the application permission User-LifeCycleInfo.Read.All with admin "
    "consent in Entra ID (docs/roster.md)."
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def token_roles(token: str) -> frozenset[str] | None:
    """The `roles` claim (the application permissions granted) of an app-only access token, or None
    when the token is not a readable JWT (Microsoft calls access tokens opaque to clients: they may
    change format or be encrypted).

    The signature is deliberately NOT verified: this only reads which permissions our own tenant
    granted the token Entra just handed us over TLS, to warn about a missing one; nothing is
    authorised on the strength of it, and Graph itself still checks the token on every request.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):  # json.JSONDecodeError is a ValueError
        return None
    if not isinstance(claims, dict):
        return None
    roles = claims.get("roles", [])
    if not isinstance(roles, list):
        return None
    return frozenset(str(r) for r in roles)


class GraphUsersSource(RosterSource):
    """The users of one Entra ID tenant."""

    kind = "msgraph"

    def __init__(
        self,
        *,
        tenant: str,
        client_id: str,
        client_secret: Secret,
        login_url: str = "https://login.microsoftonline.com",
        graph_url: str = "https://graph.microsoft.com",
        scope: str = "https://graph.microsoft.com/.default",
        page_size: int = 999,
        student_types: tuple[str, ...] = ("student",),
        name: str = "",
        now: Callable[[], datetime] = _utcnow,
        http: HttpSettings | None = None,
    ) -> None:
        super().__init__(name or "Microsoft Graph users")
        if not isinstance(client_secret, Secret):
            raise TypeError("client_secret must be a models.Secret")
        if not tenant or "/" in tenant:
            raise RosterError(f"{self.name}: the tenant must be a tenant id or domain, not {tenant!r}")
        self.graph_url = graph_url.rstrip("/")
        self.page_size = page_size
        self.student_types = tuple(t.lower() for t in student_types)
        self._now = now
        self.client = make_client("msgraph", self.graph_url, http or HttpSettings())
        token_url = f"{login_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        self.auth = ClientCredentials(
            self.client, self.name, token_url, client_id, client_secret, scope, basic_auth=False
        )

    def fetch(self) -> list[RosterEntry]:
        now = self._now()
        self.notes = []
        try:
            users = list(self._users())
            note = self._lifecycle_note(users)
            if note:
                self.notes.append(note)
            return [self._entry(u, now) for u in users]
        finally:
            self.client.close()

    def _lifecycle_note(self, users: list[dict[str, Any]]) -> str:
        """A note when leave dates cannot be read (the permission is missing), else ''."""
        bearer = self.auth.header()["Authorization"].partition(" ")[2]  # the cached token: no request
        roles = token_roles(bearer)
        if roles is not None:
            if roles & LIFECYCLE_ROLES:
                return ""
            return NO_LIFECYCLE_NOTE.format(source=self.name, why="its token's roles do not include it")
        blank = all(
            u.get("employeeHireDate") is None and u.get("employeeLeaveDateTime") is None for u in users
        )
        if len(users) >= HEURISTIC_MIN_USERS and blank:
            why = f"not one of the {len(users)} users has a hire or leave date"
            return NO_LIFECYCLE_NOTE.format(source=self.name, why=why)
        return ""

    def _users(self) -> Iterator[dict[str, Any]]:
        # Built by hand so the request reads as documented ($select, commas), not percent-encoded.
        url: str | None = f"{self.graph_url}/v1.0/users?$select={SELECT}&$top={self.page_size}"
        for _ in range(MAX_PAGES):
            assert url is not None
            body = self._get(url)
            values = body.get("value") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise RosterError(f"{self.name}: the users listing has no 'value' list")
            yield from (v for v in values if isinstance(v, dict))
            url = body.get("@odata.nextLink")
            if not url:
                return
            if (
                isinstance(url, str)
                and not same_origin(url, self.graph_url)
                and same_origin(url, PUBLIC_GRAPH)
            ):
                # Behind a proxy or a configured base URL Graph still links its public host: the same
                # link, rewritten onto the configured base (never followed off it; issue 15).
                url = self.graph_url + url[len(PUBLIC_GRAPH) :]
            if not isinstance(url, str) or not same_origin(url, self.graph_url):
                raise RosterError(f"{self.name}: @odata.nextLink points away from {self.graph_url}; stopped")
        raise RosterError(f"{self.name}: the users listing did not end after {MAX_PAGES} pages")

    def _get(self, url: str) -> Any:
        for attempt in (1, 2):
            with translated(self.name):
                response = self.client.get(url, headers=self.auth.header())
            if response.status == 401 and attempt == 1:
                self.auth.invalidate()
                continue
            if response.status == 200:
                return json_of(self.name, response)
            hint = ""
            if response.status in (401, 403):
                hint = "grant the app User.Read.All (and User-LifeCycleInfo.Read.All) with admin consent"
            raise RosterError(
                f"{self.name}: GET /v1.0/users failed: HTTP {response.status}{error_detail(response)}", hint
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _entry(self, user: dict[str, Any], now: datetime) -> RosterEntry:
        user_id = str(user.get("id", ""))
        try:
            enabled = parse_bool(user.get("accountEnabled"))
        except ValueError:
            raise RosterError(f"{self.name}: user {user_id!r} has an invalid accountEnabled") from None
        leave_text = user.get("employeeLeaveDateTime")
        leave = None
        if leave_text:
            try:
                text = str(leave_text)
                leave = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
                if leave.tzinfo is None:
                    leave = leave.replace(tzinfo=UTC)
            except ValueError:
                raise RosterError(
                    f"{self.name}: user {user_id!r} has an invalid employeeLeaveDateTime: {leave_text!r}"
                ) from None
        status = PersonStatus.ACTIVE
        left_on = None
        if leave is not None and leave <= now:
            status, left_on = PersonStatus.DEPARTED, leave.date()
        elif enabled is False:
            status = PersonStatus.DEPARTED
        employee_type = str(user.get("employeeType") or "").lower()
        return RosterEntry(
            source_id=user_id,
            email=clean_email(user.get("mail") or user.get("userPrincipalName")),
            name=str(user.get("displayName") or ""),
            kind=PersonKind.STUDENT if employee_type in self.student_types else PersonKind.EMPLOYEE,
            role=str(user.get("jobTitle") or ""),
            building=str(user.get("department") or ""),
            status=status,
            employee_id=str(user.get("employeeId") or ""),
            left_on=left_on,
        )
