"""The credential bundle: everything needed to get back into one district account.

A `CredentialBundle` holds the login name, password, TOTP key (as its normalised `otpauth://` URI),
recovery codes (each markable as used), recovery e-mail and phone, and free notes. It is the
plaintext the registry encrypts under the *escrow key* (`to_bytes` / `from_bytes`, JSON with a
format version `v`); `metadata()` is the part the *inventory key* may know (the fields of
`models.CredentialRef`), so a nightly audit can check escrow without seeing a secret
(docs/escrow.md, "Two key domains").

Input comes from a hidden prompt or stdin, never from arguments (issue 3): `parse_input` accepts a
JSON object or `key=value` lines. Every error names the key and line, never the value; `repr()`
of a bundle shows which fields are set, never what they hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from auditor.model.errors import AuditorError, ConflictError, InputError, NotFoundError
from auditor.model.safetext import json_safe
from auditor.model.types import Secret, parse_datetime
from vault.escrow import totp as totp_mod

FORMAT_VERSION = 1

# Sizes far above anything real, so a pasted file by mistake is refused rather than escrowed.
MAX_PASSWORD = 1024
MAX_NOTES = 64 * 1024
MAX_CODES = 100
MAX_CODE = 128
MAX_FIELD = 320  # RFC 5321's longest e-mail path

KEYS = ("login", "password", "totp", "recovery_codes", "recovery_email", "recovery_phone", "notes")
TOTP_OPTION_KEYS = ("totp_algorithm", "totp_digits", "totp_period", "totp_issuer", "totp_account")
_ALIASES = {
    "username": "login",
    "user": "login",
    "login_name": "login",
    "pass": "password",
    "otpauth": "totp",
    "totp_uri": "totp",
    "totp_seed": "totp",
    "totp_secret": "totp",
    "seed": "totp",
    "codes": "recovery_codes",
    "backup_codes": "recovery_codes",
    "recovery_code": "recovery_codes",
    "note": "notes",
}
_ACCEPTED = ", ".join(KEYS + TOTP_OPTION_KEYS)


class BundleFormatError(AuditorError):
    """A decrypted bundle does not have the expected shape (damaged, or from a newer version)."""


def _canonical_key(raw: str) -> str:
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def normalise_code(code: str) -> str:
    """Recovery codes compare without spaces, dashes and case: "abcd-1234" == "ABCD 1234"."""
    return re.sub(r"[\s-]+", "", code).casefold()


# --------------------------------------------------------------------------------------------------
# The types


@dataclass(frozen=True)
class RecoveryCode:
    """One single-use recovery (backup) code and whether it has been spent."""

    code: Secret
    used: bool = False
    used_at: datetime | None = None

    def __repr__(self) -> str:
        return f"RecoveryCode(****, used={self.used})"


@dataclass(frozen=True)
class CredentialBundle:
    """One version of an account's escrowed credentials. Build it with `create()` or `parse_input()`."""

    login: str = ""
    password: Secret | None = None
    totp: Secret | None = None  # the normalised otpauth:// URI
    recovery_codes: tuple[RecoveryCode, ...] = ()
    recovery_email: str = ""
    recovery_phone: str = ""
    notes: Secret | None = None

    # ---- construction ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        login: str = "",
        password: str | Secret | None = None,
        totp: str | Secret | totp_mod.OtpAuth | None = None,
        recovery_codes: Iterable[str | Secret | RecoveryCode] = (),
        recovery_email: str = "",
        recovery_phone: str = "",
        notes: str | Secret | None = None,
        totp_options: Mapping[str, Any] | None = None,
    ) -> CredentialBundle:
        """Validate and normalise values. A TOTP may be an otpauth:// URI or a base32 seed
        (`totp_options`: algorithm, digits, period, issuer, account apply to a bare seed)."""
        pw = _secret_or_none(password)
        if pw is not None:
            text = pw.reveal_str()
            if len(text) > MAX_PASSWORD:
                raise InputError(f"password is longer than {MAX_PASSWORD} characters", column="password")
            if "\x00" in text:
                # Line breaks are kept (a password manager's field may hold one); NUL is refused:
                # no login form takes it and C-string tools cut the value there.
                raise InputError("password contains a NUL character", column="password")
        note = _secret_or_none(notes)
        if note is not None and len(note.reveal_str()) > MAX_NOTES:
            raise InputError(f"notes are longer than {MAX_NOTES} characters", column="notes")
        return cls(
            login=_plain("login", login),
            password=pw,
            totp=_normalise_totp(totp, totp_options or {}),
            recovery_codes=_codes(recovery_codes),
            recovery_email=_email(recovery_email),
            recovery_phone=_phone(recovery_phone),
            notes=note,
        )

    # ---- views ----------------------------------------------------------------------------------

    @property
    def unused_codes(self) -> tuple[RecoveryCode, ...]:
        return tuple(c for c in self.recovery_codes if not c.used)

    @property
    def is_empty(self) -> bool:
        return not (
            self.login
            or self.password
            or self.totp
            or self.recovery_codes
            or self.recovery_email
            or self.recovery_phone
            or self.notes
        )

    def otp(self) -> totp_mod.OtpAuth | None:
        return totp_mod.parse_otpauth(self.totp) if self.totp else None

    def totp_now(self, at: datetime) -> tuple[str, int]:
        """The current TOTP code and its seconds left; InputError when no TOTP is escrowed."""
        key = self.otp()
        if key is None:
            raise NotFoundError("no TOTP key is escrowed for this account")
        return key.code(at)

    def metadata(self) -> dict[str, Any]:
        """What the inventory key may know: exactly the matching fields of `models.CredentialRef`."""
        return {
            "has_password": bool(self.password),
            "has_totp": bool(self.totp),
            "recovery_codes_total": len(self.recovery_codes),
            "recovery_codes_unused": len(self.unused_codes),
        }

    def redacted(self) -> dict[str, Any]:
        """A display dict with no secret in it (for `secret history`, dry-runs and confirmations)."""
        key = self.otp()
        return {
            "login": self.login,
            "password": "set" if self.password else "not set",
            "totp": (
                {
                    "type": key.type,
                    "issuer": key.issuer,
                    "account": key.account,
                    "algorithm": key.algorithm,
                    "digits": key.digits,
                    "period": key.period,
                }
                if key
                else None
            ),
            "recovery_codes": {"total": len(self.recovery_codes), "unused": len(self.unused_codes)},
            "recovery_email": _mask_email(self.recovery_email),
            "recovery_phone": _mask_phone(self.recovery_phone),
            "notes": "set" if self.notes else "not set",
        }

    def reveal_dict(self) -> dict[str, Any]:
        """Every value in the clear, for `secret show --format json` (after the reveal is logged)."""
        key = self.otp()
        return {
            "login": self.login,
            "password": self.password.reveal_str() if self.password else None,
            "totp": self.totp.reveal_str() if self.totp else None,
            "totp_seed": key.base32.reveal_str() if key else None,
            "recovery_codes": [
                {
                    "code": c.code.reveal_str(),
                    "used": c.used,
                    "used_at": c.used_at.isoformat() if c.used_at else None,
                }
                for c in self.recovery_codes
            ],
            "recovery_email": self.recovery_email,
            "recovery_phone": self.recovery_phone,
            "notes": self.notes.reveal_str() if self.notes else None,
        }

    def reveal_lines(self) -> list[str]:
        """Every value in the clear, one `label: value` line each, for `secret show`."""
        d = self.reveal_dict()
        lines = [f"login:          {d['login'] or '-'}", f"password:       {shown_password(d['password'])}"]
        if d["totp"]:
            lines.append(f"totp seed:      {d['totp_seed']}")
            lines.append(f"totp uri:       {d['totp']}")
        else:
            lines.append("totp:           -")
        if self.recovery_codes:
            lines.append(f"recovery codes: {len(self.unused_codes)} of {len(self.recovery_codes)} unused")
            for c in d["recovery_codes"]:
                state = (
                    f"  (used {c['used_at'][:10]})"
                    if c["used"] and c["used_at"]
                    else ("  (used)" if c["used"] else "")
                )
                lines.append(f"  {c['code']}{state}")
        else:
            lines.append("recovery codes: -")
        lines.append(f"recovery email: {d['recovery_email'] or '-'}")
        lines.append(f"recovery phone: {d['recovery_phone'] or '-'}")
        if d["notes"]:
            lines.append("notes:")
            lines += [f"  {line}" for line in d["notes"].splitlines()]
        else:
            lines.append("notes:          -")
        return lines

    def __repr__(self) -> str:
        return (
            f"CredentialBundle(login={self.login!r}, password={'****' if self.password else None}, "
            f"totp={'****' if self.totp else None}, recovery_codes={len(self.unused_codes)}/"
            f"{len(self.recovery_codes)} unused, recovery_email={'set' if self.recovery_email else None}, "
            f"recovery_phone={'set' if self.recovery_phone else None}, "
            f"notes={'****' if self.notes else None})"
        )

    __str__ = __repr__

    # ---- changes --------------------------------------------------------------------------------

    def mark_code_used(self, code: str | Secret, at: datetime | None = None) -> CredentialBundle:
        """A new bundle with `code` marked used. NotFoundError / ConflictError never echo the code."""
        wanted = normalise_code(code.reveal_str() if isinstance(code, Secret) else code)
        for i, c in enumerate(self.recovery_codes):
            if normalise_code(c.code.reveal_str()) == wanted:
                if c.used:
                    when = f" on {c.used_at.date().isoformat()}" if c.used_at else ""
                    raise ConflictError(f"that recovery code was already marked used{when}")
                used = replace(c, used=True, used_at=at or datetime.now(UTC))
                codes = (*self.recovery_codes[:i], used, *self.recovery_codes[i + 1 :])
                return replace(self, recovery_codes=codes)
        raise NotFoundError(
            "that recovery code is not among this account's escrowed codes",
            "Check for typos; `auditor secret show` lists the codes.",
        )

    def merged(self, update: CredentialBundle) -> CredentialBundle:
        """This bundle with every field that `update` sets replaced (for partial `secret set`)."""
        return CredentialBundle(
            login=update.login or self.login,
            password=update.password or self.password,
            totp=update.totp or self.totp,
            recovery_codes=update.recovery_codes or self.recovery_codes,
            recovery_email=update.recovery_email or self.recovery_email,
            recovery_phone=update.recovery_phone or self.recovery_phone,
            notes=update.notes or self.notes,
        )

    # ---- comparison (re-imports: issue 13, "Credentials are never demoted") ---------------------

    def given_fields(self) -> tuple[str, ...]:
        """The names (KEYS) of the fields this bundle sets."""
        return tuple(k for k in KEYS if _field_set(self, k))

    def covers(self, other: CredentialBundle, key: str) -> bool:
        """Whether `other`'s value of field `key` adds nothing to this bundle's: the same value
        (logins and e-mails ignoring case, phones by their digits, a TOTP key by its seed and
        parameters, not its labels), or for recovery codes every one of `other`'s codes already
        here (used or not). Compares values without ever showing them."""
        if key == "recovery_codes":
            mine = [normalise_code(c.code.reveal_str()) for c in self.recovery_codes]
            return bool(mine) and all(
                normalise_code(c.code.reveal_str()) in mine for c in other.recovery_codes
            )
        if key == "totp":
            return _same_totp(self.totp, other.totp)
        if key in ("login", "recovery_email"):
            a, b = getattr(self, key), getattr(other, key)
            return bool(a) and str(a).casefold() == str(b).casefold()
        if key == "recovery_phone":
            digits = [re.sub(r"\D", "", p) for p in (self.recovery_phone, other.recovery_phone)]
            return bool(digits[0]) and digits[0] == digits[1]
        mine_value, theirs = getattr(self, key), getattr(other, key)
        return mine_value is not None and theirs is not None and mine_value == theirs

    def absorbed(self, update: CredentialBundle) -> CredentialBundle:
        """`merged`, for an import: a field whose imported value adds nothing (`covers`) keeps this
        version's value (its used recovery codes, its TOTP labels), and a recovery code marked used
        here stays used when the imported set holds it again (issue 13)."""
        keep = {k for k in update.given_fields() if self.covers(update, k)}
        merged = self.merged(update)
        codes = self.recovery_codes if "recovery_codes" in keep else merged.recovery_codes
        if "recovery_codes" not in keep and self.recovery_codes:
            spent = {normalise_code(c.code.reveal_str()): c for c in self.recovery_codes if c.used}
            codes = tuple(c if c.used else spent.get(normalise_code(c.code.reveal_str()), c) for c in codes)
        return CredentialBundle(
            login=self.login if "login" in keep else merged.login,
            password=self.password if "password" in keep else merged.password,
            totp=self.totp if "totp" in keep else merged.totp,
            recovery_codes=codes,
            recovery_email=self.recovery_email if "recovery_email" in keep else merged.recovery_email,
            recovery_phone=self.recovery_phone if "recovery_phone" in keep else merged.recovery_phone,
            notes=self.notes if "notes" in keep else merged.notes,
        )

    # ---- serialisation (plaintext for the escrow key) -------------------------------------------

    def to_bytes(self) -> bytes:
        """The plaintext to encrypt under the escrow key: compact JSON with a format version."""
        data = {
            "v": FORMAT_VERSION,
            "login": self.login,
            "password": self.password.reveal_str() if self.password else None,
            "totp": self.totp.reveal_str() if self.totp else None,
            "recovery_codes": [
                {
                    "code": c.code.reveal_str(),
                    "used": c.used,
                    "used_at": c.used_at.isoformat() if c.used_at else None,
                }
                for c in self.recovery_codes
            ],
            "recovery_email": self.recovery_email,
            "recovery_phone": self.recovery_phone,
            "notes": self.notes.reveal_str() if self.notes else None,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> CredentialBundle:
        data, bad = _loads(raw)
        if bad is not None:
            raise BundleFormatError("the decrypted credential bundle is not valid JSON")
        if not isinstance(data, dict):
            raise BundleFormatError("the decrypted credential bundle is not a JSON object")
        version = data.get("v")
        if version != FORMAT_VERSION:
            if isinstance(version, int) and version > FORMAT_VERSION:
                raise BundleFormatError(
                    f"the credential bundle has format version {version}; this auditor reads "
                    f"version {FORMAT_VERSION}",
                    "Upgrade auditor.",
                )
            raise BundleFormatError("the credential bundle has no valid format version")
        bundle: CredentialBundle | None = None
        try:
            codes = tuple(
                RecoveryCode(
                    code=Secret(str(c["code"])),
                    used=bool(c.get("used", False)),
                    used_at=parse_datetime(c.get("used_at")),
                )
                for c in data.get("recovery_codes") or ()
            )
            bundle = cls(
                login=str(data.get("login") or ""),
                password=_secret_or_none(data.get("password")),
                totp=_secret_or_none(data.get("totp")),
                recovery_codes=codes,
                recovery_email=str(data.get("recovery_email") or ""),
                recovery_phone=str(data.get("recovery_phone") or ""),
                notes=_secret_or_none(data.get("notes")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # raised below, outside the handler, so no context keeps a decrypted value
        if bundle is None:
            raise BundleFormatError("the decrypted credential bundle has malformed fields")
        return bundle


# A password a terminal would not show unambiguously: a line break, a tab or another control
# character, a bidi control or a line separator (what `safetext.inert` would escape, and more).
_AMBIGUOUS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
QUOTED_NOTE = "(JSON-quoted: it holds a line break, control character or edge space; --json gives it exactly)"


def shown_password(value: str | None) -> str:
    """A password as `secret show` (and break-glass, recover) prints it on its line: as it is, or,
    when a terminal could not show it unambiguously (a line break, another control character,
    leading or trailing spaces), as a JSON string literal followed by `QUOTED_NOTE`, so a password
    `two\\nlines` is never read as the password `two` and a stray line `lines`."""
    if not value:
        return "-"
    if not _AMBIGUOUS.search(value) and value == value.strip():
        return value
    return f"{json_safe(json.dumps(value, ensure_ascii=False))}  {QUOTED_NOTE}"


# --------------------------------------------------------------------------------------------------
# Input: JSON or key=value from stdin / a hidden prompt


def parse_input(text: str, *, totp_issuer: str = "", totp_account: str = "") -> CredentialBundle:
    """Parse `secret set --stdin` input: a JSON object, or `key=value` lines.

    Keys: login, password, totp (otpauth:// URI or base32 seed), recovery_codes, recovery_email,
    recovery_phone, notes; for a bare seed also totp_algorithm, totp_digits, totp_period,
    totp_issuer, totp_account. In key=value form blank lines and `#` comments are skipped, `:` also
    separates, values are trimmed (use JSON for a password with leading or trailing spaces or a
    line break), and `recovery_codes` may repeat. Recovery codes are separated by newlines or
    commas; when there is neither, by spaces. Errors say which key or line is wrong and never repeat a value.
    """
    stripped = text.strip()
    if not stripped:
        raise InputError(
            "no credential values were given", f"Give key=value lines or JSON with: {_ACCEPTED}."
        )
    values = _parse_json(stripped) if stripped.startswith(("{", "[")) else _parse_lines(text)
    return _bundle_from_values(values, totp_issuer, totp_account)


def bundle_from_fields(
    fields: Mapping[str, str], *, totp_issuer: str = "", totp_account: str = ""
) -> CredentialBundle:
    """Build a bundle from values answered at prompts, one per field, exactly as typed.

    Nothing is trimmed or re-parsed (a password may begin or end with spaces, or hold any
    character a prompt accepts); an empty answer means "not given".
    """
    values = {key: (value, None) for key, value in fields.items() if value != ""}
    if not values:
        raise InputError("no credential values were given", f"Give at least one of: {_ACCEPTED}.")
    return _bundle_from_values(values, totp_issuer, totp_account)


def _loads(raw: str | bytes) -> tuple[Any, tuple[str, int, int] | None]:
    """json.loads returning (value, None) or (None, (msg, line, column)).

    The caller raises *outside* the except block: a JSONDecodeError keeps the whole input in
    `.doc`, and even `raise ... from None` would leave it reachable as `__context__`.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, (exc.msg, exc.lineno, exc.colno)
    except UnicodeDecodeError:
        return None, ("not UTF-8", 1, 1)


def _parse_json(text: str) -> dict[str, tuple[Any, int | None]]:
    data, bad = _loads(text)
    if bad is not None:
        msg, lineno, colno = bad
        raise InputError(f"input is not valid JSON: {msg} at line {lineno} column {colno}", line=lineno)
    if not isinstance(data, dict):
        raise InputError("JSON input must be an object of credential fields")
    values: dict[str, tuple[Any, int | None]] = {}
    for n, (raw_key, value) in enumerate(data.items(), start=1):
        key = _canonical_key(str(raw_key))
        if key not in KEYS and key not in TOTP_OPTION_KEYS:
            raise InputError(f"JSON field #{n} is not a known credential key", f"Accepted keys: {_ACCEPTED}.")
        if key in values:
            raise InputError(f"JSON gives {key!r} twice (through an alias)")
        if key == "totp" and isinstance(value, dict):
            for sub, subvalue in value.items():
                subkey = "totp" if sub in ("secret", "uri", "seed") else f"totp_{sub}"
                if subkey not in TOTP_OPTION_KEYS and subkey != "totp":
                    raise InputError(
                        "the JSON totp object has an unknown field",
                        "Accepted: secret, algorithm, digits, period, issuer, account.",
                    )
                values[subkey] = (subvalue, None)
            continue
        if key == "recovery_codes" and isinstance(value, list):
            value = [_json_scalar(key, v) for v in value]
        elif value is not None:
            value = _json_scalar(key, value)
        values[key] = (value, None)
    return values


def _json_scalar(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"JSON field {key!r} must be a string")
    return str(value)


def _parse_lines(text: str) -> dict[str, tuple[Any, int | None]]:
    values: dict[str, tuple[Any, int | None]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        positions = [p for p in (line.find("="), line.find(":")) if p > 0]
        if not positions:
            raise InputError(f"line {lineno} is not key=value", f"Accepted keys: {_ACCEPTED}.", line=lineno)
        cut = min(positions)
        key, value = _canonical_key(line[:cut]), line[cut + 1 :].strip()
        if key not in KEYS and key not in TOTP_OPTION_KEYS:
            raise InputError(f"line {lineno} has an unknown key", f"Accepted keys: {_ACCEPTED}.", line=lineno)
        if key == "recovery_codes":
            previous, first_line = values.get(key, ([], lineno))
            values[key] = ([*previous, value], first_line)
            continue
        if key in values:
            raise InputError(f"line {lineno} gives {key!r} a second time", line=lineno)
        values[key] = (value, lineno)
    return values


def _bundle_from_values(
    values: Mapping[str, tuple[Any, int | None]], totp_issuer: str, totp_account: str
) -> CredentialBundle:
    plain = {k: v for k, (v, _) in values.items()}
    options: dict[str, Any] = {"issuer": totp_issuer, "account": totp_account}
    for key in TOTP_OPTION_KEYS:
        if key in plain and plain[key] not in (None, ""):
            name = key.removeprefix("totp_")
            raw = plain[key]
            if name in ("digits", "period"):
                if not str(raw).strip().isdigit():
                    raise InputError(f"{key} must be a whole number", line=values[key][1])
                raw = int(str(raw).strip())
            options[name] = raw
    raw_codes = plain.get("recovery_codes") or []
    codes = split_codes(raw_codes if isinstance(raw_codes, list) else [raw_codes])
    try:
        bundle = CredentialBundle.create(
            login=plain.get("login") or "",
            password=plain.get("password") or None,
            totp=plain.get("totp") or None,
            recovery_codes=codes,
            recovery_email=plain.get("recovery_email") or "",
            recovery_phone=plain.get("recovery_phone") or "",
            notes=plain.get("notes") or None,
            totp_options=options,
        )
    except InputError as exc:
        # Attach the line of the field at fault when we know it (key=value input).
        field_name = exc.column or ""
        line = values.get(field_name, (None, None))[1] if field_name else None
        raise InputError(exc.message, exc.hint, line=line, column=field_name) from None
    if bundle.is_empty:
        raise InputError("no credential values were given", f"Accepted keys: {_ACCEPTED}.")
    return bundle


def split_codes(chunks: Iterable[str]) -> list[str]:
    """Split recovery codes: by newlines or commas when present, otherwise by whitespace
    (Google prints codes as "1234 5678", so a space alone is ambiguous only without a comma)."""
    codes: list[str] = []
    for chunk in chunks:
        parts = re.split(r"[,\n;]+", chunk) if re.search(r"[,\n;]", chunk) else chunk.split()
        codes += [p.strip() for p in parts if p.strip()]
    return codes


# --------------------------------------------------------------------------------------------------
# Field validation (messages name the field, never the value)


def _field_set(bundle: CredentialBundle, key: str) -> bool:
    return bool(getattr(bundle, key))


def _same_totp(a: Secret | None, b: Secret | None) -> bool:
    """Two otpauth URIs name the same key: seed, type, algorithm, digits and period (labels aside)."""
    if a is None or b is None:
        return False
    try:
        ka, kb = totp_mod.parse_otpauth(a), totp_mod.parse_otpauth(b)
    except totp_mod.TotpError:
        return a == b
    return Secret(ka.key) == Secret(kb.key) and (ka.type, ka.algorithm, ka.digits, ka.period) == (
        kb.type,
        kb.algorithm,
        kb.digits,
        kb.period,
    )


def _secret_or_none(value: Any) -> Secret | None:
    if value is None:
        return None
    if isinstance(value, Secret):
        return value if value.reveal() else None
    text = str(value)
    return Secret(text) if text else None


def _plain(name: str, value: str) -> str:
    text = (value or "").strip()
    if len(text) > MAX_FIELD:
        raise InputError(f"{name} is longer than {MAX_FIELD} characters", column=name)
    if any(ord(c) < 32 for c in text):
        raise InputError(f"{name} contains control characters", column=name)
    return text


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[0-9 ().-]{7,25}$")


def _email(value: str) -> str:
    text = _plain("recovery_email", value)
    if text and not _EMAIL_RE.match(text):
        raise InputError("recovery_email is not an e-mail address", column="recovery_email")
    return text


def _phone(value: str) -> str:
    text = _plain("recovery_phone", value)
    if text and (not _PHONE_RE.match(text) or sum(c.isdigit() for c in text) < 7):
        raise InputError(
            "recovery_phone is not a phone number",
            "Use digits, spaces, +, -, ( and ).",
            column="recovery_phone",
        )
    return text


def _codes(values: Iterable[str | Secret | RecoveryCode]) -> tuple[RecoveryCode, ...]:
    out: list[RecoveryCode] = []
    seen: set[str] = set()
    for n, value in enumerate(values, start=1):
        if isinstance(value, RecoveryCode):
            code = value
        else:
            text = (value.reveal_str() if isinstance(value, Secret) else str(value)).strip()
            if not text:
                continue
            code = RecoveryCode(Secret(text))
        text = code.code.reveal_str()
        if len(text) > MAX_CODE or any(ord(c) < 32 for c in text):
            raise InputError(
                f"recovery code #{n} is too long or contains control characters", column="recovery_codes"
            )
        key = normalise_code(text)
        if key in seen:
            raise InputError(f"recovery code #{n} repeats an earlier code", column="recovery_codes")
        seen.add(key)
        out.append(code)
    if len(out) > MAX_CODES:
        raise InputError(f"more than {MAX_CODES} recovery codes were given", column="recovery_codes")
    return tuple(out)


def _normalise_totp(
    value: str | Secret | totp_mod.OtpAuth | None, options: Mapping[str, Any]
) -> Secret | None:
    if value is None:
        return None
    if isinstance(value, totp_mod.OtpAuth):
        return value.to_uri()
    text = (value.reveal_str() if isinstance(value, Secret) else value).strip()
    if not text:
        return None
    try:
        if text.lower().startswith("otpauth:") or "://" in text:
            key = totp_mod.parse_otpauth(text)
            if options.get("issuer") and not key.issuer:
                key = replace(key, issuer=str(options["issuer"]))
            if options.get("account") and not key.account:
                key = replace(key, account=str(options["account"]))
        else:
            key = totp_mod.from_seed(
                text,
                algorithm=str(options.get("algorithm") or totp_mod.DEFAULT_ALGORITHM),
                digits=int(options.get("digits") or totp_mod.DEFAULT_DIGITS),
                period=int(options.get("period") or totp_mod.DEFAULT_PERIOD),
                issuer=str(options.get("issuer") or ""),
                account=str(options.get("account") or ""),
            )
    except totp_mod.TotpError as exc:
        raise InputError(f"totp: {exc.message}", exc.hint, column="totp") from None
    return key.to_uri()


def _mask_email(email: str) -> str:
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return f"***{''.join(digits[-2:])}" if digits else ""


__all__ = [
    "FORMAT_VERSION",
    "KEYS",
    "BundleFormatError",
    "CredentialBundle",
    "RecoveryCode",
    "normalise_code",
    "parse_input",
    "shown_password",
    "split_codes",
]
