"""Roster sources kept in the registry, and `roster sync` from fetch to a recorded, backed-up write.

The CLI (auditor/cli/roster.py) only parses options and prints; this module decides. A configured
source is a name, a kind and its non-secret options, stored as one encrypted setting
("roster.sources") in the registry; its secret (client secret, access token) is a separate
"api-token" record (`vault.stores.tokens`, under the inventory key so scheduled syncs and audits
read it without the escrow key). `sync()` fetches a snapshot, plans with
`auditor.engine.roster_diff.plan_sync`, and, unless it is a dry run or the plan carries warnings and the
caller did not force it, takes a backup and writes every changed person plus a "roster-sync" history
record in ONE transaction, so a crash leaves either the old registry or the new one. Nobody is ever
deleted (issue 4: "never deletes a person that accounts still reference"); the history record keeps
counts and change sentences, never a secret (STYLE.md, detect-secrets: secrets out of everything
the tool writes).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import secrets as _secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.engine.roster_diff import apply_plan, plan_sync
from auditor.model.changes import RecordChange
from auditor.model.errors import AuditorError, ConnectorError, NotFoundError, UsageError
from auditor.model.types import Person, Secret
from connectors.roster.base import SourceKind, parse_bool, source_class
from connectors.roster.config import SECRET_ARGUMENT, build_source
from vault.backup import take_backup
from vault.errors import RecordTamperedError, VaultError
from vault.registry import DuplicateRecordError, new_id, utcnow
from vault.revealog import RevealLog
from vault.stores.changes import record_changes
from vault.stores.inventory import Inventory, record_change
from vault.stores.tokens import RegistryTokenStore, roster_secret_name

if TYPE_CHECKING:
    from auditor.engine.roster_diff import SyncPlan
    from connectors.roster.base import RosterSource, SourceKind
    from vault.registry import Registry

SOURCES_SETTING = "roster.sources"
SYNC_KIND = "roster-sync"
BASELINE_KIND = "roster-baseline"
SYNC_SCHEMA_VERSION = 1

# Short names people type; the canonical kinds are connectors.roster.base.SourceKind values.
KIND_ALIASES = {
    "google": "google-directory",
    "graph": "msgraph",
    "entra": "msgraph",
    "oneroster": "oneroster-csv",
    "hr-csv": "csv",
}
KIND_CHOICES = ("oneroster-csv", "oneroster-rest", "msgraph", "google", "csv")
_FORBIDDEN_WORDS = ("secret", "token", "password")  # as connectors.roster.config refuses them
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


# --------------------------------------------------------------------------------------------------
# Source configuration


@dataclass(frozen=True)
class SourceConfig:
    """A configured roster source: never holds its secret."""

    name: str
    kind: str
    options: dict[str, Any]
    added_at: str = ""
    added_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "options": self.options,
            "added_at": self.added_at,
            "added_by": self.added_by,
        }

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> SourceConfig:
        return cls(
            name=name,
            kind=str(data.get("kind", "")),
            options=dict(data.get("options") or {}),
            added_at=str(data.get("added_at", "")),
            added_by=str(data.get("added_by", "")),
        )


def parse_kind(text: str) -> SourceKind:

    value = KIND_ALIASES.get(text.strip().lower(), text.strip().lower())
    try:
        return SourceKind(value)
    except ValueError:
        raise UsageError(
            f"--kind: unknown roster source kind {text!r}", f"use one of: {', '.join(KIND_CHOICES)}"
        ) from None


def needs_secret(kind: SourceKind | str) -> bool:

    return SECRET_ARGUMENT[parse_kind(str(kind))] is not None


def secret_label(kind: SourceKind | str) -> str:
    """ "client secret" / "access token": what the operator is asked for."""

    return (SECRET_ARGUMENT[parse_kind(str(kind))] or "secret").replace("_", " ")


def check_source_name(name: str) -> str:
    text = name.strip().lower()
    if not text or len(text) > 64 or not set(text) <= _NAME_CHARS or text[0] in ".-":
        raise UsageError(
            f"{name!r} is not a valid roster source name",
            "Use 1-64 letters, digits and . _ - (e.g. sis, entra, hr-export).",
        )
    return text


def _looks_secret(key: str) -> bool:
    return key != "token_url" and any(word in key.lower() for word in _FORBIDDEN_WORDS)


def parse_options(
    kind: SourceKind | str, pairs: Sequence[str], *, base: Path | None = None
) -> dict[str, Any]:
    """`KEY=VALUE` strings to a JSON-storable options table for `kind`.

    Values are converted by the source's keyword defaults (numbers, booleans, comma lists);
    `[...]`/`{...}` values are JSON; `mapping=@file.toml` (or .json) loads the HR column mapping.
    A `path` is made absolute so a scheduled sync from another directory finds the same export.
    Secret-looking keys are refused without echoing their value.
    """

    member = parse_kind(str(kind))
    params = inspect.signature(source_class(member).__init__).parameters
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(
                f"--option {key or pair[:40]!r} is not KEY=VALUE", "e.g. --option tenant=d203.org"
            )
        if _looks_secret(key):
            raise UsageError(
                f"--option {key}: secrets are never given as arguments",
                "Leave it out: `auditor roster add` asks for it on a hidden prompt, or reads it "
                "with --secret-stdin.",
            )
        if key in options:
            raise UsageError(f"--option {key} is given twice")
        options[key] = _convert(key, raw.strip(), params.get(key), base)
    return options


def _convert(key: str, raw: str, param: inspect.Parameter | None, base: Path | None) -> Any:
    if key in ("mapping", "role_map") and raw.startswith("@"):
        return _load_table(Path(raw[1:]).expanduser(), key)
    if raw[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--option {key}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if key == "path":
        path = Path(raw).expanduser()
        return str((base / path if base and not path.is_absolute() else path).resolve())
    default = param.default if param is not None else inspect.Parameter.empty
    try:
        if isinstance(default, bool):
            return parse_bool(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = "true or false" if isinstance(default, bool) else "a number"
        raise UsageError(f"--option {key}: {raw!r} is not {kind}") from None
    if isinstance(default, tuple):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _load_table(path: Path, key: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--option {key}: cannot read {path} ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import tomllib

        return tomllib.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError both are
        raise UsageError(f"--option {key}: {path} is not valid {path.suffix[1:] or 'TOML'}: {exc}") from None


def configured_sources(registry: Registry) -> dict[str, SourceConfig]:
    table = registry.setting(SOURCES_SETTING) or {}
    return {name: SourceConfig.from_dict(name, data) for name, data in sorted(table.items())}


def validate_source(config: SourceConfig) -> RosterSource:
    """Build the source with a stand-in secret: bad or missing options fail now, not at 2 a.m."""

    placeholder = Secret("placeholder-for-validation") if needs_secret(config.kind) else None
    return build_source(config.kind, config.options, placeholder, name=config.name)


def add_source(
    registry: Registry,
    name: str,
    kind: SourceKind | str,
    options: Mapping[str, Any],
    secret: Secret | None = None,
    *,
    replace: bool = False,
) -> SourceConfig:
    """Store a source's options (one encrypted setting) and its secret (an api-token record), together."""

    name = check_source_name(name)
    member = parse_kind(str(kind))
    sources = configured_sources(registry)
    if name in sources and not replace:
        raise UsageError(
            f"a roster source named {name!r} already exists",
            f"Remove it first (`auditor roster remove {name}`) or choose another name.",
        )
    identity = registry.identity
    config = SourceConfig(
        name, member.value, dict(options), utcnow().isoformat(), identity.name if identity else ""
    )
    validate_source(config)
    if needs_secret(member) and not secret:
        raise UsageError(f"roster source {name} needs its {secret_label(member)}")
    if not needs_secret(member) and secret:
        raise UsageError(f"a {member.value} source takes no secret")
    table = {n: c.to_dict() for n, c in sources.items()}
    table[name] = config.to_dict()
    with registry.transaction():
        registry.set_setting(SOURCES_SETTING, table)
        _log_change(registry, name, "replaced" if name in sources else "added")
        store = RegistryTokenStore(registry)
        if secret:
            store.set(roster_secret_name(name), secret)
        else:
            store.delete(roster_secret_name(name))
    return config


