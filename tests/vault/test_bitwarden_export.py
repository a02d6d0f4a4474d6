"""Issue 18: the handover export in Bitwarden's password-protected JSON. Every file our writer
makes opens with the reader that opens the real exports in ../shared/formats/keepassxc/ (and with
a decryption written here from Bitwarden's format, not ours), and carries Bitwarden's documented
fields."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model.errors import InputError
from auditor.model.types import Secret
from vault.escrow import formats
from vault.escrow.formats import bitwarden

REAL = Path(__file__).resolve().parents[3] / "shared" / "formats" / "keepassxc"
SEED = "otpauth://totp/Instagram:nnhs?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Instagram"


def _item(**over: object) -> dict:
    values: dict = {
        "name": "Instagram account @nnhs_athletics",
        "uri": "https://www.instagram.com/nnhs_athletics/",
        "username": "nnhs_ath",
        "password": "Pässwörd with spaces\tand a tab",
        "totp": SEED,
        "notes": "the office safe has the phone",
        "codes": ["aaaa-1111", "bbbb-2222"],
        "email": "recovery@d203.org",
        "phone": "+1 630 555 0100",
        "revised": "2026-11-30T09:00:00Z",
    }
    values.update(over)
    return bitwarden.login_item(**values)


def _independent_decrypt(doc: dict, password: str) -> dict:
    """Bitwarden's password-protected export opened from its description: PBKDF2-SHA256 over the
    salt string, HKDF-Expand enc/mac, EncString 2 = AES-256-CBC + HMAC-SHA256(iv || ct)."""
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), doc["salt"].encode(), doc["kdfIterations"], 32)
    enc = HKDFExpand(hashes.SHA256(), 32, b"enc").derive(key)
    mac = HKDFExpand(hashes.SHA256(), 32, b"mac").derive(key)
    kind, rest = doc["data"].split(".", 1)
    iv, ct, tag = (base64.b64decode(p) for p in rest.split("|"))
    assert kind == "2" and hmac.compare_digest(hmac.new(mac, iv + ct, hashlib.sha256).digest(), tag)
    plain = Cipher(algorithms.AES(enc), modes.CBC(iv)).decryptor()
    padded = plain.update(ct) + plain.finalize()
    unpad = padding.PKCS7(128).unpadder()
    return json.loads(unpad.update(padded) + unpad.finalize())


def test_our_password_protected_export_has_the_real_files_fields_and_opens_both_ways() -> None:
    text = bitwarden.encrypt_password_protected(bitwarden.write_json([_item()]), Secret("a"), iterations=1000)
    doc = json.loads(text)
    real = json.loads((REAL / "bitwarden_encrypted_export.json").read_text())
    assert set(doc) == set(real) and doc["kdfType"] == 0 and doc["encrypted"] and doc["passwordProtected"]
    inner = _independent_decrypt(doc, "a")
    real_plain = json.loads((REAL / "bitwarden_export.json").read_text())
    real_login = next(i for i in real_plain["items"] if i["type"] == 1)
    assert set(real_plain) <= set(inner) and set(real_login) <= set(inner["items"][0])
    assert set(real_login["login"]) <= set(inner["items"][0]["login"])

    result = formats.read(text.encode(), lambda _p: Secret("a"))
    assert result.format == "Bitwarden JSON (password-protected)" and not result.problems
    [entry] = result.entries
    bundle = entry.bundle
    assert bundle.login == "nnhs_ath" and bundle.password == Secret("Pässwörd with spaces\tand a tab")
    assert bundle.otp() is not None and bundle.otp().base32 == Secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert [c.code.reveal_str() for c in bundle.recovery_codes] == ["aaaa-1111", "bbbb-2222"]
    assert bundle.recovery_email == "recovery@d203.org" and bundle.recovery_phone == "+1 630 555 0100"
    with pytest.raises(InputError, match="wrong password"):
        formats.read(text.encode(), lambda _p: Secret("b"))


def test_the_default_key_derivation_is_bitwardens_and_each_file_is_salted_anew() -> None:
    plain = bitwarden.write_json([_item()])
    a = json.loads(bitwarden.encrypt_password_protected(plain, Secret("a long export password")))
    b = json.loads(
        bitwarden.encrypt_password_protected(plain, Secret("a long export password"), iterations=1000)
    )
    assert a["kdfIterations"] == 600_000
    assert a["salt"] != b["salt"] and a["data"] != b["data"]
    assert "Pässwörd" not in json.dumps(a, ensure_ascii=False) and "P\\u00e4ss" not in json.dumps(a)


@settings(max_examples=40, deadline=None)
@given(
    password=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60
    ),
    notes=st.text(st.characters(blacklist_categories=("Cs",)), max_size=80),
)
def test_any_password_and_notes_come_back_as_they_went(password: str, notes: str) -> None:
    text = bitwarden.encrypt_password_protected(
        bitwarden.write_json([_item(password=password, notes=notes, totp="", codes=[], email="", phone="")]),
        Secret("pw"),
        iterations=1000,
    )
    [entry] = formats.read(text.encode(), lambda _p: Secret("pw")).entries
    assert entry.bundle.password == Secret(password)
    shown = entry.bundle.notes.reveal_str() if entry.bundle.notes else ""
    assert shown == notes or (not notes.strip() and not shown)
