"""Domain types shared by every package: people, accounts, approvals, profiles, findings.

The model is the leaf of the dependency graph (see docs/design.md): this module imports only its
siblings `enums` (`StrEnum`) and `platforms` (`Platform` and the facts about each platform, which it
re-exports), and everything else imports it. Types are frozen dataclasses; records that the registry stores
carry `to_dict()` / `from_dict()` so the storage layer stays ignorant of their fields. Dates are
`datetime.date`, instants are timezone-aware `datetime` in UTC.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from auditor.model.enums import StrEnum as StrEnum
from auditor.model.platforms import Platform as Platform

# --------------------------------------------------------------------------------------------------
# Secrets


class Secret:
    """A value that must never be printed, logged or serialised by accident.

    `repr()` and `str()` show `Secret('****')`; the only way to the value is `.reveal()`, so every
    real use is visible in the code (grep for `.reveal(`).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes) -> None:
        self._value = value

    def reveal(self) -> str | bytes:
        return self._value

    def reveal_str(self) -> str:
        value = self._value
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        import hmac

        if not isinstance(other, Secret):
            return NotImplemented
        a, b = self._value, other._value
        a = a.encode() if isinstance(a, str) else a
        b = b.encode() if isinstance(b, str) else b
        return hmac.compare_digest(a, b)

    def __hash__(self) -> int:
        raise TypeError("Secret is not hashable")

    def __reduce__(self) -> Any:
        raise TypeError("Secret cannot be pickled")

    def __bool__(self) -> bool:
        return bool(self._value)


# --------------------------------------------------------------------------------------------------
# Enumerations (`Platform` is in auditor/model/platforms.py, next to the facts about each platform)


class PersonKind(StrEnum):
    EMPLOYEE = "employee"
    STUDENT = "student"
    VOLUNTEER = "volunteer"
    COMMUNITY = "community"


class PersonStatus(StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    DEPARTED = "departed"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"leave": "on_leave", "left": "departed", "inactive": "departed"}


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class Purpose(StrEnum):
    DISTRICT = "district"
    SCHOOL = "school"
    ATHLETICS = "athletics"
    ACTIVITY = "activity"
    CLASSROOM = "classroom"
    DEPARTMENT = "department"
    EVENT = "event"
    OTHER = "other"


class ProfileStatus(StrEnum):
    """What a connector saw. `UNKNOWN` means "could not check this run", never "found"."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    PROTECTED = "protected"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class FindingState(StrEnum):
    NEW = "new"
    OPEN = "open"
    RESOLVED = "resolved"
    WAIVED = "waived"


_STATE_ORDER = {FindingState.NEW: 0, FindingState.OPEN: 1, FindingState.WAIVED: 2, FindingState.RESOLVED: 3}


class Role(StrEnum):
    """What an identity may unlock and do (docs/escrow.md, "Roles").

    `admin` is the district administrator (stored as "admin" since format 1; shown and accepted as
    "district-admin"): every escrow scope, identities and policy. A building administrator holds the
    escrow scopes it is granted and reads the inventory. The auditor (the nightly job) and compliance
    hold the inventory key only."""

    ADMIN = "admin"
    BUILDING_ADMIN = "building-admin"
    AUDITOR = "auditor"
    COMPLIANCE = "compliance"

    @staticmethod
    def _aliases() -> dict[str, str]:
        return {"district_admin": "admin", "building_admin": "building-admin", "principal": "building-admin"}

    @property
    def label(self) -> str:
        """The role's name as users read and type it."""
        return "district-admin" if self is Role.ADMIN else self.value

    @property
    def holds_escrow(self) -> bool:
        """Holds the escrow domain key (district and building administrators)."""
        return self in (Role.ADMIN, Role.BUILDING_ADMIN)


# The escrow scope of an account with no building, and how an identity that reaches every scope (a
# district administrator) is written in `EscrowHolder.scopes`.
DISTRICT_SCOPE = "district"
EVERY_SCOPE = "*"


def escrow_scope(building: object) -> str:
    """The escrow scope of an account in `building`: the building (inner whitespace collapsed), or
    `district` for an account that has none (docs/escrow.md, "Scopes")."""
    return " ".join(str(building or "").split()) or DISTRICT_SCOPE


@dataclass(frozen=True)
class EscrowHolder:
    """An identity that can open escrowed credentials, as the checks see it (never a key): its name,
    role, the email that matches it with the roster, and the scopes it reaches."""

    name: str
    role: Role
    email: str = ""
    scopes: tuple[str, ...] = ()  # (EVERY_SCOPE,) for a district administrator

    def reaches(self, scope: str) -> bool:
        """The identity can open the credentials of an account in `scope`."""
        want = " ".join(scope.split()).casefold()
        return any(s == EVERY_SCOPE or " ".join(s.split()).casefold() == want for s in self.scopes)


# --------------------------------------------------------------------------------------------------
# Serialisation helpers (kept here so records need no knowledge of the storage layer)


def _encode(value: Any) -> Any:
    """A JSON-ready copy of `value`: enums as values, dates as ISO 8601 strings, dataclasses as
    dicts of their fields, tuples as lists, mappings as dicts with string keys.

    One dispatch on the exact type, with the way to encode each type worked out once and kept in
    `_ENCODERS` (a dataclass's field names included), instead of walking a chain of isinstance and
    `dataclasses.fields` calls for every value: an audit encodes millions of values. The records
    that the registry stores in bulk (Finding, Profile, Account, Person, AuditRun) have their own
    `to_dict`, written out field by field, which gives the same dicts."""
    cls = type(value)
    if cls is str or cls is int or cls is bool or cls is float or value is None:
        return value
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        encoder = _ENCODERS[cls] = _encoder_for(cls)
    return encoder(value)


