"""OneRoster REST 1.1 and 1.2: `GET .../users` (and `.../orgs` for building names), paged.

Reference 8.3. Auth is OAuth 2.0 client credentials: `POST {token_url}` with
`Authorization: Basic base64(urlencode(id):urlencode(secret))` and the form
`grant_type=client_credentials&scope=...`; then `Authorization: Bearer`. Paging is `limit`/`offset`:
with `X-Total-Count` the listing stops once offset+limit reaches the total, without it at the first
short page (the rule real clients use, moodle endpoint.php). Errors come as `imsx_StatusInfoDType`
bodies; 429 `server_busy` is waited out (Retry-After when sent, else the fallback) by the shared
HTTP layer. User records map like the CSV binding: `tobedeleted` -> departed, `enabledUser=false`
-> on leave (configurable), 1.2 `roles[]` with begin/end dates choose the current role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from auditor.model.types import PersonKind, PersonStatus, RosterEntry, Secret
from connectors.roster._rest import (
    MAX_PAGES,
    ClientCredentials,
    HttpSettings,
    error_detail,
    json_of,
    make_client,
    translated,
)
from connectors.roster.base import (
    RosterError,
    RosterSource,
    clean_email,
    full_name,
    oneroster_kind,
    oneroster_status,
    parse_bool,
    parse_iso_date,
)
from connectors.roster.oneroster_csv import _building, _current_role, _Org, _Role

PATHS = {"1.1": "/ims/oneroster/v1p1", "1.2": "/ims/oneroster/rostering/v1p2"}
DEFAULT_SCOPES = {
    "1.1": "https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly",
    "1.2": "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
}


class OneRosterRestSource(RosterSource):
    """A OneRoster 1.1 or 1.2 REST provider (SIS, ClassLink, Clever-style proxies)."""

    kind = "oneroster-rest"
    role_vocabulary = "oneroster"  # users.csv / roles.csv `role`: teacher, administrator...

    def __init__(
        self,
        base_url: str,
        *,
        token_url: str,
        client_id: str,
        client_secret: Secret,
        version: str = "1.1",
        scope: str = "",
        page_size: int = 100,
        name: str = "",
        today: date | None = None,
        clock: Callable[[], date] = date.today,
        disabled_means: PersonStatus = PersonStatus.ON_LEAVE,
        http: HttpSettings | None = None,
    ) -> None:
        super().__init__(name or "OneRoster REST")
        if version not in PATHS:
            raise RosterError(f"{self.name}: OneRoster version {version!r} is not 1.1 or 1.2")
        if not isinstance(client_secret, Secret):
            raise TypeError("client_secret must be a models.Secret")
        if not 1 <= page_size <= 10_000:
            raise RosterError(f"{self.name}: page size must be between 1 and 10000")
        self.version = version
        self.root = base_url.rstrip("/") + PATHS[version]
        self.page_size = page_size
        self.disabled_means = disabled_means
        self._today = today
        self._clock = clock
        self.client = make_client("oneroster", base_url, http or HttpSettings())
        self.auth = ClientCredentials(
            self.client, self.name, token_url, client_id, client_secret,
            scope or DEFAULT_SCOPES[version], basic_auth=True,
        )  # fmt: skip

    def fetch(self) -> list[RosterEntry]:
        today = self._today or self._clock()
        try:
            orgs = {
                str(o.get("sourcedId", "")): _Org(str(o.get("name", "")), str(o.get("type", "")).lower())
                for o in self._list("orgs")
                if str(o.get("status", "")).lower() not in ("tobedeleted", "inactive")
            }
            return [self._entry(u, orgs, today) for u in self._list("users")]
        finally:
            self.client.close()

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        for attempt in (1, 2):
            with translated(self.name):
                response = self.client.get(path, params=params, headers=self.auth.header())
            if response.status == 401 and attempt == 1:
                self.auth.invalidate()  # the token may have been revoked or expired early: once more
                continue
            if response.status == 200:
                return response, json_of(self.name, response)
            hint = "check that the app is granted the OneRoster rostering scope" if response.status in (
                401, 403) else ""  # fmt: skip
            where = urlsplit(path).path
            raise RosterError(
                f"{self.name}: GET {where} failed: HTTP {response.status}{error_detail(response)}", hint
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _list(self, collection: str) -> Iterator[dict[str, Any]]:
        path = f"{self.root}/{collection}"
        offset = 0
        for _ in range(MAX_PAGES):
            response, body = self._get(path, {"limit": self.page_size, "offset": offset})
            items = body.get(collection) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise RosterError(
                    f"{self.name}: GET {urlsplit(path).path} answered without a {collection!r} list"
                )
            yield from (item for item in items if isinstance(item, dict))
            total = _int(response.headers.get("X-Total-Count"))
            offset += self.page_size
            if total is not None:
                if offset >= total or not items:  # offset+limit >= X-Total-Count
                    return
            elif len(items) < self.page_size:  # no total: a short page is the last
                return
        raise RosterError(f"{self.name}: GET {urlsplit(path).path} did not stop after {MAX_PAGES} pages")

    def _entry(self, user: dict[str, Any], orgs: dict[str, _Org], today: date) -> RosterEntry:
        source_id = str(user.get("sourcedId", ""))

        def bad(field: str, value: object) -> RosterError:
            return RosterError(f"{self.name}: user {source_id!r} has an invalid {field}: {value!r}")

        try:
            enabled = parse_bool(user.get("enabledUser"))
        except ValueError:
            raise bad("enabledUser", user.get("enabledUser")) from None
        status = oneroster_status(user.get("status"), enabled, self.disabled_means)
        left_on = None
        if status is PersonStatus.DEPARTED:
            left_on = _date(
                user.get("dateLastModified"), lambda: bad("dateLastModified", user.get("dateLastModified"))
            )
        grades = user.get("grades") or []
        grade = ",".join(str(g) for g in grades) if isinstance(grades, list) else str(grades)
        role_began_on = None
        if self.version == "1.1":
            role = str(user.get("role", "") or "")
            org_ids = [str(o.get("sourcedId", "")) for o in user.get("orgs") or [] if isinstance(o, dict)]
            if not org_ids and isinstance(user.get("orgSourcedIds"), list):
                # Some servers send the CSV binding's orgSourcedIds in place of orgs[] (issue 15).
                org_ids = [str(o) for o in user["orgSourcedIds"] if isinstance(o, str | int)]
            kind = oneroster_kind(role)
            name = full_name(user.get("givenName"), user.get("familyName"))
        else:
            roles = []
            for i, r in enumerate(user.get("roles") or []):
                if not isinstance(r, dict):
                    continue
                org = r.get("org")
                org = org if isinstance(org, dict) else {}
                roles.append(
                    _Role(
                        line=i,
                        role_type=str(r.get("roleType", "")).lower(),
                        role=str(r.get("role", "")),
                        org=str(org.get("sourcedId", "")),
                        begin=_role_date(r, "beginDate", bad),
                        end=_role_date(r, "endDate", bad),
                    )
                )
            current, last_end = _current_role(roles, today)
            shown = current
            if roles and current is None:  # every role ended: no longer here (reference 8.2)
                status, left_on = PersonStatus.DEPARTED, left_on or last_end
                shown = max(roles, key=lambda r: (r.end or date.min, r.role_type == "primary"))
            role = shown.role if shown else ""
            role_began_on = current.begin if current else None
            org_ids = [shown.org] if shown else []
            primary = user.get("primaryOrg")
            if isinstance(primary, dict) and primary.get("sourcedId"):
                org_ids.append(str(primary["sourcedId"]))
            kind = oneroster_kind(role) if role else PersonKind.EMPLOYEE
            name = full_name(
                user.get("preferredFirstName") or user.get("givenName"),
                user.get("preferredLastName") or user.get("familyName"),
            )
        return RosterEntry(
            source_id=source_id,
            email=clean_email(user.get("email")),
            name=name,
            kind=kind,
            role=role,
            building=_building(org_ids, orgs),
            status=status,
            employee_id=str(user.get("identifier", "") or ""),
            grade=grade,
            role_began_on=role_began_on,
            left_on=left_on,
        )


def _date(value: object, error: Callable[[], RosterError]) -> date | None:
    try:
        return parse_iso_date(value)
    except ValueError:
        raise error() from None


def _role_date(role: dict[str, Any], key: str, bad: Callable[[str, object], RosterError]) -> date | None:
    try:
        return parse_iso_date(role.get(key))
    except ValueError:
        raise bad(key, role.get(key)) from None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
