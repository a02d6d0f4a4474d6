"""Manual attestations stored in the registry: what an administrator saw on a profile, and when.

For platforms with no API for other accounts (Snapchat, personal TikTok and Threads accounts,
"other"), `connectors/platforms/manual.py` answers the audit from attestations. This store keeps them as
encrypted records of kind "attestation" under the inventory key, so the nightly auditor identity can
read them, with the handle only in a blind index: a database dump shows no handle.
"""

from __future__ import annotations

from auditor.model.attestation import Attestation
from auditor.model.types import Platform, normalise_handle
from vault.registry import Registry, new_id
from vault.revealog import RevealLog

KIND = "attestation"


def _key(platform: Platform, handle: str) -> str:
    return f"{platform.value}:{normalise_handle(handle)}"


class RegistryAttestationStore:
    """`connectors.platforms.manual.AttestationStore` backed by the registry (latest attestation per handle)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def get(self, platform: Platform, handle: str) -> Attestation | None:
        rec = self.registry.find(KIND, _key(platform, handle))
        return None if rec is None else Attestation.from_dict(rec.data)

    def put(self, attestation: Attestation) -> None:
        key = _key(attestation.platform, attestation.handle)
        existing = self.registry.find(KIND, key)
        record_id = existing.id if existing is not None else new_id("t")
        with self.registry.transaction():
            self.registry.put(
                KIND,
                record_id,
                attestation.to_dict(),
                expected_version=existing.version if existing is not None else 0,
                natural_key=key,
            )
            _log(self.registry, "attest", attestation.platform, attestation.handle)

    def remove(self, platform: Platform, handle: str) -> bool:
        """Forget the attestation of a handle (`profile attest --remove`); False when there is none."""
        existing = self.registry.find(KIND, _key(platform, handle))
        if existing is None:
            return False
        with self.registry.transaction():
            self.registry.delete(KIND, existing.id)
            _log(self.registry, "attest-remove", platform, handle)
        return True


def _log(registry: Registry, action: str, platform: Platform, handle: str) -> None:

    RevealLog(registry).append(
        action, details={"platform": platform.value, "handle": normalise_handle(handle)}
    )