def _encode_list(value: Any) -> list[Any]:
    return [_encode(v) for v in value]


def _encode_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {k if type(k) is str else str(k): _encode(v) for k, v in value.items()}


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _iso(value: date) -> str:
    return value.isoformat()


def _refuse_secret(value: Secret) -> Any:
    raise TypeError("refusing to serialise a Secret")


def _same(value: Any) -> Any:
    return value


def _encoder_for(cls: type) -> Any:
    """How to encode values of exactly `cls` (the order of the tests is the encoding's rules)."""
    if issubclass(cls, enum.Enum):
        return _enum_value
    if issubclass(cls, date):  # datetime too
        return _iso
    if issubclass(cls, Secret):
        return _refuse_secret
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        return lambda obj: {n: _encode(getattr(obj, n)) for n in names}
    if issubclass(cls, tuple | list):
        return _encode_list
    if issubclass(cls, Mapping):
        return _encode_mapping
    return _same


_ENCODERS: dict[type, Any] = {dict: _encode_mapping, list: _encode_list, tuple: _encode_list}


def _opt_iso(value: Any) -> Any:
    """A date or instant field: None, else ISO 8601 (anything else as `_encode` has it)."""
    return None if value is None else _encode(value)


def to_plain(obj: Any) -> Any:
    """A JSON-ready copy of a dataclass tree: enums as values, dates as ISO 8601 strings."""
    return _encode(obj)


def plain_dict(obj: Any) -> dict[str, Any]:
    """`to_plain` of a dataclass: a JSON-ready dict."""
    data: dict[str, Any] = to_plain(obj)
    return data


def parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def parse_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _text(value: Any) -> str:
    """A stored text field: `str(value or "")`, without the call when it is a string already."""
    if type(value) is str:
        return value
    return str(value) if value else ""


def _tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(map(str, value))


# --------------------------------------------------------------------------------------------------
# People


@dataclass(frozen=True)
class FieldSource:
    """Where one person field's value came from, and when (issue 13, field provenance).

    `by` is `roster:NAME` (a roster sync), `import:FILE` (a people import), `command:person add`,
    `command:person edit` or `offboard`; `at` is the UTC time of the write, ISO 8601."""

    by: str
    at: str

    @property
    def from_roster(self) -> bool:
        """A roster sync or an offboarding set it: a fact an import file does not override."""
        return self.by.startswith("roster:") or self.by == "offboard"


# The fields a roster sync or an offboarding decides; an import leaves them alone when one of those
# set them, unless `--override-roster` is given (services/inventory.py).
ROSTER_FACTS = ("status", "departed_on", "role", "building", "buildings", "role_changed_on")


@dataclass(frozen=True)
class Person:
    """Someone who owns, co-manages or posts to a district account."""

    id: str
    name: str
    email: str = ""
    kind: PersonKind = PersonKind.EMPLOYEE
    adult: bool | None = None
    birth_date: date | None = None
    grade: str = ""
    role: str = ""
    building: str = ""  # the primary building (the first of `buildings` when there are several)
    status: PersonStatus = PersonStatus.ACTIVE
    employee_id: str = ""
    training_completed_on: date | None = None
    procedure_signed_on: date | None = None
    aup_signed_on: date | None = None
    role_changed_on: date | None = None
    departed_on: date | None = None
    notes: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # field -> where its current value came from; fields set before provenance was kept have none.
    sources: Mapping[str, FieldSource] = field(default_factory=dict, hash=False)
    # Set by the registry on read: the stored record version, used for optimistic concurrency.
    version: int = 0
    # Every building they work at when there is more than one (an administrator of two schools, a
    # teacher a per-school staff export lists twice): `building` first, included. () for one or none.
    # Last, so that a Person built with positional fields is built as before.
    buildings: tuple[str, ...] = ()

    @staticmethod
    def building_fields(names: Iterable[str]) -> tuple[str, tuple[str, ...]]:
        """(building, buildings) for a list of building names: trimmed, empty ones and repeats
        (compared as `fold` does) dropped, the first the primary; `buildings` only for two or more."""
        kept: dict[str, str] = {}
        for name in names:
            name = name.strip()
            if name and fold(name) not in kept:
                kept[fold(name)] = name
        listed = tuple(kept.values())
        return (listed[0] if listed else ""), (listed if len(listed) > 1 else ())

    @property
    def all_buildings(self) -> tuple[str, ...]:
        """Every building they work at: `buildings`, else `building` alone, else ()."""
        if self.buildings:
            return self.buildings
        return (self.building,) if self.building else ()

    def works_at(self, building: str) -> bool:
        """One of their buildings is `building` (compared as `fold` does)."""
        wanted = fold(building)
        return any(fold(b) == wanted for b in self.all_buildings)

    def stamped(self, before: Person | None, by: str, at: datetime) -> Person:
        """This person with `by` recorded as the source of every field that differs from `before`
        (every field given a value, for a new person)."""
        changed = person_changed_fields(before, self)
        if not changed:
            return self
        mark = FieldSource(by, at.isoformat())
        return dataclasses.replace(self, sources={**self.sources, **dict.fromkeys(changed, mark)})

    def is_adult(self, today: date) -> bool | None:
        """True/False when known (explicit flag, else birth date), None when nothing says."""
        if self.adult is not None:
            return self.adult
        if self.birth_date is not None:
            return age_on(self.birth_date, today) >= 18
        if self.kind is PersonKind.EMPLOYEE:
            return True
        return None

    def to_dict(self) -> dict[str, Any]:
        """The stored form (every field but `version`); the same dict `to_plain` gives."""
        e, d = _encode, _opt_iso
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "kind": e(self.kind),
            "adult": e(self.adult),
            "birth_date": d(self.birth_date),
            "grade": self.grade,
            "role": self.role,
            "building": self.building,
            "buildings": e(self.buildings),
            "status": e(self.status),
            "employee_id": self.employee_id,
            "training_completed_on": d(self.training_completed_on),
            "procedure_signed_on": d(self.procedure_signed_on),
            "aup_signed_on": d(self.aup_signed_on),
            "role_changed_on": d(self.role_changed_on),
            "departed_on": d(self.departed_on),
            "notes": self.notes,
            "created_at": d(self.created_at),
            "updated_at": d(self.updated_at),
            "sources": e(self.sources),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> Person:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            email=str(data.get("email", "")),
            kind=PersonKind.parse(data.get("kind") or "employee"),
            adult=data.get("adult"),
            birth_date=parse_date(data.get("birth_date")),
            grade=_text(data.get("grade")),
            role=_text(data.get("role")),
            building=_text(data.get("building")),
            buildings=_tuple(data.get("buildings")),
            status=PersonStatus.parse(data.get("status") or "active"),
            employee_id=_text(data.get("employee_id")),
            training_completed_on=parse_date(data.get("training_completed_on")),
            procedure_signed_on=parse_date(data.get("procedure_signed_on")),
            aup_signed_on=parse_date(data.get("aup_signed_on")),
            role_changed_on=parse_date(data.get("role_changed_on")),
            departed_on=parse_date(data.get("departed_on")),
            notes=_text(data.get("notes")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            sources={
                str(name): FieldSource(str(src.get("by", "")), str(src.get("at", "")))
                for name, src in (data.get("sources") or {}).items()
                if isinstance(src, Mapping)
            },
            version=version,
        )


