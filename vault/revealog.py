"""The reveal log as stored in the registry: encrypted, hash-chained, MAC'd events that fail closed.

Events are built by `vault.log_chain.chain` (who, when, which account, why; never a secret) and
appended to the backend's `log` table, whose triggers refuse UPDATE and DELETE. Each row holds the
event encrypted with AES-256-GCM under a key derived from the *inventory* key, so an auditor
identity (inventory key only) can read and verify the log for a compliance officer while the file
alone reveals nothing, not even identity names (docs/escrow.md, "Reveal log").

Keys and epochs. The MAC key is `crypto.subkey(inventory key, "auditor/v1 log mac")`. Removing an
identity re-keys the inventory domain, but old events cannot be rewritten (the table is
append-only), so each row records the inventory key version (its *epoch*) it was written under,
and re-keying first saves the retiring epoch's log keys into a `log-keys` record, which is then
re-encrypted with everything else. Epochs never decrease along the log: whoever kept an old key
cannot append an event after a re-key.

Fail closed (issue 3): `append` writes the event, and the head digest (in the authenticated
inventory manifest, vault/heads.py, so cutting events off the end together with the head is
detected: issue 11) in the same transaction, and returns only after the commit. Secrets are shown only
through `reveal()` / `log_then()`, which refuse to run inside an enclosing transaction (whose commit
would come after the secret is out) and call the caller's function only after the event committed.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.model.log import Event, Head, LogChainError, VerifyResult
from vault import crypto, heads
from vault.backends.storage import LogRow, StorageError
from vault.errors import LogWriteError, VaultError
from vault.kinds import INVENTORY
from vault.log_chain import chain, head_digest, verify

if TYPE_CHECKING:  # the registry writes its own events through this module
    from vault.registry import Registry

MAC_INFO = "auditor/v1 log mac"
ENC_INFO = "auditor/v1 log encryption"
LOG_KEYS_KIND = "log-keys"
LOG_KEYS_ID = "log"
EPOCH_DETAIL = "log_epoch"

T = TypeVar("T")


@dataclass(frozen=True)
class LoggedEvent:
    """An event as read back, with the storage row's sequence number (which may disagree)."""

    row_seq: int
    event: Event | None
    epoch: int
    problem: str = ""


