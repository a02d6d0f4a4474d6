"""Where notifications go, stored encrypted in the registry so the nightly job can read it.

The settings record "notify" (vault/registry.py `set_setting`, sealed under the **inventory** key)
holds what may be shown: SMTP host, port, security, user name, sender, recipients, and for each
webhook its name, flavour and host. The secrets live apart, as records of vault/stores/tokens.py
(`RegistryTokenStore`, also inventory key): `notify:smtp-password` and `notify:webhook:<name>`
(a Slack or Teams incoming-webhook URL carries its token in the path, so the whole URL is a secret).
The scheduled `auditor` identity holds the inventory key, so it reads both; changing them needs an
admin identity (checked here, not only in the CLI). The SMTP password may instead live in the OS
keyring (`--keyring`), looked up after the registry.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from auditor.model.types import Secret
from auditor.services.notify.errors import NotifyError
from vault.revealog import RevealLog
from vault.stores.tokens import RegistryTokenStore
from vault.unlock import _real_keyring

if TYPE_CHECKING:
    from vault.registry import Registry

SETTING = "notify"
CONFIG_FORMAT = 1
SMTP_PASSWORD = "notify:smtp-password"  # noqa: S105 - a record name, not a password
WEBHOOK_PREFIX = "notify:webhook:"
KEYRING_SERVICE = "district-social-auditor"
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]+\]?$")


class Security(StrEnum):
    """How the SMTP connection is protected: STARTTLS on 587, implicit TLS on 465, or none."""

    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class Flavour(StrEnum):
    """The JSON shape a webhook expects."""

    SLACK = "slack"
    TEAMS = "teams"
    GENERIC = "generic"


DEFAULT_PORTS = {Security.STARTTLS: 587, Security.TLS: 465, Security.NONE: 25}


@dataclass(frozen=True)
class EmailSettings:
    """SMTP relay settings (no password: that is a secret, see `smtp_password`)."""

    host: str
    port: int
    security: Security
    sender: str
    recipients: tuple[str, ...]
    username: str = ""
    ca_file: str = ""  # a CA bundle to trust for the relay (an internal CA); "" = the system store

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "from": self.sender,
            "recipients": list(self.recipients),
            "ca_file": self.ca_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmailSettings:
        return cls(
            host=str(data["host"]),
            port=int(data["port"]),
            security=Security(str(data.get("security", "starttls"))),
            sender=str(data["from"]),
            recipients=tuple(str(r) for r in data.get("recipients") or ()),
            username=str(data.get("username", "") or ""),
            ca_file=str(data.get("ca_file", "") or ""),
        )


@dataclass(frozen=True)
class WebhookSettings:
    """A webhook as it may be shown: its name, flavour and host (the URL itself is a secret)."""

    name: str
    flavour: Flavour
    host: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "flavour": self.flavour.value, "host": self.host}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WebhookSettings:
        return cls(str(data["name"]), Flavour(str(data["flavour"])), str(data.get("host", "")))


@dataclass(frozen=True)
class NotifyConfig:
    email: EmailSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self.email is None and not self.webhooks

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CONFIG_FORMAT,
            "email": self.email.to_dict() if self.email else None,
            "webhooks": [w.to_dict() for w in self.webhooks],
        }


# --------------------------------------------------------------------------------------------------
# Validation


def parse_security(value: str) -> Security:
    try:
        return Security(value.strip().lower())
    except ValueError:
        raise NotifyError(
            f"--security: {value!r} is not one of starttls, tls, none",
            "starttls (port 587) for Microsoft 365 and Google Workspace; tls for port 465.",
        ) from None


def parse_flavour(value: str) -> Flavour:
    try:
        return Flavour(value.strip().lower())
    except ValueError:
        raise NotifyError(f"--flavour: {value!r} is not one of slack, teams, generic") from None


def check_address(value: str, option: str) -> str:
    text = value.strip()
    if not _EMAIL.match(text):
        raise NotifyError(f"{option}: {text!r} is not an email address", "Use name@example.org.")
    return text


def check_host(value: str) -> str:
    text = value.strip()
    if not text or not _HOST.match(text):
        raise NotifyError(f"--host: {text!r} is not a host name", "e.g. smtp.office365.com")
    return text


def check_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise NotifyError(f"--port: {port} is not a TCP port (1-65535)")
    return port


def check_webhook_name(value: str) -> str:
    text = value.strip().lower()
    if not _NAME.match(text):
        raise NotifyError(
            f"webhook name {text[:40]!r} is not valid",
            "Use up to 32 letters, digits, - and _, e.g. it-alerts.",
        )
    return text


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_webhook_url(url: Secret) -> str:
    """Validate a webhook URL and return its host (the only part that may ever be shown).

    https is required: the URL carries a token, and the message names accounts. Plain http is
    accepted only for a loopback host (a local relay, or a test server).
    """
    text = url.reveal_str().strip()
    if any(c in text for c in "\r\n\t\x00 "):
        raise NotifyError("the webhook URL contains whitespace", "Pipe exactly one line with --stdin.")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise NotifyError("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise NotifyError(
            "the webhook URL must start with https:// and name a host",
            "Copy the whole incoming-webhook URL from Teams or Slack.",
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise NotifyError(
            f"the webhook URL for {host} uses plain http",
            "Use https: the URL carries a token and the message names accounts.",
        )
    if parts.username or parts.password:
        raise NotifyError("the webhook URL must not contain a user name or password")
    return host


# --------------------------------------------------------------------------------------------------
# Reading and writing


def load_config(registry: Registry) -> NotifyConfig:
    data = registry.setting(SETTING)
    if not isinstance(data, dict):
        return NotifyConfig()
    try:
        email = EmailSettings.from_dict(data["email"]) if data.get("email") else None
        hooks = tuple(WebhookSettings.from_dict(w) for w in data.get("webhooks") or ())
    except (KeyError, TypeError, ValueError):
        raise NotifyError(
            "the stored notification settings are unreadable",
            "Set them again: `auditor notify clear`, then `auditor notify email set ...`.",
        ) from None
    return NotifyConfig(email=email, webhooks=hooks)


def _save(registry: Registry, config: NotifyConfig, what: str) -> None:

    with registry.transaction():
        registry.set_setting(SETTING, config.to_dict())
        RevealLog(registry).append("notify-change", details={"what": what})


def _tokens(registry: Registry) -> Any:

    return RegistryTokenStore(registry)


def set_email(registry: Registry, settings: EmailSettings) -> NotifyConfig:
    """Store (replace) the SMTP settings; the password, if any, is kept."""
    registry.require_admin("Changing notification settings")
    if not settings.recipients:
        raise NotifyError("at least one recipient is needed (--to)", "e.g. --to it-alerts@example.org")
    config = load_config(registry)
    config = NotifyConfig(email=settings, webhooks=config.webhooks)
    _save(registry, config, "email settings")
    return config


def set_smtp_password(registry: Registry, password: Secret, *, keyring: bool = False) -> str:
    """Store the SMTP password in the registry (default) or the OS keyring; returns where."""
    registry.require_admin("Changing notification settings")
    if not password.reveal_str():
        raise NotifyError("refusing to store an empty SMTP password")
    if keyring:
        _keyring_set(registry.registry_id, password)
        _tokens(registry).delete(SMTP_PASSWORD)  # one place only, so `show` is not ambiguous
        RevealLog(registry).append(
            "notify-change", details={"what": "email password moved to the OS keyring"}
        )
        return "keyring"
    _tokens(registry).set(SMTP_PASSWORD, password)
    return "registry"


def smtp_password(registry: Registry) -> Secret | None:
    """The SMTP password: the registry first, then the OS keyring; None when neither has one."""
    found: Secret | None = _tokens(registry).get(SMTP_PASSWORD)
    if found is not None:
        return found
    return _keyring_get(registry.registry_id)


def password_source(registry: Registry) -> str:
    """'registry', 'keyring' or '' (what `notify show` says; never the value)."""
    if _tokens(registry).has(SMTP_PASSWORD):
        return "registry"
    return "keyring" if _keyring_get(registry.registry_id) is not None else ""


def set_webhook(registry: Registry, name: str, flavour: Flavour, url: Secret) -> WebhookSettings:
    registry.require_admin("Changing notification settings")
    key = check_webhook_name(name)
    host = check_webhook_url(url)
    _tokens(registry).set(WEBHOOK_PREFIX + key, Secret(url.reveal_str().strip()))
    config = load_config(registry)
    hook = WebhookSettings(key, flavour, host)
    others = tuple(w for w in config.webhooks if w.name != key)
    _save(registry, NotifyConfig(email=config.email, webhooks=(*others, hook)), f"webhook {key} set")
    return hook


def webhook_url(registry: Registry, name: str) -> Secret | None:
    found: Secret | None = _tokens(registry).get(WEBHOOK_PREFIX + check_webhook_name(name))
    return found


def remove_webhook(registry: Registry, name: str) -> bool:
    registry.require_admin("Changing notification settings")
    key = check_webhook_name(name)
    config = load_config(registry)
    removed = bool(_tokens(registry).delete(WEBHOOK_PREFIX + key))
    others = tuple(w for w in config.webhooks if w.name != key)
    if len(others) != len(config.webhooks):
        removed = True
        _save(registry, NotifyConfig(email=config.email, webhooks=others), f"webhook {key} removed")
    return removed


def clear(registry: Registry) -> None:
    """Forget every notification setting and secret (registry and keyring)."""
    registry.require_admin("Changing notification settings")
    config = load_config(registry)
    tokens = _tokens(registry)
    tokens.delete(SMTP_PASSWORD)
    for w in config.webhooks:
        tokens.delete(WEBHOOK_PREFIX + w.name)
    for name in tokens.names():  # leftovers of an interrupted change
        if name.startswith(WEBHOOK_PREFIX):
            tokens.delete(name)
    _keyring_delete(registry.registry_id)
    if registry.get("setting", SETTING) is not None:
        with registry.transaction():
            registry.delete("setting", SETTING)
            RevealLog(registry).append("notify-change", details={"what": "cleared"})


# --------------------------------------------------------------------------------------------------
# OS keyring (optional home of the SMTP password; never a plaintext keyring: vault/unlock.py)


def _keyring_user(registry_id: str) -> str:
    return f"{SMTP_PASSWORD}:{registry_id}"


def _keyring_get(registry_id: str) -> Secret | None:

    backend = _real_keyring()
    if backend is None:
        return None
    try:
        value = backend.get_password(KEYRING_SERVICE, _keyring_user(registry_id))
    except Exception:  # a locked or broken keyring means "not there"
        return None
    return Secret(str(value)) if value else None


def _keyring_set(registry_id: str, password: Secret) -> None:

    backend = _real_keyring()
    if backend is None:
        raise NotifyError(
            "no OS keyring is available on this machine",
            "Store the password in the registry instead (omit --keyring).",
        )
    try:
        backend.set_password(KEYRING_SERVICE, _keyring_user(registry_id), password.reveal_str())
    except Exception as exc:
        raise NotifyError(f"the OS keyring refused the password ({type(exc).__name__})") from None


def _keyring_delete(registry_id: str) -> None:

    backend = _real_keyring()
    if backend is None:
        return
    with contextlib.suppress(Exception):  # nothing stored there is fine
        backend.delete_password(KEYRING_SERVICE, _keyring_user(registry_id))
