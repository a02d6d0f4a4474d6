"""One-time passwords: RFC 4226 HOTP, RFC 6238 TOTP and the `otpauth://` key URI format.

Our own implementation on the standard library's `hmac` (no pyotp): the algorithm is twenty lines,
and owning it lets us support SHA-256/SHA-512 and 6-8 digits exactly as RFC 6238 Appendix B tests
them, and keep the seed inside `models.Secret` end to end. An escrowed TOTP seed is stored as its
normalised `otpauth://` URI (see `OtpAuth.to_uri`), so issuer, account, algorithm, digits and period
travel with the seed. Errors never contain the URI or the seed: both are secrets.

Key URI format: https://github.com/google/google-authenticator/wiki/Key-Uri-Format
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from auditor.model.errors import InputError
from auditor.model.types import Secret

ALGORITHMS: dict[str, str] = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
DEFAULT_ALGORITHM = "SHA1"
DEFAULT_DIGITS = 6
DEFAULT_PERIOD = 30
# RFC 4226 section 5.3 allows 6 to 8 digits ("Implementations MUST extract a 6-digit code at a
# minimum and possibly 7 and 8-digit code"); RFC 6238's vectors use 8.
ALLOWED_DIGITS = (6, 7, 8)
MAX_PERIOD = 3600
# RFC 4226 section 4 asks for 128 bits and recommends 160; many services still issue 80-bit seeds
# (16 base32 characters), so 80 bits is the floor we accept.
MIN_SEED_BYTES = 10
MAX_SEED_BYTES = 128


class TotpError(InputError):
    """A TOTP seed or otpauth URI is malformed. The message never contains the seed."""


@dataclass(frozen=True)
class OtpAuth:
    """A parsed one-time-password key: what an authenticator app stores after scanning a QR code."""

    secret: Secret  # raw key bytes
    type: str = "totp"  # "totp" or "hotp"
    issuer: str = ""
    account: str = ""
    algorithm: str = DEFAULT_ALGORITHM
    digits: int = DEFAULT_DIGITS
    period: int = DEFAULT_PERIOD
    counter: int = 0  # HOTP only
    extra: tuple[tuple[str, str], ...] = field(default=())  # unknown query parameters, preserved

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def key(self) -> bytes:
        value = self.secret.reveal()
        return value if isinstance(value, bytes) else value.encode()

    @property
    def base32(self) -> Secret:
        """The seed in unpadded upper-case base32, as authenticator apps type it."""
        return Secret(base64.b32encode(self.key).decode("ascii").rstrip("="))

    def to_uri(self) -> Secret:
        """The normalised `otpauth://` URI: one spelling per key, so equal seeds compare equal."""
        label = quote(self.account, safe="@")
        if self.issuer:
            label = quote(self.issuer, safe="") + ":" + label
        params: list[tuple[str, str]] = [("secret", self.base32.reveal_str())]
        if self.issuer:
            params.append(("issuer", self.issuer))
        params += [("algorithm", self.algorithm), ("digits", str(self.digits))]
        if self.type == "totp":
            params.append(("period", str(self.period)))
        else:
            params.append(("counter", str(self.counter)))
        params += list(self.extra)
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
        return Secret(f"otpauth://{self.type}/{label}?{query}")

    def code(self, at: datetime) -> tuple[str, int]:
        """The TOTP code valid at `at` and the seconds it stays valid."""
        if self.type != "totp":
            raise TotpError(
                "this is an HOTP (counter-based) key: its codes depend on a counter the platform keeps, "
                "so no current code can be computed",
                "Re-enrol two-factor with a time-based (TOTP) authenticator.",
            )
        ts = _timestamp(at)
        return (
            totp(self.key, ts, digits=self.digits, period=self.period, algorithm=self.algorithm),
            self.period - (ts % self.period),
        )

    def __repr__(self) -> str:
        return (
            f"OtpAuth(type={self.type!r}, issuer={self.issuer!r}, account={self.account!r}, "
            f"algorithm={self.algorithm!r}, digits={self.digits}, period={self.period}, secret=****)"
        )


def _validate(o: OtpAuth) -> None:
    if o.type not in ("totp", "hotp"):
        raise TotpError(f"unsupported one-time password type {o.type!r}: only totp and hotp are known")
    if o.algorithm not in ALGORITHMS:
        raise TotpError(
            f"unsupported TOTP algorithm {o.algorithm!r}",
            "Use SHA1, SHA256 or SHA512 (RFC 6238 section 1.2).",
        )
    if o.digits not in ALLOWED_DIGITS:
        raise TotpError(f"TOTP codes must have 6, 7 or 8 digits, not {o.digits}")
    if not 1 <= o.period <= MAX_PERIOD:
        raise TotpError(f"TOTP period must be between 1 and {MAX_PERIOD} seconds, not {o.period}")
    if o.counter < 0:
        raise TotpError("HOTP counter must not be negative")
    n = len(o.key)
    if n < MIN_SEED_BYTES:
        raise TotpError(
            f"TOTP seed is too short ({n * 8} bits); at least {MIN_SEED_BYTES * 8} bits are required",
            "Check that the whole seed was copied.",
        )
    if n > MAX_SEED_BYTES:
        raise TotpError(f"TOTP seed is too long ({n} bytes); at most {MAX_SEED_BYTES} are accepted")


# --------------------------------------------------------------------------------------------------
# The algorithms


def hotp(
    key: bytes, counter: int, *, digits: int = DEFAULT_DIGITS, algorithm: str = DEFAULT_ALGORITHM
) -> str:
    """RFC 4226 section 5.3: HMAC the 8-byte big-endian counter, dynamic truncation, modulo 10^digits."""
    if counter < 0 or counter >= 1 << 64:
        raise ValueError("HOTP counter must fit in 8 unsigned bytes")
    mac = hmac.new(key, struct.pack(">Q", counter), ALGORITHMS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def totp(
    key: bytes,
    at: datetime | int,
    *,
    digits: int = DEFAULT_DIGITS,
    period: int = DEFAULT_PERIOD,
    algorithm: str = DEFAULT_ALGORITHM,
) -> str:
    """RFC 6238 section 4: HOTP with the counter T = floor((unix time - T0) / period), T0 = 0."""
    ts = at if isinstance(at, int) else _timestamp(at)
    return hotp(key, ts // period, digits=digits, algorithm=algorithm)


def _timestamp(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("TOTP needs a timezone-aware datetime (a naive one would be off by the UTC offset)")
    return int(at.timestamp())


# --------------------------------------------------------------------------------------------------
# Parsing


_B32_RE = re.compile(r"^[A-Z2-7]+=*$")


def decode_base32(seed: str | Secret) -> bytes:
    """Decode a base32 seed the way people paste it: any case, spaces or dashes, padding optional."""
    text = seed.reveal_str() if isinstance(seed, Secret) else seed
    text = re.sub(r"[\s-]+", "", text).upper()
    if not text or not _B32_RE.match(text):
        raise TotpError(
            "TOTP seed is not valid base32 (letters A-Z and digits 2-7)",
            "Paste the seed shown under the QR code, or the whole otpauth:// URI.",
        )
    text = text.rstrip("=")
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32decode(text)
    except (binascii.Error, ValueError):
        raise TotpError("TOTP seed is not valid base32 (wrong length)") from None


def parse_otpauth(uri: str | Secret) -> OtpAuth:
    """Parse an `otpauth://TYPE/LABEL?secret=...` key URI. Raises TotpError naming what is wrong.

    The issuer parameter wins over the label prefix (the Key URI Format says both should agree);
    unknown parameters (e.g. `image`) are kept so the normalised URI loses nothing.
    """
    text = (uri.reveal_str() if isinstance(uri, Secret) else uri).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise TotpError("not a valid otpauth:// URI") from None
    if parts.scheme.lower() != "otpauth":
        raise TotpError(
            "not an otpauth:// URI",
            "TOTP must be an otpauth://totp/... URI or a base32 seed; Steam Guard (steam://) is not TOTP.",
        )
    kind = parts.netloc.lower()
    if kind not in ("totp", "hotp"):
        shown = kind if re.fullmatch(r"[a-z0-9-]{1,20}", kind) else "?"
        raise TotpError(
            f"otpauth URI has type {shown!r}; only totp and hotp are supported",
            "Steam Guard and other proprietary schemes cannot be escrowed as TOTP.",
        )
    label = unquote(parts.path.lstrip("/"))
    issuer, sep, account = label.partition(":")
    if not sep:
        issuer, account = "", label
    params: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    pairs: list[tuple[str, str]] | None = None
    # parse_qsl's ValueError quotes the query (the secret): raise ours outside the handler.
    with contextlib.suppress(ValueError):
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    if pairs is None:
        raise TotpError("otpauth URI has a malformed query string")
    for key, value in pairs:
        k = key.lower()
        if k in params:
            raise TotpError(f"otpauth URI gives the parameter {k!r} twice")
        if k in ("secret", "issuer", "algorithm", "digits", "period", "counter"):
            params[k] = value
        else:
            extra.append((key, value))
    if not params.get("secret"):
        raise TotpError("otpauth URI has no secret parameter")
    key_bytes = decode_base32(params["secret"])
    if "issuer" in params:
        issuer = params["issuer"]
    algorithm = params.get("algorithm", DEFAULT_ALGORITHM).upper().replace("-", "")
    if kind == "hotp" and "counter" not in params:
        raise TotpError("otpauth://hotp URI has no counter parameter (the Key URI Format requires it)")
    return OtpAuth(
        secret=Secret(key_bytes),
        type=kind,
        issuer=issuer.strip(),
        account=account.strip(),
        algorithm=algorithm,
        digits=_int_param(params, "digits", DEFAULT_DIGITS),
        period=_int_param(params, "period", DEFAULT_PERIOD),
        counter=_int_param(params, "counter", 0),
        extra=tuple(extra),
    )


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise TotpError(f"otpauth URI parameter {name!r} must be a whole number")
    return int(raw)


def from_seed(
    seed: str | Secret,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    digits: int = DEFAULT_DIGITS,
    period: int = DEFAULT_PERIOD,
    issuer: str = "",
    account: str = "",
) -> OtpAuth:
    """A TOTP key from a bare base32 seed and optional parameters."""
    return OtpAuth(
        secret=Secret(decode_base32(seed)),
        issuer=issuer,
        account=account,
        algorithm=algorithm.upper().replace("-", ""),
        digits=digits,
        period=period,
    )


def parse(value: str | Secret, **defaults: str | int) -> OtpAuth:
    """Accept either an otpauth:// URI or a base32 seed (then `defaults` feed `from_seed`)."""
    text = (value.reveal_str() if isinstance(value, Secret) else value).strip()
    if text.lower().startswith("otpauth:") or "://" in text:
        return parse_otpauth(text)
    return from_seed(text, **defaults)  # type: ignore[arg-type]


def now(seed: OtpAuth | Secret | str, at: datetime | None = None) -> tuple[str, int]:
    """The current code and the seconds it remains valid, for `auditor secret totp`.

    `seed` is an OtpAuth, an otpauth:// URI or a base32 seed (SHA1, 6 digits, 30 s). `at` defaults
    to the system clock; pass the command's clock for testability.
    """
    key = seed if isinstance(seed, OtpAuth) else parse(seed)
    return key.code(at or datetime.now(UTC))
