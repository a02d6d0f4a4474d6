"""Google Workspace Admin SDK Directory API `users.list`: the district's Google accounts.

Reference 8.5. `GET /admin/directory/v1/users?customer=my_customer&maxResults=500&projection=full`
with `pageToken` until `nextPageToken` is absent. The bearer token is handed in (scope
`https://www.googleapis.com/auth/admin.directory.user.readonly`): obtaining it, usually with a service
account and domain-wide delegation impersonating an administrator, is the operator's side (see
docs/roster.md). `archived` means departed; `suspended` means departed by default (districts suspend
leavers' accounts), or on leave where the district suspends for leave. The Directory `User` resource
carries no date for either (it has `suspended`, `suspensionReason` and `archived`, but no
`suspensionTime` or `archivalTime`), so an entry has no `left_on` and the roster sync dates the
departure the day it first sees it; later syncs keep that date. The job title is the primary
`organizations[].title`, the building its `department` (or the last org unit, if configured), the
employee id the `externalIds[]` entry of type `organization`. Accounts under the student org units
are students.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster._rest import MAX_PAGES, HttpSettings, error_detail, json_of, make_client, translated
from connectors.roster.base import (
    RosterError,
    RosterSource,
    clean_email,
    full_name,
    parse_bool,
)

PATH = "/admin/directory/v1/users"


class GoogleDirectorySource(RosterSource):
    """The users of one Google Workspace customer (or one domain of it)."""

    kind = "google-directory"

    def __init__(
        self,
        *,
        access_token: Secret,
        base_url: str = "https://admin.googleapis.com",
        customer: str = "my_customer",
        domain: str = "",
        query: str = "",
        max_results: int = 500,
        suspended_means: PersonStatus = PersonStatus.DEPARTED,
        student_org_units: tuple[str, ...] = ("/Students",),
        building_from_org_unit: bool = False,
        name: str = "",
        http: HttpSettings | None = None,
    ) -> None:
        super().__init__(name or "Google Directory users")
        if not isinstance(access_token, Secret):
            raise TypeError("access_token must be a models.Secret")
        self._token = access_token
        self.customer = customer
        self.domain = domain
        self.query = query
        self.max_results = max_results
        self.suspended_means = suspended_means
        self.student_org_units = tuple(u.rstrip("/").lower() for u in student_org_units)
        self.building_from_org_unit = building_from_org_unit
        self.client = make_client("google-directory", base_url, http or HttpSettings())

    def fetch(self) -> list[RosterEntry]:
        try:
            return [self._entry(u) for u in self._users()]
        finally:
            self.client.close()

    def _users(self) -> Iterator[dict[str, Any]]:
        params: dict[str, str] = {"domain": self.domain} if self.domain else {"customer": self.customer}
        params.update({"maxResults": str(self.max_results), "projection": "full"})
        if self.query:
            params["query"] = self.query
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            headers = {"Authorization": f"Bearer {self._token.reveal_str()}"}
            with translated(self.name):
                response = self.client.get(PATH, params=params, headers=headers)
            if response.status != 200:
                hint = ""
                if response.status in (401, 403):
                    hint = ("the access token is expired or lacks the admin.directory.user.readonly scope "
                            "(the impersonated user must be an administrator)")  # fmt: skip
                raise RosterError(
                    f"{self.name}: GET {PATH} failed: HTTP {response.status}{error_detail(response)}", hint
                )
            body = json_of(self.name, response)
            if not isinstance(body, dict):
                raise RosterError(f"{self.name}: the users listing is not a JSON object")
            users = body.get("users", [])  # an empty domain answers without "users"
            if not isinstance(users, list):
                raise RosterError(f"{self.name}: the users listing has no 'users' list")
            yield from (u for u in users if isinstance(u, dict))
            token = body.get("nextPageToken")
            if not token:
                return
            if token in seen:
                raise RosterError(f"{self.name}: the server repeated a page token; stopped")
            seen.add(str(token))
            params["pageToken"] = str(token)
        raise RosterError(f"{self.name}: the users listing did not end after {MAX_PAGES} pages")

    def _entry(self, user: dict[str, Any]) -> RosterEntry:
        user_id = str(user.get("id", ""))
        try:
            archived = parse_bool(user.get("archived"))
            suspended = parse_bool(user.get("suspended"))
        except ValueError:
            raise RosterError(
                f"{self.name}: user {user_id!r} has an invalid suspended/archived flag"
            ) from None
        status = PersonStatus.ACTIVE
        if archived:
            status = PersonStatus.DEPARTED
        elif suspended:
            status = self.suspended_means
        orgs = [o for o in user.get("organizations") or [] if isinstance(o, dict)]
        org = next((o for o in orgs if o.get("primary")), orgs[0] if orgs else {})
        ou = str(user.get("orgUnitPath") or "/")
        building = str(org.get("department") or "")
        if self.building_from_org_unit:
            building = ou.rstrip("/").rsplit("/", 1)[-1] or building
        is_student = any(ou.lower() == p or ou.lower().startswith(p + "/") for p in self.student_org_units)
        names = user.get("name")
        names = names if isinstance(names, dict) else {}
        external = [e for e in user.get("externalIds") or [] if isinstance(e, dict)]
        employee_id = next((str(e.get("value", "")) for e in external if e.get("type") == "organization"), "")
        return RosterEntry(
            source_id=user_id,
            email=clean_email(user.get("primaryEmail")),
            name=str(names.get("fullName") or full_name(names.get("givenName"), names.get("familyName"))),
            kind=PersonKind.STUDENT if is_student else PersonKind.EMPLOYEE,
            role=str(org.get("title") or ""),
            building=building,
            status=status,
            employee_id=employee_id,
        )
