"""The audit lock of a PostgreSQL registry is a server-side advisory lock (issue 13, "Shared registry").

The file lock it replaces lived in each machine's runtime directory, so two machines could audit the
same shared registry at once. Here every holder is a real second process made to look like another
machine: its own XDG_RUNTIME_DIR, its own host name (as the lock sees it) and a different URL for the
same database (TCP or the unix socket), so that no file lock could have caught it. Runs against a
throwaway cluster (tests/pgcluster.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.services.runlock import (
    APPLICATION_PREFIX,
    AuditLockedError,
    advisory_key,
    application_name,
    audit_lock,
)
from tests.e2e.conftest import Cli
from tests.pgcluster import (
    PASSWORD_ROLE,
    PASSWORD_ROLE_SECRET,
    PgCluster,
    wait_until,
)
from vault.errors import VaultError

# One "machine": patches the host name the lock sees, takes the lock, says so, holds it until a line
# arrives on stdin (or it is killed), then says it let go.
HOLDER = """
import socket, sys
socket.gethostname = lambda: sys.argv[2]
from auditor.services.runlock import audit_lock
with audit_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""

# Another "machine" trying once: prints {"ok": true} or the error's message, hint and exit code.
TAKER = """
import json, socket, sys
socket.gethostname = lambda: sys.argv[2]
from auditor.services.runlock import AuditLockedError, audit_lock
try:
    with audit_lock(sys.argv[1]):
        print(json.dumps({"ok": True}))
except AuditLockedError as exc:
    print(json.dumps({"ok": False, "message": exc.message, "hint": exc.hint, "code": exc.exit_code}))
"""


def tcp_url(cluster: PgCluster, db: str, user: str = "postgres") -> str:
    return f"postgresql://{user}@127.0.0.1:{cluster.port}/{db}"


def socket_url(cluster: PgCluster, db: str, user: str = "postgres") -> str:
    return f"postgresql://{user}@/{db}?host={cluster.sockdir}&port={cluster.port}"


def machine_env(tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    run = tmp_path / f"run-{name}"
    run.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("RUNTIME_DIRECTORY", "PGPASSWORD")}
    env.update(XDG_RUNTIME_DIR=str(run), **extra)
    return env