def set_source_secret(registry: Registry, name: str, secret: Secret) -> None:
    """Replace a configured source's secret (a rotated client secret)."""

    config = get_source(registry, name)
    if not needs_secret(config.kind):
        raise UsageError(f"roster source {config.name} ({config.kind}) takes no secret")
    RegistryTokenStore(registry).set(roster_secret_name(config.name), secret)


def get_source(registry: Registry, name: str) -> SourceConfig:
    sources = configured_sources(registry)
    config = sources.get(name.strip().lower())
    if config is None:
        raise NotFoundError(
            f"no roster source named {name!r}",
            "`auditor roster list` shows the configured sources."
            if sources
            else "Add one with `auditor roster add NAME --kind KIND --option KEY=VALUE`.",
        )
    return config


def remove_source(registry: Registry, name: str) -> SourceConfig:
    """Forget a source and its secret. Its sync history stays (it records what happened)."""

    config = get_source(registry, name)
    table = {n: c.to_dict() for n, c in configured_sources(registry).items() if n != config.name}
    with registry.transaction():
        registry.set_setting(SOURCES_SETTING, table)
        _log_change(registry, config.name, "removed")
        RegistryTokenStore(registry).delete(roster_secret_name(config.name))
    return config


def _log_change(registry: Registry, source: str, what: str) -> None:

    RevealLog(registry).append("roster-change", details={"source": source, "what": what})


