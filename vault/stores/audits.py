"""Audit runs, the findings ledger and waivers: typed records under the inventory key.

The nightly `auditor` identity writes runs and the ledger (vault/kinds.py); waivers need an
administrator. Values go in and out as model types (`AuditRun`, `Finding`, `Profile`) or the small
records below; what a record holds on disk is decided here. A record that fails its integrity
check, or does not parse, is named in the caller's `damaged` list and skipped, so one bad record
never hides the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec

from auditor.model.types import AuditRun, Finding, Platform, Profile, shared_clause
from vault.errors import RecordTamperedError
from vault.kinds import kind
from vault.registry import Registry, utcnow

RUN_KIND = "audit-run"
CHANGE_KIND = "audit-run-change"
LEDGER_KIND = "audit-ledger"
LEDGER_ID = "current"
CHUNK_KIND = "audit-ledger-chunk"
PROFILE_KIND = "audit-profile"
WAIVER_KIND = "waiver"
# Their records carry their format (declared with the kinds, with any upgrade steps: vault/kinds.py).
RUN_FORMAT = kind(RUN_KIND).format
LEDGER_FORMAT = kind(LEDGER_KIND).format
CHUNK_FORMAT = kind(CHUNK_KIND).format
# A record of format 1 (before issue 17) reads with its old content under this key (vault/kinds.py);
# `auditor registry upgrade`, or the next audit, converts it (auditor/services/audit.py).
LEGACY = "legacy"

# Bounded records: a chunk holds about this many on average (keys are spread by hash; the number of
# chunks doubles or halves as the ledger or the inventory grows or shrinks, rewriting them all once).
FINDINGS_PER_CHUNK = 500
PROFILES_PER_CHUNK = 250
CHANGES_PER_RECORD = 1000
_CLAUSE_KEYS = frozenset({"id", "citation", "text"})

Change = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # (fingerprint, before, after)


def _packed(fp: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Any]:
    """A change as stored. When the finding was there before and after, `before` is kept as what
    differs from `after` (`[fp, differing fields, after, fields after has and before had not]`):
    most changes are a state or a date (every finding goes from new to open on its second run), so
    a run does not store each changed finding twice in full."""
    if before is None or after is None:
        return [fp, before, after]
    differing = {k: v for k, v in before.items() if k not in after or after[k] != v}
    return [fp, differing, after, sorted(k for k in after if k not in before)]


def _unpacked(entry: Sequence[Any]) -> Change:
    """`_packed` read back: (fingerprint, before, after), `before` whole again."""
    if len(entry) == 3:
        fp, before, after = entry
        return str(fp), before, after
    fp, differing, after, absent = entry
    skip = set(absent)
    return str(fp), {**{k: v for k, v in after.items() if k not in skip}, **differing}, after


def _quoted_refs(clauses: Any, quotes: list[Any], index: dict[tuple[Any, ...], int]) -> list[int] | None:
    """Positions in the chunk's `quotes` of a finding's quoted clauses (added there when new); None
    when one of them is not a quoted clause (id, citation, text), so the finding is kept as given."""
    refs: list[int] = []
    for c in clauses:
        if type(c) is not dict or c.keys() != _CLAUSE_KEYS:
            return None
        key = tuple(c.items())  # in their order: a clause spelled in another order is quoted apart
        if type(key[0][1]) is not str or type(key[1][1]) is not str or type(key[2][1]) is not str:
            return None
        at = index.get(key)
        if at is None:
            at = index[key] = len(quotes)
            quotes.append(c)
        refs.append(at)
    return refs


def pack_chunk(findings: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A ledger chunk as stored (format 2): each quoted clause once, in `quotes`, and beside the
    findings (`refs`, one entry per finding) the positions of each one's clauses, its evidence
    keeping `clauses` as null. The policy text was 57 % of a ledger's bytes: a dozen clauses quoted
    280,000 times at 100,000 accounts. A finding whose evidence quotes anything else (or nothing)
    has a null entry and is stored as it is."""
    quotes: list[Any] = []
    index: dict[tuple[Any, ...], int] = {}
    out: list[dict[str, Any]] = []
    refs: list[list[int] | None] = []
    for d in findings:
        evidence = d.get("evidence")
        at = None
        if isinstance(evidence, dict):
            clauses = evidence.get("clauses")
            at = _quoted_refs(clauses, quotes, index) if type(clauses) is list and clauses else None
            if at is not None:
                d = {**d, "evidence": {**evidence, "clauses": None}}
        refs.append(at)
        out.append(d)
    return {"quotes": quotes, "refs": refs, "findings": out}


