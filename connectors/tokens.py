"""Where connector API tokens live: the OS keyring, memory, or (added by the lead) the registry.

A `TokenStore` maps a platform to a `models.Secret`. The keyring store uses the service name
"district-social-auditor" and the entry name "connector:<platform>"; when no keyring backend is
available it raises `TokenStoreError` with a hint and never falls back to a plaintext file (issue 4:
"API tokens come from the OS keyring or the registry, never from a plain config file").
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from auditor.model.errors import AuditorError, ConnectorError
from auditor.model.types import Platform, Secret

SERVICE = "district-social-auditor"


class TokenStoreError(ConnectorError):
    """The token store cannot be read or written (no keyring backend, locked keyring, ...)."""


@runtime_checkable
class TokenStore(Protocol):
    def get(self, platform: Platform) -> Secret | None:
        """The token for `platform`, or None when none is stored."""
        ...

    def set(self, platform: Platform, token: Secret) -> None: ...

    def delete(self, platform: Platform) -> bool:
        """Remove the token; False when there was none."""
        ...


def entry_name(platform: Platform) -> str:
    return f"connector:{platform.value}"


class KeyringTokenStore:
    """Tokens in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker)."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def get(self, platform: Platform) -> Secret | None:
        value = self._call("read", lambda kr: kr.get_password(self.service, entry_name(platform)))
        return Secret(str(value)) if value else None

    def set(self, platform: Platform, token: Secret) -> None:
        if not token:
            raise TokenStoreError("refusing to store an empty token")
        self._call(
            "store", lambda kr: kr.set_password(self.service, entry_name(platform), token.reveal_str())
        )

    def delete(self, platform: Platform) -> bool:
        import keyring.errors

        def remove(kr: object) -> bool:
            try:
                kr.delete_password(self.service, entry_name(platform))  # type: ignore[attr-defined]
            except keyring.errors.PasswordDeleteError:
                return False
            return True

        return bool(self._call("delete", remove))

    def _call(self, verb: str, action: object) -> object:
        import keyring
        import keyring.errors

        try:
            return action(keyring)  # type: ignore[operator]
        except keyring.errors.NoKeyringError:
            raise TokenStoreError(
                f"cannot {verb} the token: no OS keyring is available",
                hint="install and unlock a keyring (Secret Service, KWallet, Keychain) or store tokens "
                "in the registry; tokens are never written to a plain file",
            ) from None
        except keyring.errors.KeyringError as exc:
            raise TokenStoreError(
                f"cannot {verb} the token: the keyring refused ({type(exc).__name__})",
                hint="unlock the keyring and try again",
            ) from None


class MemoryTokenStore:
    """Tokens held in memory (tests, demos, and callers that fetched them from elsewhere)."""

    def __init__(self, tokens: dict[Platform, Secret] | None = None) -> None:
        self._tokens = dict(tokens or {})
        self._lock = threading.Lock()

    def get(self, platform: Platform) -> Secret | None:
        with self._lock:
            return self._tokens.get(platform)

    def set(self, platform: Platform, token: Secret) -> None:
        if not token:
            raise TokenStoreError("refusing to store an empty token")
        with self._lock:
            self._tokens[platform] = token

    def delete(self, platform: Platform) -> bool:
        with self._lock:
            return self._tokens.pop(platform, None) is not None


class ChainedTokenStore:
    """Several stores in order: `get` answers from the first that has a token (a store that fails
    is skipped, so a locked keyring never hides a registry token); `set` writes to the first."""

    def __init__(self, stores: list[TokenStore]) -> None:
        if not stores:
            raise ValueError("a chained token store needs at least one store")
        self.stores = stores

    def get(self, platform: Platform) -> Secret | None:
        for store in self.stores:
            try:
                token = store.get(platform)
            except AuditorError:
                continue
            if token:
                return token
        return None

    def set(self, platform: Platform, token: Secret) -> None:
        self.stores[0].set(platform, token)

    def delete(self, platform: Platform) -> bool:
        removed = False
        for store in self.stores:
            try:
                removed = store.delete(platform) or removed
            except AuditorError:
                continue
        return removed