def source_rows(registry: Registry) -> list[dict[str, Any]]:
    """One row per source for `roster list`: options and whether a secret is stored, never the secret."""

    store = RegistryTokenStore(registry)
    rows = []
    for config in configured_sources(registry).values():
        wanted = needs_secret(config.kind)
        stored = store.has(roster_secret_name(config.name)) if wanted else None
        rows.append(
            {
                "name": config.name,
                "kind": config.kind,
                "options": config.options,
                "secret": "stored" if stored else ("MISSING" if wanted else "not needed"),
                "secret_stored": stored,
                "added_at": config.added_at,
                "added_by": config.added_by,
            }
        )
    return rows


def open_source(registry: Registry, ref: str) -> RosterSource:
    """A configured source by name (with its stored secret), else a OneRoster folder or zip by path."""

    sources = configured_sources(registry)
    config = sources.get(ref.strip().lower())
    if config is not None:
        secret = None
        if needs_secret(config.kind):
            secret = RegistryTokenStore(registry).get(roster_secret_name(config.name))
            if secret is None:
                raise ConnectorError(
                    f"roster source {config.name} has no stored {secret_label(config.kind)}",
                    f"Store it with `auditor roster set-secret {config.name}`.",
                )
        return build_source(config.kind, config.options, secret, name=config.name)
    path = Path(ref).expanduser()
    if path.exists():
        # A bare path is a OneRoster export (folder or zip); HR exports need a mapping, so a name.
        return build_source("oneroster-csv", {"path": str(path.resolve())})
    raise NotFoundError(
        f"no roster source named {ref!r}, and no file or folder at that path",
        "`auditor roster list` shows the configured sources; a OneRoster export is given by its path.",
    )


# --------------------------------------------------------------------------------------------------
# Sync


@dataclass(frozen=True)
class SyncOutcome:
    """What one `roster sync` saw and did."""

    source: str
    kind: str
    full_snapshot: bool
    entries: int
    plan: SyncPlan
    at: datetime
    dry_run: bool = False
    applied: bool = False
    refused: bool = False
    forced: bool = False
    backup: str = ""
    record_id: str = ""
    previous_sync_at: str = ""
    # The source's notes (RosterSnapshot.notes): shown, never a reason to refuse the plan.
    notes: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return plan_counts(self.plan)

    @property
    def changes(self) -> list[str]:
        return [line for line in self.plan.describe() if line not in self.plan.warnings]

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan
        summary = plan.summary
        return {
            "source": self.source,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "full_snapshot": self.full_snapshot,
            "dry_run": self.dry_run,
            "applied": self.applied,
            "refused": self.refused,
            "forced": self.forced,
            "previous_sync_at": self.previous_sync_at or None,
            "counts": plan_counts(plan),
            "summary": dataclasses.asdict(summary) if summary else None,
            "changes": self.changes,
            "warnings": list(plan.warnings),
            "notes": list(self.notes),
            "departures": [
                {
                    "person_id": d.person_id,
                    "name": d.name,
                    "departed_on": d.departed_on.isoformat(),
                    "reason": d.reason,
                    "referenced": d.referenced,
                }
                for d in plan.departures
            ],
            "role_changes": [
                {
                    "person_id": r.person_id,
                    "name": r.name,
                    "old_role": r.old_role,
                    "new_role": r.new_role,
                    "old_building": r.old_building,
                    "new_building": r.new_building,
                    "changed_on": r.changed_on.isoformat(),
                    "referenced": r.referenced,
                }
                for r in plan.role_changes
            ],
            "created": [{"name": e.name, "email": e.email} for e in plan.creations],
            "baseline": plan.baseline,
            "matched": summary.matched if summary else 0,
            "differing": [
                {"person_id": pid, "name": name, "registry": mine, "roster": theirs}
                for pid, name, mine, theirs in plan.differing
            ],
            "backup": self.backup or None,
            "record_id": self.record_id or None,
        }


