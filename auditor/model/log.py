"""The reveal log's event and the result of verifying its chain, as values (docs/escrow.md, "Reveal log").

The chain itself (MACs, linking, verification) is vault/log_chain.py's and the stored log is
vault/revealog.py's; what an event *is*, which actions exist and which need a reason is defined here
so that readers of the log (reports) need no vault.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.model.errors import AuditorError

FORMAT_VERSION = 1
GENESIS = "0" * 64  # prev_hash of the first event

ACTIONS = frozenset(
    {
        "reveal",
        "totp",
        "export",
        "set",
        "rotate",
        "generate",
        "code-used",
        "break-glass",
        "breakglass-setup",
        "identity-add",
        "identity-remove",
        "identity-rotate",
        "identity-passwd",
        # Escrow scopes (issue 19): a scope granted or revoked, a refusal to open another scope's
        # credentials, an account's credentials re-sealed under its new building's scope.
        "identity-grant",
        "identity-revoke",
        "scope-refused",
        "scope-move",
        "token-set",
        "token-remove",
        "notify-change",
        "roster-change",
        "attest",
        "attest-remove",
        "policy-set",
        "rekey",
        "offboard",
        "recover",
        "import",
        "waive",
        "task-open",
        "task-close",
        "task-confirm",
        "task-cancel",
        "stage",
        "backup",
        "restore",
        "compact",
        "watch-add",
        "watch-remove",
    }
)
# A reason is mandatory wherever a secret is shown or leaves the registry (issue 3).
REASON_REQUIRED = frozenset({"reveal", "totp", "export", "break-glass", "recover"})


class LogChainError(AuditorError):
    """An event could not be built (bad action, missing reason, secret-looking detail)."""


@dataclass(frozen=True)
class Event:
    """One entry of the reveal log. `details` holds plain JSON values and never a secret."""

    seq: int
    at: datetime
    identity: str
    action: str
    account_id: str = ""
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    mac: str = ""
    v: int = FORMAT_VERSION

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical bytes: what the next event's prev_hash must equal."""
        return hashlib.sha256(canonical_bytes(self)).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso_time(self.at),
            "identity": self.identity,
            "action": self.action,
            "account_id": self.account_id,
            "reason": self.reason,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "mac": self.mac,
            "v": self.v,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        at = data["at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        return cls(
            seq=int(data["seq"]),
            at=at,
            identity=str(data.get("identity", "")),
            action=str(data["action"]),
            account_id=str(data.get("account_id", "") or ""),
            reason=str(data.get("reason", "") or ""),
            details=dict(data.get("details") or {}),
            prev_hash=str(data.get("prev_hash", GENESIS)),
            mac=str(data.get("mac", "")),
            v=int(data.get("v", FORMAT_VERSION)),
        )


def iso_time(at: datetime) -> str:
    """An aware time as the log stores it: UTC, microseconds, `Z`."""
    if at.tzinfo is None:
        raise LogChainError("log event times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_bytes(event: Event) -> bytes:
    """The bytes hashed and MAC'd: every field but `mac`, as sorted compact UTF-8 JSON."""
    data = event.to_dict()
    del data["mac"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Head:
    """The chain's head kept outside the log table: last seq and its digest (`"<seq>:<hex>"`)."""

    seq: int
    digest: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.digest}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, _, digest = text.strip().partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise LogChainError("the recorded log head is malformed")
        return cls(int(seq), digest)


EMPTY_HEAD = Head(0, GENESIS)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify`. `message` is a sentence naming the first problem."""

    ok: bool
    checked: int
    message: str
    problem: str = ""  # "", "gap", "reordered", "duplicate", "prev-hash", "mac", "truncated", "head"
    first_bad_seq: int | None = None
    position: int | None = None  # 1-based index in the sequence given
    head: Head = EMPTY_HEAD

    def __str__(self) -> str:
        return self.message
