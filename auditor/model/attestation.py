"""`Attestation`: what an administrator saw on a profile the auditor cannot read, and when.

A value of the model because two layers share it: the manual connector answers the audit from
attestations (connectors/platforms/manual.py), and the registry stores them
(vault/stores/attestations.py), and the vault knows only the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.model.errors import ConnectorError
from auditor.model.types import Platform, ProfileStatus, parse_date, to_plain


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
