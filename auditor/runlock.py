"""One audit at a time per registry: an advisory `flock` on a lock file.

Issue 6, "Scheduled operation": "a lock prevents two audits overlapping". A nightly timer firing while
an administrator's manual audit (or last night's slow run) is still going would otherwise store two
runs computed from the same ledger, each marking the same findings new. The second `auditor audit`
exits at once with `AuditLockedError`, exit code 75 (EX_TEMPFAIL from sysexits.h: "try again
later", which schedulers and wrappers understand).

Where the lock lives: for an SQLite registry, `<registry>.audit-lock` beside it (mode 0600), so every
user and host sharing that file shares the lock (flock works on local file systems; on NFS it is
emulated with byte-range locks by Linux >= 2.6.12). For a `postgresql://` registry, in the user
runtime directory (or `$RUNTIME_DIRECTORY` under systemd) named by a hash of the location (the URL
may carry a password, so it is never used as a file name or printed): that lock only covers audits
started on the same machine. The kernel drops a flock when its holder exits or crashes, so a stale
lock file never blocks anyone; the file's content (pid, start time) is only for the message.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import AuditorError

EX_TEMPFAIL = 75


class AuditLockedError(AuditorError):
    """Another audit holds the lock on this registry (exit code 75: try again later)."""

    exit_code = EX_TEMPFAIL


def _is_server_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def lock_path(location: str) -> Path:
    """The lock file for a registry location (see the module docstring)."""
    if _is_server_url(location):
        digest = hashlib.sha256(location.encode("utf-8")).hexdigest()[:20]
        base = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
        if not base:
            from platformdirs import user_runtime_dir

            base = user_runtime_dir("auditor", appauthor=False)
        return Path(base) / f"audit-{digest}.lock"
    path = Path(location).expanduser().absolute()
    return path.with_name(path.name + ".audit-lock")


def _describe_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    pid, started = fields.get("pid", ""), fields.get("started", "")
    if pid.isdigit() and started:
        return f" (pid {pid}, started {started[:19].replace('T', ' ')} UTC)"
    return ""


@contextlib.contextmanager
def audit_lock(location: str) -> Iterator[Path]:
    """Hold the registry's audit lock for the duration of the block, or raise AuditLockedError."""
    import fcntl

    path = lock_path(location)
    is_server = _is_server_url(location)
    if is_server:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(
            path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
    except OSError as exc:
        shown = "the lock file in the runtime directory" if is_server else str(path)
        raise AuditorError(
            f"cannot create the audit lock {shown} ({exc.strerror or type(exc).__name__})",
            "The registry's directory must be writable by the user running the audit.",
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AuditLockedError(
                f"another audit is already running on this registry{_describe_holder(fd)}",
                "Wait for it to finish; a scheduler may simply retry (exit code 75).",
            ) from None
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)  # an older file with a looser mode: tighten it
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            os.write(fd, f"pid={os.getpid()} started={stamp}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing releases the flock
