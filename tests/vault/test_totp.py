"""RFC 4226 / RFC 6238 known answers and otpauth:// parsing, including malformed URIs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from auditor.model.errors import InputError
from auditor.model.types import Secret
from vault.escrow import totp

SEED_SHA1 = b"12345678901234567890"  # 20 bytes
SEED_SHA256 = b"12345678901234567890123456789012"  # 32 bytes
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"  # 64 bytes
SEEDS = {"SHA1": SEED_SHA1, "SHA256": SEED_SHA256, "SHA512": SEED_SHA512}

# RFC 6238 Appendix B, every row: (unix time, SHA1, SHA256, SHA512), 8 digits, 30 s steps.
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]

# RFC 4226 Appendix D: HOTP, 6 digits, counters 0..9.
RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

CANARY_SEED = "JBSWY3DPEHPK3PXPCANARY23"


@pytest.mark.parametrize("counter,expected", list(enumerate(RFC4226)))
def test_hotp_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert totp.hotp(SEED_SHA1, counter) == expected


@pytest.mark.parametrize("row", RFC6238, ids=[str(r[0]) for r in RFC6238])
@pytest.mark.parametrize("algorithm,column", [("SHA1", 1), ("SHA256", 2), ("SHA512", 3)])
def test_totp_rfc6238_appendix_b(row: tuple[int, str, str, str], algorithm: str, column: int) -> None:
    at = datetime.fromtimestamp(row[0], UTC)
    assert totp.totp(SEEDS[algorithm], at, digits=8, algorithm=algorithm) == row[column]


@pytest.mark.parametrize("algorithm,column", [("SHA1", 1), ("SHA256", 2), ("SHA512", 3)])
def test_rfc6238_vectors_through_otpauth_uri_and_now(algorithm: str, column: int) -> None:
    b32 = base64.b32encode(SEEDS[algorithm]).decode().rstrip("=")
    uri = f"otpauth://totp/RFC:6238?secret={b32}&algorithm={algorithm}&digits=8&period=30"
    for row in RFC6238:
        code, left = totp.now(Secret(uri), datetime.fromtimestamp(row[0], UTC))
        assert code == row[column]
        assert left == 30 - row[0] % 30


def test_seconds_left_counts_down_within_a_period() -> None:
    t0 = datetime(2024, 9, 1, 12, 0, 0, tzinfo=UTC)  # a multiple of 30 s
    assert totp.now(CANARY_SEED, t0)[1] == 30
    assert totp.now(CANARY_SEED, t0 + timedelta(seconds=29))[1] == 1
    assert totp.now(CANARY_SEED, t0)[0] == totp.now(CANARY_SEED, t0 + timedelta(seconds=29))[0]
    assert totp.now(CANARY_SEED, t0)[0] != totp.now(CANARY_SEED, t0 + timedelta(seconds=30))[0]


def test_offset_timezone_gives_the_same_code_and_naive_is_refused() -> None:
    utc = datetime(2024, 9, 1, 12, 0, 7, tzinfo=UTC)
    chicago = utc.astimezone(timezone(timedelta(hours=-5)))
    assert totp.now(CANARY_SEED, utc) == totp.now(CANARY_SEED, chicago)
    with pytest.raises(ValueError, match="timezone-aware"):
        totp.now(CANARY_SEED, datetime(2024, 9, 1, 12, 0, 7))


def test_parse_full_uri() -> None:
    uri = (
        "otpauth://totp/Lincoln%20HS:athletics%40lincoln.k12.example?secret=jbswy3dpehpk3pxp&"
        "issuer=Lincoln%20HS&algorithm=sha256&digits=8&period=60&image=https%3A%2F%2Fx%2Fi.png"
    )
    key = totp.parse_otpauth(uri)
    assert (key.type, key.issuer, key.account) == ("totp", "Lincoln HS", "athletics@lincoln.k12.example")
    assert (key.algorithm, key.digits, key.period) == ("SHA256", 8, 60)
    assert key.key == b"Hello!\xde\xad\xbe\xef"
    assert ("image", "https://x/i.png") in key.extra


def test_label_without_issuer_and_defaults() -> None:
    key = totp.parse_otpauth("otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP")
    assert (key.issuer, key.account, key.algorithm, key.digits, key.period) == ("", "alice", "SHA1", 6, 30)


def test_issuer_parameter_wins_over_label_prefix() -> None:
    key = totp.parse_otpauth("otpauth://totp/Old:alice?secret=JBSWY3DPEHPK3PXP&issuer=New")
    assert key.issuer == "New"


def test_normalised_uri_round_trips_and_is_canonical() -> None:
    a = totp.parse_otpauth("otpauth://TOTP/X:me?secret=jbsw%20y3dp-ehpk3pxp&issuer=X&digits=6")
    b = totp.parse_otpauth("otpauth://totp/X:me?issuer=X&secret=JBSWY3DPEHPK3PXP====&period=30")
    assert a.to_uri() == b.to_uri()
    assert a.to_uri().reveal_str() == (
        "otpauth://totp/X:me?secret=JBSWY3DPEHPK3PXP&issuer=X&algorithm=SHA1&digits=6&period=30"
    )
    again = totp.parse_otpauth(a.to_uri())
    assert again.to_uri() == a.to_uri()


def test_hotp_uri_parses_but_has_no_current_code() -> None:
    key = totp.parse_otpauth("otpauth://hotp/X:me?secret=JBSWY3DPEHPK3PXP&counter=5")
    assert (key.type, key.counter) == ("hotp", 5)
    assert "counter=5" in key.to_uri().reveal_str()
    with pytest.raises(totp.TotpError, match="HOTP"):
        key.code(datetime.now(UTC))


def test_base32_seed_with_parameters() -> None:
    key = totp.from_seed("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", algorithm="sha1", digits=8)
    assert key.key == SEED_SHA1
    assert totp.now(key, datetime.fromtimestamp(59, UTC)) == ("94287082", 1)


MALFORMED = [
    ("https://example.com/?secret=JBSWY3DPEHPK3PXP", "not an otpauth"),
    ("otpauth://steam/Steam:me?secret=JBSWY3DPEHPK3PXP", "only totp and hotp"),
    ("otpauth://totp/me?issuer=X", "no secret"),
    ("otpauth://totp/me?secret=", "no secret"),
    ("otpauth://totp/me?secret=NOT-BASE32-1890", "not valid base32"),
    ("otpauth://totp/me?secret=JBSWY3DP", "too short"),
    ("otpauth://totp/me?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "unsupported TOTP algorithm"),
    ("otpauth://totp/me?secret=JBSWY3DPEHPK3PXP&digits=5", "6, 7 or 8 digits"),
    ("otpauth://totp/me?secret=JBSWY3DPEHPK3PXP&digits=six", "whole number"),
    ("otpauth://totp/me?secret=JBSWY3DPEHPK3PXP&period=0", "period"),
    ("otpauth://totp/me?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXQ", "twice"),
    ("otpauth://hotp/me?secret=JBSWY3DPEHPK3PXP", "counter"),
    ("otpauth://totp/me?secret=JBSWY3DPEHPK3PXP&&&=", "malformed query"),
]


@pytest.mark.parametrize("uri,message", MALFORMED)
def test_malformed_uris_are_rejected_clearly(uri: str, message: str) -> None:
    with pytest.raises(totp.TotpError, match=message) as info:
        totp.parse_otpauth(uri)
    assert isinstance(info.value, InputError)
    assert "JBSWY3DP" not in str(info.value) and "JBSWY3DP" not in info.value.hint


def test_errors_and_repr_never_show_the_seed() -> None:
    key = totp.parse(CANARY_SEED)
    assert CANARY_SEED not in repr(key) and "CANARY" not in repr(key)
    for bad in (CANARY_SEED + "1", "otpauth://totp/x?secret=" + CANARY_SEED + "!"):
        with pytest.raises(totp.TotpError) as info:
            totp.parse(bad)
        assert "CANARY" not in str(info.value) + info.value.hint + repr(info.value)