# What a person's fields are, for provenance and diffs: every stored field but the bookkeeping.
PERSON_META = frozenset({"id", "created_at", "updated_at", "sources", "version"})
PERSON_DATA_FIELDS = tuple(f.name for f in dataclasses.fields(Person) if f.name not in PERSON_META)


def person_changed_fields(before: Person | None, after: Person) -> list[str]:
    """The data fields whose value differs (for a new person: the fields that hold a value)."""
    if before is None:
        return [n for n in PERSON_DATA_FIELDS if getattr(after, n) not in (None, "", ())]
    return [n for n in PERSON_DATA_FIELDS if getattr(before, n) != getattr(after, n)]


def roster_held(current: Person, offered: Person, fields: frozenset[str]) -> dict[str, str]:
    """Of `fields` (those an import row gives), the roster facts whose offered value differs from a
    value a roster sync or an offboarding set: field -> why it is kept. A departure recorded before
    field sources were kept counts as one too (an old staff file must not bring someone back)."""
    held: dict[str, str] = {}
    for name in ROSTER_FACTS:
        if name not in fields or getattr(current, name) == getattr(offered, name):
            continue
        source = current.sources.get(name)
        if source is not None and source.from_roster:
            what = "offboarding" if source.by == "offboard" else source.by.replace(":", " ", 1)
            held[name] = f"set by {what} on {source.at[:10]}"
        elif source is None and name == "status" and current.status is PersonStatus.DEPARTED:
            held[name] = "recorded as departed"
    # A building and the list of them are one fact: kept together, or the primary building would not
    # be the first of the list.
    for kept, other in (("building", "buildings"), ("buildings", "building")):
        same = getattr(current, other) == getattr(offered, other)
        if kept in held and other not in held and other in fields and not same:
            held[other] = held[kept]
    return held


# Dates of the last time something was done: an import never moves one back (last term's file
# must not undo this term's training); `person edit` sets an earlier date on purpose.
DONE_DATES = {
    "training_completed_on": "--training",
    "procedure_signed_on": "--procedure-signed",
    "aup_signed_on": "--aup-signed",
}


def import_held(
    current: Person, offered: Person, fields: frozenset[str], *, override_roster: bool
) -> dict[str, str]:
    """Every field of `fields` an import leaves as it is, with why: roster facts (unless
    `override_roster`) and done-dates the file would move back. Clearing (an empty cell with
    --clear-empty) is not moving back."""
    held = {} if override_roster else roster_held(current, offered, fields)
    for name, option in DONE_DATES.items():
        have, given = getattr(current, name), getattr(offered, name)
        if name in fields and have is not None and given is not None and given < have:
            held[name] = f"a later date is on record; `auditor person edit {option}` sets an earlier one"
    return held


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# --------------------------------------------------------------------------------------------------
# Accounts


@dataclass(frozen=True, slots=True)
class Approval:
    """The administration's approval of an account (Moline-Coal Valley: "Social Media Approval
    Application"; Naperville 203: "must inform school/building administration")."""

    requested_on: date | None = None
    approved_on: date | None = None
    approved_by: str = ""
    renewal_due: date | None = None
    reference: str = ""

    @property
    def is_approved(self) -> bool:
        return self.approved_on is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Approval:
        data = data or {}
        return cls(
            requested_on=parse_date(data.get("requested_on")),
            approved_on=parse_date(data.get("approved_on")),
            approved_by=_text(data.get("approved_by")),
            renewal_due=parse_date(data.get("renewal_due")),
            reference=_text(data.get("reference")),
        )


