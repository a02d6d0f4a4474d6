"""The guard in conftest.py is what lets every other test promise it never leaves loopback."""

import socket

import pytest
import requests

from tests.conftest import NetworkGuardError


def test_connection_to_a_public_address_fails_the_test() -> None:
    with pytest.raises(NetworkGuardError):
        socket.create_connection(("93.184.216.34", 80), timeout=1)


def test_requests_to_a_public_host_name_fail_the_test() -> None:
    with pytest.raises((NetworkGuardError, requests.exceptions.ConnectionError)) as info:
        requests.get("https://api.x.com/2/users/by", timeout=1)
    assert "only loopback" in str(info.value)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=1)
    client.close()
    server.close()