class _Chunk(msgspec.Struct):
    """A ledger chunk decoded in one pass (`Registry.scan_typed`); `refs` and `quotes` as
    `pack_chunk` writes them."""

    findings: list[Finding]
    quotes: list[Any] = msgspec.field(default_factory=list)
    refs: list[list[int] | None] = msgspec.field(default_factory=list)
    format: int = 1


_CHUNK_DECODER = msgspec.json.Decoder(_Chunk)


def _quoting(
    findings: Sequence[Any], quotes: Sequence[Any], refs: Sequence[Any]
) -> Iterator[tuple[Any, Any]]:
    """(finding, its clauses as quoted, or None for those stored as they are)."""
    if refs and len(refs) != len(findings):
        raise ValueError("a ledger chunk's clause references do not match its findings")
    table = [shared_clause(q) for q in quotes]
    for n, f in enumerate(findings):
        at = refs[n] if refs else None
        if at is None:
            yield f, None
            continue
        try:
            yield f, [table[i] for i in at]
        except (IndexError, TypeError) as exc:
            raise ValueError(f"a ledger chunk's finding quotes a clause it does not hold: {exc}") from None


def unpack_chunk(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`pack_chunk` read back: the stored findings with their quoted clauses in place (one dict per
    distinct clause, shared). A chunk of format 1 has no `refs` and reads as it is. Raises
    ValueError on a chunk that does not fit together (never written so: the caller rebuilds)."""
    findings: list[dict[str, Any]] = data["findings"]
    for d, quoted in _quoting(findings, data.get("quotes") or (), data.get("refs") or ()):
        if quoted is not None:
            try:
                d["evidence"]["clauses"] = quoted
            except (KeyError, TypeError):
                raise ValueError("a ledger chunk's finding quotes clauses but has no evidence") from None
    return findings


def _chunk_findings(chunk: _Chunk) -> list[Finding]:
    """The findings of a chunk decoded by type, with their quoted clauses in place, as
    `Finding.from_dict` would have read each one (its evidence's clauses shared)."""
    for f, quoted in _quoting(chunk.findings, chunk.quotes, chunk.refs):
        evidence = f.evidence
        if quoted is None:
            clauses = evidence.get("clauses")
            if type(clauses) is list and clauses:
                quoted = [shared_clause(c) for c in clauses]
            else:
                continue
        evidence["clauses"] = quoted  # a dict of its own, just decoded
    return chunk.findings


def fingerprint_of(data: Mapping[str, Any]) -> str:
    """`Finding.fingerprint` of a stored finding, without decoding it."""
    return f"{data['check_id']}|{data['subject']}"


def canonical(data: Any) -> str:
    """The bytes two stored values are compared by (a decoded list and a fresh tuple are the same)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def _bucket(key: str, buckets: int) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") % buckets


def _buckets_for(count: int, per: int, current: int = 0) -> int:
    """A power of two near count / per; kept while within a factor of two either way."""
    if current and current * per // 4 <= count <= current * per * 2:
        return current
    n = 1
    while n * per < count:
        n *= 2
    return n


def _chunk_id(buckets: int, bucket: int) -> str:
    return f"{buckets}.{bucket}"


class FindingEncoder:
    """Each finding's stored dict (`Finding.to_dict`), worked out once per finding object: a run's
    changed findings are written in its change records and again in the ledger's chunks.

    `take` hands a dict out for the last time and forgets it, so what the chunks have written is
    not kept alive until the end of the run."""

    def __init__(self) -> None:
        self._dicts: dict[int, tuple[Finding, dict[str, Any]]] = {}

    def __call__(self, finding: Finding) -> dict[str, Any]:
        hit = self._dicts.get(id(finding))
        if hit is not None and hit[0] is finding:
            return hit[1]
        data = finding.to_dict()
        self._dicts[id(finding)] = (finding, data)
        return data

    def take(self, finding: Finding) -> dict[str, Any]:
        hit = self._dicts.pop(id(finding), None)
        if hit is not None and hit[0] is finding:
            return hit[1]
        return finding.to_dict()


class RunDetailCompactedError(LookupError):
    """A run's per-run detail was compacted by the retention setting; only its summary is kept."""


@dataclass(frozen=True)
class StoredRun:
    """A run as stored: its header (an `AuditRun` without findings), its summary, and how to find
    what changed in it. `legacy` holds the whole run of a record not yet converted (format 1)."""

    run: AuditRun
    seq: int
    tally: Mapping[str, Mapping[str, int]]  # "states", "severity", "open_after": counts
    extras: tuple[str, ...] = ()  # run findings outside what it covered (fingerprints)
    change_records: int = 0
    changes: int = 0
    compacted: bool = False
    searched: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    legacy: AuditRun | None = None
    legacy_profiles: Mapping[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class WaiverRecord:
    """An administrator's waiver as stored: the terms in force, and the earlier terms in `history`."""

    fingerprint: str
    finding_id: str
    check_id: str
    subject: str
    reason: str
    until: date
    by: str
    at: str = ""  # ISO 8601, UTC
    history: tuple[Mapping[str, Any], ...] = ()
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "finding_id": self.finding_id,
            "check_id": self.check_id,
            "subject": self.subject,
            "reason": self.reason,
            "until": self.until.isoformat(),
            "by": self.by,
            "at": self.at,
            "history": [dict(h) for h in self.history],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> WaiverRecord:
        return cls(
            fingerprint=str(data["fingerprint"]),
            finding_id=str(data.get("finding_id", "")),
            check_id=str(data.get("check_id", "")),
            subject=str(data.get("subject", "")),
            reason=str(data["reason"]),
            until=date.fromisoformat(str(data["until"])),
            by=str(data.get("by", "")),
            at=str(data.get("at", "")),
            history=tuple(dict(h) for h in data.get("history") or ()),
            version=version,
        )

    def terms(self) -> dict[str, Any]:
        """What `history` keeps of these terms when they are replaced."""
        return {"reason": self.reason, "until": self.until.isoformat(), "by": self.by, "at": self.at}


@dataclass(frozen=True)
class StoredLedger:
    after_run: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def _digest(profiles: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(profiles).encode("utf-8")).hexdigest()[:32]


class AuditStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- runs ---------------------------------------------------------------------------------------

    def stored_runs(self, damaged: list[str]) -> list[StoredRun]:
        """Every stored run's summary, in the order they were stored (oldest first). Reads one small
        record per run: no finding and no profile is decoded, except in runs not yet converted."""
        out: list[StoredRun] = []
        for rec in self.registry.scan(RUN_KIND):
            if isinstance(rec, RecordTamperedError):
                damaged.append(f"{RUN_KIND} record")
                continue
            try:
                out.append(self._stored_run(rec.data, rec.version))
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{RUN_KIND} record")
        out.sort(key=lambda r: (r.legacy is None, r.seq, r.run.started_at, r.run.id))
        if any(r.legacy is not None for r in out):  # not converted yet: the order they ran in
            out.sort(key=lambda r: (r.run.started_at, r.run.id))
        return out

    @staticmethod
    def _stored_run(data: Mapping[str, Any], version: int) -> StoredRun:
        legacy = data.get(LEGACY)
        searched = tuple(str(p) for p in data.get("searched_platforms") or ())
        notes = tuple(str(n) for n in data.get("notes") or ())
        options = dict(data.get("options") or {})
        if isinstance(legacy, Mapping):
            full = AuditRun.from_dict(legacy["run"])
            return StoredRun(
                run=dataclasses.replace(full, findings=()),
                seq=0,
                tally={},
                searched=searched,
                notes=notes,
                options=options,
                legacy=full,
                legacy_profiles=dict(legacy.get("profiles") or {}),
                version=version,
            )
        tally = data.get("tally") or {}
        return StoredRun(
            run=AuditRun.from_dict(data["run"]),
            seq=int(data["seq"]),
            tally={str(k): {str(s): int(n) for s, n in (v or {}).items()} for k, v in tally.items()},
            extras=tuple(str(x) for x in data.get("extras") or ()),
            change_records=int(data.get("change_records", 0)),
            changes=int(data.get("changes", 0)),
            compacted=bool(data.get("compacted", False)),
            searched=searched,
            notes=notes,
            options=options,
            version=version,
        )

    def has_runs(self) -> bool:
        """Whether any audit has been stored, without reading the runs: the ledger record exists
        after the first run; a registry from before it is asked which record kinds it holds."""
        backend = self.registry.backend
        return backend.get(LEDGER_KIND, LEDGER_ID) is not None or RUN_KIND in backend.kinds()

    def conversion_pending(self) -> bool:
        """Whether runs are stored in the layout before issue 17 (a hint read without the key: the
        conversion itself decides by each record's authenticated format)."""
        kinds = set(self.registry.backend.kinds())
        return RUN_KIND in kinds and CHUNK_KIND not in kinds

    def put_run(
        self,
        run: AuditRun,
        *,
        seq: int,
        tally: Mapping[str, Mapping[str, int]],
        extras: Iterable[str],
        changes: Sequence[Change],
        searched: Iterable[Platform | str],
        notes: Sequence[str],
        options: Mapping[str, Any],
        expected_version: int = 0,
    ) -> None:
        """Store a run's summary and what changed in it, in bounded records (in the caller's
        transaction). `expected_version`: 0 for a new run, the stored version when converting."""
        records = 0
        for start in range(0, len(changes), CHANGES_PER_RECORD):
            part = changes[start : start + CHANGES_PER_RECORD]
            self.registry.put(
                CHANGE_KIND,
                f"{run.id}.{records}",
                {"run": run.id, "changes": [_packed(fp, before, after) for fp, before, after in part]},
                expected_version=None,
            )
            records += 1
        header = dataclasses.replace(run, findings=()).to_dict()  # its findings are in the ledger
        header.pop("findings", None)
        self.registry.put(
            RUN_KIND,
            run.id,
            {
                "format": RUN_FORMAT,
                "seq": seq,
                "run": header,
                "tally": {k: dict(v) for k, v in tally.items()},
                "extras": sorted(extras),
                "changes": len(changes),
                "change_records": records,
                "searched_platforms": sorted(
                    p.value if isinstance(p, Platform) else str(p) for p in searched
                ),
                "notes": list(notes),
                "options": dict(options),
            },
            expected_version=expected_version,
        )

    def changes(self, run: StoredRun) -> list[Change]:
        """What changed in the ledger in `run`: (fingerprint, before, after) as stored."""
        if run.compacted:
            raise RunDetailCompactedError(run.run.id)
        out: list[Change] = []
        for n in range(run.change_records):
            rec = self.registry.get(CHANGE_KIND, f"{run.run.id}.{n}")
            if rec is None:
                raise RunDetailCompactedError(run.run.id)
            out.extend(_unpacked(entry) for entry in rec.data["changes"])
        return out

    def compact(self, run: StoredRun) -> int:
        """Drop a run's per-run detail (its change records), keeping its summary; returns the
        number of records deleted (in the caller's transaction)."""
        for n in range(run.change_records):
            if self.registry.backend.get(CHANGE_KIND, f"{run.run.id}.{n}") is not None:
                self.registry.delete(CHANGE_KIND, f"{run.run.id}.{n}")
        rec = self.registry.get(RUN_KIND, run.run.id)
        if rec is None:
            return 0
        self.registry.put(RUN_KIND, run.run.id, {**rec.data, "compacted": True}, expected_version=rec.version)
        return run.change_records

    # -- the ledger ---------------------------------------------------------------------------------

    def head(self) -> dict[str, Any] | None:
        """The ledger's head record: after which run, the chunk counts, the profile digests."""
        rec = self.registry.get(LEDGER_KIND, LEDGER_ID)
        return None if rec is None else rec.data

    def ledger(self, damaged: list[str]) -> StoredLedger | None:
        """The stored ledger; None when there is none, or it is damaged (then named in `damaged`,
        and the caller folds the runs instead)."""
        try:
            head = self.head()
        except RecordTamperedError:
            damaged.append(f"{LEDGER_KIND} record (rebuilt from the runs)")
            return None
        if head is None:
            return None
        legacy = head.get(LEGACY)
        try:
            if isinstance(legacy, Mapping):
                findings = tuple(Finding.from_dict(d) for d in legacy["findings"])
                return StoredLedger(str(legacy.get("after_run", "")), findings)
            # Decoded chunk by chunk: the stored dicts of one chunk at a time, never all 280,000
            # of a 100,000-account ledger beside their findings (that was the audit's peak memory).
            found: dict[str, Finding] = {}
            for rec in self.registry.scan_typed(CHUNK_KIND, _CHUNK_DECODER):
                if isinstance(rec, RecordTamperedError):
                    damaged.append(f"{CHUNK_KIND} record (rebuilt from the runs)")
                    return None
                if isinstance(rec, _Chunk):
                    chunk = _chunk_findings(rec)
                else:  # a chunk only the generic reader takes: each finding read as before
                    chunk = [Finding.from_dict(d) for d in unpack_chunk(rec.data)]
                for f in chunk:
                    found[f.fingerprint] = f
            return StoredLedger(str(head.get("after_run", "")), tuple(found.values()))
        except (KeyError, TypeError, ValueError):
            damaged.append(f"{LEDGER_KIND} record (rebuilt from the runs)")
            return None

    def ledger_raw(self, damaged: list[str]) -> dict[str, dict[str, Any]] | None:
        """The ledger's findings as stored, by fingerprint (undecoded); None when a chunk is damaged."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.registry.scan(CHUNK_KIND):
            if isinstance(rec, RecordTamperedError):
                damaged.append(f"{CHUNK_KIND} record (rebuilt from the runs)")
                return None
            try:
                findings = unpack_chunk(rec.data)
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{CHUNK_KIND} record (rebuilt from the runs)")
                return None
            for d in findings:
                out[fingerprint_of(d)] = d
        return out

    def put_ledger(
        self,
        after_run: str,
        seq: int,
        findings: Sequence[Finding],
        touched: Iterable[str] | None,
        profiles: Mapping[str, Any] | None = None,
        *,
        encode: FindingEncoder | None = None,
    ) -> int:
        """Store the ledger after `after_run`: only the chunks holding a `touched` fingerprint are
        rewritten (None: every chunk). Returns the number of chunks written. `encode`: the run's
        encoder, whose dicts of the changed findings are reused here (and then let go)."""
        take = encode.take if encode is not None else Finding.to_dict
        head = self.head() or {}
        old = head.get("findings") if LEGACY not in head else None
        old_buckets = int(old["buckets"]) if isinstance(old, Mapping) else 0
        buckets = _buckets_for(len(findings), FINDINGS_PER_CHUNK, old_buckets)
        # Chunks of an older format are all rewritten once (the head says which format its chunks
        # are in): a chunk left in format 1 would be read by the generic reader every night.
        old_format = old.get("chunk_format", 1) if isinstance(old, Mapping) else 1
        rewrite_all = touched is None or buckets != old_buckets or old_format != CHUNK_FORMAT
        wanted = set() if rewrite_all else {_bucket(fp, buckets) for fp in touched or ()}
        by_bucket: dict[int, list[Finding]] = {}
        for f in findings:
            b = _bucket(f.fingerprint, buckets)
            if rewrite_all or b in wanted:
                by_bucket.setdefault(b, []).append(f)
        written = 0
        for b in range(buckets) if rewrite_all else sorted(wanted):
            items = by_bucket.pop(b, [])
            self.registry.put(
                CHUNK_KIND,
                _chunk_id(buckets, b),
                pack_chunk(take(f) for f in items),
                expected_version=None,
            )
            written += 1
        if rewrite_all:  # chunks of another size, from before a resize
            for rec_id in self._ids(CHUNK_KIND):
                if not rec_id.startswith(f"{buckets}."):
                    self.registry.delete(CHUNK_KIND, rec_id)
        self.registry.put(
            LEDGER_KIND,
            LEDGER_ID,
            {
                "format": LEDGER_FORMAT,
                "after_run": after_run,
                "seq": seq,
                "findings": {"buckets": buckets, "count": len(findings), "chunk_format": CHUNK_FORMAT},
                "profiles": dict(profiles if profiles is not None else head.get("profiles") or {}),
            },
            expected_version=None,
        )
        return written

    def _ids(self, kind_name: str) -> list[str]:
        return [row.id for row in self.registry.backend.stamps(kind_name)]

    # -- profiles -----------------------------------------------------------------------------------

    def put_profiles(self, profiles: Mapping[str, Profile]) -> tuple[int, dict[str, Any]]:
        """Keep the latest profile of every account: only chunks whose profiles changed are read
        and rewritten (a digest per chunk in the ledger head says which). Returns (profiles
        changed, the head's new profile index) for `put_ledger`."""
        head = self.head() or {}
        index = head.get("profiles") if LEGACY not in head else None
        index = dict(index) if isinstance(index, Mapping) else {}
        old_buckets = int(index.get("buckets", 0))
        count = max(len(profiles), int(index.get("count", 0)))
        buckets = _buckets_for(count, PROFILES_PER_CHUNK, old_buckets)
        digests: dict[str, str] = dict(index.get("digests") or {})
        fresh: dict[int, dict[str, Any]] = {}
        for account_id, profile in profiles.items():
            fresh.setdefault(_bucket(account_id, buckets), {})[account_id] = profile.to_dict()
        if buckets != old_buckets:  # resize: carry every stored profile over
            carried = self.latest_raw() if old_buckets else {}
            for account_id, data in carried.items():
                fresh.setdefault(_bucket(account_id, buckets), {}).setdefault(account_id, data)
            digests = {}
        changed = 0
        for b, items in sorted(fresh.items()):
            digest = _digest(items)
            if digests.get(str(b)) == digest:
                continue  # the run saw exactly what is stored
            rec = self.registry.get(PROFILE_KIND, _chunk_id(buckets, b)) if buckets == old_buckets else None
            stored: dict[str, Any] = dict(rec.data["profiles"]) if rec is not None else {}
            merged = {**stored, **items}
            changed += sum(
                1 for k, v in items.items() if k not in stored or canonical(stored[k]) != canonical(v)
            )
            merged_digest = _digest(merged)
            if rec is None or merged_digest != _digest(stored):
                self.registry.put(
                    PROFILE_KIND, _chunk_id(buckets, b), {"profiles": merged}, expected_version=None
                )
            digests[str(b)] = merged_digest
        if buckets != old_buckets:
            for rec_id in self._ids(PROFILE_KIND):
                if not rec_id.startswith(f"{buckets}."):
                    self.registry.delete(PROFILE_KIND, rec_id)
        stored_count = count if buckets == old_buckets else sum(len(v) for v in fresh.values())
        return changed, {"buckets": buckets, "count": stored_count, "digests": digests}

    def latest_raw(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rec in self.registry.scan(PROFILE_KIND):
            if not isinstance(rec, RecordTamperedError):
                out.update(rec.data["profiles"])
        return out

    def latest_profiles(self, damaged: list[str]) -> dict[str, Profile]:
        """The latest stored profile of every account an audit read, by account id."""
        out: dict[str, Profile] = {}
        for rec in self.registry.scan(PROFILE_KIND):
            if isinstance(rec, RecordTamperedError):
                damaged.append(f"{PROFILE_KIND} record")
                continue
            for account_id, data in rec.data["profiles"].items():
                try:
                    out[str(account_id)] = Profile.from_dict(data)
                except (KeyError, TypeError, ValueError):
                    damaged.append(f"{PROFILE_KIND} record")
        return out

    # -- waivers ------------------------------------------------------------------------------------

    def waivers(self, damaged: list[str]) -> list[WaiverRecord]:
        out: list[WaiverRecord] = []
        for rec in self.registry.scan(WAIVER_KIND):
            if isinstance(rec, RecordTamperedError):
                damaged.append(f"{WAIVER_KIND} record")
                continue
            try:
                out.append(WaiverRecord.from_dict(rec.data, rec.version))
            except (KeyError, TypeError, ValueError):
                damaged.append(f"{WAIVER_KIND} record")
        return out

    def waiver(self, finding_id: str) -> WaiverRecord | None:
        rec = self.registry.get(WAIVER_KIND, finding_id)
        return None if rec is None else WaiverRecord.from_dict(rec.data, rec.version)

    def put_waiver(self, waiver: WaiverRecord, *, expected_version: int) -> WaiverRecord:
        """Store `waiver` (stamped now), in the caller's transaction."""
        stamped = dataclasses.replace(waiver, at=utcnow().isoformat(), version=0)
        version = self.registry.put(
            WAIVER_KIND, waiver.finding_id, stamped.to_dict(), expected_version=expected_version
        )
        return dataclasses.replace(stamped, version=version)