@dataclass(frozen=True, slots=True)
class Account:
    """One social-media account that represents the district, a school, a team or a club."""

    id: str
    platform: Platform
    handle: str
    profile_url: str = ""
    platform_id: str = ""
    display_name: str = ""
    building: str = ""
    purpose: Purpose = Purpose.SCHOOL
    owner_id: str = ""
    co_manager_ids: tuple[str, ...] = ()
    student_manager_ids: tuple[str, ...] = ()
    login_email: str = ""
    two_factor: bool | None = None
    public_comments: bool | None = None
    comment_monitor_ids: tuple[str, ...] = ()
    approval: Approval = field(default_factory=Approval)
    status: AccountStatus = AccountStatus.ACTIVE
    notes: str = ""
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # When the owner, co-managers or student managers last changed (set by vault/stores/inventory.py):
    # credentials escrowed before it may be known to someone who no longer manages the account.
    managers_changed_at: datetime | None = None
    # Set by the registry on read: the stored record version, used for optimistic concurrency.
    version: int = 0

    @property
    def key(self) -> tuple[str, str]:
        """The natural key: platform plus case-folded handle (imports are idempotent on it)."""
        return (self.platform.value, normalise_handle(self.handle))

    @property
    def label(self) -> str:
        return f"{self.platform.label} account {display_handle(self.platform, self.handle)}"

    def manager_ids(self) -> tuple[str, ...]:
        """Owner first, then co-managers, without duplicates."""
        seen: list[str] = []
        for pid in (self.owner_id, *self.co_manager_ids):
            if pid and pid not in seen:
                seen.append(pid)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """The stored form (every field but `version`); the same dict `to_plain` gives."""
        e, d, a = _encode, _opt_iso, self.approval
        approval = (
            {
                "requested_on": d(a.requested_on),
                "approved_on": d(a.approved_on),
                "approved_by": a.approved_by,
                "renewal_due": d(a.renewal_due),
                "reference": a.reference,
            }
            if type(a) is Approval
            else e(a)
        )
        return {
            "id": self.id,
            "platform": e(self.platform),
            "handle": self.handle,
            "profile_url": self.profile_url,
            "platform_id": self.platform_id,
            "display_name": self.display_name,
            "building": self.building,
            "purpose": e(self.purpose),
            "owner_id": self.owner_id,
            "co_manager_ids": e(self.co_manager_ids),
            "student_manager_ids": e(self.student_manager_ids),
            "login_email": self.login_email,
            "two_factor": e(self.two_factor),
            "public_comments": e(self.public_comments),
            "comment_monitor_ids": e(self.comment_monitor_ids),
            "approval": approval,
            "status": e(self.status),
            "notes": self.notes,
            "tags": e(self.tags),
            "created_at": d(self.created_at),
            "updated_at": d(self.updated_at),
            "managers_changed_at": d(self.managers_changed_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> Account:
        return cls(
            id=str(data["id"]),
            platform=Platform.parse(data["platform"]),
            handle=str(data["handle"]),
            profile_url=_text(data.get("profile_url")),
            platform_id=_text(data.get("platform_id")),
            display_name=_text(data.get("display_name")),
            building=_text(data.get("building")),
            purpose=Purpose.parse(data.get("purpose") or "school"),
            owner_id=_text(data.get("owner_id")),
            co_manager_ids=_tuple(data.get("co_manager_ids")),
            student_manager_ids=_tuple(data.get("student_manager_ids")),
            login_email=_text(data.get("login_email")),
            two_factor=data.get("two_factor"),
            public_comments=data.get("public_comments"),
            comment_monitor_ids=_tuple(data.get("comment_monitor_ids")),
            approval=Approval.from_dict(data.get("approval")),
            status=AccountStatus.parse(data.get("status") or "active"),
            notes=_text(data.get("notes")),
            tags=_tuple(data.get("tags")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            managers_changed_at=parse_datetime(data.get("managers_changed_at")),
            version=version,
        )

    def managers_key(self) -> tuple[str, frozenset[str], frozenset[str]]:
        """Who manages the account: a change here means the credentials must be rotated."""
        return (self.owner_id, frozenset(self.co_manager_ids), frozenset(self.student_manager_ids))


def normalise_handle(handle: str) -> str:
    """Handles are case-insensitive on every platform we support; a leading @ is decoration."""
    return handle.strip().lstrip("@").casefold()


# --------------------------------------------------------------------------------------------------
# What a handle, a person's name or an email may contain. Checked where such text enters (imports,
# `account add/edit`, `person add/edit`), not on reading: records stored before these rules still
# load, and every output path shows their odd characters as visible escapes (auditor/model/safetext.py).

# Control characters (C0, DEL, C1: NUL, ESC, CR, backspace, tab, newline...) and the line and
# paragraph separators: never part of a name, a handle or an address.
_REFUSED_EVERYWHERE = frozenset({"Cc", "Zl", "Zp"})
# Handles and emails: also every format character (Cf): the bidi marks, embeddings, overrides and
# isolates, zero-width spaces and joiners, the byte-order mark, soft hyphens, tag characters. No
# platform allows them in a handle; in the registry they would only disguise a look-alike.
_REFUSED_IN_HANDLES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Names: the bidi embeddings, overrides and isolates, which reorder the text around them. The bidi
# marks (LRM, RLM, ALM) stay allowed: they occur in correctly written right-to-left names.
_NAME_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused_char(text: str, categories: frozenset[str], extra: frozenset[str] = frozenset()) -> str:
    """The first character of `text` in `categories` or `extra`, or ""."""
    if text.isprintable():  # no Cc, Cf, Zl or Zp at all: the common case, at C speed
        return ""
    for ch in text:
        if ch in extra or unicodedata.category(ch) in categories:
            return ch
    return ""


_CONTROL_NAMES = {0: "NUL", 8: "backspace", 9: "tab", 10: "newline", 13: "carriage return", 27: "escape"}


def _char_name(ch: str) -> str:
    code = ord(ch)
    escape = f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    name = _CONTROL_NAMES.get(code) or unicodedata.name(ch, "a control character")
    return f"{escape} ({name})"


def check_handle(handle: str) -> str:
    """The handle without surrounding spaces; ValueError when it holds a control, format or bidi
    character (NUL, ESC, the right-to-left override, a zero-width space...)."""
    ch = _refused_char(handle, _REFUSED_IN_HANDLES)
    if ch:
        raise ValueError(
            f"{handle!r} contains {_char_name(ch)}; a handle cannot contain control, "
            "invisible or text-direction characters"
        )
    return handle.strip()


def check_person_name(name: str) -> str:
    """The name without surrounding spaces; ValueError when it holds a control character (NUL,
    ESC, CR, tab, newline...) or a bidi embedding, override or isolate."""
    ch = _refused_char(name, _REFUSED_EVERYWHERE, _NAME_BIDI)
    if ch:
        raise ValueError(
            f"{name!r} contains {_char_name(ch)}; a name cannot contain control or "
            "text-direction override characters"
        )
    return name.strip()


def check_address_chars(text: str) -> str:
    """ValueError when an email address holds a control, format or bidi character."""
    ch = _refused_char(text, _REFUSED_IN_HANDLES)
    if ch:
        raise ValueError(f"{text!r} contains {_char_name(ch)}; it is not an email address")
    return text


def display_handle(platform: Platform, handle: str) -> str:
    """The handle as the platform writes it: `@lincolnhs` on X, `lincolnhs.bsky.social` on Bluesky."""
    return platform.info.display_prefix + handle.strip().lstrip("@")


# --------------------------------------------------------------------------------------------------
# Credentials: metadata only. The secret values live in vault/ under the escrow key.


@dataclass(frozen=True)
class CredentialRef:
    """What the inventory key may know about an escrowed credential: never the secret itself."""

    account_id: str
    escrowed: bool = False
    version: int = 0
    set_at: datetime | None = None
    set_by: str = ""
    rotated_at: datetime | None = None
    has_password: bool = False
    has_totp: bool = False
    recovery_codes_total: int = 0
    recovery_codes_unused: int = 0

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CredentialRef:
        return cls(
            account_id=str(data["account_id"]),
            escrowed=bool(data.get("escrowed", False)),
            version=int(data.get("version", 0)),
            set_at=parse_datetime(data.get("set_at")),
            set_by=_text(data.get("set_by")),
            rotated_at=parse_datetime(data.get("rotated_at")),
            has_password=bool(data.get("has_password", False)),
            has_totp=bool(data.get("has_totp", False)),
            recovery_codes_total=int(data.get("recovery_codes_total", 0)),
            recovery_codes_unused=int(data.get("recovery_codes_unused", 0)),
        )


# --------------------------------------------------------------------------------------------------
# What a connector saw


@dataclass(frozen=True)
class Profile:
    """A platform's public view of one handle, or the reason it could not be seen.

    `status` is the verdict. `UNKNOWN` carries a `reason` ("rate-limited past the budget",
    "HTTP 503", "timeout", "no credentials", "unparseable answer") and must never be read as found.
    """

    platform: Platform
    handle: str  # what we asked for
    status: ProfileStatus
    reason: str = ""
    platform_handle: str = ""  # as the platform writes it
    platform_id: str = ""
    display_name: str = ""
    bio: str = ""  # plain text (HTML converted)
    website: str = ""
    links: tuple[str, ...] = ()
    verified: bool | None = None
    verified_kind: str = ""
    created_at: datetime | None = None
    followers: int | None = None
    last_post_at: datetime | None = None
    url: str = ""
    fetched_at: datetime | None = None
    source: str = "api"  # "api" or "manual" (an administrator's attestation)
    renamed_from: str = ""  # the handle we asked for, when the platform id now answers to another
    attested_by: str = ""  # manual connector: who checked the profile
    # The platform no longer vouches for the handle (Bluesky shows `handle.invalid` when a domain
    # handle's DNS record or well-known file stopped pointing at the account): the account is there,
    # `platform_handle` keeps the handle it was known by, and anyone holding that domain can claim it.
    handle_unverified: bool = False

    @property
    def found(self) -> bool:
        return self.status in (ProfileStatus.FOUND, ProfileStatus.PROTECTED)

    @property
    def known(self) -> bool:
        return self.status is not ProfileStatus.UNKNOWN

    def text(self) -> str:
        """Everything the profile says about itself, for affiliation and impersonation checks."""
        return "\n".join(p for p in (self.display_name, self.bio, self.website, *self.links) if p)

    def to_dict(self) -> dict[str, Any]:
        """The stored form; the same dict `to_plain` gives."""
        e, d = _encode, _opt_iso
        return {
            "platform": e(self.platform),
            "handle": self.handle,
            "status": e(self.status),
            "reason": self.reason,
            "platform_handle": self.platform_handle,
            "platform_id": self.platform_id,
            "display_name": self.display_name,
            "bio": self.bio,
            "website": self.website,
            "links": e(self.links),
            "verified": e(self.verified),
            "verified_kind": self.verified_kind,
            "created_at": d(self.created_at),
            "followers": e(self.followers),
            "last_post_at": d(self.last_post_at),
            "url": self.url,
            "fetched_at": d(self.fetched_at),
            "source": self.source,
            "renamed_from": self.renamed_from,
            "attested_by": self.attested_by,
            "handle_unverified": e(self.handle_unverified),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            platform=Platform.parse(data["platform"]),
            handle=str(data["handle"]),
            status=ProfileStatus.parse(data["status"]),
            reason=_text(data.get("reason")),
            platform_handle=_text(data.get("platform_handle")),
            platform_id=_text(data.get("platform_id")),
            display_name=_text(data.get("display_name")),
            bio=_text(data.get("bio")),
            website=_text(data.get("website")),
            links=_tuple(data.get("links")),
            verified=data.get("verified"),
            verified_kind=_text(data.get("verified_kind")),
            created_at=parse_datetime(data.get("created_at")),
            followers=data.get("followers"),
            last_post_at=parse_datetime(data.get("last_post_at")),
            url=_text(data.get("url")),
            fetched_at=parse_datetime(data.get("fetched_at")),
            source=str(data.get("source", "api") or "api"),
            renamed_from=_text(data.get("renamed_from")),
            attested_by=_text(data.get("attested_by")),
            handle_unverified=bool(data.get("handle_unverified", False)),
        )

    @classmethod
    def unknown(cls, platform: Platform, handle: str, reason: str) -> Profile:
        return cls(platform=platform, handle=handle, status=ProfileStatus.UNKNOWN, reason=reason)


# --------------------------------------------------------------------------------------------------
# Roster: what a staff directory says about a person


@dataclass(frozen=True)
class RosterEntry:
    """One person as a roster source (OneRoster, Microsoft Graph, Google Directory, CSV) sees them."""

    source_id: str
    email: str
    name: str = ""
    kind: PersonKind = PersonKind.EMPLOYEE
    role: str = ""
    building: str = ""
    status: PersonStatus = PersonStatus.ACTIVE
    employee_id: str = ""
    adult: bool | None = None
    birth_date: date | None = None
    grade: str = ""
    role_began_on: date | None = None
    left_on: date | None = None
    # Where the source lists more than one building for them (a staff export with one row per
    # school, as Clever and PowerSchool write it): all of them, `building` (the first) included.
    buildings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)


def fold(text: str) -> str:
    """A role or building name as compared: case-folded, inner whitespace collapsed, trimmed."""
    return " ".join(text.split()).casefold()


# What a roster's `role` means: a job title ("Principal"), or one of OneRoster's role terms, which
# name a kind of job ("teacher", "administrator") and are never compared with job titles as such.
ROLE_VOCABULARIES = ("title", "oneroster")


@dataclass(frozen=True)
class RoleRules:
    """How a roster source's roles compare with the registry's job titles (docs/roster.md).

    `vocabulary` "title": the roster gives job titles, compared case- and whitespace-insensitively.
    "oneroster": it gives OneRoster role terms; `titles` maps a term to the registry job titles it
    covers (e.g. administrator -> Principal, Assistant Principal). A registry title the map does not
    name is never overwritten by a term on a first sync ("Principal" and "administrator" are not the
    same kind of word; OneRoster 1.2 even has a `principal` role that 1.1 calls administrator)."""

    vocabulary: str = "title"
    titles: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @classmethod
    def parse(cls, vocabulary: str, table: Mapping[str, Any] | None = None) -> RoleRules:
        vocab = fold(vocabulary or "title")
        if vocab not in ROLE_VOCABULARIES:
            raise ValueError(f"role_vocabulary {vocabulary!r} is not one of: {', '.join(ROLE_VOCABULARIES)}")
        titles: dict[str, tuple[str, ...]] = {}
        for term, value in (table or {}).items():
            names = (
                [value]
                if isinstance(value, str)
                else list(value)
                if isinstance(value, list | tuple)
                else None
            )
            if not names or not all(isinstance(n, str) and n.strip() for n in names):
                raise ValueError(f"role_map: {term!r} must map to a job title or a list of job titles")
            titles[fold(str(term))] = tuple(n.strip() for n in names)
        return cls(vocab, titles)

    def comparable(self, registry_role: str) -> bool:
        """Whether a registry job title can be compared with this roster's roles at all."""
        if self.vocabulary == "title":
            return True
        role = fold(registry_role)
        return role in self.titles or any(role in map(fold, t) for t in self.titles.values())

    def agrees(self, registry_role: str, roster_role: str) -> bool:
        """The registry's title says the same as the roster's role."""
        have, term = fold(registry_role), fold(roster_role)
        return have == term or have in map(fold, self.titles.get(term, ()))

    def title_for(self, roster_role: str) -> str:
        """What to record as the job title when the roster's role changes."""
        if self.vocabulary == "title":
            return roster_role.strip()
        titles = self.titles.get(fold(roster_role), ())
        return titles[0] if len(titles) == 1 else roster_role.strip()


# --------------------------------------------------------------------------------------------------
# Audit results


@dataclass(frozen=True)
class Finding:
    """One deviation from the district's policy, phrased as a full sentence naming the account."""

    check_id: str
    severity: Severity
    subject: str  # stable key of what is wrong: "account:<id>", "person:<id>", "candidate:x:@handle"
    message: str
    account_id: str = ""
    person_id: str = ""
    platform: Platform | None = None
    building: str = ""
    clauses: tuple[str, ...] = ()
    remediation: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    state: FindingState = FindingState.NEW
    waived_until: date | None = None
    waiver_reason: str = ""

    def __post_init__(self) -> None:
        # The fingerprint is made with the finding (msgspec's decoding calls this too), so every
        # Finding holds it in its __dict__ alike and comparing two findings' __dicts__ stays the
        # fields' comparison.
        self.__dict__["fingerprint"] = f"{self.check_id}|{self.subject}"  # what the property gives

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identity of a finding across runs: the same check on the same subject. Made once per
        finding (an audit at 100,000 accounts asked its 280,000 findings for it about five million
        times); kept beside the fields, never stored, compared or encoded as one."""
        return f"{self.check_id}|{self.subject}"

    def display_key(self) -> tuple[int, int, str, str]:
        """How people read findings: active first, then most severe, then by check and subject."""
        return (_STATE_ORDER[self.state], -self.severity.rank, self.check_id, self.subject)

    def to_dict(self) -> dict[str, Any]:
        """The stored form; the same dict `to_plain` gives."""
        e = _encode
        return {
            "check_id": self.check_id,
            "severity": e(self.severity),
            "subject": self.subject,
            "message": self.message,
            "account_id": self.account_id,
            "person_id": self.person_id,
            "platform": e(self.platform),
            "building": self.building,
            "clauses": e(self.clauses),
            "remediation": self.remediation,
            "evidence": e(self.evidence),
            "state": e(self.state),
            "waived_until": _opt_iso(self.waived_until),
            "waiver_reason": self.waiver_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        # Positional, not by keyword: a quarter less for the generated `__init__`, a tenth of
        # reading a stored ledger (280,000 findings at 100,000 accounts). In field order.
        get = data.get
        platform = get("platform")
        waived = get("waived_until")
        return cls(
            str(data["check_id"]),
            Severity.parse(data["severity"]),
            str(data["subject"]),
            str(data["message"]),
            _text(get("account_id")),
            _text(get("person_id")),
            Platform.parse(platform) if platform else None,
            _text(get("building")),
            _tuple(get("clauses")),
            _text(get("remediation")),
            _evidence(get("evidence")),
            FindingState.parse(get("state") or "new"),
            None if waived is None else parse_date(waived),
            _text(get("waiver_reason")),
        )


# The clauses a stored finding quotes (id, citation, text: about 400 bytes of policy text), one dict
# per distinct clause for the whole process instead of one per finding: at 100,000 accounts the
# ledger quotes the same dozen clauses 280,000 times (150 MB). Nothing changes these dicts.
_CLAUSES: dict[tuple[Any, ...], dict[str, Any]] = {}
_SHARED: set[int] = set()  # ids of the dicts in _CLAUSES (kept alive by it, so ids stay theirs)
_CLAUSE_KEYS = frozenset({"id", "citation", "text"})


def shared_clause(quoted: Any) -> Any:
    """The process's one dict for a quoted clause equal to `quoted`; anything else as given."""
    if id(quoted) in _SHARED:
        return quoted
    if type(quoted) is dict and quoted.keys() == _CLAUSE_KEYS:
        # Keyed by the items in their order: one spelled in another key order stays as it is.
        key = tuple(quoted.items())
        if type(key[0][1]) is str and type(key[1][1]) is str and type(key[2][1]) is str:
            known = _CLAUSES.get(key)
            if known is not None:
                return known
            if len(_CLAUSES) < 4096:
                _CLAUSES[key] = quoted
                _SHARED.add(id(quoted))
    return quoted


def _evidence(stored: Any) -> dict[str, Any]:
    evidence = dict(stored or {})
    clauses = evidence.get("clauses")
    if type(clauses) is list and clauses:
        evidence["clauses"] = [shared_clause(c) for c in clauses]
    return evidence


_FINDING_FIELDS = frozenset(f.name for f in dataclasses.fields(Finding))


def finding_with(finding: Finding, **changes: Any) -> Finding:
    """`dataclasses.replace(finding, **changes)` at a fifth of its cost (1.2 µs, not 6.4): the
    fields are copied, not passed through the generated `__init__` one keyword at a time. An audit
    at 100,000 accounts makes 280,000 of these (the diff sets every finding's state)."""
    if not changes.keys() <= _FINDING_FIELDS:
        raise TypeError(f"Finding has no field {sorted(changes.keys() - _FINDING_FIELDS)}")
    new = object.__new__(Finding)
    fields = new.__dict__
    fields.update(finding.__dict__)
    fields.update(changes)
    if "check_id" in changes or "subject" in changes:
        new.__post_init__()  # its fingerprint, from the new check or subject
    return new


@dataclass(frozen=True)
class AuditRun:
    """One execution of `auditor audit`: when, by whom, what it looked at, what it found."""

    id: str
    started_at: datetime
    finished_at: datetime | None = None
    identity: str = ""
    policy: str = ""
    offline: bool = False
    platforms: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    accounts_checked: int = 0
    profiles_unknown: int = 0
    findings: tuple[Finding, ...] = ()
    errors: tuple[str, ...] = ()

    def counts_by_severity(self) -> dict[str, int]:
        # Counted by member: a member hashes and compares as its value, so it finds the value's key
        # without enum's `.value` descriptor (280,000 times a night at 100,000 accounts).
        counts = {s.value: 0 for s in Severity}
        inactive = (FindingState.RESOLVED, FindingState.WAIVED)
        for f in self.findings:
            if f.state not in inactive:
                counts[f.severity] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The stored form; the same dict `to_plain` gives."""
        e = _encode
        return {
            "id": self.id,
            "started_at": _opt_iso(self.started_at),
            "finished_at": _opt_iso(self.finished_at),
            "identity": self.identity,
            "policy": self.policy,
            "offline": e(self.offline),
            "platforms": e(self.platforms),
            "checks": e(self.checks),
            "accounts_checked": e(self.accounts_checked),
            "profiles_unknown": e(self.profiles_unknown),
            "findings": [f.to_dict() if type(f) is Finding else e(f) for f in self.findings],
            "errors": e(self.errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRun:
        started = parse_datetime(data["started_at"])
        assert started is not None
        return cls(
            id=str(data["id"]),
            started_at=started,
            finished_at=parse_datetime(data.get("finished_at")),
            identity=_text(data.get("identity")),
            policy=_text(data.get("policy")),
            offline=bool(data.get("offline", False)),
            platforms=_tuple(data.get("platforms")),
            checks=_tuple(data.get("checks")),
            accounts_checked=int(data.get("accounts_checked", 0)),
            profiles_unknown=int(data.get("profiles_unknown", 0)),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings") or ()),
            errors=_tuple(data.get("errors")),
        )


# --------------------------------------------------------------------------------------------------
# Escrow follow-up work


class TaskKind(StrEnum):
    """What a task asked for before checklists (records written by earlier releases)."""

    ROTATE_PASSWORD = "rotate_password"  # noqa: S105 (a task name, not a password)
    REGENERATE_RECOVERY_CODES = "regenerate_recovery_codes"
    REENROL_TOTP = "reenrol_totp"
    REMOVE_PLATFORM_ADMIN = "remove_platform_admin"


class TaskItem(StrEnum):
    """One step of a rotation task's checklist. The first three are confirmed by evidence from the
    escrow (a new password made current, a code of the new TOTP key, a new set of recovery codes);
    the last two by an administrator's attestation with a note."""

    PASSWORD = "password"  # noqa: S105 (a checklist item, not a password)
    TOTP = "totp"
    RECOVERY_CODES = "recovery-codes"
    PLATFORM_ADMINS = "platform-admins"
    SESSIONS = "sessions"

    @property
    def attested(self) -> bool:
        return self in (TaskItem.PLATFORM_ADMINS, TaskItem.SESSIONS)

    @property
    def field(self) -> str:
        """The credential field this step is evidence for ("" for an attested step)."""
        return _FIELD_OF_ITEM.get(self.value, "")


_FIELD_OF_ITEM = {"password": "password", "totp": "totp", "recovery-codes": "recovery_codes"}


class Deadline(Protocol):
    """A policy's period (`auditor.engine.policy.model.Period`): what `RotationTask.due` adds."""

    def add_to(self, day: date) -> date: ...


# A task's checklist in the order `task show` lists it.
CHECKLIST: tuple[TaskItem, ...] = tuple(TaskItem)
_ITEM_OF_KIND = {
    TaskKind.ROTATE_PASSWORD.value: TaskItem.PASSWORD,
    TaskKind.REENROL_TOTP.value: TaskItem.TOTP,
    TaskKind.REGENERATE_RECOVERY_CODES.value: TaskItem.RECOVERY_CODES,
    TaskKind.REMOVE_PLATFORM_ADMIN.value: TaskItem.PLATFORM_ADMINS,
}


@dataclass(frozen=True)
class ItemState:
    """Where one checklist item stands: open until confirmed (when, by whom, on what evidence)."""

    item: TaskItem
    confirmed_at: datetime | None = None
    confirmed_by: str = ""
    evidence: str = ""  # "credential version 5", "a code of the new TOTP key", "attested: <note>"

    @property
    def done(self) -> bool:
        return self.confirmed_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.value,
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "confirmed_by": self.confirmed_by,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemState:
        return cls(
            item=TaskItem(str(data["item"])),
            confirmed_at=parse_datetime(data.get("confirmed_at")),
            confirmed_by=_text(data.get("confirmed_by")),
            evidence=_text(data.get("evidence")),
        )


@dataclass(frozen=True)
class RotationTask:
    """Work an administrator owes after someone who knew an account's secrets lost access.

    Opened by identity removal, offboarding, break-glass and `secret generate`; it lists a
    checklist (`items`) and closes only when every item is confirmed (`task confirm`), or when an
    administrator cancels it with a reason. A new credential staged for it waits as *pending*
    (`pending_fields` names its fields, never a value) until the item it serves is confirmed.
    `opened_version` is the credential version that was current when the task opened: what the
    person who left may know.
    """

    id: str
    account_id: str
    reason: str
    opened_at: datetime
    due_on: date | None = None
    opened_by: str = ""
    closed_at: datetime | None = None
    closed_by_version: int = 0
    kinds: tuple[str, ...] = ()
    items: tuple[ItemState, ...] = ()
    opened_version: int = 0
    pending_fields: tuple[str, ...] = ()
    pending_since: datetime | None = None
    cancelled_by: str = ""
    cancel_reason: str = ""

    def __post_init__(self) -> None:
        if not self.items:  # built without a checklist: its kinds', else the whole one, all to do
            wanted = tuple(dict.fromkeys(_ITEM_OF_KIND[k] for k in self.kinds if k in _ITEM_OF_KIND))
            object.__setattr__(self, "items", tuple(ItemState(i) for i in wanted or CHECKLIST))

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def cancelled(self) -> bool:
        return self.closed_at is not None and bool(self.cancel_reason)

    @property
    def status(self) -> str:
        return "open" if self.is_open else "cancelled" if self.cancelled else "done"

    def due(self, deadline: Deadline) -> date:
        """Its own deadline, else the policy's rotation deadline after it opened (the rule of the
        checks, `task list` and the reports)."""
        return self.due_on or deadline.add_to(self.opened_at.date())

    @property
    def outstanding(self) -> tuple[TaskItem, ...]:
        return tuple(s.item for s in self.items if not s.done)

    def state(self, item: TaskItem) -> ItemState | None:
        return next((s for s in self.items if s.item is item), None)

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RotationTask:
        opened = parse_datetime(data["opened_at"])
        assert opened is not None
        kinds = _tuple(data.get("kinds"))
        closed = parse_datetime(data.get("closed_at"))
        if data.get("items") is not None:
            items = tuple(ItemState.from_dict(i) for i in data["items"])
        else:
            # A task written before checklists: its kinds become items, confirmed if it was closed
            # (then by the credential version that closed it).
            wanted = tuple(dict.fromkeys(_ITEM_OF_KIND[k] for k in kinds if k in _ITEM_OF_KIND)) or CHECKLIST
            version = int(data.get("closed_by_version", 0))
            items = tuple(
                ItemState(i, closed, "", f"credential version {version}" if version else "")
                if closed
                else ItemState(i)
                for i in wanted
            )
        return cls(
            id=str(data["id"]),
            account_id=str(data["account_id"]),
            reason=str(data.get("reason", "")),
            opened_at=opened,
            due_on=parse_date(data.get("due_on")),
            opened_by=_text(data.get("opened_by")),
            closed_at=closed,
            closed_by_version=int(data.get("closed_by_version", 0)),
            kinds=kinds,
            items=items,
            opened_version=int(data.get("opened_version", 0)),
            pending_fields=_tuple(data.get("pending_fields")),
            pending_since=parse_datetime(data.get("pending_since")),
            cancelled_by=_text(data.get("cancelled_by")),
            cancel_reason=_text(data.get("cancel_reason")),
        )
