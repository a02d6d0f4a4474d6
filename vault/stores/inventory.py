"""Typed access to the inventory: people and accounts stored as encrypted records.

`Inventory` wraps an unlocked `Registry` and speaks `models.Person` / `models.Account`. It keeps
natural keys unique (a person's email, an account's platform + handle) through the registry's blind
index, resolves the references users type (`x:@lincolnhs`, `@lincolnhs`, an id, an email), and
collects records that fail their integrity check instead of letting one hide the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import msgspec

from auditor.model.changes import KeptField, RecordChange, diff, show
from auditor.model.errors import AuditorError, NotFoundError, UsageError
from auditor.model.types import (
    DONE_DATES,
    ROSTER_FACTS,
    Account,
    AccountStatus,
    Person,
    Platform,
    import_held,
    normalise_handle,
)
from vault.backends.storage import RecordRow
from vault.errors import RecordTamperedError
from vault.registry import INVENTORY, DuplicateRecordError, Registry, TypedRecord, new_id, utcnow
from vault.revealog import RevealLog
from vault.scopes import Scopes, scope_key, scope_name
from vault.stores.changes import record_changes

T = TypeVar("T", Person, Account)

PERSON = "person"
ACCOUNT = "account"
CREDENTIAL_META = "credential-meta"

# Accounts are decoded by msgspec straight into the frozen dataclass (about four times
# `Account.from_dict` with the generic decode at 100,000 accounts). A record that does not fit the
# types exactly (a null where text belongs, an empty purpose, a date where an instant belongs:
# what only from_dict's leniency takes) is read by from_dict as before.
_ACCOUNT_DECODER = msgspec.json.Decoder(Account)


def person_key(person: Person) -> str | None:
    email = person.email.strip().casefold()
    return email or None


def account_key(account: Account) -> str:
    return f"{account.platform.value}:{normalise_handle(account.handle)}"


def person_label(person: Person) -> str:
    return f"{person.name} <{person.email}>" if person.email else person.name


def record_label(item: Person | Account) -> str:
    return person_label(item) if isinstance(item, Person) else item.label


@dataclass
class BulkResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Per record created or updated, each field that changes (old -> new), in file order.
    changes: list[RecordChange] = field(default_factory=list)
    # Roster facts the import left alone (see `upsert_people`'s `override_roster`).
    kept: list[KeptField] = field(default_factory=list)


class Inventory:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.damaged: list[RecordTamperedError] = []

    # -- people -----------------------------------------------------------------------------------
    def people(self) -> list[Person]:
        out = []
        for rec in self.registry.scan(PERSON):
            if isinstance(rec, RecordTamperedError):
                self.damaged.append(rec)
                continue
            out.append(Person.from_dict(rec.data, rec.version))
        return sorted(out, key=lambda p: (p.name.casefold(), p.email))

    def get_person(self, person_id: str) -> Person | None:
        rec = self.registry.get(PERSON, person_id)
        return None if rec is None else Person.from_dict(rec.data, rec.version)

    def person_by_email(self, email: str) -> Person | None:
        email = email.strip().casefold()
        if not email:
            return None
        rec = self.registry.find(PERSON, email)
        return None if rec is None else Person.from_dict(rec.data, rec.version)

    def resolve_person(self, ref: str) -> Person:
        ref = ref.strip()
        person = self.person_by_email(ref) if "@" in ref else self.get_person(ref)
        if person is None and "@" not in ref:
            matches = [p for p in self.people() if p.name.casefold() == ref.casefold()]
            if len(matches) == 1:
                person = matches[0]
            elif len(matches) > 1:
                raise UsageError(
                    f"{len(matches)} people are named {ref!r}", "Refer to them by email or id instead."
                )
        if person is None:
            raise NotFoundError(f"no person {ref!r} in the registry", "`auditor person list` shows everyone.")
        return person

    def add_person(self, person: Person, *, by: str = "command:person add") -> Person:
        now = utcnow()
        person = dataclasses.replace(person, id=person.id or new_id("p"), created_at=now, updated_at=now)
        person = person.stamped(None, by, now)
        return self._write(
            PERSON,
            person,
            person_key(person),
            0,
            AuditorError(
                f"a person with email {person.email} already exists",
                "Use `auditor person edit` to change them.",
            ),
        )

    def save_person(self, person: Person, *, by: str = "command:person edit") -> Person:
        """Write an edited person; `by` becomes the source of every field that changed."""
        now = utcnow()
        stored = self.get_person(person.id) if person.id else None
        person = dataclasses.replace(person, updated_at=now).stamped(stored, by, now)
        with self.registry.transaction():
            saved = self._write(
                PERSON,
                person,
                person_key(person),
                person.version,
                AuditorError(f"another person already has the email {person.email}"),
            )
            self._history(by, stored, saved)
        return saved

    def _history(self, by: str, old: Person | Account | None, new: Person | Account) -> None:
        change = record_change(old, new, self._names())
        if change.fields:
            record_changes(self.registry, by, [change])

    def put_person(self, person: Person, *, expected_version: int) -> Person:
        """Write a person exactly as given, timestamps included (the roster sync sets its own);
        a clash of emails raises DuplicateRecordError for the caller to explain."""
        version = self.registry.put(
            PERSON,
            person.id,
            person.to_dict(),
            expected_version=expected_version,
            natural_key=person_key(person),
        )
        return dataclasses.replace(person, version=version)

    def _write(
        self, kind: str, item: T, natural_key: str | None, expected_version: int, duplicate: AuditorError
    ) -> T:
        """Write one person or account; a natural-key clash becomes `duplicate`, the user's message."""
        try:
            version = self.registry.put(
                kind, item.id, item.to_dict(), expected_version=expected_version, natural_key=natural_key
            )
        except DuplicateRecordError as exc:
            raise duplicate from exc
        return dataclasses.replace(item, version=version)

    def references_to(self, person_id: str) -> list[Account]:
        return [
            a
            for a in self.accounts()
            if person_id in (a.owner_id, *a.co_manager_ids, *a.student_manager_ids, *a.comment_monitor_ids)
        ]

    def remove_person(self, person: Person) -> None:
        refs = self.references_to(person.id)
        if refs:
            names = ", ".join(a.label for a in refs[:3]) + (" …" if len(refs) > 3 else "")
            raise AuditorError(
                f"{person.name} is still named on {len(refs)} account(s): {names}",
                "Reassign those accounts first (`auditor account edit ... --owner EMAIL`), or mark the "
                "person departed with `auditor person edit EMAIL --status departed`.",
            )
        self.registry.delete(PERSON, person.id)

    # -- accounts ---------------------------------------------------------------------------------
    def accounts(self, *, include_retired: bool = True) -> list[Account]:
        out = []
        for rec in self.registry.scan_typed_rows(ACCOUNT, _ACCOUNT_DECODER):
            if isinstance(rec, RecordTamperedError):
                self.damaged.append(rec)
                continue
            if isinstance(rec, TypedRecord):
                account = rec.value
                # The registry's version, set as from_dict sets it, on an object nobody else holds yet.
                object.__setattr__(account, "version", rec.version)
            else:
                account = Account.from_dict(rec.data, rec.version)
            if include_retired or account.status is not AccountStatus.RETIRED:
                out.append(account)
        # `_value_`: the member's value without the `.value` descriptor (0.13 s of 100,000 sorts).
        return sorted(out, key=lambda a: (a.platform._value_, normalise_handle(a.handle)))

    def get_account(self, account_id: str) -> Account | None:
        rec = self.registry.get(ACCOUNT, account_id)
        return None if rec is None else Account.from_dict(rec.data, rec.version)

    def find_account(self, platform: Platform, handle: str) -> Account | None:
        rec = self.registry.find(ACCOUNT, f"{platform.value}:{normalise_handle(handle)}")
        return None if rec is None else Account.from_dict(rec.data, rec.version)

    def resolve_account(self, ref: str) -> Account:
        """`x:@lincolnhs`, `x:lincolnhs`, `@lincolnhs` (if on one platform only), or an account id."""
        ref = ref.strip()
        if ":" in ref and not ref.startswith("a_"):
            platform_text, handle = ref.split(":", 1)
            try:
                platform = Platform.parse(platform_text)
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
            account = self.find_account(platform, handle)
            if account is None:
                raise NotFoundError(f"no {platform.label} account {handle} in the registry")
            return account
        by_id = self.get_account(ref) if ref.startswith("a_") else None
        if by_id is not None:
            return by_id
        wanted = normalise_handle(ref)
        matches = [a for a in self.accounts() if normalise_handle(a.handle) == wanted]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(f"{a.platform.value}:{a.handle}" for a in matches)
            raise UsageError(
                f"{ref} is on several platforms: {options}", "Prefix the platform, e.g. x:@handle."
            )
        raise NotFoundError(
            f"no account {ref!r} in the registry", "`auditor account list` shows them; use PLATFORM:HANDLE."
        )

    def add_account(self, account: Account) -> Account:
        now = utcnow()
        account = dataclasses.replace(account, id=account.id or new_id("a"), created_at=now, updated_at=now)
        return self._write(
            ACCOUNT,
            account,
            account_key(account),
            0,
            AuditorError(
                f"{account.label} is already in the registry", "Use `auditor account edit` to change it."
            ),
        )

    def save_account(self, account: Account, *, by: str = "command:account edit") -> Account:
        """Write an edited account; the change history records each field that changed."""
        now = utcnow()
        account = dataclasses.replace(account, updated_at=now)
        stored = self.get_account(account.id) if account.id else None
        if stored is not None and stored.managers_key() != account.managers_key():
            account = dataclasses.replace(account, managers_changed_at=now)
        with self.registry.transaction():
            saved = self._write(
                ACCOUNT,
                account,
                account_key(account),
                account.version,
                AuditorError(f"another {account.label} is already in the registry"),
            )
            self._history(by, stored, saved)
            if stored is not None:
                self._move_credentials([(stored, saved)])
        return saved

    def _move_credentials(self, pairs: Sequence[tuple[Account, Account]]) -> None:
        """An account moved to another building: its escrowed credentials are re-sealed under the
        new building's escrow scope in the same transaction (vault/scopes.py), and logged."""
        for old, new in pairs:
            before, after = scope_name(old.building), scope_name(new.building)
            if scope_key(before) == scope_key(after) or self.registry.get(CREDENTIAL_META, new.id) is None:
                continue
            moved = Scopes(self.registry).move_account(new.id, after)
            if moved:
                RevealLog(self.registry).append(
                    "scope-move",
                    account_id=new.id,
                    details={"from": before, "to": after, "records": moved},
                )

    # -- bulk (imports): one transaction, idempotent on natural keys --------------------------------
    def upsert_people(
        self,
        people: Sequence[Person],
        given: Sequence[frozenset[str]] | None = None,
        *,
        plan: ImportPlan | None = None,
    ) -> BulkResult:
        """Create or update people by email. With `given` (one set per person: the fields its row
        gives), an existing person keeps every other field ("merge, never blank"). A roster fact
        (status, role, building...) that a roster sync or an offboarding set is kept unless
        `plan.override_roster` (each one kept is in `BulkResult.kept`)."""
        return self._upsert(PERSON, people, self._people_by_key(), person_key, _person_changed, given, plan)

    def upsert_accounts(
        self,
        accounts: Sequence[Account],
        given: Sequence[frozenset[str]] | None = None,
        *,
        plan: ImportPlan | None = None,
    ) -> BulkResult:
        """Create or update accounts by platform and handle; `given` as for `upsert_people`."""
        return self._upsert(
            ACCOUNT, accounts, self._accounts_by_key(), account_key, _account_changed, given, plan
        )

    def preview_people(
        self,
        people: Sequence[Person],
        given: Sequence[frozenset[str]] | None = None,
        *,
        plan: ImportPlan | None = None,
    ) -> BulkResult:
        """What `upsert_people` would do, read only (no transaction, no new ids: a person to be
        created is counted under an empty id)."""
        return self._preview(people, self._people_by_key(), person_key, _person_changed, given, plan)

    def preview_accounts(
        self,
        accounts: Sequence[Account],
        given: Sequence[frozenset[str]] | None = None,
        *,
        plan: ImportPlan | None = None,
    ) -> BulkResult:
        """What `upsert_accounts` would do, read only; as `preview_people`."""
        return self._preview(accounts, self._accounts_by_key(), account_key, _account_changed, given, plan)

    def _names(self) -> _Names:
        """Person id -> email (or name), for diffs of the fields that hold person ids: looked up
        when a diff needs one (most changes name nobody), each person read once."""
        return _Names(self)

    def _people_by_key(self) -> dict[str | None, Person]:
        """People by email and, for those without one (students, volunteers), by kind and name when
        no one else without an email has that kind and name: a row of `person list --format csv`
        for a student without an email finds the same student again."""
        out: dict[str | None, Person] = {}
        unnamed: dict[str, list[Person]] = {}
        for p in self.people():
            key = person_key(p)
            if key:
                out[key] = p
            else:
                unnamed.setdefault(_unnamed_key(p), []).append(p)
        out.update({k: ps[0] for k, ps in unnamed.items() if len(ps) == 1})
        return out

    def _accounts_by_key(self) -> dict[str | None, Account]:
        return {account_key(a): a for a in self.accounts()}

    def _pending(
        self,
        items: Sequence[T],
        existing: Mapping[str | None, T],
        key_of: Callable[[T], str | None],
        changed: Callable[[T, T], bool],
        given: Sequence[frozenset[str]] | None,
        now: datetime,
        plan: ImportPlan,
        result: BulkResult,
    ) -> Iterator[tuple[T, str | None, T | None, T | None]]:
        """Each item with its natural key, the record it matches (None: a new record) and, when it
        changes that record, the record's new content (None: unchanged). Roster facts kept are added
        to `result.kept`."""
        alike = _unnamed_counts(items)
        for n, item in enumerate(items):
            key = key_of(item)
            old = existing.get(key) if key else None
            if old is None and key is None and isinstance(item, Person) and alike[_unnamed_key(item)] == 1:
                old = existing.get(_unnamed_key(item))
            if old is None:
                yield item, key, None, None
                continue
            fields = given[n] if given is not None else None
            if isinstance(old, Person) and isinstance(item, Person):
                held = import_held(
                    old,
                    item,
                    fields if fields is not None else _PERSON_HELD,
                    override_roster=plan.override_roster,
                )
                for name, why in held.items():
                    line = plan.lines[n] if n < len(plan.lines) else 0
                    result.kept.append(
                        KeptField(
                            old.id, record_label(old), line, name,
                            show(_stored(old, name)), show(_stored(item, name)), why,
                        )
                    )  # fmt: skip
                if held:
                    base = fields if fields is not None else frozenset(_all_fields(item))
                    fields = base - set(held)
            if fields is not None:
                # A file's cells are read trimmed: a stored value that differs from the cell only by
                # surrounding spaces (a note typed with a trailing space) is the same value, kept.
                fields = frozenset(f for f in fields if not _same_but_trimmed(old, item, f))
            source = item if fields is None else merge_fields(old, item, fields)
            merged = dataclasses.replace(
                source, id=old.id, created_at=old.created_at, updated_at=old.updated_at, version=old.version
            )
            if isinstance(old, Person) and isinstance(merged, Person):
                merged = dataclasses.replace(merged, sources=old.sources)
            if isinstance(old, Account):
                # An import that changes who manages the account dates the change (escrow.stale).
                changed_at = now if old.managers_key() != merged.managers_key() else old.managers_changed_at
                merged = dataclasses.replace(merged, managers_changed_at=changed_at)
            if not changed(old, merged):
                yield item, key, old, None
                continue
            new = dataclasses.replace(merged, updated_at=now)
            if isinstance(new, Person) and isinstance(old, Person) and plan.by:
                new = new.stamped(old, plan.by, now)
            yield item, key, old, new

    def _preview(self, items, existing, key_of, changed, given, plan) -> BulkResult:  # type: ignore[no-untyped-def]
        plan = plan or ImportPlan()
        result = BulkResult()
        names = self._names()
        for item, _key, old, merged in self._pending(
            items, existing, key_of, changed, given, utcnow(), plan, result
        ):
            if old is None:
                result.created.append(item.id)
                result.changes.append(_change(item, None, item, "created", names))
            elif merged is not None:
                result.updated.append(old.id)
                result.changes.append(_change(old, old, merged, "updated", names))
            else:
                result.unchanged.append(old.id)
        return result

    def _upsert(self, kind, items, existing, key_of, changed, given, plan) -> BulkResult:  # type: ignore[no-untyped-def]
        plan = plan or ImportPlan()
        result = BulkResult()
        rows: list[RecordRow] = []
        moves: list[tuple[Account, Account]] = []
        now = utcnow()
        names = self._names()
        for item, key, old, merged in self._pending(
            items, existing, key_of, changed, given, now, plan, result
        ):
            if old is None:
                new = dataclasses.replace(
                    item, id=item.id or new_id("p" if kind == PERSON else "a"), created_at=now, updated_at=now
                )
                if isinstance(new, Person) and plan.by:
                    new = new.stamped(None, plan.by, now)
                rows.append(self.registry.seal_row(kind, new.id, 1, new.to_dict(), key, INVENTORY))
                result.created.append(new.id)
                result.changes.append(_change(new, None, new, "created", names))
            elif merged is None:
                result.unchanged.append(old.id)
            else:
                rows.append(
                    self.registry.seal_row(kind, old.id, old.version + 1, merged.to_dict(), key, INVENTORY)
                )
                result.updated.append(old.id)
                result.changes.append(_change(old, old, merged, "updated", names))
                if kind == ACCOUNT:
                    moves.append((old, merged))
        with self.registry.transaction():
            self.registry.put_rows(rows)
            self._move_credentials(moves)
        return result


