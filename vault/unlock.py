"""Where the passphrase comes from, in order, headless first.

1. `--passphrase-file` / `AUDITOR_PASSPHRASE_FILE`: refused if group or others can read it.
2. `$CREDENTIALS_DIRECTORY/auditor-passphrase`: systemd's `LoadCredential=`.
3. The OS keyring through `keyring`, only when a real backend exists. On a server `keyring`
   raises `NoKeyringError` (or offers only its fail/null backends): we catch that and move on,
   never falling back to a plaintext keyring.
4. An interactive hidden prompt, only when a terminal is attached (the caller supplies it).

A passphrase is never accepted as a command-line argument: it would land in shell history and in
the process list.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.model.types import Secret
from vault.errors import VaultError

KEYRING_SERVICE = "district-social-auditor"
CREDENTIAL_NAME = "auditor-passphrase"


@dataclass(frozen=True)
class Passphrase:
    secret: Secret
    source: str  # "file", "systemd-credential", "keyring", "prompt"


def read_passphrase_file(path: str | os.PathLike[str]) -> Secret:
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise VaultError(f"passphrase file {p} does not exist") from exc
    if not stat.S_ISREG(st.st_mode):
        raise VaultError(f"passphrase file {p} is not a regular file")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VaultError(
            f"passphrase file {p} is readable by other users (mode {stat.S_IMODE(st.st_mode):o})",
            f"Run `chmod 600 {p}`; the file was not used.",
        )
    data = p.read_bytes()
    # One trailing newline is an editor's doing, not part of the passphrase.
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise VaultError(f"passphrase file {p} is empty")
    return Secret(data.decode("utf-8"))


def keyring_username(registry_id: str, identity: str) -> str:
    return f"{registry_id}:{identity.casefold()}"


def _real_keyring() -> Any:
    """The keyring backend, or None when only a fail/null/plaintext backend is available."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except KeyringError:
        return None
    module = type(backend).__module__
    name = type(backend).__name__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")):
        return None
    if "Plaintext" in name or "Uncrypted" in name:
        return None
    priority = getattr(backend, "priority", 1)
    try:
        if float(priority) <= 0:
            return None
    except (TypeError, ValueError):
        return None
    return backend


def keyring_get(registry_id: str, identity: str) -> Secret | None:
    backend = _real_keyring()
    if backend is None:
        return None
    from keyring.errors import KeyringError

    try:
        value = backend.get_password(KEYRING_SERVICE, keyring_username(registry_id, identity))
    except (KeyringError, RuntimeError, OSError):
        return None
    return Secret(value) if value else None


def keyring_set(registry_id: str, identity: str, passphrase: Secret) -> None:
    backend = _real_keyring()
    if backend is None:
        raise VaultError(
            "no OS keyring is available on this machine",
            "Use a passphrase file (mode 0600) or systemd's LoadCredential= instead.",
        )
    backend.set_password(KEYRING_SERVICE, keyring_username(registry_id, identity), passphrase.reveal_str())


def find_passphrase(
    *,
    passphrase_file: str | None,
    registry_id: str,
    identity: str | None,
    prompt: Callable[[], Secret] | None,
) -> Passphrase:
    """The first passphrase source that answers, in the documented order."""
    path = passphrase_file or os.environ.get("AUDITOR_PASSPHRASE_FILE")
    if path:
        return Passphrase(read_passphrase_file(path), "file")
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        cred = Path(cred_dir) / CREDENTIAL_NAME
        if cred.exists():
            # systemd makes credential files readable by the service only; keep the mode check.
            return Passphrase(read_passphrase_file(cred), "systemd-credential")
    if identity:
        found = keyring_get(registry_id, identity)
        if found is not None:
            return Passphrase(found, "keyring")
    if prompt is not None:
        return Passphrase(prompt(), "prompt")
    raise VaultError(
        "no passphrase available and no terminal to ask on",
        "Give --passphrase-file FILE (mode 0600), set AUDITOR_PASSPHRASE_FILE, use systemd's "
        "LoadCredential=auditor-passphrase:FILE, or store it with `auditor identity remember`.",
    )