def plan_counts(plan: SyncPlan) -> dict[str, int]:
    departed_or_moved = {d.person_id for d in plan.departures} | {r.person_id for r in plan.role_changes}
    return {
        "departures": len(plan.departures),
        "role_changes": len(plan.role_changes),
        "updates": sum(1 for u in plan.updates if u.person_id not in departed_or_moved),
        "created": len(plan.creations),
        "absent": len(plan.absent),
        "unmatched": len(plan.unmatched),
        "warnings": len(plan.warnings),
    }


def referenced_person_ids(registry: Registry) -> set[str]:
    """People named on any account (owner, co-manager, student manager, comment monitor)."""

    ids: set[str] = set()
    for a in Inventory(registry).accounts():
        ids.update(
            i for i in (a.owner_id, *a.co_manager_ids, *a.student_manager_ids, *a.comment_monitor_ids) if i
        )
    return ids


class SyncRefusedError(AuditorError):
    """The plan carries warnings and --force was not given: nothing was written."""


def sync(
    registry: Registry,
    source: RosterSource,
    *,
    dry_run: bool = False,
    create_missing: bool = False,
    force: bool = False,
    now: datetime | None = None,
) -> SyncOutcome:
    """Fetch, plan, and (unless dry run or refused) back up then apply in one transaction.

    A plan with warnings (more than 20 % of the covered people missing from a full snapshot, people
    sharing an email...) is not applied unless `force`: the outcome says `refused` and the caller
    decides how loudly to say so.
    """

    if not dry_run:
        # Refused before the roster is fetched or the backup (and its log event) is taken.
        registry.require_admin("Syncing a roster into the registry")
    moment = now or datetime.now(UTC)
    snapshot = source.snapshot()  # RosterError / RosterFileError: nothing read, nothing written
    inv = Inventory(registry)
    with registry.snapshot():
        people = inv.people()
        referenced = referenced_person_ids(registry)
        previous = _last_sync_at(registry, snapshot.source)
        baseline = _baseline(registry, snapshot.source)
    if inv.damaged:
        # A person we cannot read would look absent from the registry; do not plan around them.
        raise VaultError(
            f"{len(inv.damaged)} person record(s) failed their integrity check; the roster sync did not run",
            inv.damaged[0].hint,
        )
    plan = plan_sync(
        people,
        snapshot.entries,
        referenced_person_ids=referenced,
        today=moment.date(),
        full_snapshot=snapshot.full,
        create_missing=create_missing,
        roles=snapshot.roles,
        baseline=baseline[1] if baseline is not None else None,
    )
    outcome = SyncOutcome(
        source=snapshot.source,
        kind=source.kind,
        full_snapshot=snapshot.full,
        entries=len(snapshot.entries),
        plan=plan,
        at=moment,
        dry_run=dry_run,
        forced=force and bool(plan.warnings),
        previous_sync_at=previous,
        notes=snapshot.notes,
    )
    if dry_run:
        return outcome
    if plan.warnings and not force:
        return _replace(outcome, refused=True)
    backup = ""
    if not plan.is_empty:
        backup = take_backup(registry, "before-roster-sync")
    outcome = _replace(outcome, backup=backup, applied=True, record_id=_sync_record_id(moment))
    with registry.transaction():
        _write_people(registry, people, plan, moment, f"roster:{snapshot.source}")
        registry.put(SYNC_KIND, outcome.record_id, _history_data(outcome, registry), expected_version=0)
        _store_baseline(registry, snapshot.source, plan, moment, baseline)
    return outcome


def _replace(outcome: SyncOutcome, **changes: Any) -> SyncOutcome:
    return dataclasses.replace(outcome, **changes)


