"""One audit at a time per registry: an advisory `flock` on a lock file, or a PostgreSQL advisory lock.

Issue 6, "Scheduled operation": "a lock prevents two audits overlapping". A nightly timer firing while
an administrator's manual audit (or last night's slow run) is still going would otherwise store two
runs computed from the same ledger, each marking the same findings new. The second `auditor audit`
exits at once with `AuditLockedError`, exit code 75 (EX_TEMPFAIL from sysexits.h: "try again
later", which schedulers and wrappers understand).

SQLite registry: `<registry>.audit-lock` beside it (mode 0600), so every user and host sharing that
file shares the lock (flock works on local file systems; on NFS it is emulated with byte-range locks
by Linux >= 2.6.12). The kernel drops a flock when its holder exits or crashes.

`postgresql://` registry (issue 13, "Shared registry"): the administrators' machines share only the
server, so the lock lives there: `pg_try_advisory_lock(key)` on a connection of its own, opened like
the registry's (vault/backends/postgres.py `new_session`) and held for the whole audit. It is a
session-level lock: released by `pg_advisory_unlock` at the end of the block, and by the server
whenever that session ends, so a crashed or killed holder never leaves a stale lock (the session
sets short TCP keepalives so that a holder whose machine lost power is noticed within minutes, not
the kernel's two hours). The key is a stable bigint derived from a constant namespace, the schema
name and the registry's id (`meta.registry_id`), never from the URL. The session's application_name
is `auditor audit: host HOST pid N`, and a second audit's message names the holder from pg_locks and
pg_stat_activity (that name, its client address and connection time where the role may see them).
`lock_path` still maps a server URL to a file name in the runtime directory (a hash of the URL:
the URL is never used as a file name or printed); the audit lock no longer uses it.

The file names its holder (`pid=... started=... host=... since=...`, `since` being the process's
start time from /proc, so a reused pid is not mistaken for it) and is emptied on every release,
including an exception or Ctrl-C. Stale-lock rule (issue 11): when the named holder is gone, on this
host, the lock is taken over and `on_takeover` is told "took over the audit lock of process N, which
is no longer running". That covers a holder that was SIGKILLed (the kernel released the flock, the
file still names it) and one whose lock outlived it (a forked child still holds the open file): the
stale file is unlinked under a second lock, `<lock>.takeover`, so two takers never both win, and a
new one is made. A holder on another host, or one still running, gives `AuditLockedError` (75).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model.errors import AuditorError
from auditor.model.safetext import inert

if TYPE_CHECKING:
    import psycopg

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


@dataclass(frozen=True)
class Holder:
    """What a lock file says about the process holding it."""

    pid: int
    started: str = ""  # ISO 8601 UTC, for the message
    host: str = ""
    since: str = ""  # the process's start time in clock ticks since boot (/proc/PID/stat field 22)
    ns: str = ""  # its pid namespace: a pid means nothing across containers sharing a host name

    def describe(self) -> str:
        return f" (pid {self.pid}, started {self.started[:19].replace('T', ' ')} UTC)" if self.started else ""


def _read_holder(fd: int) -> Holder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 400).decode("utf-8", "replace").strip()
    except OSError:
        return None
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    pid = fields.get("pid", "")
    if not pid.isdigit() or int(pid) <= 0:
        return None
    return Holder(
        int(pid),
        fields.get("started", ""),
        fields.get("host", ""),
        fields.get("since", ""),
        fields.get("ns", ""),
    )


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").replace(" ", "")
    except OSError:
        return ""


def _process_since(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) and None if it is gone or a zombie; "" when
    /proc cannot tell (not Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state is field 3
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19] if len(fields) > 19 else ""


def _gone(holder: Holder) -> bool:
    """True only when the holder is certainly not running: on this host, and no such process (or a
    different process now has its pid). A holder on another host is never judged."""
    if not holder.host or holder.host != socket.gethostname().replace(" ", "") or holder.pid == os.getpid():
        return False
    if holder.ns != _pid_namespace():
        return False
    since = _process_since(holder.pid)
    if since is None:
        return True
    if since and holder.since:
        return since != holder.since
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's process)
    return False


def _open(path: Path) -> int:
    return os.open(
        path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0), 0o600
    )


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _guard(path: Path) -> int:
    """`<lock>.takeover`, locked: it serialises takeovers and carries the note of the last one to
    whichever audit wins the fresh lock file (not necessarily the one that removed the stale one)."""
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    guard = os.open(path.with_name(path.name + ".takeover"), flags, 0o600)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX)
    except BaseException:
        os.close(guard)
        raise
    return guard


def _unlink_if_still(path: Path, fd: int, holder: Holder) -> None:
    """Remove the lock file if it is still the one we examined and still names the same gone holder
    (another taker may have replaced it meanwhile), and leave the note for the winner."""
    guard = _guard(path)
    try:
        if _same_file(fd, path) and _read_holder(fd) == holder:
            path.unlink()
            os.ftruncate(guard, 0)
            os.write(guard, f"pid={holder.pid}\n".encode())
    finally:
        os.close(guard)  # releases the takeover lock


def _takeover_note(path: Path) -> Holder | None:
    """The holder whose stale lock file was removed for us to win, if any (the note is consumed)."""
    if not path.with_name(path.name + ".takeover").exists():
        return None
    guard = _guard(path)
    try:
        noted = _read_holder(guard)
        if noted is not None:
            os.ftruncate(guard, 0)
        return noted
    finally:
        os.close(guard)


def _stamp() -> str:
    since = _process_since(os.getpid()) or ""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    host = socket.gethostname().replace(" ", "")
    return f"pid={os.getpid()} started={started} host={host} since={since} ns={_pid_namespace()}\n"


@contextlib.contextmanager
def audit_lock(location: str, on_takeover: Callable[[str], None] | None = None) -> Iterator[Path | None]:
    """Hold the registry's audit lock for the duration of the block, or raise AuditLockedError.

    Gives the lock file (SQLite), or None for a PostgreSQL registry, whose lock is on the server. A
    lock file left by a process that is no longer running is taken over, and `on_takeover` gets the
    sentence saying so (the CLI prints it on stderr); a server lock is never stale."""
    if _is_server_url(location):
        with _server_lock(location):
            yield None
    else:
        with _file_lock(location, on_takeover):
            yield lock_path(location)


@contextlib.contextmanager
def _file_lock(location: str, on_takeover: Callable[[str], None] | None) -> Iterator[None]:
    import fcntl

    path = lock_path(location)
    is_server = _is_server_url(location)
    if is_server:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for _ in range(20):  # each round either wins, gives 75, or saw the file replaced under it
        try:
            fd = _open(path)
        except OSError as exc:
            shown = "the lock file in the runtime directory" if is_server else str(path)
            raise AuditorError(
                f"cannot create the audit lock {shown} ({exc.strerror or type(exc).__name__})",
                "The registry's directory must be writable by the user running the audit.",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            if holder is None or not _gone(holder):
                os.close(fd)
                raise AuditLockedError(
                    f"another audit is already running on this registry{holder.describe() if holder else ''}",
                    "Wait for it to finish; a scheduler may simply retry (exit code 75).",
                ) from None
            # Held, but not by the process it names: a descendant kept the open file. Replace it.
            try:
                _unlink_if_still(path, fd, holder)
            except OSError as exc:
                raise AuditLockedError(
                    f"the audit lock of process {holder.pid}, which is no longer running, could not be "
                    f"taken over ({exc.strerror or type(exc).__name__})",
                    "Remove the lock file beside the registry (or in the runtime directory) by hand.",
                ) from None
            finally:
                os.close(fd)
            continue
        if not _same_file(fd, path):  # unlinked by a taker after we opened it: try the new file
            os.close(fd)
            continue
        break
    else:
        raise AuditLockedError(
            "the audit lock keeps changing hands; another audit is starting on this registry",
            "Wait for it to finish; a scheduler may simply retry (exit code 75).",
        )
    try:
        previous = _read_holder(fd)  # a clean release empties the file: what is left was a crash
        noted: Holder | None = None
        with contextlib.suppress(OSError):
            noted = _takeover_note(path)
        taken_from = noted or (previous if previous is not None and _gone(previous) else None)
        if taken_from is not None and on_takeover is not None:
            on_takeover(f"took over the audit lock of process {taken_from.pid}, which is no longer running")
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)  # an older file with a looser mode: tighten it
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, _stamp().encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # released cleanly: the next audit has nothing to take over
        os.close(fd)  # closing releases the flock


# -- PostgreSQL: a session-level advisory lock on the server ----------------------------------------

LOCK_NAMESPACE = "district-social-auditor audit lock v1"
APPLICATION_PREFIX = "auditor audit: "
_NAME_MAX = 63  # PostgreSQL keeps NAMEDATALEN - 1 bytes of application_name
# The lock session's settings, each applied if the server knows it. Keepalives: the server notices a
# holder whose machine vanished (power cut, network gone) within about 90 s and ends its session,
# releasing the lock. idle_session_timeout (PostgreSQL 14+) must not end the idle lock session.
_SESSION_SETTINGS = (
    ("tcp_keepalives_idle", "60"),
    ("tcp_keepalives_interval", "10"),
    ("tcp_keepalives_count", "3"),
    ("idle_session_timeout", "0"),
)
_BUSY_HINT = "Wait for it to finish; a scheduler may simply retry (exit code 75)."


def advisory_key(schema: str, registry_id: str) -> int:
    """The registry's audit-lock key: a signed bigint from the namespace, schema and registry id.

    The same on every machine and every release (no Python `hash`, which is salted per process) and
    independent of the URL (host alias, port, user or options differ between machines; a URL may
    even carry a secret)."""
    data = "\0".join((LOCK_NAMESPACE, schema, registry_id)).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big", signed=True)


def application_name(pid: int | None = None, host: str | None = None) -> str:
    """`auditor audit: host HOST pid N`, ASCII and within PostgreSQL's 63 bytes (the host is cut)."""
    pid = os.getpid() if pid is None else pid
    host = socket.gethostname() if host is None else host
    host = "".join(c if 32 < ord(c) < 127 else "?" for c in host) or "?"
    tail = f" pid {pid}"
    room = _NAME_MAX - len(APPLICATION_PREFIX) - len("host ") - len(tail)
    return f"{APPLICATION_PREFIX}host {host[:room]}{tail}"