class Machine:
    """A lock holder in a process of its own."""

    def __init__(self, url: str, host: str, env: dict[str, str]) -> None:
        self.host = host
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line == "locked\n", line + (self.proc.stderr.read() if self.proc.stderr else "")

    @property
    def name(self) -> str:
        return f"{APPLICATION_PREFIX}host {self.host} pid {self.proc.pid}"

    def release(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "released\n"
        self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def machines() -> Iterator[list[Machine]]:
    made: list[Machine] = []
    yield made
    for m in made:
        m.kill()


def try_from(url: str, host: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", TAKER, url, host],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_second_machine_gets_75_naming_the_first(
    pg_cluster: PgCluster, pg_db: str, tmp_path: Path, machines: list[Machine]
) -> None:
    first = Machine(tcp_url(pg_cluster, pg_db), "host-a", machine_env(tmp_path, "a"))
    machines.append(first)
    # The server sees the holder's session under a name that says where it runs.
    names = pg_cluster.sql(
        "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()", dbname=pg_db
    )
    assert (first.name,) in names
    other = try_from(socket_url(pg_cluster, pg_db), "host-b", machine_env(tmp_path, "b"))
    assert other["ok"] is False and other["code"] == 75
    message = str(other["message"])
    assert message.startswith(
        f"another audit is already running on this registry ({first.name}; from 127.0.0.1, "
    )
    assert "connected " in message and " UTC, server pid " in message
    assert other["hint"] == "Wait for it to finish; a scheduler may simply retry (exit code 75)."
    # The file lock would not have seen it: neither runtime directory holds a lock file.
    assert not list((tmp_path / "run-a").rglob("*.lock")) and not list((tmp_path / "run-b").rglob("*.lock"))


def test_the_lock_is_free_again_when_the_holders_block_ends(
    pg_cluster: PgCluster, pg_db: str, tmp_path: Path, machines: list[Machine]
) -> None:
    first = Machine(tcp_url(pg_cluster, pg_db), "host-a", machine_env(tmp_path, "a"))
    machines.append(first)
    first.release()
    assert try_from(socket_url(pg_cluster, pg_db), "host-b", machine_env(tmp_path, "b")) == {"ok": True}
    # And in this process, twice in a row: each block lets go on the way out.
    for _ in range(2):
        with audit_lock(tcp_url(pg_cluster, pg_db)) as where:
            assert where is None  # no lock file for a server registry
    held = pg_cluster.sql(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        dbname=pg_db,
    )
    assert held == [(0,)]


def test_the_lock_is_free_again_when_the_holder_is_killed(
    pg_cluster: PgCluster, pg_db: str, tmp_path: Path, machines: list[Machine]
) -> None:
    first = Machine(tcp_url(pg_cluster, pg_db), "host-a", machine_env(tmp_path, "a"))
    machines.append(first)
    first.kill()  # SIGKILL: no unlock ran; the server ends the session and its lock with it
    # The server's backend for the dead client exits within moments; nothing is ever taken over.
    assert wait_until(
        lambda: try_from(socket_url(pg_cluster, pg_db), "host-b", machine_env(tmp_path, "b")) == {"ok": True},
        timeout=5,
    )
    second = Machine(socket_url(pg_cluster, pg_db), "host-b", machine_env(tmp_path, "b"))
    machines.append(second)
    with pytest.raises(AuditLockedError, match=f"\\({second.name}; "), audit_lock(tcp_url(pg_cluster, pg_db)):
        pass


def test_an_exception_in_the_block_releases_the_lock(pg_cluster: PgCluster, pg_db: str) -> None:
    url = tcp_url(pg_cluster, pg_db)
    with pytest.raises(RuntimeError), audit_lock(url):
        raise RuntimeError("the audit failed")
    with audit_lock(url):
        pass


def test_the_key_comes_from_the_registry_not_the_url() -> None:
    key = advisory_key("auditor", "reg-1")
    assert key == advisory_key("auditor", "reg-1")  # the same in every process (not Python's hash)
    assert -(2**63) <= key < 2**63
    assert len({key, advisory_key("auditor", "reg-2"), advisory_key("other", "reg-1")}) == 3
    name = application_name(pid=4242, host="a-very-long-host-name.district-203.example.org" * 2)
    assert name.startswith("auditor audit: host a-very-long-host-name") and name.endswith(" pid 4242")
    assert len(name.encode()) <= 63
    assert application_name(pid=1, host="h\x1bé") == "auditor audit: host h?? pid 1"


def test_a_whole_registry_audit_through_the_cli(
    cli: Cli, pg_cluster: PgCluster, pg_db: str, tmp_path: Path, machines: list[Machine]
) -> None:
    cli.registry = tcp_url(pg_cluster, pg_db)  # type: ignore[assignment]
    cli.init()
    cli.ok("policy", "init", "--preset", "naperville-203")
    first = Machine(socket_url(pg_cluster, pg_db), "host-a", machine_env(tmp_path, "a"))
    machines.append(first)
    busy = cli("audit", "--offline")
    assert busy.exit_code == 75, busy.output
    assert f"error: another audit is already running on this registry ({first.name}; " in busy.stderr
    assert "hint: Wait for it to finish; a scheduler may simply retry (exit code 75)." in busy.stderr
    # The key is the registry's: that holder's session read the same registry id over another URL.
    cli.ok("audit", "history")  # other commands are not blocked
    first.kill()
    assert wait_until(lambda: cli("audit", "--offline").exit_code == 0, timeout=10)
    assert len(json.loads(cli.ok("audit", "history", "--json").stdout)["items"]) == 1


def test_no_password_reaches_a_message_or_the_server(
    pg_cluster: PgCluster, pg_db: str, tmp_path: Path, machines: list[Machine]
) -> None:
    pg_cluster.sql(f"GRANT CONNECT ON DATABASE {pg_db} TO {PASSWORD_ROLE}")
    # A password in the URL is refused before anything connects, and not repeated.
    with (
        pytest.raises(VaultError) as refused,
        audit_lock(tcp_url(pg_cluster, pg_db, f"{PASSWORD_ROLE}:hunter2")),
    ):
        pass
    assert "hunter2" not in f"{refused.value.message} {refused.value.hint}"
    # A wrong PGPASSWORD: the login error does not show it.
    env = machine_env(tmp_path, "a", PGPASSWORD="wrong-" + PASSWORD_ROLE_SECRET)
    url = tcp_url(pg_cluster, pg_db, PASSWORD_ROLE)
    done = subprocess.run(
        [sys.executable, "-c", TAKER, url, "host-a"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "refused the login" in done.stderr
    assert PASSWORD_ROLE_SECRET not in done.stderr + done.stdout
    # The right one: the holder's name and the other machine's message carry no secret either.
    first = Machine(url, "host-a", machine_env(tmp_path, "a", PGPASSWORD=PASSWORD_ROLE_SECRET))
    machines.append(first)
    other = try_from(url, "host-b", machine_env(tmp_path, "b", PGPASSWORD=PASSWORD_ROLE_SECRET))
    assert other["code"] == 75 and first.name in str(other["message"])
    shown = pg_cluster.sql("SELECT string_agg(coalesce(application_name, ''), ' ') FROM pg_stat_activity")
    assert PASSWORD_ROLE_SECRET not in json.dumps([other, shown], default=str)


def test_the_lock_session_notices_a_vanished_holder_and_is_never_timed_out(
    pg_cluster: PgCluster, pg_db: str
) -> None:
    from auditor.services.runlock import _configure
    from vault.backends.postgres import PostgresBackend

    conn = PostgresBackend(tcp_url(pg_cluster, pg_db)).new_session(application_name(pid=1, host="h"))
    try:
        _configure(conn)
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('tcp_keepalives_idle', "
            "'tcp_keepalives_interval', 'tcp_keepalives_count', 'idle_session_timeout', 'application_name')"
        ).fetchall()
    finally:
        conn.close()
    shown = dict(rows)
    assert shown.pop("idle_session_timeout", "0") == "0"  # PostgreSQL 14+ only
    assert shown == {
        "tcp_keepalives_idle": "60",
        "tcp_keepalives_interval": "10",
        "tcp_keepalives_count": "3",
        "application_name": "auditor audit: host h pid 1",
    }
