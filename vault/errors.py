"""Errors of the registry, each distinct so the user knows what happened and what to do.

Wrong passphrase, damaged registry, tampered record and newer format are different situations
with different remedies; they are never folded into one "decryption failed".
"""

from __future__ import annotations

from auditor.model.errors import AuditorError


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


class RecordReplayedError(RecordTamperedError):
    """One record is authentic but is not the version the registry's authenticated head counts:
    an older copy of it was put back (or its stamp column edited) by someone without the key."""

    def __init__(self, kind: str, record_id: str, why: str) -> None:
        super().__init__(kind, record_id)
        self.message = f"{kind} record {record_id} {why}"
        self.args = (self.message,)


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


class KeyMetadataTamperedError(VaultError):
    """Key metadata (an identity, its public key, a wrapped key, the break-glass recipient, the
    registry header) differs from what the registry's authenticated manifest records: someone
    without a domain key changed it. Nothing is wrapped to a key that fails this check."""

    def __init__(self, message: str, hint: str = "", *, subject: str = "") -> None:
        super().__init__(
            message,
            hint
            or "Nothing was changed. Run `auditor registry check` for the full list, then restore a "
            "backup (`auditor registry restore`) taken before the change.",
        )
        self.subject = subject


class RollbackError(VaultError):
    """Records or the log are older, fewer or more than the registry's authenticated head says:
    an old copy was put back, or rows were deleted or inserted, by someone without the keys."""

    def __init__(self, message: str, hint: str = "", *, subject: str = "") -> None:
        super().__init__(
            message,
            hint
            or "Nothing was changed. Run `auditor registry check`, then restore the most recent good "
            "backup (`auditor registry restore`).",
        )
        self.subject = subject
