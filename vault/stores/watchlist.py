"""The watchlist: handles staff reported as possible impostors, which every audit looks up.

Records of kind "watch" (vault/kinds.py) under the inventory key, so the nightly auditor identity
can read them; only administrators write them. The handle is only in the blind index
(`platform:handle`, normalised): a database dump shows no handle. Records are plain dicts here;
auditor/services/watchlist.py gives them their meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vault.errors import RecordTamperedError
from vault.kinds import handle_key
from vault.registry import Registry, new_id

KIND = "watch"


class WatchStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def entries(self, damaged: list[str] | None = None) -> list[dict[str, Any]]:
        """Every watched handle's data (a record failing its integrity check is named in `damaged`)."""
        out: list[dict[str, Any]] = []
        for rec in self.registry.scan(KIND):
            if isinstance(rec, RecordTamperedError):
                if damaged is not None:
                    damaged.append(f"{KIND} record")
                continue
            out.append(dict(rec.data))
        return out

    def get(self, platform: str, handle: str) -> dict[str, Any] | None:
        rec = self.registry.find(KIND, handle_key(platform, handle))
        return None if rec is None else dict(rec.data)

    def put_many(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Add or replace entries, all in one transaction (an import is all or nothing)."""
        with self.registry.transaction():
            for data in entries:
                key = handle_key(data["platform"], data["handle"])
                existing = self.registry.find(KIND, key)
                self.registry.put(
                    KIND,
                    existing.id if existing is not None else new_id("w"),
                    dict(data),
                    expected_version=existing.version if existing is not None else 0,
                    natural_key=key,
                )

    def remove(self, platform: str, handle: str) -> bool:
        """Stop watching a handle; False when it was not watched."""
        existing = self.registry.find(KIND, handle_key(platform, handle))
        if existing is None:
            return False
        self.registry.delete(KIND, existing.id)
        return True