class RevealLog:
    """The registry's reveal log. Needs an unlocked registry holding the inventory key."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # ---- keys -----------------------------------------------------------------------------------

    def _epoch(self) -> int:
        return self.registry.key_version(INVENTORY)

    def _current_keys(self) -> tuple[bytes, bytes]:
        return self.registry.derive_key(INVENTORY, MAC_INFO), self.registry.derive_key(INVENTORY, ENC_INFO)

    def _old_keys(self) -> dict[int, tuple[bytes, bytes]]:
        rec = self.registry.get(LOG_KEYS_KIND, LOG_KEYS_ID)
        if rec is None:
            return {}
        return {
            int(epoch): (bytes.fromhex(k["mac"]), bytes.fromhex(k["enc"]))
            for epoch, k in rec.data.get("epochs", {}).items()
        }

    def keys_for(self, epoch: int) -> tuple[bytes, bytes] | None:
        if epoch == self._epoch():
            return self._current_keys()
        return self._old_keys().get(epoch)

    def retire_epoch(self) -> None:
        """Save the current epoch's keys before the inventory key changes (call inside the re-key
        transaction, before records are re-encrypted, so the saved keys get the new key too)."""
        rec = self.registry.get(LOG_KEYS_KIND, LOG_KEYS_ID)
        data: dict[str, Any] = dict(rec.data) if rec else {"epochs": {}}
        mac, enc = self._current_keys()
        data.setdefault("epochs", {})[str(self._epoch())] = {
            "mac": mac.hex(),
            "enc": enc.hex(),
            # Endorses every later inventory key to identities that last opened this one (vault/heads.py).
            "rotation": heads.rotation_key(self.registry.held_keys()[INVENTORY]).hex(),
        }
        self.registry.put(LOG_KEYS_KIND, LOG_KEYS_ID, data, expected_version=rec.version if rec else 0)

    def rotation_keys(self) -> dict[int, bytes]:
        """The rotation keys of every retired inventory key version (for endorsements)."""
        rec = self.registry.get(LOG_KEYS_KIND, LOG_KEYS_ID)
        if rec is None:
            return {}
        return {
            int(epoch): bytes.fromhex(k["rotation"])
            for epoch, k in rec.data.get("epochs", {}).items()
            if k.get("rotation")
        }

    def _aad(self, epoch: int) -> bytes:
        return crypto.record_aad(self.registry.registry_id, "log-event", "log", epoch)

    # ---- writing --------------------------------------------------------------------------------

    def append(
        self,
        action: str,
        *,
        account_id: str = "",
        reason: str = "",
        details: Mapping[str, Any] | None = None,
        identity: str | None = None,
        at: datetime | None = None,
    ) -> Event:
        """Append one event and update the head in the same transaction (joining the caller's
        transaction if one is open). Raises LogWriteError when storage refuses; LogChainError for a
        malformed event (unknown action, missing reason, secret-looking detail)."""
        who = identity or (self.registry.identity.name if self.registry.identity else "")
        epoch = self._epoch()
        mac_key, enc_key = self._current_keys()
        fields: dict[str, Any] = {
            "identity": who,
            "action": action,
            "account_id": account_id,
            "reason": reason,
            "details": {**dict(details or {}), EPOCH_DETAIL: epoch},
        }
        if at is not None:
            fields["at"] = at
        backend = self.registry.backend
        try:
            with self.registry.transaction():
                tail = backend.log_tail()
                prev = self._decode(tail).event if tail is not None else None
                if tail is not None and prev is None:
                    raise LogWriteError(
                        f"the last log event (row {tail.seq}) cannot be read, so no event can follow it",
                        "Run `auditor log verify`; restore a backup if the log was damaged.",
                    )
                event = chain(prev, fields, mac_key)
                blob = self._encode(event, epoch, enc_key)
                backend.log_append(LogRow(event.seq, blob))
                self.registry.note_log_head(str(head_digest(event)))
        except (LogWriteError, LogChainError):
            raise
        except (sqlite3.Error, OSError, StorageError) as exc:
            raise LogWriteError(
                f"the reveal log could not be written ({type(exc).__name__}: {_short(exc)}); "
                "nothing was shown or changed",
                "The registry must be writable (disk space, permissions, another process holding a lock).",
            ) from None
        return event

    def _in_transaction(self) -> bool:
        return bool(getattr(self.registry.backend, "_depth", 0))

    @contextmanager
    def reveal(
        self,
        action: str,
        *,
        account_id: str = "",
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> Iterator[Event]:
        """`with log.reveal("reveal", account_id=..., reason=...) as event:` show the secret inside.

        The event is committed before the block runs; if it cannot be, the block never runs."""
        if self._in_transaction():
            raise VaultError("internal error: a reveal must not run inside an open transaction")
        event = self.append(action, account_id=account_id, reason=reason, details=details)
        yield event

    def log_then(
        self,
        fn: Callable[[], T],
        action: str,
        *,
        account_id: str = "",
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> T:
        """Commit the event, then call `fn` (which obtains the secret)."""
        with self.reveal(action, account_id=account_id, reason=reason, details=details):
            return fn()

    # ---- reading --------------------------------------------------------------------------------

    def _encode(self, event: Event, epoch: int, enc_key: bytes) -> bytes:
        plain = json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        sealed = crypto.seal(enc_key, plain, self._aad(epoch))
        return json.dumps({"v": 1, "epoch": epoch, "ct": base64.b64encode(sealed).decode()}).encode()

    def _decode(self, row: LogRow, keys: Mapping[int, tuple[bytes, bytes]] | None = None) -> LoggedEvent:
        try:
            outer = json.loads(row.blob)
            epoch = int(outer["epoch"])
            sealed = base64.b64decode(outer["ct"])
        except (ValueError, KeyError, TypeError):
            return LoggedEvent(row.seq, None, 0, "its stored form is not a log event")
        pair = keys.get(epoch) if keys is not None else self.keys_for(epoch)
        if pair is None:
            return LoggedEvent(row.seq, None, epoch, f"no key is known for its epoch {epoch}")
        try:
            data = json.loads(crypto.open_sealed(pair[1], sealed, self._aad(epoch)))
            event = Event.from_dict(data)
        except (crypto.DecryptError, ValueError, KeyError, TypeError):
            return LoggedEvent(
                row.seq, None, epoch, "it does not decrypt (altered, or forged without the key)"
            )
        if event.details.get(EPOCH_DETAIL) != epoch:
            return LoggedEvent(row.seq, event, epoch, "its key epoch was changed")
        return LoggedEvent(row.seq, event, epoch)

    def _all_keys(self) -> dict[int, tuple[bytes, bytes]]:
        keys = self._old_keys()
        keys[self._epoch()] = self._current_keys()
        return keys

    def events(self) -> list[Event]:
        """Every readable event in storage order (unreadable ones are skipped: see `verify`)."""
        keys = self._all_keys()
        out = []
        for row in self.registry.backend.log_rows():
            logged = self._decode(row, keys)
            if logged.event is not None:
                out.append(logged.event)
        return out

    def head(self) -> Head | None:
        """The head recorded in the authenticated inventory manifest."""
        text = self.registry.log_head()
        return Head.parse(text) if text else None

    def tail_problem(self) -> str:
        """A sentence when the log's last row is not the authenticated head (checked on unlock;
        `verify` walks the whole chain)."""
        head = self.head()
        tail = self.registry.backend.log_tail()
        if tail is None:
            if head is None or head.seq == 0:
                return ""
            return f"The log is empty but the recorded head is event {head.seq}: every event was removed."
        if head is None:
            return f"The log holds events up to {tail.seq} but the registry records no log head: they were inserted."
        if tail.seq < head.seq:
            return (
                f"The log ends at event {tail.seq} but the recorded head is event {head.seq}: events "
                f"{tail.seq + 1} to {head.seq} were removed from the end."
            )
        if tail.seq > head.seq:
            return f"The log continues past the recorded head (event {head.seq}) to event {tail.seq}: events were appended outside auditor."
        logged = self._decode(tail)
        if logged.event is None or logged.event.digest != head.digest:
            return f"Event {tail.seq} is not the event the registry's head records: it was replaced."
        return ""

    def verify(self) -> VerifyResult:
        """Walk the stored log; the result's message names the first broken, missing, reordered or
        unreadable event, or the truncated tail."""
        keys = self._all_keys()
        events: list[Event] = []
        last_epoch = 0
        for position, row in enumerate(self.registry.backend.log_rows(), start=1):
            logged = self._decode(row, keys)
            if logged.problem:
                return VerifyResult(
                    False,
                    len(events),
                    f"Event {row.seq} cannot be trusted: {logged.problem}.",
                    "unreadable",
                    row.seq,
                    position,
                )
            assert logged.event is not None
            if logged.epoch < last_epoch:
                return VerifyResult(
                    False,
                    len(events),
                    f"Event {logged.event.seq} was written with a retired key (epoch {logged.epoch} after "
                    f"{last_epoch}): it was forged with a key from before a re-key.",
                    "epoch",
                    logged.event.seq,
                    position,
                )
            last_epoch = logged.epoch
            events.append(logged.event)
        result = _verify_multi(events, keys, self.head())
        return result


def _verify_multi(
    events: list[Event], keys: Mapping[int, tuple[bytes, bytes]], head: Head | None
) -> VerifyResult:
    """`log_chain.verify` with one MAC key per epoch: verify each epoch's run, chained to the last."""
    if not events:
        return verify([], b"", head=head)
    start: Event | None = None
    i = 0
    checked = 0
    while i < len(events):
        epoch = int(events[i].details.get(EPOCH_DETAIL, 0))
        j = i
        while j < len(events) and int(events[j].details.get(EPOCH_DETAIL, 0)) == epoch:
            j += 1
        run = events[i:j]
        last_run = j == len(events)
        result = verify(run, keys[epoch][0], head=head if last_run else None, start=start)
        if not result.ok or last_run:
            if checked:
                return VerifyResult(
                    result.ok,
                    checked + result.checked,
                    _restate(result, events, checked),
                    result.problem,
                    result.first_bad_seq,
                    None if result.position is None else result.position + checked,
                    result.head,
                )
            return result
        checked += result.checked
        start = run[-1]
        i = j
    raise AssertionError("unreachable")


def _restate(result: VerifyResult, events: list[Event], checked: int) -> str:
    if result.ok and result.checked:
        return f"All {checked + result.checked} events verify (events {events[0].seq} to {result.head.seq})."
    return result.message


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else "no detail"
