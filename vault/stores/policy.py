"""The district policy's record: one text of kind "policy" (id "current") under the inventory key.

The store keeps the exact text (comments included) and who stored it, when and from where; parsing
and validating it are the engine's (auditor/engine/policy), deciding who may store it the
service's (auditor/services/policy.py). Writing needs an admin identity (vault/kinds.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.registry import Registry, utcnow

POLICY_KIND = "policy"
POLICY_ID = "current"


@dataclass(frozen=True)
class PolicyText:
    text: str
    source: str  # a preset name or a file name
    set_at: str  # ISO 8601, UTC
    set_by: str  # identity name
    version: int


class PolicyStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def get(self) -> PolicyText | None:
        rec = self.registry.get(POLICY_KIND, POLICY_ID)
        if rec is None:
            return None
        return PolicyText(
            text=str(rec.data.get("text", "")),
            source=str(rec.data.get("source", "")),
            set_at=str(rec.data.get("set_at", "")),
            set_by=str(rec.data.get("set_by", "")),
            version=rec.version,
        )

    def put(self, text: str, source: str, *, by: str, expected_version: int) -> PolicyText:
        """Store a new version (in the caller's transaction); `expected_version` 0 for the first."""
        at = utcnow().isoformat()
        version = self.registry.put(
            POLICY_KIND,
            POLICY_ID,
            {"text": text, "source": source, "set_at": at, "set_by": by},
            expected_version=expected_version,
        )
        return PolicyText(text=text, source=source, set_at=at, set_by=by, version=version)
