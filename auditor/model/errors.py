"""The tool's one error family.

Every error a user can cause or meet (a wrong passphrase, a damaged registry, a malformed CSV, a
platform that cannot be reached) is an `AuditorError` with a one-line `message` and an optional
`hint` saying what to do. The CLI's single boundary prints them as `error: ...` / `hint: ...` and
exits 1. Anything else escaping is a bug. Messages never contain secret values.

Packages specialise the family (`VaultError` in vault/, `ConnectorError` in connectors/), and each
translates the errors of its libraries into ours where they happen.
"""

from __future__ import annotations


class AuditorError(Exception):
    """Base of every error the tool reports to a user."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AuditorError):
    """The command was understood but cannot be carried out as asked (exit code 2)."""

    exit_code = 2


class NotFoundError(AuditorError):
    """A named account, person, identity, run or finding does not exist."""


class ConflictError(AuditorError):
    """Someone else changed the record since it was read (optimistic concurrency)."""


class InputError(AuditorError):
    """A file the user gave us is malformed. `line` and `column` point at the problem."""

    def __init__(self, message: str, hint: str = "", *, line: int | None = None, column: str = "") -> None:
        super().__init__(message, hint)
        self.line = line
        self.column = column


class PolicyError(AuditorError):
    """The district policy file is invalid. `problems` lists every problem found, one sentence each."""

    def __init__(self, message: str, hint: str = "", *, problems: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.problems: list[str] = list(problems or [])


class ConnectorError(AuditorError):
    """A connector could not be configured or used (not for per-handle failures: those are values)."""
