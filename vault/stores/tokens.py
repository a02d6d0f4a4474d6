"""API tokens and roster client secrets kept in the encrypted registry, as a `TokenStore`.

Issue 4: "API tokens come from the OS keyring or the registry, never from a plain config file". This
is the registry half. Each token is one record of kind "api-token", sealed with AES-256-GCM under
the **inventory** key (vault/registry.py): scheduled audits run as an auditor identity that holds
the inventory key but not the escrow key (escrow-design: "scheduled audits run without them by
design"), and they still need the platform tokens and the roster secret. Account passwords and TOTP
seeds stay in escrow; an API token only reads public profiles or the staff directory.

Names: a platform's token is stored under the platform's value (`x`, `youtube`; aliases such as
`twitter` resolve to it), so `RegistryTokenStore` satisfies `connectors.tokens.TokenStore`; other
secrets use a prefixed name such as `roster:entra` (see `roster_secret_name`). The stored value
never appears in a repr, an error message or the metadata this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.types import Platform, Secret
from vault.errors import AccessDeniedError, VaultError
from vault.registry import INVENTORY, Registry, utcnow
from vault.revealog import RevealLog

API_TOKEN = "api-token"  # noqa: S105 - a record kind, not a password
ROSTER_PREFIX = "roster:"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-:@")
MAX_NAME = 100


class SecretStoreError(VaultError):
    """A token cannot be stored or read. Never carries the token's value."""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a stored token: its name and when and by whom it was set."""

    name: str
    set_at: str
    set_by: str


def token_name(name: Platform | str) -> str:
    """The record id for a platform or a free-form name.

    A platform, or a string naming one (`X`, `twitter`), becomes the platform's value so that
    `get(Platform.X)` and `get("x")` find the same token. Other names are lower-cased and checked.
    """
    if isinstance(name, Platform):
        return name.value
    text = str(name).strip().lower()
    if ":" not in text:
        try:
            return Platform.parse(text).value
        except ValueError:
            pass
    if not text or len(text) > MAX_NAME or not set(text) <= _NAME_CHARS:
        raise SecretStoreError(
            f"{text[:MAX_NAME]!r} is not a valid token name",
            "Use a platform (x, youtube, ...) or a name of letters, digits and . _ - : @, e.g. roster:entra.",
        )
    return text


def _log(registry: Registry, action: str, name: str) -> None:
    """Every change of a stored token is in the tamper-evident log (its name, never its value)."""

    RevealLog(registry).append(action, details={"name": name})


def roster_secret_name(source: str) -> str:
    """Where the client secret (or access token) of a configured roster source lives."""
    return token_name(ROSTER_PREFIX + source)


class RegistryTokenStore:
    """A `connectors.tokens.TokenStore` over an unlocked registry (inventory key needed)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __repr__(self) -> str:
        return f"RegistryTokenStore(registry={self.registry.backend.location!r})"

    def get(self, platform_or_name: Platform | str) -> Secret | None:
        """The token, or None when none is stored."""
        name = token_name(platform_or_name)
        rec = self.registry.get(API_TOKEN, name, INVENTORY)  # a tampered record names itself only
        if rec is None:
            return None
        value = rec.data.get("value")
        if not isinstance(value, str) or not value:
            raise SecretStoreError(
                f"the stored token {name!r} is unreadable",
                f"Store it again (for a roster source: `auditor roster set-secret`; "
                f"for a platform: `auditor connector set-token {name}`).",
            )
        return Secret(value)

    def set(self, name: Platform | str, token: Secret) -> None:
        """Store (or replace) a token. An empty value is refused rather than stored."""
        if not isinstance(token, Secret):
            raise SecretStoreError("a token must be handed over as a Secret")
        key = token_name(name)
        try:
            value = token.reveal_str().strip()
        except UnicodeDecodeError:
            raise SecretStoreError(f"the token for {key!r} is not text") from None
        if not value:
            raise SecretStoreError(f"refusing to store an empty token for {key!r}")
        if any(c in value for c in "\r\n\x00"):
            raise SecretStoreError(
                f"the token for {key!r} contains a line break",
                "Pipe exactly one line: printf '%s' \"$TOKEN\" | auditor ... --secret-stdin",
            )
        identity = self.registry.identity
        with self.registry.transaction():
            self.registry.put(
                API_TOKEN,
                key,
                {
                    "name": key,
                    "value": value,
                    "set_at": utcnow().isoformat(),
                    "set_by": identity.name if identity else "",
                },
                expected_version=None,
                domain=INVENTORY,
            )
            _log(self.registry, "token-set", key)

    def delete(self, name: Platform | str) -> bool:
        """Remove a token; False when there was none."""
        key = token_name(name)
        self._require_unlocked()
        if self.registry.backend.get(API_TOKEN, key) is None:
            return False
        with self.registry.transaction():
            self.registry.delete(API_TOKEN, key)
            _log(self.registry, "token-remove", key)
        return True

    def has(self, name: Platform | str) -> bool:
        self._require_unlocked()
        return self.registry.backend.get(API_TOKEN, token_name(name)) is not None

    def names(self) -> list[str]:
        """Every stored token's name, sorted (record ids: no decryption, no values)."""
        self._require_unlocked()
        return sorted(row.id for row in self.registry.backend.scan(API_TOKEN))

    def info(self, name: Platform | str) -> TokenInfo | None:
        """When and by whom a token was set, without its value."""
        key = token_name(name)
        rec = self.registry.get(API_TOKEN, key, INVENTORY)
        if rec is None:
            return None
        return TokenInfo(key, str(rec.data.get("set_at", "")), str(rec.data.get("set_by", "")))

    def _require_unlocked(self) -> None:
        # Reading ids needs no key, but a locked registry should reveal nothing, not even names.
        if not self.registry.has_domain(INVENTORY):
            raise AccessDeniedError("the registry is locked")
