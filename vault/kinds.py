"""Every kind of record the registry stores, declared once: its key domain, its natural key, who may
write it.

A record kind is a string stored in clear beside each row (`records.kind`). Everything else the
registry needs to know about a kind is decided here and nowhere else:

* **domain**: which domain key seals it. Credentials (and the escrow key history) are under the
  escrow key, which only administrators hold; everything else is under the inventory key, so the
  nightly auditor identity can read it.
* **natural key**: what its blind index (`records.lookup`) is computed from, as a function of the
  record's own data. Writing and re-keying both call it, so a re-key recomputes every index and
  cannot forget a kind (issue 11: one `profile attest` record used to make every re-key fail).
* **format** and **upgrades**: the version of the record's data layout, and one step per older
  version (detect-secrets' `core/upgrades/` pattern, per kind). A record's data carries `format`
  when it is above 1; reading applies the steps from its version up, so callers only ever see the
  current layout; a record written by a newer auditor is refused, never misread. To change a
  kind's layout: raise its `format` and add `upgrades[old] = step` (a pure function of the old data
  returning the new), with a test that reads a record of the old layout.
* **writers**: the roles that may write or delete it. `Registry.put` and `Registry.delete` refuse
  anyone else, so the rule holds for every caller, not only for the CLI (issue 11, "Roles are not
  enforced on writes"). The nightly auditor stores audit runs and nothing else.
* **scoped**: for people and accounts, the escrow scopes a record is in (its buildings). Building
  administrators read the inventory; the one workflow that lets one write it is offboarding its
  own school's staff, which opens `Registry.scoped_writes()`: inside it, a building administrator
  may write such a record one at a time when the stored record and the new one are in no scope it
  is not granted. Bulk writes and deletions stay with district administrators.

`Registry.put` refuses a kind that is not declared here, so a new kind cannot be written without a
declaration, and `tests/vault/test_kinds.py` re-keys a registry holding every declared kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.model.types import Platform, Role, escrow_scope, fold, normalise_handle

INVENTORY = "inventory"
ESCROW = "escrow"
DOMAINS = (INVENTORY, ESCROW)

NaturalKey = Callable[[Mapping[str, Any]], str | None]
Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
FORMAT_FIELD = "format"

ADMINS = frozenset({Role.ADMIN})
# What a building administrator may write besides: credentials and their metadata and rotation
# tasks, for the accounts of the scopes it holds (the scope keys enforce which: vault/scopes.py).
KEYHOLDERS = frozenset({Role.ADMIN, Role.BUILDING_ADMIN})
Scoped = Callable[[Mapping[str, Any]], frozenset[str]]
ANYONE = frozenset(Role)


def email_key(email: object) -> str | None:
    """A person's natural key: the email, trimmed and case-folded (None when there is none)."""
    text = str(email or "").strip().casefold()
    return text or None


def handle_key(platform: object, handle: object) -> str:
    """An account's (or an attestation's) natural key: `platform:handle`, normalised."""
    return f"{Platform.parse(str(platform)).value}:{normalise_handle(str(handle))}"


def _person_key(data: Mapping[str, Any]) -> str | None:
    return email_key(data.get("email"))


def _handle_key(data: Mapping[str, Any]) -> str | None:
    return handle_key(data["platform"], data["handle"])


def _scope_key(data: Mapping[str, Any]) -> str | None:
    return " ".join(str(data["name"]).split()).casefold()


class RecordFormatError(ValueError):
    """A record's data is in a layout this version cannot read (newer, or no upgrade step)."""


