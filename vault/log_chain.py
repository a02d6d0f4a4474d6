"""The reveal log's hash chain, independent of where events are stored.

Each `Event` (auditor/model/log.py, with the actions and those that need a reason) records who did
what to which account and why, never a secret (docs/escrow.md, "Reveal log"). Events form a chain:
`prev_hash` is the SHA-256 of the previous event's canonical bytes, and `mac` is HMAC-SHA256 under a
log key over the event's canonical bytes (which include `prev_hash`). Editing, deleting, inserting or
reordering an event therefore breaks the chain at that point, and `verify` names the first broken
link in a sentence.

What a chain cannot show on its own: that events were cut off the *end*. The registry must keep
`head_digest(last_event)` (last sequence number and hash) in a second place (the registry header,
and ideally an external copy such as the nightly report) and pass it to `verify(head=...)`. Anyone
holding the MAC key can rewrite the whole chain; the externally kept head is what limits that too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from auditor.model.log import (
    ACTIONS,
    EMPTY_HEAD,
    GENESIS,
    REASON_REQUIRED,
    Event,
    Head,
    LogChainError,
    VerifyResult,
    canonical_bytes,
    iso_time,
)
from auditor.model.types import Secret

# Detail keys that suggest a secret is being logged; refused outright.
_FORBIDDEN_DETAIL_KEYS = frozenset(
    {"password", "passphrase", "secret", "seed", "totp_seed", "mnemonic", "share", "token", "code", "key"}
)


def compute_mac(event: Event, mac_key: bytes | Secret) -> str:
    key = mac_key.reveal() if isinstance(mac_key, Secret) else mac_key
    key = key if isinstance(key, bytes) else key.encode()
    return hmac.new(key, canonical_bytes(event), hashlib.sha256).hexdigest()


def chain(prev: Event | None, fields: Mapping[str, Any], mac_key: bytes | Secret) -> Event:
    """The next event after `prev` (None for the first): seq, prev_hash and mac are filled in.

    `fields` gives at (aware datetime; default now), identity, action, account_id, reason, details.
    Refuses unknown actions, a missing reason where one is mandatory, and secret-looking details.
    """
    unknown = set(fields) - {"at", "identity", "action", "account_id", "reason", "details"}
    if unknown:
        raise LogChainError(f"unknown log event fields: {', '.join(sorted(unknown))}")
    action = str(fields.get("action", ""))
    if action not in ACTIONS:
        raise LogChainError(f"unknown log action {action!r}", "Known: " + ", ".join(sorted(ACTIONS)) + ".")
    reason = str(fields.get("reason", "") or "").strip()
    if action in REASON_REQUIRED and not reason:
        raise LogChainError(f"a reason is required to log a {action!r} event", 'Pass --reason "...".')
    identity = str(fields.get("identity", "") or "").strip()
    if not identity:
        raise LogChainError("a log event needs the acting identity")
    details = _clean_details(fields.get("details") or {})
    at = fields.get("at") or datetime.now(UTC)
    if not isinstance(at, datetime):
        raise LogChainError("log event 'at' must be a datetime")
    iso_time(at)  # refuses naive times
    # Store the time as UTC with microseconds, exactly as canonical_bytes writes it, so an event
    # read back from storage is equal to the one built here.
    at = datetime.fromisoformat(iso_time(at).replace("Z", "+00:00"))
    draft = Event(
        seq=(prev.seq + 1) if prev else 1,
        at=at,
        identity=identity,
        action=action,
        account_id=str(fields.get("account_id", "") or ""),
        reason=reason,
        details=details,
        prev_hash=prev.digest if prev else GENESIS,
    )
    return replace(draft, mac=compute_mac(draft, mac_key))


def _clean_details(details: Mapping[str, Any]) -> dict[str, Any]:
    def check(value: Any, path: str) -> None:
        if isinstance(value, Secret):
            raise LogChainError(f"log detail {path!r} is a secret; secrets are never logged")
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise LogChainError(f"log detail keys must be strings (under {path!r})")
                if k.lower() in _FORBIDDEN_DETAIL_KEYS:
                    raise LogChainError(f"log detail {k!r} looks like a secret and is refused")
                check(v, f"{path}.{k}" if path else k)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                check(v, f"{path}[{i}]")
        elif not isinstance(value, str | int | float | bool | type(None)):
            raise LogChainError(f"log detail {path!r} is not a plain JSON value")

    check(details, "")
    # A JSON round trip turns tuples into lists, so the event equals what storage gives back.
    cleaned: dict[str, Any] = json.loads(json.dumps(dict(details), sort_keys=True))
    return cleaned


# --------------------------------------------------------------------------------------------------
# Verification


def head_digest(last: Event | None) -> Head:
    """What the registry stores elsewhere after each append, to detect a truncated tail."""
    return Head(last.seq, last.digest) if last else EMPTY_HEAD


def verify(
    events: Sequence[Event], mac_key: bytes | Secret, *, head: Head | None = None, start: Event | None = None
) -> VerifyResult:
    """Walk the chain in the given (storage) order and report the first broken link.

    `start` is the event just before `events[0]` when verifying a suffix (None: from the genesis).
    `head` is the externally kept head; without it, a truncated tail cannot be detected.
    """
    prev = start
    checked = 0

    def fail(problem: str, event: Event | None, position: int | None, message: str) -> VerifyResult:
        return VerifyResult(
            False, checked, message, problem, event.seq if event else None, position, head_digest(prev)
        )

    seen_seqs = {e.seq for e in events}
    for i, event in enumerate(events):
        pos = i + 1
        expected = prev.seq + 1 if prev else 1
        if event.seq != expected:
            if prev is not None and event.seq == prev.seq:
                return fail(
                    "duplicate",
                    event,
                    pos,
                    f"Event {event.seq} appears twice in a row: one copy was inserted.",
                )
            if event.seq < expected:
                return fail(
                    "reordered",
                    event,
                    pos,
                    f"Event {event.seq} appears after event {expected - 1}: the log is out of order.",
                )
            if expected in seen_seqs:
                return fail(
                    "reordered",
                    event,
                    pos,
                    f"Event {event.seq} appears before event {expected}: the log is out of order.",
                )
            missing = (
                f"Event {expected} is"
                if event.seq == expected + 1
                else (f"Events {expected} to {event.seq - 1} are")
            )
            return fail(
                "gap",
                event,
                pos,
                f"{missing} missing: the log jumps from "
                f"{'the start' if prev is None else f'event {prev.seq}'} to event {event.seq}.",
            )
        wanted_prev = prev.digest if prev else GENESIS
        if not hmac.compare_digest(event.prev_hash, wanted_prev):
            what = f"event {prev.seq}" if prev else "the start of the log"
            return fail(
                "prev-hash",
                event,
                pos,
                f"Event {event.seq} does not follow {what}: its link to the previous event is broken "
                f"(the previous event was altered, or this one was moved or forged).",
            )
        if not hmac.compare_digest(event.mac, compute_mac(event, mac_key)):
            return fail(
                "mac",
                event,
                pos,
                f"Event {event.seq} fails its MAC: it was altered or forged after it was written.",
            )
        prev = event
        checked += 1

    last = head_digest(prev)
    if head is not None:
        if head.seq > last.seq:
            gone = f"event {head.seq}" if head.seq == last.seq + 1 else f"events {last.seq + 1} to {head.seq}"
            return VerifyResult(
                False,
                checked,
                f"The log ends at event {last.seq} but the recorded head is event {head.seq}: "
                f"{gone} were removed from the end.",
                "truncated",
                last.seq + 1,
                None,
                last,
            )
        if head.seq < last.seq:
            return VerifyResult(
                False,
                checked,
                f"The log continues to event {last.seq} past the recorded head (event {head.seq}): the head "
                "was not updated or was rolled back.",
                "head",
                head.seq + 1,
                None,
                last,
            )
        if not hmac.compare_digest(head.digest, last.digest):
            return VerifyResult(
                False,
                checked,
                f"Event {last.seq} differs from the recorded head: the last event was replaced.",
                "head",
                last.seq,
                len(events),
                last,
            )
    if checked == 0:
        message = (
            "The log is empty." if head is not None else "The log is empty (no recorded head to compare)."
        )
    else:
        message = f"All {checked} events verify (events {events[0].seq} to {last.seq})."
        if head is None:
            message += " The tail was not checked against a recorded head."
    return VerifyResult(True, checked, message, head=last)
