"""Passphrase sources, in order, and the refusals that protect them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.model.types import Secret
from vault.errors import VaultError
from vault.unlock import find_passphrase, keyring_get, read_passphrase_file


def _file(path: Path, text: str, perm: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, perm)
    return path


def test_passphrase_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    f = _file(tmp_path / "pass", "secret passphrase\n", 0o644)
    with pytest.raises(VaultError, match="readable by other users") as info:
        read_passphrase_file(f)
    assert "chmod 600" in info.value.hint
    assert "secret passphrase" not in str(info.value) + info.value.hint


def test_passphrase_file_loses_one_trailing_newline_only(tmp_path: Path) -> None:
    f = _file(tmp_path / "pass", "two words \n")
    assert read_passphrase_file(f).reveal() == "two words "


def test_order_file_then_systemd_credential_then_keyring_then_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _file(tmp_path / "pass", "from the file")
    creds = tmp_path / "creds"
    creds.mkdir()
    _file(creds / "auditor-passphrase", "from systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    prompt = lambda: Secret("from the prompt")  # noqa: E731
    got = find_passphrase(passphrase_file=str(f), registry_id="r", identity="admin", prompt=prompt)
    assert (got.source, got.secret.reveal()) == ("file", "from the file")
    monkeypatch.setenv("AUDITOR_PASSPHRASE_FILE", str(f))
    got = find_passphrase(passphrase_file=None, registry_id="r", identity="admin", prompt=prompt)
    assert got.source == "file"
    monkeypatch.delenv("AUDITOR_PASSPHRASE_FILE")
    got = find_passphrase(passphrase_file=None, registry_id="r", identity="admin", prompt=prompt)
    assert (got.source, got.secret.reveal()) == ("systemd-credential", "from systemd")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    got = find_passphrase(passphrase_file=None, registry_id="r", identity="admin", prompt=prompt)
    assert (got.source, got.secret.reveal()) == ("prompt", "from the prompt")


def test_no_keyring_backend_is_skipped_never_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    # conftest sets PYTHON_KEYRING_BACKEND to the fail backend: the situation on a server.
    assert keyring_get("r", "admin") is None
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    assert keyring_get("r", "admin") is None


def test_nothing_available_without_a_terminal_says_what_to_do() -> None:
    with pytest.raises(VaultError, match="no passphrase available") as info:
        find_passphrase(passphrase_file=None, registry_id="r", identity=None, prompt=None)
    assert "--passphrase-file" in info.value.hint and "LoadCredential" in info.value.hint