@dataclass(frozen=True)
class Kind:
    name: str
    domain: str
    label: str
    natural_key: NaturalKey | None = None
    writers: frozenset[Role] = ADMINS
    scoped: Scoped | None = None  # offboarding lets a building administrator write its scopes' records
    format: int = 1
    upgrades: Mapping[int, Upgrade] = field(default_factory=dict)  # format N -> N + 1

    def format_of(self, data: Mapping[str, Any]) -> int:
        value = data.get(FORMAT_FIELD, 1)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 0

    def upgrade(self, data: dict[str, Any]) -> dict[str, Any]:
        """The record's data in the current layout (the stored bytes are untouched until rewritten)."""
        version = self.format_of(data)
        if version == self.format:
            return data
        if version > self.format:
            raise RecordFormatError(
                f"is in format {version} of {self.label}, written by a newer auditor (this one reads up to "
                f"{self.format}); upgrade auditor"
            )
        if version < 1 or any(v not in self.upgrades for v in range(version, self.format)):
            raise RecordFormatError(f"is in format {version} of {self.label}, which this auditor cannot read")
        for v in range(version, self.format):
            data = dict(self.upgrades[v](dict(data)))
            data[FORMAT_FIELD] = v + 1
        return data

    def stamp(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data to store: in the current layout, marked with its format when above 1."""
        out = dict(data)
        given = out.get(FORMAT_FIELD)
        if given is not None and given != self.format:
            raise RecordFormatError(
                f"a writer gave format {given!r} for {self.label}, whose current format is {self.format} "
                "(a programming error: write the current layout)"
            )
        if self.format > 1:
            out[FORMAT_FIELD] = self.format
        return out


def building_scopes(data: Mapping[str, Any]) -> frozenset[str]:
    """The escrow scopes (folded) a person or account record is in: each of its buildings, or
    `district` when it has none. A building administrator must hold every one to write it."""
    names = [str(b) for b in data.get("buildings") or ()] or [str(data.get("building") or "")]
    return frozenset(fold(escrow_scope(b)) for b in names)


def _legacy_run(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (before issue 17) held the run with every finding and every profile it read. Read
    as format 2, its content sits under `legacy` until the run storage is converted (`auditor
    registry upgrade`, or the next audit: auditor/services/audit.py `convert_run_storage`), which
    needs the ledger before the run and so cannot be a step on one record."""
    keep: dict[str, Any] = {k: data[k] for k in ("searched_platforms", "notes", "options") if k in data}
    return {**keep, "legacy": {"run": data.get("run"), "profiles": data.get("profiles") or {}}}


def _legacy_ledger(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 held the whole ledger in one record; converted with the runs (see `_legacy_run`)."""
    return {"legacy": {"after_run": data.get("after_run", ""), "findings": data.get("findings") or []}}


# name, domain, what its records are (for messages: "may not change <label>"), natural key, writers
_DECLARED = (
    # Building administrators write the people and accounts of their scopes only when offboarding.
    Kind("person", INVENTORY, "people", _person_key, scoped=building_scopes),
    Kind("account", INVENTORY, "accounts", _handle_key, scoped=building_scopes),
    Kind("attestation", INVENTORY, "attestations of profiles read by hand", _handle_key),
    # A credential's bundle is sealed again under its escrow scope's key (vault/escrow/scopes.py).
    Kind("credential", ESCROW, "escrowed credentials", writers=KEYHOLDERS),
    # A new credential staged by a rotation task, current only once its item is confirmed.
    Kind("credential-pending", ESCROW, "pending credentials of rotation tasks", writers=KEYHOLDERS),
    Kind("credential-meta", INVENTORY, "what is escrowed for an account", writers=KEYHOLDERS),
    Kind("rotation-task", INVENTORY, "rotation tasks", writers=KEYHOLDERS),
    # Per escrow scope (a building, or the district): its key wrapped to who may open it.
    Kind("escrow-scope", ESCROW, "escrow scopes", _scope_key),
    Kind("identity", INVENTORY, "identities"),
    # The retired inventory keys' log keys and rotation keys (vault/revealog.py, vault/heads.py).
    Kind("log-keys", INVENTORY, "the log's retired keys"),
    # The retired escrow keys' rotation keys and the break-glass endorsement key (vault/rekey.py).
    Kind("escrow-history", ESCROW, "the escrow key history"),
    Kind("setting", INVENTORY, "settings (notifications, roster sources)"),
    Kind("api-token", INVENTORY, "API tokens and roster secrets"),
    Kind("policy", INVENTORY, "the policy"),
    # Audit runs are stored by change (issue 17, vault/stores/audits.py): a run's summary, what
    # changed in the ledger in that run (bounded records), the ledger in chunks updated in place,
    # and the latest profile of each account in chunks rewritten only when a profile changed.
    Kind("audit-run", INVENTORY, "audit runs", writers=ANYONE, format=2, upgrades={1: _legacy_run}),
    Kind("audit-run-change", INVENTORY, "what changed in each audit run", writers=ANYONE),
    Kind(
        "audit-ledger", INVENTORY, "the audit ledger", writers=ANYONE, format=2, upgrades={1: _legacy_ledger}
    ),
    # Format 2 quotes each policy clause once per chunk (vault/stores/audits.py `pack_chunk`); a
    # chunk of format 1 is a chunk of format 2 that quotes nothing by position.
    Kind(
        "audit-ledger-chunk",
        INVENTORY,
        "the audit ledger's findings",
        writers=ANYONE,
        format=2,
        upgrades={1: lambda data: data},
    ),
    Kind("audit-profile", INVENTORY, "the profiles audits read", writers=ANYONE),
    Kind("waiver", INVENTORY, "waivers"),
    Kind("roster-sync", INVENTORY, "roster sync history"),
    Kind("change", INVENTORY, "the change history", writers=KEYHOLDERS),
    # Per roster source: the role and building it gave each person at its last sync.
    Kind("roster-baseline", INVENTORY, "roster baselines"),
    # Handles staff reported as possible impostors, looked up by every audit (`auditor watch`).
    Kind("watch", INVENTORY, "the watchlist", _handle_key),
)

KINDS: dict[str, Kind] = {k.name: k for k in _DECLARED}


class UndeclaredKindError(LookupError):
    """A record kind that vault/kinds.py does not declare (a programming error, never user input)."""


def kind(name: str) -> Kind:
    spec = KINDS.get(name)
    if spec is None:
        raise UndeclaredKindError(
            f"record kind {name!r} is not declared in vault/kinds.py; declare its domain, natural key "
            "and writers there"
        )
    return spec


def domain_of(name: str) -> str:
    return kind(name).domain


def kinds_in(domain: str) -> list[str]:
    return sorted(k.name for k in _DECLARED if k.domain == domain)


def natural_key(name: str, data: Mapping[str, Any]) -> str | None:
    spec = kind(name)
    return spec.natural_key(data) if spec.natural_key is not None else None
