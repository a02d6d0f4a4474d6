"""The roster-source contract, its registry, its errors and the value mapping every source shares.

A roster source answers one question for `auditor roster sync`: who does the district's directory
(OneRoster, Microsoft Graph, Google Directory, an HR export) say works here, in which role and
building, and who has left? Each source turns its own records into `models.RosterEntry` values;
`auditor.engine.roster_diff.plan_sync` compares them with the registry. Sources that read files raise
`RosterFileError` naming file, line and column; sources that talk HTTP raise `RosterError`. Neither
ever carries a secret in its message. The registry maps a kind name to "module:Class" strings so that
listing the kinds (CLI start-up, `--help`) does not import `requests`.
"""

from __future__ import annotations

import enum
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

from auditor.model.errors import ConnectorError, InputError
from auditor.model.types import PersonKind, PersonStatus, RoleRules, RosterEntry

# --------------------------------------------------------------------------------------------------
# Errors


class RosterError(ConnectorError):
    """A roster source could not be read: unreachable, refused our credentials, or answered nonsense."""


class RosterFileError(InputError):
    """A roster file is malformed. The message names the file, the line and the column."""

    def __init__(
        self, file: str, message: str, *, line: int | None = None, column: str = "", hint: str = ""
    ) -> None:
        where = file
        if line is not None:
            where += f", line {line}"
        if column:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}", hint, line=line, column=column)
        self.file = file


# --------------------------------------------------------------------------------------------------
# The contract


@dataclass(frozen=True)
class RosterSnapshot:
    """What one fetch returned, and whether it is the whole directory.

    `full` is True for a complete listing (OneRoster bulk files, a REST or Graph listing, an HR export
    declared complete): there, a person missing from `entries` has left. A delta file only reports
    changes, so absence means nothing.
    """

    source: str
    entries: tuple[RosterEntry, ...]
    full: bool = True
    roles: RoleRules = field(default_factory=RoleRules)
    # What the source could not read, for the operator (a missing Graph permission): shown with the
    # sync, never a reason to refuse it.
    notes: tuple[str, ...] = ()


class RosterSource(ABC):
    """One directory of people. Subclasses set `kind` and implement `fetch()`."""

    kind: ClassVar[str] = ""
    # What the entries' `role` is: job titles (Graph jobTitle, Google title, an HR export) or
    # OneRoster role terms. A source's configuration may override it (`role_vocabulary`, `role_map`).
    role_vocabulary: ClassVar[str] = "title"

    def __init__(self, name: str = "") -> None:
        self.name = name or self.kind
        # Whether the last fetch() saw the whole directory; a delta file sets it to False.
        self.full_snapshot = True
        self.roles = RoleRules(type(self).role_vocabulary)
        # Set by fetch(): what this listing could not tell (e.g. Graph without leave dates).
        self.notes: list[str] = []

    @abstractmethod
    def fetch(self) -> list[RosterEntry]:
        """Every person the source lists, mapped to roster entries. Raises RosterError/RosterFileError."""

    def snapshot(self) -> RosterSnapshot:
        entries = tuple(self.fetch())
        return RosterSnapshot(
            source=self.name,
            entries=entries,
            full=self.full_snapshot,
            roles=self.roles,
            notes=tuple(self.notes),
        )

    def __repr__(self) -> str:  # never the credentials: subclasses keep them as Secret anyway
        return f"{type(self).__name__}(name={self.name!r})"


class SourceKind(enum.StrEnum):
    """The kinds of roster source `auditor roster sync` understands."""

    ONEROSTER_CSV = "oneroster-csv"
    ONEROSTER_REST = "oneroster-rest"
    MSGRAPH = "msgraph"
    GOOGLE_DIRECTORY = "google-directory"
    CSV = "csv"


# kind -> "module:Class"; imported on demand so the CLI starts without requests (STYLE.md, pip-audit's
# explicit registries; tests check every kind resolves to a RosterSource).
SOURCE_REGISTRY: dict[SourceKind, str] = {
    SourceKind.ONEROSTER_CSV: "connectors.roster.oneroster_csv:OneRosterCsvSource",
    SourceKind.ONEROSTER_REST: "connectors.roster.oneroster_rest:OneRosterRestSource",
    SourceKind.MSGRAPH: "connectors.roster.msgraph:GraphUsersSource",
    SourceKind.GOOGLE_DIRECTORY: "connectors.roster.google_directory:GoogleDirectorySource",
    SourceKind.CSV: "connectors.roster.generic_csv:MappedCsvSource",
}


def source_class(kind: SourceKind | str) -> type[RosterSource]:
    """The class implementing a source kind (imports its module now)."""
    try:
        member = SourceKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in SourceKind)
        raise ConnectorError(f"unknown roster source kind {kind!r}", f"use one of: {choices}") from None
    module_name, _, class_name = SOURCE_REGISTRY[member].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, RosterSource)):  # pragma: no cover - registry bug
        raise TypeError(f"{SOURCE_REGISTRY[member]} is not a RosterSource")
    return cls


# --------------------------------------------------------------------------------------------------
# Value mapping shared by the sources


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def parse_bool(value: object) -> bool | None:
    """OneRoster 1.2 sends "true"/"false" strings, many 1.1 servers JSON booleans: accept both."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not true or false")


def parse_iso_date(value: object) -> date | None:
    """A date from "2025-08-20", "2025-08-20T00:00:00Z" or "2025-08-20T00:00:00.000+02:00"."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if len(text) > 10:
        moment = text[:-1] + "+00:00" if text.endswith("Z") else text
        try:
            return datetime.fromisoformat(moment).date()
        except ValueError:
            pass
    return date.fromisoformat(text[:10])


# OneRoster roles (1.1 users.csv `role`, 1.2 roles.csv `role`) -> the kind of person they are.
_ONEROSTER_KIND = {
    "student": PersonKind.STUDENT,
    "guardian": PersonKind.COMMUNITY,
    "parent": PersonKind.COMMUNITY,
    "relative": PersonKind.COMMUNITY,
}


def oneroster_kind(role: str) -> PersonKind:
    """Students are students, family members community; every staff role (teacher, aide, proctor,
    counselor, principal, administrators) is an employee."""
    return _ONEROSTER_KIND.get(role.strip().lower(), PersonKind.EMPLOYEE)


def oneroster_status(status: object, enabled: bool | None, disabled_means: PersonStatus) -> PersonStatus:
    """`tobedeleted` (and 1.0's `inactive`, read as tobedeleted per the 1.2 spec) means the record
    is gone: departed. `enabledUser=false` means "record active but system access curtailed" (1.2
    UserDType): by default on leave, configurable per source."""
    text = str(status or "").strip().lower()
    if text in ("tobedeleted", "inactive", "deleted"):
        return PersonStatus.DEPARTED
    if enabled is False:
        return disabled_means
    return PersonStatus.ACTIVE


def full_name(*parts: object) -> str:
    return " ".join(str(p).strip() for p in parts if p and str(p).strip())


def clean_email(value: object) -> str:
    return str(value or "").strip().lower()