_PERSON_HELD = frozenset(ROSTER_FACTS) | frozenset(DONE_DATES)


class _Names(Mapping[str, str]):
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.known: dict[str, str] = {}

    def __getitem__(self, person_id: str) -> str:
        if person_id not in self.known:
            person = self.inventory.get_person(person_id) if person_id else None
            if person is None:
                raise KeyError(person_id)
            self.known[person_id] = person.email or person.name
        return self.known[person_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


@dataclass(frozen=True)
class ImportPlan:
    """How a bulk import writes: who it names as the source of the fields it sets (`import:FILE`),
    each item's line in the file (for messages), and whether it may override roster facts."""

    by: str = ""
    lines: Sequence[int] = ()
    override_roster: bool = False


def _unnamed_key(person: Person) -> str:
    return f"\x00{person.kind.value}:{' '.join(person.name.split()).casefold()}"


def _unnamed_counts(items: Sequence[Person | Account]) -> dict[str, int]:
    """How many rows without an email share each kind and name (two are matched to nobody)."""
    counts: dict[str, int] = {}
    for item in items:
        if isinstance(item, Person) and person_key(item) is None:
            counts[_unnamed_key(item)] = counts.get(_unnamed_key(item), 0) + 1
    return counts


def _all_fields(item: Person | Account) -> list[str]:
    return [f.name for f in dataclasses.fields(item)]


def _stored(item: Person | Account, name: str) -> object:
    return item.to_dict().get(name)


def record_change(
    old: Person | Account | None, new: Person | Account, names: Mapping[str, str]
) -> RecordChange:
    """What writing `new` over `old` (None: creating it) changes, field by field, for the history."""
    return _change(new, old, new, "updated" if old is not None else "created", names)


def _change(
    label_of: Person | Account, old: Person | Account | None, new: Person | Account, action: str,
    names: Mapping[str, str],
) -> RecordChange:  # fmt: skip
    kind = PERSON if isinstance(new, Person) else ACCOUNT
    return RecordChange(
        kind,
        new.id,
        record_label(label_of),
        action,
        diff(old.to_dict() if old else None, new.to_dict(), names=names),
    )


def merge_fields(old: T, new: T, fields: frozenset[str]) -> T:
    """`old` with only `fields` taken from `new` ("approval.x" names a field of the approval)."""
    direct = {f: getattr(new, f) for f in fields if "." not in f}
    nested: dict[str, dict[str, object]] = {}
    for f in fields:
        if "." in f:
            outer, inner = f.split(".", 1)
            nested.setdefault(outer, {})[inner] = getattr(getattr(new, outer), inner)
    for outer, values in nested.items():
        direct[outer] = dataclasses.replace(getattr(old, outer), **values)
    return dataclasses.replace(old, **direct)


def _person_changed(old: Person, new: Person) -> bool:
    return _comparable(old) != _comparable(new)


def _account_changed(old: Account, new: Account) -> bool:
    return _comparable(old) != _comparable(new)


def _comparable(obj: Person | Account) -> dict[str, object]:
    data = obj.to_dict()
    for name in ("created_at", "updated_at", "id", "managers_changed_at", "sources"):
        data.pop(name, None)
    return data


def _same_but_trimmed(old: object, new: object, name: str) -> bool:
    a, b = getattr(old, name, None), getattr(new, name, None)
    return isinstance(a, str) and isinstance(b, str) and a != b and a.strip() == b
