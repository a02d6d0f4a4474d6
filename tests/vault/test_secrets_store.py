"""RegistryTokenStore: API tokens and roster secrets as encrypted records any unlocked identity reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.model.types import Platform, Role, Secret
from connectors.tokens import TokenStore
from tests.vault.conftest import RawDb
from vault.errors import AccessDeniedError, RecordTamperedError
from vault.registry import Registry
from vault.rekey import add_identity
from vault.stores.tokens import (
    API_TOKEN,
    RegistryTokenStore,
    SecretStoreError,
    roster_secret_name,
    token_name,
)

TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F"
NIGHTLY = "nightly passphrase 123"


def test_is_a_token_store_and_round_trips_by_platform_or_name(make_registry: Callable[..., Registry]) -> None:
    store = RegistryTokenStore(make_registry())
    assert isinstance(store, TokenStore)
    assert store.get(Platform.X) is None and store.names() == []
    store.set(Platform.X, Secret(TOKEN))
    store.set(roster_secret_name("Entra"), Secret("graph-secret-value"))
    # A platform, its value, its label and an alias all name the same token.
    for name in (Platform.X, "x", "X", "twitter"):
        got = store.get(name)
        assert got is not None and got.reveal() == TOKEN
    assert store.get("roster:entra") == Secret("graph-secret-value")
    assert store.names() == ["roster:entra", "x"]
    info = store.info("x")
    assert info is not None and info.set_by == "admin" and info.set_at
    assert TOKEN not in repr(info)


def test_replace_and_delete(make_registry: Callable[..., Registry]) -> None:
    store = RegistryTokenStore(make_registry())
    store.set("youtube", Secret("first"))
    store.set(Platform.YOUTUBE, Secret("second\n"))  # a trailing newline from a pipe is trimmed
    assert store.get("yt") == Secret("second")
    assert store.delete("youtube") is True
    assert store.delete("youtube") is False
    assert store.get("youtube") is None and store.names() == []


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "empty token"), ("   \n", "empty token"), ("two\nlines", "line break"), ("a\x00b", "line break")],
)
def test_refuses_bad_values_without_echoing_them(
    make_registry: Callable[..., Registry], value: str, message: str
) -> None:
    store = RegistryTokenStore(make_registry())
    with pytest.raises(SecretStoreError, match=message) as info:
        store.set("x", Secret(value))
    if value.strip():
        assert value not in info.value.message and value not in (info.value.hint or "")
    assert store.names() == []


def test_refuses_bad_names() -> None:
    with pytest.raises(SecretStoreError, match="not a valid token name"):
        token_name("roster:has space")
    with pytest.raises(SecretStoreError):
        token_name("")
    assert token_name("roster:HR-export") == "roster:hr-export"


def test_repr_and_errors_never_show_the_value(make_registry: Callable[..., Registry]) -> None:
    reg = make_registry()
    store = RegistryTokenStore(reg)
    store.set("x", Secret(TOKEN))
    assert TOKEN not in repr(store) and TOKEN not in repr(store.get("x")) and TOKEN not in str(store.get("x"))


def test_value_is_encrypted_in_the_file(make_registry: Callable[..., Registry], registry_path: Path) -> None:
    reg = make_registry()
    RegistryTokenStore(reg).set("x", Secret(TOKEN))
    reg.close()
    for path in registry_path.parent.iterdir():
        assert TOKEN.encode() not in path.read_bytes()


def test_an_auditor_identity_reads_tokens_without_the_escrow_key(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    """Scheduled audits unlock as an auditor (inventory key only) and still need the API tokens."""
    reg = make_registry()
    add_identity(reg, "it-nightly", Role.AUDITOR, Secret(NIGHTLY), kdf_profile="floor")
    RegistryTokenStore(reg).set(Platform.BLUESKY, Secret("app-password-1"))
    reg.close()
    nightly = reopen("it-nightly", NIGHTLY)
    assert not nightly.has_domain("escrow")
    assert RegistryTokenStore(nightly).get(Platform.BLUESKY) == Secret("app-password-1")


def test_a_locked_registry_reveals_nothing(
    make_registry: Callable[..., Registry], reopen: Callable[..., Registry]
) -> None:
    reg = make_registry()
    RegistryTokenStore(reg).set("x", Secret(TOKEN))
    reg.lock()
    store = RegistryTokenStore(reg)
    for call in (lambda: store.get("x"), store.names, lambda: store.has("x"), lambda: store.delete("x")):
        with pytest.raises(AccessDeniedError):
            call()
    reg.close()
    assert RegistryTokenStore(reopen()).get("x") == Secret(TOKEN)


def test_a_tampered_token_record_fails_its_check_without_showing_content(
    make_registry: Callable[..., Registry], raw: RawDb, reopen: Callable[..., Registry]
) -> None:
    reg = make_registry()
    store = RegistryTokenStore(reg)
    store.set("x", Secret(TOKEN))
    store.set("youtube", Secret("yt-key"))
    reg.close()
    # Move X's ciphertext onto the YouTube row: authenticated data binds the id, so it must fail.
    blob = raw("SELECT blob FROM records WHERE kind=? AND id='x'", (API_TOKEN,))[0][0]
    raw("UPDATE records SET blob=? WHERE kind=? AND id='youtube'", (blob, API_TOKEN))
    store = RegistryTokenStore(reopen())
    with pytest.raises(RecordTamperedError) as info:
        store.get("youtube")
    assert "api-token record youtube failed its integrity check" in info.value.message
    assert TOKEN not in info.value.message
    assert store.get("x") == Secret(TOKEN)  # the other record is intact
