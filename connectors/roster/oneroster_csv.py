"""OneRoster 1.1 and 1.2 CSV: a folder or a .zip with manifest.csv, users.csv, orgs.csv (and roles.csv).

Follows reference sections 8.1/8.2. `manifest.csv` says the version (`oneroster.version`) and whether
users.csv is a complete snapshot (`file.users,bulk`: anyone missing has left) or a change list
(`delta`: `tobedeleted` marks a removal, absence means nothing). Every file is parsed by header name.
In 1.1 the role and the orgs sit in users.csv (`role`, `orgSourcedIds`); 1.2 moves them to roles.csv
with `roleType` primary/secondary and `beginDate`/`endDate`: a role whose endDate has passed is no
longer held, and someone whose every role has ended is reported as departed on the last endDate.
Building names come from orgs.csv (a school is preferred over the district). `enabledUser=false`
("record active, system access curtailed") maps to on leave unless `disabled_means` says otherwise.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from auditor.model.types import PersonKind, PersonStatus, RosterEntry
from connectors.roster._csv import Row, decode, read_rows
from connectors.roster.base import (
    RosterFileError,
    RosterSource,
    clean_email,
    full_name,
    oneroster_kind,
    oneroster_status,
    parse_bool,
    parse_iso_date,
)

# A users.csv larger than this is not a school district's: refuse rather than exhaust memory (zip bombs).
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class _Role:
    line: int
    role_type: str
    role: str
    org: str
    begin: date | None
    end: date | None


class _Files:
    """Read access to the CSVs of a folder or a zip, by case-insensitive file name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        if path.is_dir():
            self._names = {p.name.lower(): str(p) for p in path.iterdir() if p.is_file()}
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise RosterFileError(
                    path.name,
                    "is neither a folder nor a zip file",
                    hint="point at the OneRoster export folder or the .zip the SIS produced",
                ) from None
            for info in self._zip.infolist():
                if not info.is_dir():
                    # Some exporters wrap the CSVs in one folder inside the zip, and zips written
                    # on Windows may separate it with a backslash ("export\\users.csv").
                    base = info.filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
                    self._names.setdefault(base, info.filename)
        else:
            raise RosterFileError(str(path), "does not exist")

    def has(self, name: str) -> bool:
        return name.lower() in self._names

    def text(self, name: str) -> str:
        member = self._names.get(name.lower())
        if member is None:
            raise RosterFileError(
                name, f"is missing from {self.path.name}", hint="the OneRoster export must include it"
            )
        if self._zip is not None:
            if self._zip.getinfo(member).file_size > MAX_FILE_BYTES:
                raise RosterFileError(name, "is too large to be a roster file")
            with self._zip.open(member) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        else:
            data = Path(member).read_bytes()
        return decode(name, data)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


class OneRosterCsvSource(RosterSource):
    """A OneRoster 1.1 or 1.2 CSV export (folder or zip)."""

    kind = "oneroster-csv"
    role_vocabulary = "oneroster"  # users.csv / roles.csv `role`: teacher, administrator...

    def __init__(
        self,
        path: str | Path,
        *,
        name: str = "",
        today: date | None = None,
        disabled_means: PersonStatus = PersonStatus.ON_LEAVE,
        clock: Callable[[], date] = date.today,
    ) -> None:
        super().__init__(name or f"oneroster-csv:{Path(path).name}")
        self.path = Path(path)
        self._today = today
        self._clock = clock
        self.disabled_means = disabled_means
        self.version = ""

    def fetch(self) -> list[RosterEntry]:
        today = self._today or self._clock()
        files = _Files(self.path)
        try:
            manifest = _read_manifest(files)
            version = manifest.get("oneroster.version", "")
            if not version.startswith(("1.1", "1.2")):
                raise RosterFileError(
                    "manifest.csv",
                    f"names OneRoster version {version!r}; this tool reads 1.1 and 1.2",
                    column="oneroster.version",
                )
            self.version = version[:3]
            mode = manifest.get("file.users", "bulk").lower()
            if mode == "absent":
                raise RosterFileError("manifest.csv", "says users.csv is absent", column="file.users")
            self.full_snapshot = mode == "bulk"
            orgs = _read_orgs(files) if files.has("orgs.csv") else {}
            if self.version == "1.1":
                return _users_v1p1(files, orgs, self.disabled_means)
            roles = _read_roles(files) if files.has("roles.csv") else {}
            return _users_v1p2(files, orgs, roles, today, self.disabled_means)
        finally:
            files.close()


def _read_manifest(files: _Files) -> dict[str, str]:
    _, rows = read_rows("manifest.csv", files.text("manifest.csv"), required=("propertyName", "value"))
    return {r.get("propertyName").lower(): r.get("value") for r in rows}


@dataclass(frozen=True)
class _Org:
    name: str
    type: str


def _read_orgs(files: _Files) -> dict[str, _Org]:
    _, rows = read_rows("orgs.csv", files.text("orgs.csv"), required=("sourcedId", "name"))
    return {
        r.get("sourcedId"): _Org(r.get("name"), r.get("type").lower())
        for r in rows
        if r.get("status").lower() not in ("tobedeleted", "inactive")
    }


def _building(org_ids: list[str], orgs: dict[str, _Org]) -> str:
    """A school (or any non-district org) names the building; the district alone is a fallback."""
    known = [orgs[o] for o in org_ids if o in orgs]
    for org in known:
        if org.type != "district":
            return org.name
    return known[0].name if known else ""


