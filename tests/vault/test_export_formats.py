"""Every password manager format: told from its content, values read byte-exact, TOTP codes equal
to an independent implementation's (pyotp), and an entry that cannot be read named, never dropped.

Files are the real ones in ../shared/formats/ where they exist, a real .kdbx made by pykeepass,
and otherwise files written to each vendor's documented header (tests/vault/export_writers.py).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from auditor.model.errors import InputError
from auditor.model.types import Secret
from tests.vault import export_writers as w
from tests.vault.export_writers import Row
from vault.escrow import formats
from vault.escrow.formats import ParseResult
from vault.escrow.totp import parse_otpauth

SHARED = Path(__file__).resolve().parents[3] / "shared" / "formats"
REAL = SHARED / "keepassxc"
# Backslash, quote, comma, non-ASCII (Latin, CJK, an emoji), a KeePass-style `\"` and `\\` pair, and
# a line break: every format's quoting carries it (CSV quotes, XML text, JSON strings), so it must
# come back byte-exact, not be refused or cut at the line.
CANARY = 'Cañary\\pw"q,ü€中😀\\\\x\\"y\nsecond line, "ü"'
CANARY_NOTES = 'line one, "quoted"\nline two \\ ü€\nback\\\\slash'
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's 64-byte key
KDBX_PASSWORD = "kdbx-canary-pässword"
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def totp_uri(algorithm: str = "SHA1", digits: int = 6, period: int = 30, seed: str = SEED) -> str:
    return (
        f"otpauth://totp/District:nnhs?secret={seed}&issuer=District"
        f"&algorithm={algorithm}&digits={digits}&period={period}"
    )


def canary_row(**changes: str) -> Row:
    base = {
        "title": "NNHS Instagram",
        "url": "https://www.instagram.com/nnhs_athletics/",
        "username": "nnhs_ath",
        "password": CANARY,
        "totp": totp_uri("SHA256", 8, 60),
        "notes": CANARY_NOTES,
    }
    base.update(changes)
    return Row(**base)


def read_as(fmt: str, rows: list[Row], tmp_path: Path) -> ParseResult:
    if fmt == "KeePass database (.kdbx)":
        data = w.kdbx(rows, tmp_path / "db.kdbx", KDBX_PASSWORD)
        return formats.read(data, lambda _prompt: Secret(KDBX_PASSWORD))
    if fmt == "Bitwarden JSON (password-protected)":
        data = w.bitwarden_password_protected(rows, "export-pw")
        return formats.read(data, lambda _prompt: Secret("export-pw"))
    return formats.read(w.WRITERS[fmt](rows))


ALL_FORMATS = [*w.WRITERS, "KeePass database (.kdbx)", "Bitwarden JSON (password-protected)"]
TOTP_FORMATS = [f for f in ALL_FORMATS if f in w.WITH_TOTP or f not in w.WRITERS]
NO_NOTES = {"Firefox CSV"}


def test_every_format_the_reader_names_is_tested() -> None:
    assert set(ALL_FORMATS) == set(formats.FORMATS)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_canary_round_trips_byte_exact(fmt: str, tmp_path: Path) -> None:
    result = read_as(fmt, [canary_row()], tmp_path)
    assert result.format == fmt  # told from the content, and named
    assert result.problems == () and result.skipped == ()
    [entry] = result.entries
    assert entry.bundle.password is not None
    assert entry.bundle.password.reveal_str() == CANARY
    assert entry.bundle.password.reveal_str().encode("utf-8") == CANARY.encode("utf-8")
    assert entry.username == "nnhs_ath"
    assert entry.urls[0] == "https://www.instagram.com/nnhs_athletics/"
    if fmt not in NO_NOTES:
        assert entry.bundle.notes is not None and entry.bundle.notes.reveal_str() == CANARY_NOTES
    if fmt in TOTP_FORMATS and fmt != "LastPass CSV":  # LastPass: below
        assert entry.bundle.totp is not None
        key = parse_otpauth(entry.bundle.totp)
        assert (key.algorithm, key.digits, key.period) == ("SHA256", 8, 60)
        assert entry.bundle.totp_now(AT)[0] == pyotp.TOTP(
            SEED, digits=8, digest=hashlib.sha256, interval=60
        ).at(AT)


VARIANTS = [(a, d, p) for a in ("SHA1", "SHA256", "SHA512") for d in (6, 8) for p in (30, 60)]
_DIGEST = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


@pytest.mark.parametrize("fmt", [f for f in TOTP_FORMATS if f != "LastPass CSV"] + ["KeePass 2 XML TimeOtp"])
def test_totp_codes_match_pyotp(fmt: str, tmp_path: Path) -> None:
    rows = [
        canary_row(title=f"{a}-{d}-{p}", password=f"pw-{a}-{d}-{p}", totp=totp_uri(a, d, p))
        for a, d, p in VARIANTS
    ]
    if fmt == "KeePass 2 XML TimeOtp":
        result = formats.read(w.keepass_xml(rows, timeotp=True))
    else:
        result = read_as(fmt, rows, tmp_path)
    assert len(result.entries) == len(VARIANTS)
    for entry, (a, d, p) in zip(result.entries, VARIANTS, strict=True):
        for moment in (AT, datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)):
            expected = pyotp.TOTP(SEED, digits=d, digest=_DIGEST[a], interval=p).at(moment)
            assert entry.bundle.totp_now(moment)[0] == expected, (fmt, a, d, p)


def test_lastpass_totp_is_the_bare_seed() -> None:
    result = formats.read(w.lastpass([canary_row(totp=totp_uri())]))
    assert result.entries[0].bundle.totp_now(AT)[0] == pyotp.TOTP(SEED).at(AT)


# --------------------------------------------------------------------------------------------------
# Silently wrong credentials (issue 16)


def test_keepass2_csv_backslashes_and_quotes_are_keepass_escaping() -> None:
    data = (
        b'"Account","Login Name","Password","Web Site","Comments"\r\n'
        b'"NNHS X","nnhs","back\\\\slash\\\\pw","https://x.com/nnhs","say \\"hi\\"\r\nline 2"\r\n'
    )
    result = formats.read(data)
    assert result.format == "KeePass 2 CSV"
    [entry] = result.entries
    assert entry.bundle.password is not None and entry.bundle.password.reveal_str() == "back\\slash\\pw"
    assert entry.bundle.notes is not None and entry.bundle.notes.reveal_str() == 'say "hi"\r\nline 2'


def test_keepass2_csv_unterminated_quote_names_the_line() -> None:
    data = b'"Account","Login Name","Password","Web Site","Comments"\n"a","b","c\\"\n'
    with pytest.raises(InputError, match="malformed at line 2"):
        formats.read(data)


@pytest.mark.parametrize(
    "writer,name", [(w.onepassword_csv, "1Password CSV"), (w.apple_csv, "Apple Passwords CSV")]
)
def test_otpauth_column_is_read_not_taken_for_keepassxc(
    writer: Callable[[list[Row]], bytes], name: str
) -> None:
    result = formats.read(writer([canary_row(totp=totp_uri())]))
    assert result.format == name
    assert result.entries[0].bundle.totp_now(AT)[0] == pyotp.TOTP(SEED).at(AT)


def test_a_csv_with_an_otp_column_no_reader_reads_is_refused() -> None:
    data = b"name,url,username,password,note,2fa secret\nX,https://x.com/nnhs,nnhs,pw,,JBSWY3DPEHPK3PXP\n"
    with pytest.raises(InputError, match=r"one-time password column .* 2fa secret"):
        formats.read(data)


@pytest.mark.parametrize(
    "fmt,totp,why",
    [
        ("Bitwarden JSON", "steam://ABCDEFGHIJ", "not an otpauth"),
        ("1Password CSV", "otpauth://hotp/x?secret=" + SEED, "no counter"),
        ("KeePassXC CSV", "otpauth://totp/x?secret=ABC", "TOTP seed"),
        ("Apple Passwords CSV", "otpauth://totp/x?secret=" + SEED + "&digits=5", "6, 7 or 8 digits"),
    ],
)
def test_an_unreadable_totp_is_a_problem_for_that_entry(
    fmt: str, totp: str, why: str, tmp_path: Path
) -> None:
    rows = [canary_row(title="Broken", totp=totp), canary_row(title="Fine", totp=totp_uri())]
    result = read_as(fmt, rows, tmp_path)
    assert [e.title for e in result.entries] == ["Fine"]
    [problem] = result.problems
    assert problem.message.startswith("Broken (") and why in problem.message
    assert CANARY not in problem.message and SEED not in problem.message
    with pytest.raises(InputError, match="Broken"):
        result.strict()


@pytest.mark.parametrize("fmt", [f for f in w.WRITERS if f != "KeePass 2 XML"])
@pytest.mark.parametrize("password", ["crlf\r\nline", "lone\rcr", "ends with a break\n", "\ttab start"])
def test_carriage_returns_and_edge_breaks_stay_byte_exact(fmt: str, password: str) -> None:
    # XML is left out: an XML parser turns CR LF and a lone CR into LF (XML 1.0, 2.11), and KeePass
    # writes its XML the same way, so a KeePass XML export cannot carry a CR at all.
    [entry] = formats.read(w.WRITERS[fmt]([canary_row(password=password)])).entries
    assert entry.bundle.password is not None
    assert entry.bundle.password.reveal_str().encode("utf-8") == password.encode("utf-8")


def test_a_password_with_a_nul_is_refused_by_name_not_changed() -> None:
    result = formats.read(w.chrome([canary_row(password="two\x00parts")]))
    assert result.entries == ()
    assert "NUL" in result.problems[0].message and "two" not in result.problems[0].message


def test_keepass2_legacy_and_steam_totp_fields() -> None:
    xml = w.keepass_xml([canary_row(totp="")]).decode()
    legacy = xml.replace(
        "<String><Key>Notes</Key>",
        f"<String><Key>TOTP Seed</Key><Value>{SEED}</Value></String>"
        "<String><Key>TOTP Settings</Key><Value>60;8</Value></String><String><Key>Notes</Key>",
        1,
    )
    entry = formats.read(legacy.encode()).entries[0]
    assert entry.bundle.totp_now(AT)[0] == pyotp.TOTP(SEED, digits=8, interval=60).at(AT)
    steam = legacy.replace("60;8", "30;S")
    result = formats.read(steam.encode())
    assert result.entries == () and "Steam Guard" in result.problems[0].message


# --------------------------------------------------------------------------------------------------
# Real files from other projects


def test_real_keepassxc_database_matches_its_own_csv_export() -> None:
    db = formats.read((REAL / "NewDatabase.kdbx").read_bytes(), lambda _p: Secret("a"))
    csv_export = formats.read((REAL / "NewDatabase.exported-by-keepassxc-cli-2.7.4.csv").read_bytes())
    assert db.format == "KeePass database (.kdbx)" and csv_export.format == "KeePassXC CSV"
    for a, b in zip(db.entries, csv_export.entries, strict=True):
        assert (a.title, a.username, a.urls) == (b.title, b.username, b.urls)
        assert a.bundle.password == b.bundle.password
        assert (a.bundle.totp is None) == (b.bundle.totp is None)
        if a.bundle.totp is not None:
            assert a.bundle.totp_now(AT) == b.bundle.totp_now(AT)
    sample = db.entries[0]
    # The database keeps the TOTP in KeePassXC's legacy TOTP Seed/Settings fields; the CSV as a URI.
    assert sample.bundle.totp_now(AT)[0] == pyotp.TOTP("HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ").at(AT)
    assert (sample.history, db.entries[1].history) == (6, 2)
    # Every snapshot in this database's history holds the entry's current password (or none): no
    # older password to keep, though the history is counted.
    assert (sample.older, db.entries[1].older) == ((), ())


def test_kdbx_wrong_password_and_no_password() -> None:
    data = (REAL / "NewDatabase.kdbx").read_bytes()
    with pytest.raises(InputError, match="wrong password"):
        formats.read(data, lambda _p: Secret("not-a"))
    with pytest.raises(InputError, match="password is needed"):
        formats.read(data)


def test_kdbx_recycle_bin_is_skipped(tmp_path: Path) -> None:
    data = w.kdbx([canary_row()], tmp_path / "bin.kdbx", "pw", recycled=[canary_row(title="Deleted IG")])
    result = formats.read(data, lambda _p: Secret("pw"))
    assert [e.title for e in result.entries] == ["NNHS Instagram"]
    assert result.skipped == ("Deleted IG (entry 2): in the Recycle Bin (deleted)",)


def test_keepass_xml_recycle_bin_is_skipped() -> None:
    result = formats.read(w.keepass_xml([canary_row()], recycled=[canary_row(title="Old")]))
    assert [e.title for e in result.entries] == ["NNHS Instagram"]
    assert result.skipped == ("Old (entry 2): in the Recycle Bin (deleted)",)


@pytest.mark.parametrize(
    "name", ["bitwarden_encrypted_export.json", "bitwarden_encrypted_argon2id_export.json"]
)
def test_real_password_protected_bitwarden_exports_open_with_their_password(name: str) -> None:
    data = (REAL / name).read_bytes()
    result = formats.read(data, lambda _p: Secret("a"))
    assert result.format == "Bitwarden JSON (password-protected)"
    # Its one login holds KeePassXC's 32-bit test seed: named as unreadable, not dropped.
    assert [p.label for p in result.problems] == ["KeePassXC (item 1)"]
    with pytest.raises(InputError, match="wrong password"):
        formats.read(data, lambda _p: Secret("b"))
    with pytest.raises(InputError, match="password-protected"):
        formats.read(data)


@pytest.mark.parametrize("argon2", [False, True])
def test_our_password_protected_writer_matches_the_real_format(argon2: bool) -> None:
    data = w.bitwarden_password_protected([canary_row()], "pw", argon2=argon2)
    real = json.loads((REAL / f"bitwarden_encrypted{'_argon2id' if argon2 else ''}_export.json").read_text())
    assert set(json.loads(data)) == set(real)
    assert formats.read(data, lambda _p: Secret("pw")).entries[0].bundle.password == Secret(CANARY)


def test_account_restricted_bitwarden_export_is_refused() -> None:
    data = (SHARED / "bitwarden-clients" / "account-encrypted-v1.excerpt.json").read_bytes()
    with pytest.raises(InputError, match="account restricted"):
        formats.read(data)


def test_real_bitwarden_passkeys_and_history() -> None:
    passkeys = formats.read((REAL / "bitwarden_passkey_export.json").read_bytes())
    assert passkeys.entries == ()
    assert all("passkey only" in s for s in passkeys.skipped) and len(passkeys.skipped) == 2
    history = formats.read((REAL / "bitwarden_timestamps_export.json").read_bytes())
    [entry] = history.entries
    assert entry.history == 2 and entry.modified == datetime(2023, 12, 1, 12, tzinfo=UTC)
    assert entry.bundle.password == Secret("currentpassword")
    # Its passwordHistory, dated by lastUsedDate, oldest first, as Secrets (never in a repr).
    assert [(o.password, o.dated, o.login) for o in entry.older] == [
        (Secret("oldpassword1"), datetime(2023, 1, 15, 10, 30, tzinfo=UTC), "testuser"),
        (Secret("oldpassword2"), datetime(2023, 6, 20, 14, 45, tzinfo=UTC), "testuser"),
    ]
    assert "oldpassword" not in repr(entry) and "oldpassword" not in repr(history)


def test_real_bitwarden_export_lists_every_item() -> None:
    result = formats.read((REAL / "bitwarden_export.json").read_bytes())
    assert len(result.skipped) == 3  # a note, a card, an identity
    assert [p.label for p in result.problems] == ["Login Name (item 4)"]  # its 32-bit test seed
    assert "too short" in result.problems[0].message


def test_bitwarden_trash_and_1password_archive_are_skipped() -> None:
    doc = w.bitwarden_doc([canary_row(), canary_row(title="Gone")])
    doc["items"][1]["deletedDate"] = "2026-01-01T00:00:00Z"  # type: ignore[index]
    result = formats.read(json.dumps(doc).encode())
    assert result.skipped == ("Gone (item 2): in the trash (deleted)",)
    archived = w.onepassword_csv([canary_row(title="Archived one")]).replace(
        b",false,false,", b",false,true,"
    )
    assert formats.read(archived).skipped == ("Archived one (line 2): archived in 1Password",)


def test_zip_detection_and_windows_paths() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("something.csv", b"x")
    with pytest.raises(InputError, match="neither a 1Password"):
        formats.read(buf.getvalue())
    assert formats.read(w.bitwarden_zip([canary_row()])).format == "Bitwarden ZIP"


def test_utf16_export_is_read() -> None:
    data = w.chrome([canary_row()]).decode().encode("utf-16")
    assert formats.read(data).entries[0].bundle.password == Secret(CANARY)


def test_xml_with_a_doctype_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><KeePassFile>&a;</KeePassFile>'
    with pytest.raises(InputError, match="DOCTYPE"):
        formats.read(bomb)


def test_kdb4_base64_times() -> None:
    from vault.escrow.formats.keepass import xml_time

    seconds = int((datetime(2026, 1, 5, 10, tzinfo=UTC) - datetime(1, 1, 1, tzinfo=UTC)).total_seconds())
    assert xml_time(base64.b64encode(seconds.to_bytes(8, "little")).decode()) == datetime(
        2026, 1, 5, 10, tzinfo=UTC
    )


def test_keepassxc_passkey_only_entry_is_named_as_such() -> None:
    xml = w.keepass_xml([canary_row(password="", totp="", title="Google Workspace")]).decode()
    xml = xml.replace(
        "<String><Key>Notes</Key>",
        "<String><Key>KPEX_PASSKEY_RELYING_PARTY</Key><Value>google.com</Value></String><String><Key>Notes</Key>",
        1,
    )
    result = formats.read(xml.encode())
    assert result.entries == ()
    assert result.skipped == (
        "Google Workspace (entry 1): passkey only: a passkey cannot be exported, so nothing is escrowed",
    )
