"""What every export reader produces: entries, and the entries left out with the reason why.

A reader turns one password manager's file into `ImportEntry` values through a `Collector`,
which builds each entry's `CredentialBundle` and sorts out the rest: an entry with nothing to
escrow (a card, a note, an empty login), one holding only a passkey, one in the Recycle Bin or
trash is *skipped* with its reason; an entry whose values cannot be read (a TOTP in a form we do
not read, a password with a NUL character) is a *problem*, never a silent drop. Labels name entries
by title and position ("Lincoln HS on X (line 4)"); no reason ever quotes a value.

Password history: every reader that has it counts it (`ImportEntry.history`), and where the format
dates each older password (Bitwarden JSON `passwordHistory[].lastUsedDate`, 1Password 1PUX
`passwordHistory[].time`, KeePass XML / .kdbx `History/Entry` with its LastModificationTime) the
collector keeps the distinct ones as `OlderPassword`s, oldest first (`ImportEntry.older`), for an
import to store as the account's older versions when nothing is escrowed yet.

The TOTP helpers read every place a format keeps a key: otpauth URIs, KeeOtp's `key=...&step=`,
KeePassXC's legacy `TOTP Seed` / `TOTP Settings`, KeePass 2.47's `TimeOtp-*` fields.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

from auditor.model.errors import InputError
from auditor.model.types import Secret, parse_datetime
from vault.escrow.bundle import CredentialBundle, split_codes


@dataclass(frozen=True)
class OlderPassword:
    """One password from an entry's history, dated by the export: Bitwarden's `lastUsedDate` and
    1Password's `time` (when it was replaced), a KeePass history entry's LastModificationTime (when
    that state was saved). `login` is the history entry's own username (KeePass) or the entry's."""

    password: Secret
    dated: datetime
    login: str = ""

    def __repr__(self) -> str:
        return f"OlderPassword(****, dated={self.dated.isoformat()})"


@dataclass(frozen=True)
class ImportEntry:
    """One credential from an export, not yet matched. `location` is "item 3" or "line 7"."""

    title: str
    urls: tuple[str, ...]
    username: str
    bundle: CredentialBundle
    source: str  # the format's name: "bitwarden", "keepassxc", "lastpass", ...
    location: str
    # When the password manager last changed the entry (Bitwarden `revisionDate`, KeePassXC
    # `Last Modified`); None when the format or the entry does not say. A re-import compares it
    # with the escrowed version's date (issue 13, `Escrow.check_import`).
    modified: datetime | None = None
    passkeys: int = 0  # passkeys the entry also holds (not escrowed: a passkey cannot be exported)
    history: int = 0  # older passwords (or KeePass snapshots) the entry's history holds
    # The dated, distinct older passwords, oldest first (none equal to its successor, the last not
    # equal to the current password): what an import may store as older versions.
    older: tuple[OlderPassword, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.title or '(untitled)'} ({self.location})"


@dataclass(frozen=True)
class Problem:
    """An entry that cannot be read. `message` starts with the entry's label; it holds no value."""

    label: str
    message: str
    hint: str = ""
    line: int | None = None

    def error(self) -> InputError:
        return InputError(self.message, self.hint, line=self.line)


@dataclass(frozen=True)
class ParseResult:
    entries: tuple[ImportEntry, ...]
    skipped: tuple[str, ...]  # "label: reason" of entries with nothing to escrow
    problems: tuple[Problem, ...] = ()  # entries that cannot be read (an error for each)
    format: str = ""  # the format's display name ("LastPass CSV")

    def strict(self) -> ParseResult:
        """The result, or the first problem raised: the all-or-nothing reading."""
        if self.problems:
            raise self.problems[0].error()
        return self


# Custom field names (Bitwarden fields[], 1Password sections) that map to bundle fields.
CODE_FIELDS = {"recovery codes", "recovery code", "backup codes", "backup code", "recovery_codes"}
EMAIL_FIELDS = {"recovery email", "recovery e-mail", "recovery_email"}
PHONE_FIELDS = {"recovery phone", "recovery phone number", "recovery_phone"}