def _registry_id(conn: psycopg.Connection[Any], schema: str) -> str:
    """`meta.registry_id`, or "" when it cannot be read (then opening the registry fails anyway, with
    the backend's message; the lock still covers the schema)."""
    import psycopg
    from psycopg import sql

    try:
        row = conn.execute(
            sql.SQL("SELECT value FROM {}.meta WHERE name = 'registry_id'").format(sql.Identifier(schema))
        ).fetchone()
    except psycopg.Error:
        return ""
    return str(row[0]) if row and row[0] is not None else ""


def _configure(conn: psycopg.Connection[Any]) -> None:
    import psycopg

    for name, value in _SESSION_SETTINGS:
        with contextlib.suppress(psycopg.Error):  # an older server without the setting: autocommit
            conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))


def _holder(conn: psycopg.Connection[Any], key: int) -> str | None:
    """Who holds the advisory lock `key` in this database: " (NAME; from ADDR, connected TIME, server
    pid N)", "" when it is held but its session cannot be described, and None when nobody holds it
    (released since we tried). pg_stat_activity shows another role's address and start time only to
    a member of pg_read_all_stats; its application_name to everyone."""
    import psycopg

    unsigned = key & 0xFFFFFFFFFFFFFFFF
    try:
        row = conn.execute(
            "SELECT l.pid, a.application_name, host(a.client_addr), a.backend_start "
            "FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
            "AND l.classid::int8 = %s AND l.objid::int8 = %s LIMIT 1",
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        ).fetchone()
    except psycopg.Error:
        return ""
    if row is None:
        return None
    pid, name, addr, started = row
    details = []
    if addr:
        details.append(f"from {addr}")
    if isinstance(started, datetime):
        details.append(f"connected {started.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC")
    if pid:
        details.append(f"server pid {pid}")
    parts = [p for p in (str(name or "").strip(), ", ".join(details)) if p]
    return f" ({inert('; '.join(parts))})" if parts else ""


@contextlib.contextmanager
def _server_lock(location: str) -> Iterator[None]:
    """The advisory lock, on a session of its own held until the block ends (module docstring)."""
    import psycopg

    from vault.backends.postgres import SCHEMA, PostgresBackend, RegistryServerError, _first_line

    backend = PostgresBackend(location)  # checks the URL (no password) when it connects
    conn = backend.new_session(application_name())
    try:
        _configure(conn)
        key = advisory_key(SCHEMA, _registry_id(conn, SCHEMA))
        for _ in range(5):  # a holder that let go between our try and the look-up: try again
            try:
                row = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (key,)).fetchone()
            except psycopg.Error as exc:
                raise RegistryServerError(
                    f"cannot take the audit lock on the PostgreSQL server of registry {backend.location}: "
                    f"{_first_line(exc)}",
                    "Is the server reachable? Run the audit again.",
                ) from None
            if row is not None and row[0]:
                break
            holder = _holder(conn, key)
            if holder is not None:
                raise AuditLockedError(
                    f"another audit is already running on this registry{holder}", _BUSY_HINT
                )
        else:
            raise AuditLockedError(
                "the audit lock keeps changing hands; another audit is starting on this registry", _BUSY_HINT
            )
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):  # a lost session has released it already
                conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()
