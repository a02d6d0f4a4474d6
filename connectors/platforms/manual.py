"""The manual connector: an administrator's recorded attestation of what a profile shows.

For platforms without an API for other accounts (Snapchat, personal TikTok/Threads accounts,
anything "other"), someone looks at the profile and records who checked, when, and what it says.
`ManualConnector.lookup` returns that record as a `Profile` with `source="manual"`, `attested_by`
and `fetched_at` set to the check date, so the audit covers every account and a check can flag stale
attestations. No record means UNKNOWN "no manual check recorded". Stores: `MemoryAttestationStore`
and `JsonAttestationStore` (a file); the lead backs the protocol with the registry.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

# The value type lives in the model, which the vault's registry store shares (issue 12); it is
# re-exported here for the connector's callers.
from auditor.model.attestation import Attestation as Attestation
from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, normalise_handle
from connectors.base import Connector, ConnectorSettings


class AttestationStore(Protocol):
    def get(self, platform: Platform, handle: str) -> Attestation | None: ...

    def put(self, attestation: Attestation) -> None: ...


def _key(platform: Platform, handle: str) -> str:
    return f"{platform.value}:{normalise_handle(handle)}"


class MemoryAttestationStore:
    def __init__(self, records: list[Attestation] | None = None) -> None:
        self._records = {_key(r.platform, r.handle): r for r in records or []}
        self._lock = threading.Lock()

    def get(self, platform: Platform, handle: str) -> Attestation | None:
        with self._lock:
            return self._records.get(_key(platform, handle))

    def put(self, attestation: Attestation) -> None:
        with self._lock:
            self._records[_key(attestation.platform, attestation.handle)] = attestation


class JsonAttestationStore:
    """Attestations in one JSON file `{"format": 1, "attestations": [...]}`, replaced atomically."""

    FORMAT = 1

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Attestation]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            records = [Attestation.from_dict(r) for r in data.get("attestations", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConnectorError(
                f"cannot read the attestation file {self.path}: {type(exc).__name__}",
                hint="fix or remove the file; it is plain JSON",
            ) from None
        return {_key(r.platform, r.handle): r for r in records}

    def get(self, platform: Platform, handle: str) -> Attestation | None:
        with self._lock:
            return self._load().get(_key(platform, handle))

    def put(self, attestation: Attestation) -> None:
        with self._lock:
            records = self._load()
            records[_key(attestation.platform, attestation.handle)] = attestation
            payload = {"format": self.FORMAT, "attestations": [r.to_dict() for r in records.values()]}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".attest-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2, sort_keys=True)
            os.replace(tmp, self.path)


class ManualConnector(Connector):
    """Answers from recorded attestations. `ManualConnector.for_platform(p)` makes one per platform."""

    platform: ClassVar[Platform] = Platform.OTHER
    needs_token: ClassVar[bool] = False
    credential_help: ClassVar[str] = "none: an administrator records what the profile shows"

    def __init__(
        self,
        settings: ConnectorSettings | None = None,
        token: Any = None,
        *,
        store: AttestationStore | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, token, **kwargs)
        self.store: AttestationStore = store or MemoryAttestationStore()

    @classmethod
    def for_platform(cls, platform: Platform) -> type[ManualConnector]:
        return type(f"Manual{platform.label.replace(' ', '')}Connector", (cls,), {"platform": platform})

    def _lookup(self, handle: str) -> Profile:
        record = self.store.get(self.platform, handle)
        if record is None:
            return self._unknown(handle, "no manual check recorded")
        checked = datetime(record.checked_on.year, record.checked_on.month, record.checked_on.day, tzinfo=UTC)
        return Profile(
            platform=self.platform,
            handle=handle,
            status=record.status,
            reason=record.notes,
            platform_handle=record.handle,
            display_name=record.display_name,
            bio=record.bio,
            website=record.website,
            links=record.links,
            followers=record.followers,
            fetched_at=checked,
            source="manual",
            attested_by=record.checked_by,
        )


class SnapchatConnector(ManualConnector):
    platform: ClassVar[Platform] = Platform.SNAPCHAT
