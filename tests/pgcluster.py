"""A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` + `pg_ctl` in a temporary folder.

The server binaries come from Debian's `postgresql` package (/usr/lib/postgresql/*/bin, newest
first). `initdb` refuses to run as root, so when we are root the binaries run as the `postgres` OS
user (`runuser -u postgres --`) on a data directory chowned to it. The server listens on 127.0.0.1
on a free port and on a unix socket inside the data folder, with `fsync=off` (a test cluster needs
no durability). Local connections use `trust`, except the role `pw_user`, which needs a password
(scram) so that authentication failures can be tested. Nothing here is imported by the product.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD_ROLE = "pw_user"
PASSWORD_ROLE_SECRET = "s3cret-in-pgpass"


class ClusterUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed here."""


def find_bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
    )
    for candidate in reversed(found):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="auditor-pg-"))
        self.datadir = self.root / "data"
        self.sockdir = self.root / "sock"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    # -- running binaries ---------------------------------------------------------------------------
    def _cmd(self, name: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / name), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def run(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(name, *args), check=check, capture_output=True, text=True, cwd=str(self.root)
        )

    def start(self) -> PgCluster:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.sockdir.mkdir()
        if self._as_postgres:
            shutil.chown(self.sockdir, "postgres", "postgres")
        self.run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        hba = self.datadir / "pg_hba.conf"
        hba.write_text(
            f"local all {PASSWORD_ROLE} scram-sha-256\n"
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        # Tests need no durability; a benchmark (durable=True) keeps PostgreSQL's defaults so its
        # figures compare with SQLite's synchronous=FULL.
        fast = "" if self.durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sockdir} "
            f"{fast}-c max_connections=60 -c shared_buffers=32MB"
        )
        result = self.run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "30",
            "start",
            check=False,
        )
        if result.returncode != 0:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {result.stdout}{result.stderr}\n{log}")
        self.sql(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD_ROLE_SECRET}'", dbname="postgres")
        return self

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------------
    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, dbname=dbname, user=user, autocommit=True)

    def sql(
        self, statement: str, dbname: str = "postgres", user: str = SUPERUSER
    ) -> list[tuple[object, ...]]:
        with self.connect(dbname, user) as conn:
            cur = conn.execute(statement)
            return list(cur.fetchall()) if cur.description else []

    def new_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_cluster(*, durable: bool = False) -> PgCluster:
    bindir = find_bindir()
    if bindir is None:
        raise ClusterUnavailable(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    cluster = PgCluster(bindir, durable=durable)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


_shared: PgCluster | None = None


def shared_cluster() -> PgCluster:
    """One cluster per test session (or benchmark run), stopped when the process exits."""
    global _shared
    if _shared is None:
        import atexit

        _shared = start_cluster()
        atexit.register(_shared.stop)
    return _shared


def require_postgres() -> bool:
    """CI sets AUDITOR_TEST_REQUIRE_POSTGRES=1: a missing server is then a failure, not a skip.
    Read once at import, before the per-test environment scrub removes AUDITOR_* variables."""
    return _REQUIRED


_REQUIRED = os.environ.get("AUDITOR_TEST_REQUIRE_POSTGRES") == "1"


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