def _write_people(
    registry: Registry, people: Sequence[Person], plan: SyncPlan, now: datetime, by: str
) -> None:
    """Write every person the plan changes or creates, with the roster as the source of each field
    it set, and one change-history entry for them all."""
    store = Inventory(registry)
    before = {p.id: p for p in people}
    changed = {u.person_id for u in plan.updates}
    history: list[RecordChange] = []
    for person in apply_plan(people, plan, now, new_id=lambda _entry: new_id("p")):
        old = before.get(person.id)
        if old is not None and person.id not in changed:
            continue
        person = person.stamped(old, by, now)
        history.append(record_change(old, person, {}))
        try:
            # expected_version: a person edited since we read them fails the whole sync
            # (ConcurrentEditError) rather than being overwritten with a stale plan.
            store.put_person(person, expected_version=old.version if old is not None else 0)
        except DuplicateRecordError:
            raise AuditorError(
                f"the roster gives {person.name} the email {person.email}, which another person in the "
                "registry already has; nothing was changed",
                "Fix the duplicate in the registry (`auditor person list`) or in the roster, then sync again.",
            ) from None
    record_changes(registry, by, history, at=now)


def _sync_record_id(moment: datetime) -> str:
    return f"sync_{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}_{_secrets.token_hex(3)}"


def _history_data(outcome: SyncOutcome, registry: Registry) -> dict[str, Any]:
    data = outcome.to_dict()
    data.pop("record_id", None)
    data.pop("dry_run", None)
    data.pop("refused", None)
    data["format"] = SYNC_SCHEMA_VERSION
    identity = registry.identity
    data["by"] = identity.name if identity else ""
    return data


@dataclass(frozen=True)
class SyncRecord:
    """One past sync, as stored."""

    id: str
    at: str
    source: str
    kind: str
    counts: dict[str, int]
    changes: list[str]
    warnings: list[str] = field(default_factory=list)
    forced: bool = False
    backup: str = ""
    by: str = ""
    previous_sync_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": self.at, "source": self.source, "kind": self.kind, "by": self.by,
            "counts": self.counts, "changes": self.changes, "warnings": self.warnings,
            "forced": self.forced, "backup": self.backup or None,
            "previous_sync_at": self.previous_sync_at or None,
        }  # fmt: skip


def history(registry: Registry, *, source: str | None = None) -> list[SyncRecord]:
    """Every recorded sync, oldest first. A record that fails its integrity check raises (it is the
    audit trail: a silent gap would hide a departure)."""

    out = []
    for rec in registry.scan(SYNC_KIND):
        if isinstance(rec, RecordTamperedError):
            raise rec
        d = rec.data
        if source is not None and d.get("source") != source:
            continue
        out.append(
            SyncRecord(
                id=rec.id,
                at=str(d.get("at", "")),
                source=str(d.get("source", "")),
                kind=str(d.get("kind", "")),
                counts={k: int(v) for k, v in (d.get("counts") or {}).items()},
                changes=[str(c) for c in d.get("changes") or []],
                warnings=[str(w) for w in d.get("warnings") or []],
                forced=bool(d.get("forced")),
                backup=str(d.get("backup") or ""),
                by=str(d.get("by", "")),
                previous_sync_at=str(d.get("previous_sync_at") or ""),
            )
        )
    return sorted(out, key=lambda r: (r.at, r.id))


def _baseline_id(source: str) -> str:
    import hashlib

    return "rb_" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]


def _baseline(registry: Registry, source: str) -> tuple[int, dict[str, tuple[str, str]]] | None:
    """(record version, person id -> (role, building)) this source gave at its last applied sync;
    None before its first. A damaged baseline raises: guessing would turn everyone into a change."""
    rec = registry.get(BASELINE_KIND, _baseline_id(source))
    if rec is None:
        return None
    people = rec.data.get("people") or {}
    return rec.version, {
        str(pid): (str(v[0]), str(v[1])) for pid, v in people.items() if isinstance(v, list) and len(v) == 2
    }


def _store_baseline(
    registry: Registry,
    source: str,
    plan: SyncPlan,
    moment: datetime,
    previous: tuple[int, dict[str, tuple[str, str]]] | None,
) -> None:
    """What the roster said now becomes the next sync's baseline. People it did not describe this
    time (a delta file, someone absent) keep their earlier baseline."""
    people = dict(previous[1]) if previous is not None else {}
    people.update(plan.seen)
    registry.put(
        BASELINE_KIND,
        _baseline_id(source),
        {"source": source, "at": moment.isoformat(), "people": {k: list(v) for k, v in people.items()}},
        expected_version=previous[0] if previous is not None else 0,
    )


def _last_sync_at(registry: Registry, source: str) -> str:
    past = history(registry, source=source)
    return past[-1].at if past else ""
