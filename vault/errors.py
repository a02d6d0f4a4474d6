"""Errors of the registry, each distinct so the user knows what happened and what to do.

Wrong passphrase, damaged registry, tampered record and newer format are different situations
with different remedies; they are never folded into one "decryption failed".
"""

from __future__ import annotations

from auditor.errors import AuditorError


class VaultError(AuditorError):
    """Base of every registry error."""


class RegistryNotFoundError(VaultError):
    pass


class RegistryExistsError(VaultError):
    pass


class WrongPassphraseError(VaultError):
    pass


class RegistryDamagedError(VaultError):
    """The registry file or its key material is unreadable; nothing was written to it."""


class RecordTamperedError(VaultError):
    """One record failed authentication. Other records stay readable."""

    def __init__(self, kind: str, record_id: str, hint: str = "") -> None:
        super().__init__(
            f"{kind} record {record_id} failed its integrity check: it was altered, copied from "
            "another row or replayed from an older version",
            hint
            or "Restore it from a backup (`auditor registry restore`) or remove it; other records are intact.",
        )
        self.kind = kind
        self.record_id = record_id


class NewerFormatError(VaultError):
    pass


class NeedsUpgradeError(VaultError):
    """The registry is in an older format; `auditor registry upgrade` brings it up to date."""


class AccessDeniedError(VaultError):
    """The unlocked identity does not hold the key this operation needs."""


class IdentityError(VaultError):
    pass


class ConcurrentEditError(VaultError):
    """Someone else saved the record after it was read."""


class LogWriteError(VaultError):
    """The reveal log could not be written; the secret is therefore not shown (fail closed)."""