RECYCLED = "in the Recycle Bin (deleted)"  # why a KeePass entry in the database's recycle bin is skipped


@dataclass
class Collector:
    """Accumulates one file's entries, skips and problems (see the module docstring)."""

    source: str
    format: str
    entries: list[ImportEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def skip(self, title: str, where: str, reason: str) -> None:
        self.skipped.append(f"{title or '(untitled)'} ({where}): {reason}")

    def problem(self, title: str, where: str, message: str, hint: str = "", line: int | None = None) -> None:
        label = f"{title or '(untitled)'} ({where})"
        self.problems.append(Problem(label, f"{label}: {message}", hint, line))

    def add(
        self,
        *,
        title: str,
        where: str,
        urls: Iterable[str] = (),
        username: str = "",
        password: str = "",
        totp: str = "",
        totp_options: Mapping[str, Any] | None = None,
        codes: Iterable[str] = (),
        email: str = "",
        phone: str = "",
        notes: str = "",
        modified: datetime | None = None,
        passkeys: int = 0,
        history: int = 0,
        older: Iterable[tuple[str, datetime | None, str]] = (),
        line: int | None = None,
        deleted: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        """One entry: skipped when `deleted` says where it lies ("in the Recycle Bin") or it has
        nothing to escrow; a problem when a value cannot be read; otherwise an entry. `fields`: a
        KeePass entry's string fields, from which its TOTP (`totp_from_fields`) and passkeys are read.
        `history` counts the entry's history; `older` gives its (password, date, login) items, of
        which the dated ones are kept (`dated_history`)."""
        title = title.strip()
        label = f"{title or '(untitled)'} ({where})"
        if fields is not None:
            try:
                totp = totp_from_fields(fields)
            except InputError as exc:
                self.problem(title, where, exc.message, exc.hint, line)
                return
            passkeys = count_passkeys(fields)
        if deleted:
            self.skip(title, where, deleted)
            return
        try:
            bundle = CredentialBundle.create(
                login=username.strip(),
                password=password or None,
                totp=totp or None,
                recovery_codes=list(codes),
                recovery_email=email,
                recovery_phone=phone,
                notes=notes or None,
                totp_options={"issuer": title, "account": username.strip(), **dict(totp_options or {})},
            )
        except InputError as exc:
            self.problems.append(Problem(label, f"{label}: {exc.message}", exc.hint, line))
            return
        if not (bundle.password or bundle.totp or bundle.recovery_codes):
            if passkeys:
                self.skip(title, where, "passkey only: a passkey cannot be exported, so nothing is escrowed")
            else:
                self.skip(title, where, "no password, TOTP or recovery codes")
            return
        clean_urls = tuple(u.strip() for u in urls if u and u.strip())
        self.entries.append(
            ImportEntry(
                title,
                clean_urls,
                username.strip(),
                bundle,
                self.source,
                where,
                modified,
                passkeys,
                history,
                dated_history(older, bundle.password, username.strip()),
            )
        )

    def result(self) -> ParseResult:
        return ParseResult(tuple(self.entries), tuple(self.skipped), tuple(self.problems), self.format)


def dated_history(
    items: Iterable[tuple[str, datetime | None, str]], current: Secret | None, login: str
) -> tuple[OlderPassword, ...]:
    """The older passwords an import may store: each (password, date, login) item with a date and
    a password a bundle accepts (`CredentialBundle.create`), oldest first; a password equal to the
    one before it is the same version (the earliest date kept: KeePass saves a snapshot for every
    edit, most with the password unchanged), and the newest ones equal to `current` are dropped.
    An undated or unacceptable item is left out (it stays counted in `ImportEntry.history`)."""
    dated: list[OlderPassword] = []
    for password, at, who in items:
        if not password or at is None:
            continue
        checked: CredentialBundle | None = None
        for name in dict.fromkeys(((who or "").strip() or login, login)):  # its own login, else the entry's
            try:
                checked = CredentialBundle.create(login=name, password=password)
                break
            except InputError:
                continue
        if checked is not None and checked.password is not None:
            aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
            dated.append(OlderPassword(checked.password, aware, checked.login))
    dated.sort(key=lambda o: o.dated)
    kept: list[OlderPassword] = []
    for item in dated:
        if not kept or kept[-1].password != item.password:
            kept.append(item)
    while kept and current is not None and kept[-1].password == current:
        kept.pop()
    return tuple(kept)


def split_fields(pairs: Iterable[tuple[str, str]]) -> tuple[list[str], str, str, list[str]]:
    """(recovery codes, recovery e-mail, phone, other "name: value" lines) from custom fields."""
    codes: list[str] = []
    email = phone = ""
    extra: list[str] = []
    for name, value in pairs:
        key = name.strip().casefold()
        if not value:
            continue
        if key in CODE_FIELDS:
            codes += split_codes([value])
        elif key in EMAIL_FIELDS:
            email = value
        elif key in PHONE_FIELDS:
            phone = value
        else:
            extra.append(f"{name}: {value}")
    return codes, email, phone, extra


def join_notes(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


# --------------------------------------------------------------------------------------------------
# TOTP in its many spellings


class UnreadableTotp(InputError):
    """A TOTP key in a form we cannot escrow (Steam Guard, HOTP, a hex seed we cannot read)."""


def keeotp(value: str) -> str:
    """KeeOtp / KeePassXC 2.5 `key=B32&step=30&size=6&otpHashMode=SHA256` as an otpauth URI."""
    q = parse_qs(value.strip(), keep_blank_values=True)
    secret = (q.get("key") or [""])[0]
    period = (q.get("step") or ["30"])[0]
    digits = (q.get("size") or ["6"])[0]
    algorithm = (q.get("otpHashMode") or q.get("algorithm") or ["SHA1"])[0]
    return (
        f"otpauth://totp/?secret={quote(secret, safe='')}&period={quote(period, safe='')}"
        f"&digits={quote(digits, safe='')}&algorithm={quote(algorithm, safe='')}"
    )


def any_totp(value: str) -> str:
    """An otpauth URI or a base32 seed as is; KeeOtp settings converted (see `keeotp`)."""
    value = value.strip()
    if value.lower().startswith("key="):
        return keeotp(value)
    return value


def totp_from_fields(fields: Mapping[str, str]) -> str:
    """The TOTP key of a KeePass 2 / KeePassXC entry's string fields ("" when it has none).

    `otp` (KeePassXC 2.6+: an otpauth URI; KeeOtp: key=...), KeePassXC's legacy `TOTP Seed` with
    `TOTP Settings` ("30;6", "30;8"; "S" is Steam), KeePass 2.47's `TimeOtp-Secret-Base32` (or
    -Secret, -Secret-Hex, -Secret-Base64) with `TimeOtp-Length`, `-Period`, `-Algorithm`. An HOTP
    key (`HmacOtp-*`) is not TOTP: UnreadableTotp."""
    otp = fields.get("otp", "").strip()
    if otp:
        return any_totp(otp)
    seed = fields.get("TOTP Seed", "").strip()
    if seed:
        settings = fields.get("TOTP Settings", "30;6").strip() or "30;6"
        period, _, size = settings.partition(";")
        if size.upper() == "S":
            raise UnreadableTotp(
                "totp: a Steam Guard key (TOTP Settings ';S') is not standard TOTP",
                "Steam Guard codes cannot be escrowed as TOTP.",
            )
        return keeotp(f"key={quote(seed, safe='')}&step={period or 30}&size={size or 6}")
    secret = _timeotp_secret(fields)
    if secret:
        algorithm = fields.get("TimeOtp-Algorithm", "HMAC-SHA-1").upper().removeprefix("HMAC-")
        return (
            f"otpauth://totp/?secret={secret}&digits={fields.get('TimeOtp-Length', '6').strip() or '6'}"
            f"&period={fields.get('TimeOtp-Period', '30').strip() or '30'}"
            f"&algorithm={algorithm.replace('-', '')}"
        )
    if any(k.startswith("HmacOtp-Secret") for k in fields):
        raise UnreadableTotp(
            "totp: an HOTP (counter-based) key is not TOTP",
            "Re-enrol two-factor with a time-based (TOTP) authenticator.",
        )
    return ""


def count_passkeys(fields: Mapping[str, str]) -> int:
    """1 when a KeePassXC entry holds a passkey (its `KPEX_PASSKEY_*` attributes), else 0."""
    return 1 if any(k.startswith("KPEX_PASSKEY_") for k in fields) else 0


def _timeotp_secret(fields: Mapping[str, str]) -> str:
    """KeePass 2.47's TimeOtp secret in base32 (it may be stored as base32, hex, base64 or UTF-8)."""
    if fields.get("TimeOtp-Secret-Base32", "").strip():
        return fields["TimeOtp-Secret-Base32"].strip().replace(" ", "")
    raw: bytes | None = None
    try:
        if fields.get("TimeOtp-Secret-Hex", "").strip():
            raw = binascii.unhexlify(fields["TimeOtp-Secret-Hex"].strip().replace(" ", ""))
        elif fields.get("TimeOtp-Secret-Base64", "").strip():
            raw = base64.b64decode(fields["TimeOtp-Secret-Base64"].strip(), validate=True)
        elif fields.get("TimeOtp-Secret", ""):
            raw = fields["TimeOtp-Secret"].encode("utf-8")
    except (binascii.Error, ValueError):
        raw = b""
    if raw == b"":
        raise UnreadableTotp("totp: the TimeOtp secret is not valid hex or base64")
    return base64.b32encode(raw).decode("ascii").rstrip("=") if raw else ""


# --------------------------------------------------------------------------------------------------
# Shared readers


def read_csv(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) of every non-empty record of a standard CSV ("" escapes ")."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error:
        raise InputError(f"the CSV export is malformed at line {start}", line=start) from None
    return [(n, r) for n, r in rows if any(c.strip() for c in r)]


def csv_records(
    rows: list[tuple[int, list[str]]], mapping: Mapping[str, str]
) -> Iterable[tuple[int, dict[str, str]]]:
    """Each data row as {our name: cell} through `mapping` (casefolded header -> our name); a row
    whose field count differs from the header's raises InputError naming its line."""
    _, header = rows[0]
    names = [h.strip().casefold() for h in header]
    while names and names[-1] == "" and len(names) > 1:
        names.pop()  # a trailing empty header cell (a spreadsheet's stray comma)
    columns = {mapping[n]: i for i, n in enumerate(names) if n in mapping}
    for lineno, row in rows[1:]:
        cells = row
        if len(cells) > len(names) and not any(c.strip() for c in cells[len(names) :]):
            cells = cells[: len(names)]
        if len(cells) != len(names):
            raise InputError(
                f"CSV line {lineno} has {len(row)} fields but the header has {len(header)}", line=lineno
            )
        yield lineno, {k: cells[i] for k, i in columns.items()}


def parse_columns(
    rows: list[tuple[int, list[str]]],
    mapping: Mapping[str, str],
    collector: Collector,
    *,
    title: str = "title",
    notes: str = "notes",
    totp: str = "",
) -> ParseResult:
    """The whole reader of a plain one-login-a-row CSV (Chrome, Apple, KeePass 2): each row's
    `title`, `url`, `username`, `password`, `notes` and (when the format has one) `totp` column."""
    for lineno, cell in csv_records(rows, mapping):
        collector.add(
            title=cell.get(title, ""),
            where=f"line {lineno}",
            urls=[cell.get("url", "")],
            username=cell.get("username", ""),
            password=cell.get("password", ""),
            totp=any_totp(cell.get(totp, "")) if totp else "",
            notes=cell.get(notes, ""),
            line=lineno,
        )
    return collector.result()


def when(value: Any) -> datetime | None:
    """An export's ISO 8601 date ("2025-01-02T10:00:00Z", "2025-01-02 10:00:00"), UTC when it names
    no zone; None when absent or unreadable (the entry is then judged by its values alone)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """Seconds (or milliseconds) since 1970 as a UTC datetime; None when absent or unreadable."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    try:
        return datetime.fromtimestamp(number / 1000 if millis else number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError("the export has a non-text value where text was expected")