def _date(file: str, row: Row, column: str) -> date | None:
    try:
        return parse_iso_date(row.get(column))
    except ValueError:
        raise RosterFileError(
            file, f"{row.get(column)!r} is not a date (expected YYYY-MM-DD)", line=row.line, column=column
        ) from None


def _bool(file: str, row: Row, column: str) -> bool | None:
    try:
        return parse_bool(row.get(column))
    except ValueError:
        raise RosterFileError(
            file, f"{row.get(column)!r} is not true or false", line=row.line, column=column
        ) from None


def _status(file: str, row: Row) -> str:
    status = row.get("status").lower()
    if status not in ("", "active", "tobedeleted", "inactive"):
        raise RosterFileError(
            file,
            f"{row.get('status')!r} is not a OneRoster status (active, tobedeleted)",
            line=row.line,
            column="status",
        )
    return status


def _users_v1p1(files: _Files, orgs: dict[str, _Org], disabled_means: PersonStatus) -> list[RosterEntry]:
    _, rows = read_rows(
        "users.csv", files.text("users.csv"), required=("sourcedId", "role", "email", "orgSourcedIds")
    )
    entries = []
    for row in rows:
        status_text = _status("users.csv", row)
        status = oneroster_status(status_text, _bool("users.csv", row, "enabledUser"), disabled_means)
        role = row.get("role")
        org_ids = [o.strip() for o in row.get("orgSourcedIds").split(",") if o.strip()]
        entries.append(
            RosterEntry(
                source_id=row.get("sourcedId"),
                email=clean_email(row.get("email")),
                name=full_name(row.get("givenName"), row.get("familyName")),
                kind=oneroster_kind(role),
                role=role,
                building=_building(org_ids, orgs),
                status=status,
                employee_id=row.get("identifier"),
                grade=row.get("grades"),
                left_on=_date("users.csv", row, "dateLastModified")
                if status is PersonStatus.DEPARTED
                else None,
            )
        )
    return entries


def _read_roles(files: _Files) -> dict[str, list[_Role]]:
    _, rows = read_rows(
        "roles.csv", files.text("roles.csv"), required=("userSourcedId", "roleType", "role", "orgSourcedId")
    )
    roles: dict[str, list[_Role]] = {}
    for row in rows:
        if _status("roles.csv", row) in ("tobedeleted", "inactive"):
            continue
        role_type = row.get("roleType").lower()
        if role_type not in ("primary", "secondary"):
            raise RosterFileError(
                "roles.csv",
                f"{row.get('roleType')!r} is not primary or secondary",
                line=row.line,
                column="roleType",
            )
        role = _Role(
            line=row.line,
            role_type=role_type,
            role=row.get("role"),
            org=row.get("orgSourcedId"),
            begin=_date("roles.csv", row, "beginDate"),
            end=_date("roles.csv", row, "endDate"),
        )
        roles.setdefault(row.get("userSourcedId"), []).append(role)
    return roles


def _current_role(roles: list[_Role], today: date) -> tuple[_Role | None, date | None]:
    """The role held today (primary first) or, when every role has ended, None and the last end date."""
    held = [r for r in roles if (r.begin is None or r.begin <= today) and (r.end is None or r.end >= today)]
    if not held:
        upcoming = [r for r in roles if r.begin is not None and r.begin > today]
        if upcoming:  # between roles: the next one is what they are hired for
            held = sorted(upcoming, key=lambda r: r.begin or today)
        else:
            ended = [r.end for r in roles if r.end is not None]
            return None, max(ended) if ended else None
    held.sort(key=lambda r: (r.role_type != "primary", r.line))
    return held[0], None


def _users_v1p2(
    files: _Files,
    orgs: dict[str, _Org],
    roles: dict[str, list[_Role]],
    today: date,
    disabled_means: PersonStatus,
) -> list[RosterEntry]:
    _, rows = read_rows("users.csv", files.text("users.csv"), required=("sourcedId", "email"))
    entries = []
    for row in rows:
        source_id = row.get("sourcedId")
        status = oneroster_status(
            _status("users.csv", row), _bool("users.csv", row, "enabledUser"), disabled_means
        )
        left_on = _date("users.csv", row, "dateLastModified") if status is PersonStatus.DEPARTED else None
        user_roles = roles.get(source_id, [])
        current, last_end = _current_role(user_roles, today)
        shown: _Role | None = current
        if user_roles and current is None:
            # Every role has an endDate in the past: no longer in any role here (reference 8.2).
            status = PersonStatus.DEPARTED
            left_on = left_on or last_end
            shown = max(user_roles, key=lambda r: (r.end or date.min, r.role_type == "primary"))
        org_ids = [shown.org] if shown else []
        if row.get("primaryOrgSourcedId"):
            org_ids.append(row.get("primaryOrgSourcedId"))
        role = shown.role if shown else ""
        kind = oneroster_kind(role) if role else PersonKind.EMPLOYEE
        entries.append(
            RosterEntry(
                source_id=source_id,
                email=clean_email(row.get("email")),
                name=full_name(
                    row.get("preferredGivenName") or row.get("givenName"),
                    row.get("preferredFamilyName") or row.get("familyName"),
                ),
                kind=kind,
                role=role,
                building=_building(org_ids, orgs),
                status=status,
                employee_id=row.get("identifier"),
                grade=row.get("grades"),
                role_began_on=current.begin if current else None,
                left_on=left_on,
            )
        )
    return entries
