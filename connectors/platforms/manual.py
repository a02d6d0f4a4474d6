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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, Profile, ProfileStatus, normalise_handle, parse_date, to_plain
from connectors.base import Connector, ConnectorSettings


@dataclass(frozen=True)
class Attestation:
    """What an administrator saw on a profile, and when."""

    platform: Platform
    handle: str
    checked_by: str
    checked_on: date
    status: ProfileStatus = ProfileStatus.FOUND
    display_name: str = ""
    bio: str = ""
    website: str = ""
    links: tuple[str, ...] = ()
    followers: int | None = None
    notes: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_plain(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attestation:
        checked = parse_date(data.get("checked_on"))
        if checked is None:
            raise ConnectorError(f"attestation for {data.get('handle')!r} has no checked_on date")
        return cls(
            platform=Platform.parse(data["platform"]),
            handle=str(data["handle"]),
            checked_by=str(data.get("checked_by") or ""),
            checked_on=checked,
            status=ProfileStatus.parse(data.get("status") or "found"),
            display_name=str(data.get("display_name") or ""),
            bio=str(data.get("bio") or ""),
            website=str(data.get("website") or ""),
            links=tuple(str(v) for v in data.get("links") or ()),
            followers=data.get("followers"),
            notes=str(data.get("notes") or ""),
            extra=dict(data.get("extra") or {}),
        )


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
