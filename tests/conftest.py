"""Test-wide safety: no test may reach beyond loopback, write outside its temporary directory, or
touch the developer's real keyring and registry."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgcluster import ClusterUnavailable, PgCluster, require_postgres, shared_cluster

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkGuardError(AssertionError):
    """A test tried to reach an address outside loopback."""


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths (bytes or str handled below)
    if host in ("localhost", "") or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NetworkGuardError(f"test tried to connect to {address!r}: only loopback is allowed")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    if isinstance(host, bytes):
        host = host.decode()
    if host is not None and not _is_loopback(host):
        raise NetworkGuardError(f"test tried to resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own HOME, data directory and no keyring, and no AUDITOR_* leaks in."""
    import os

    for name in list(os.environ):
        # AUDITOR_TEST_* steer the test run itself (CI makes PostgreSQL and Chromium mandatory).
        if (
            name.startswith("AUDITOR_") and not name.startswith("AUDITOR_TEST_")
        ) or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("NO_COLOR", "1")
    # Argon2id at the floor keeps tests fast; the floor itself is enforced by vault tests.
    monkeypatch.setenv("AUDITOR_KDF_PROFILE", "floor")
    yield


# A real PostgreSQL for the tests that need one (tests/pgcluster.py starts a throwaway cluster once
# per session); skipped when none can be started, unless AUDITOR_TEST_REQUIRE_POSTGRES=1.


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    try:
        return shared_cluster()
    except ClusterUnavailable as exc:
        if require_postgres():
            pytest.fail(f"AUDITOR_TEST_REQUIRE_POSTGRES=1 but {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def pg_db(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database of its own for this test (its name)."""
    name = pg_cluster.new_database()
    yield name
    pg_cluster.drop_database(name)
