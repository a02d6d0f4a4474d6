"""Credential bundles: input parsing, serialisation, metadata, and secrets kept out of every view."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from auditor.model.errors import ConflictError, InputError, NotFoundError
from auditor.model.types import CredentialRef, Secret
from vault.escrow.bundle import QUOTED_NOTE, BundleFormatError, CredentialBundle, parse_input

CANARY_PW = "Canary-Pa55word-7Qx!"
CANARY_SEED = "JBSWY3DPEHPK3PXPCANARY23"
CANARY_CODE = "canary-code-9931"
CANARY_NOTE = "note-canary-security-answer"
CANARIES = (CANARY_PW, CANARY_SEED, CANARY_CODE, CANARY_NOTE, "CANARY", "canary")

KV_INPUT = f"""
# Lincoln HS Instagram
login = lincolnhs_athletics
password = {CANARY_PW}
totp = otpauth://totp/Instagram:lincolnhs_athletics?secret={CANARY_SEED}&issuer=Instagram
recovery_codes = {CANARY_CODE}, 2222-3333, 4444 5555
recovery_codes: 6666-7777
recovery_email = athletics@lincoln.k12.example
recovery_phone = +1 (217) 555-0100
notes = {CANARY_NOTE}
"""


def _no_canary(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"secret {canary!r} leaked into: {text!r}"


def test_key_value_input() -> None:
    b = parse_input(KV_INPUT)
    assert b.login == "lincolnhs_athletics"
    assert b.password == Secret(CANARY_PW)
    assert [c.code.reveal_str() for c in b.recovery_codes] == [
        CANARY_CODE,
        "2222-3333",
        "4444 5555",
        "6666-7777",
    ]
    key = b.otp()
    assert key is not None and key.issuer == "Instagram" and key.account == "lincolnhs_athletics"
    assert b.recovery_email == "athletics@lincoln.k12.example"
    assert b.recovery_phone == "+1 (217) 555-0100"
    assert b.notes == Secret(CANARY_NOTE)


def test_json_input_with_list_codes_and_totp_object() -> None:
    text = json.dumps(
        {
            "username": "district_news",
            "password": "  spaces kept in JSON  ",
            "totp": {"secret": "gezdgnbvgy3tqojqgezdgnbvgy3tqojq", "digits": 8, "algorithm": "SHA1"},
            "recovery_codes": ["aaaa-1111", "bbbb-2222"],
            "notes": "line one\nline two",
        }
    )
    b = parse_input(text, totp_issuer="X", totp_account="@district_news")
    assert b.login == "district_news"
    assert b.password == Secret("  spaces kept in JSON  ")
    assert b.totp_now(datetime.fromtimestamp(59, UTC)) == ("94287082", 1)  # RFC 6238 vector
    key = b.otp()
    assert key is not None and (key.issuer, key.account, key.digits) == ("X", "@district_news", 8)
    assert len(b.recovery_codes) == 2
    assert b.reveal_lines()[-2:] == ["  line one", "  line two"]


def test_base32_seed_with_options_in_key_value() -> None:
    b = parse_input(
        "password=x1\ntotp=GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ\ntotp_digits=8\ntotp_period=30"
    )
    assert b.totp_now(datetime.fromtimestamp(1111111109, UTC)) == ("07081804", 1)


def test_space_separated_codes_when_there_is_no_comma() -> None:
    b = parse_input("recovery_codes = aaa111 bbb222 ccc333")
    assert [c.code.reveal_str() for c in b.recovery_codes] == ["aaa111", "bbb222", "ccc333"]


def test_serialisation_round_trip_and_version() -> None:
    b = parse_input(KV_INPUT).mark_code_used("CANARY CODE 9931", at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC))
    raw = b.to_bytes()
    assert json.loads(raw)["v"] == 1
    again = CredentialBundle.from_bytes(raw)
    assert again == b
    assert again.recovery_codes[0].used and again.recovery_codes[0].used_at == datetime(
        2025, 1, 2, 3, 4, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"login":"x"}', "no valid format version"),
        (b'{"v":9,"login":"x"}', "format version 9"),
        (b'{"v":1,"recovery_codes":[{"used":true}]}', "malformed"),
    ],
)
def test_from_bytes_rejects_damaged_plaintext(raw: bytes, message: str) -> None:
    with pytest.raises(BundleFormatError, match=message):
        CredentialBundle.from_bytes(raw)


def test_metadata_matches_credential_ref() -> None:
    b = parse_input(KV_INPUT).mark_code_used("2222-3333")
    meta = b.metadata()
    assert meta == {
        "has_password": True,
        "has_totp": True,
        "recovery_codes_total": 4,
        "recovery_codes_unused": 3,
    }
    ref = CredentialRef(account_id="a1", escrowed=True, **meta)
    assert ref.recovery_codes_unused == 3
    _no_canary(json.dumps(meta))


def test_mark_code_used_errors_do_not_echo() -> None:
    b = parse_input(KV_INPUT)
    used = b.mark_code_used(CANARY_CODE, at=datetime(2025, 3, 1, tzinfo=UTC))
    assert b.metadata()["recovery_codes_unused"] == 4  # the original is unchanged (frozen)
    with pytest.raises(ConflictError, match="already marked used on 2025-03-01") as info:
        used.mark_code_used(CANARY_CODE.upper())
    _no_canary(str(info.value))
    with pytest.raises(NotFoundError) as nf:
        used.mark_code_used("canary-not-there")
    _no_canary(str(nf.value) + nf.value.hint)


def test_repr_str_and_redacted_never_show_secrets() -> None:
    b = parse_input(KV_INPUT)
    for text in (repr(b), str(b), f"{b}", repr(b.recovery_codes), json.dumps(b.redacted())):
        _no_canary(text)
        assert "athletics@lincoln" not in text and "555-0100" not in text
    red = b.redacted()
    assert red["password"] == "set" and red["recovery_codes"] == {"total": 4, "unused": 4}
    assert red["totp"]["issuer"] == "Instagram" and red["recovery_email"] == "a***@lincoln.k12.example"


def test_reveal_views_show_everything() -> None:
    b = parse_input(KV_INPUT)
    d = b.reveal_dict()
    assert d["password"] == CANARY_PW and d["totp_seed"] == CANARY_SEED
    assert d["recovery_codes"][0] == {"code": CANARY_CODE, "used": False, "used_at": None}
    text = "\n".join(b.reveal_lines())
    for value in (CANARY_PW, CANARY_SEED, CANARY_CODE, CANARY_NOTE, "athletics@lincoln.k12.example"):
        assert value in text


def test_merged_replaces_only_given_fields() -> None:
    old = parse_input(KV_INPUT)
    new = old.merged(parse_input("password = Rotated-pw-2025!"))
    assert new.password == Secret("Rotated-pw-2025!")
    assert new.totp == old.totp and new.recovery_codes == old.recovery_codes and new.login == old.login


BAD_INPUTS = [
    ("", "no credential values"),
    ("# only a comment\n\n", "no credential values"),
    (f"{CANARY_PW}\n", "line 1 is not key=value"),
    (f"login=x\nsecret_answer = {CANARY_PW}\n", "line 2 has an unknown key"),
    (f"password={CANARY_PW}\npassword={CANARY_PW}2\n", "line 2 gives 'password' a second time"),
    (f"password={CANARY_PW}\ntotp={CANARY_SEED}!!\n", "totp: TOTP seed is not valid base32"),
    (f"password={CANARY_PW}\ntotp=otpauth://steam/x?secret={CANARY_SEED}\n", "only totp and hotp"),
    (
        f"password={CANARY_PW}\ntotp={CANARY_SEED}\ntotp_digits=x{CANARY_PW}\n",
        "totp_digits must be a whole number",
    ),
    (f"password={CANARY_PW}\nrecovery_email={CANARY_PW}\n", "recovery_email is not an e-mail address"),
    (f"password={CANARY_PW}\nrecovery_phone={CANARY_PW}\n", "recovery_phone is not a phone number"),
    (f"recovery_codes={CANARY_CODE}, {CANARY_CODE.upper()}\n", "recovery code #2 repeats"),
    ('{"password": "' + CANARY_PW + '", ', "not valid JSON"),
    ('{"' + CANARY_PW + '": "x"}', "JSON field #1 is not a known credential key"),
    ('{"password": ["' + CANARY_PW + '"]}', "must be a string"),
    ('["' + CANARY_PW + '"]', "must be an object"),
]


@pytest.mark.parametrize("text,message", BAD_INPUTS)
def test_bad_input_errors_never_echo_values(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_input(text)
    err = info.value
    _no_canary(str(err) + err.hint + repr(err) + repr(err.args))
    # nothing down the exception chain may carry the text either (e.g. JSONDecodeError.doc)
    link: BaseException | None = err
    while link is not None:
        _no_canary(str(link) + repr(link.args) + repr(vars(link)))
        link = link.__cause__ or link.__context__


def test_error_points_at_the_line() -> None:
    with pytest.raises(InputError) as info:
        parse_input(f"login=x\npassword={CANARY_PW}\n\nrecovery_email=not-an-address\n")
    assert info.value.line == 4 and info.value.column == "recovery_email"


MULTILINE_PW = 'first line\\ "q",ü\r\nsecond\nthird'


def test_a_password_with_line_breaks_is_kept_byte_exact() -> None:
    b = parse_input(json.dumps({"password": MULTILINE_PW, "login": "lhs"}))
    assert b.password is not None and b.password.reveal_str().encode() == MULTILINE_PW.encode()
    back = CredentialBundle.from_bytes(b.to_bytes())
    assert back.password == Secret(MULTILINE_PW) and back.reveal_dict()["password"] == MULTILINE_PW
    # Comparisons are byte-exact too: another line ending is another password.
    other = CredentialBundle.create(password=MULTILINE_PW.replace("\r\n", "\n"))
    assert b.covers(back, "password") and not b.covers(other, "password")
    with pytest.raises(InputError, match="NUL") as err:
        CredentialBundle.create(password="two\x00parts")
    assert "two" not in str(err.value)


@pytest.mark.parametrize(
    ("password", "shown"),
    [
        ("plain-Pa55!", "plain-Pa55!"),
        ('a"b\\c', 'a"b\\c'),  # printable: as it is, even with quotes and backslashes
        (MULTILINE_PW, '"first line\\\\ \\"q\\",ü\\r\\nsecond\\nthird"'),
        ("tab\there", '"tab\\there"'),
        (" edge space", '" edge space"'),
        ("esc\x1b[2J\u202e", '"esc\\u001b[2J\\u202e"'),
    ],
)
def test_secret_show_quotes_a_password_a_terminal_would_garble(password: str, shown: str) -> None:
    line = CredentialBundle.create(password=password).reveal_lines()[1]
    quoted = shown.startswith('"') and shown != password
    assert line == "password:       " + shown + (f"  {QUOTED_NOTE}" if quoted else "")
    if quoted:  # the literal is JSON: it reads back to the exact password
        assert json.loads(shown) == password
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u202e" not in line
