"""Break-glass: split a 256-bit key into SLIP-39 word shares, and recover it from enough of them.

The registry's break-glass key wraps the escrow key (docs/escrow.md, "Break-glass"). This module
only splits and recovers that key; wrapping, logging the recovery and rotating the escrow key
afterwards are the registry's job. Shares are SLIP-39 mnemonics made by Trezor's `shamir-mnemonic`
(https://github.com/satoshilabs/slips/blob/master/slip-0039.md): each carries an RS1024 checksum,
the set's identifier and its position, so a mistyped word, a share from another ceremony and a
duplicated envelope are told apart before any arithmetic, and each case gets its own error class.

Two-level thresholds come from SLIP-39 groups: e.g. group threshold 2 over the groups
"superintendent's office: 1 of 2" and "IT: 2 of 3". SLIP-39 forbids 1-of-N groups with N > 1 (all
shares would be equal); we produce one 1-of-1 share and print it N times as numbered copies, which
is exactly what "any one of them" means.

An optional passphrase encrypts the key inside the shares (SLIP-39's Feistel cipher). A wrong
passphrase still yields *a* key, so the registry keeps `key_check(key)` beside the wrapped escrow
key and passes it to `recover`, which then says "wrong passphrase" instead of failing later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.model.errors import AuditorError, UsageError
from auditor.model.types import Secret

KEY_BYTES = 32
MAX_SHARES = 16  # SLIP-39: 4 bits for member and group indices
SHARE_WORDS_256 = 33  # 7 metadata words + 26 value words for a 32-byte key
_KEY_CHECK_INFO = b"auditor break-glass key check v1"


# --------------------------------------------------------------------------------------------------
# Errors


class BreakGlassError(AuditorError):
    """Base of every break-glass error. Messages never contain share words or the passphrase."""


class ShareWordError(BreakGlassError):
    """A share has a word that is not in the SLIP-39 word list, or the wrong number of words."""

    def __init__(self, message: str, hint: str = "", *, share: int = 0, word: int = 0) -> None:
        super().__init__(message, hint)
        self.share = share
        self.word = word


class ShareChecksumError(ShareWordError):
    """A share's words are all valid but its checksum fails: a word is wrong or out of place."""


class DuplicateShareError(BreakGlassError):
    """The same share was entered twice."""


class MixedSharesError(BreakGlassError):
    """Shares from different break-glass sets (or inconsistent, forged ones) were combined."""


class StaleSharesError(MixedSharesError):
    """The shares belong to an earlier break-glass set than the registry's current one."""


class InsufficientSharesError(BreakGlassError):
    """Not enough shares yet. `missing` maps group number (1-based) to shares still needed there."""

    def __init__(
        self, message: str, hint: str = "", *, missing: dict[int, int] | None = None, groups_missing: int = 0
    ) -> None:
        super().__init__(message, hint)
        self.missing = missing or {}
        self.groups_missing = groups_missing


class ForgedShareError(BreakGlassError):
    """The shares are consistent and pass their checksums but do not combine (SLIP-39 digest)."""


class BreakGlassPassphraseError(BreakGlassError):
    """The shares combine, but not to the registry's break-glass key: the passphrase is wrong."""


# --------------------------------------------------------------------------------------------------
# Setup


@dataclass(frozen=True)
class GroupSpec:
    """A group of share holders: `threshold` of its `count` shares are needed."""

    name: str
    threshold: int
    count: int

    def describe(self) -> str:
        who = f"'{self.name}'" if self.name else "shares"
        return f"{who}: {self.threshold} of {self.count}"


@dataclass(frozen=True)
class ShareCard:
    """One printed share, for one sealed envelope. `words` is the secret; the rest is the label."""

    set_id: int
    group_number: int  # 1-based
    group_name: str
    group_threshold: int  # shares of this group needed
    group_count: int
    member_number: int  # 1-based; for a 1-of-N group: the copy number
    groups_needed: int  # SLIP-39 group threshold
    groups_total: int
    words: Secret
    copy_of_one: bool = False

    @property
    def title(self) -> str:
        group = (
            f"group {self.group_number} '{self.group_name}'"
            if self.group_name
            else f"group {self.group_number}"
        )
        what = (
            f"copy {self.member_number} of {self.group_count} (any one copy is enough)"
            if self.copy_of_one
            else f"share {self.member_number} of {self.group_count} ({self.group_threshold} needed)"
        )
        prefix = f"set {self.set_id}"
        if self.groups_total > 1:
            prefix += f", {self.groups_needed} of {self.groups_total} groups needed"
        return f"Break-glass {prefix}: {group}, {what}"

    def printable(self, heading: str = "") -> str:
        """The text for one sheet: heading, label and numbered words in three columns. REVEALS."""
        words = self.words.reveal_str().split()
        rows = (len(words) + 2) // 3
        lines = [heading] if heading else []
        lines += [self.title, ""]
        for r in range(rows):
            cells = [f"{i + 1:>2}. {words[i]:<10}" for i in (r, r + rows, r + 2 * rows) if i < len(words)]
            lines.append("   ".join(cells).rstrip())
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"ShareCard({self.title!r}, words=****)"


@dataclass(frozen=True)
class BreakGlassSplit:
    """The outcome of a ceremony: the cards to print once, and what the registry keeps (all but words)."""

    set_id: int
    group_threshold: int
    groups: tuple[GroupSpec, ...]
    cards: tuple[ShareCard, ...]
    key_check: str
    warnings: tuple[str, ...] = field(default=())

    def public_metadata(self) -> dict[str, object]:
        """What the registry stores beside the wrapped escrow key (no share, no key)."""
        return {
            "set_id": self.set_id,
            "group_threshold": self.group_threshold,
            "groups": [{"name": g.name, "threshold": g.threshold, "count": g.count} for g in self.groups],
            "key_check": self.key_check,
        }

    def describe(self) -> str:
        if len(self.groups) == 1:
            g = self.groups[0]
            return f"{g.threshold} of {g.count} shares"
        inner = ", ".join(g.describe() for g in self.groups)
        return f"{self.group_threshold} of {len(self.groups)} groups ({inner})"


def new_key() -> Secret:
    """A fresh 256-bit break-glass key from the OS CSPRNG."""
    return Secret(secrets.token_bytes(KEY_BYTES))


def key_check(key: Secret | bytes) -> str:
    """A non-secret fingerprint of the key (HMAC of a constant), to tell a wrong passphrase apart."""
    raw = _key_bytes(key)
    return hmac.new(raw, _KEY_CHECK_INFO, hashlib.sha256).hexdigest()[:32]


def single_group(threshold: int, shares: int, name: str = "") -> tuple[GroupSpec, ...]:
    """`--shares N --threshold K`: one group, K of N."""
    return (GroupSpec(name, threshold, shares),)


_GROUP_RE = re.compile(r"^\s*(?P<name>.*?)\s*[:=]\s*(?P<k>\d+)\s*(?:of|/)\s*(?P<n>\d+)\s*$", re.IGNORECASE)


def parse_group(text: str) -> GroupSpec:
    """Parse a `--group` option: "Superintendent's office:1of2", "IT=2/3"."""
    m = _GROUP_RE.match(text)
    if not m:
        raise UsageError(
            f"cannot read the group {text!r}", 'Write NAME:KofN, for example "IT:2of3" (2 of 3 IT staff).'
        )
    return GroupSpec(m["name"], int(m["k"]), int(m["n"]))


def split(
    key: Secret | bytes,
    groups: Sequence[GroupSpec],
    group_threshold: int = 1,
    *,
    passphrase: Secret | None = None,
    iteration_exponent: int = 1,
) -> BreakGlassSplit:
    """Split `key` into SLIP-39 shares: any `group_threshold` groups, each meeting its own threshold.

    Raises UsageError for impossible thresholds (checked here, before shamir_mnemonic's ValueErrors).
    """
    import shamir_mnemonic

    raw = _key_bytes(key)
    if len(raw) not in (16, 32):
        raise UsageError("the break-glass key must be 16 or 32 bytes")
    _validate(groups, group_threshold)
    phrase = _passphrase(passphrase)
    # 1-of-N is printed as N copies of one 1-of-1 share (see module docstring).
    slip_groups = [(1, 1) if g.threshold == 1 else (g.threshold, g.count) for g in groups]
    mnemonics = shamir_mnemonic.generate_mnemonics(
        group_threshold, slip_groups, raw, passphrase=phrase, iteration_exponent=iteration_exponent
    )
    set_id = shamir_mnemonic.Share.from_mnemonic(mnemonics[0][0]).identifier
    cards: list[ShareCard] = []
    for gi, (spec, group_mnemonics) in enumerate(zip(groups, mnemonics, strict=True), start=1):
        copies = spec.threshold == 1
        words_list = [group_mnemonics[0]] * spec.count if copies else group_mnemonics
        for mi, words in enumerate(words_list, start=1):
            cards.append(
                ShareCard(
                    set_id=set_id,
                    group_number=gi,
                    group_name=spec.name,
                    group_threshold=spec.threshold,
                    group_count=spec.count,
                    member_number=mi,
                    groups_needed=group_threshold,
                    groups_total=len(groups),
                    words=Secret(words),
                    copy_of_one=copies and spec.count > 1,
                )
            )
    return BreakGlassSplit(
        set_id=set_id,
        group_threshold=group_threshold,
        groups=tuple(groups),
        cards=tuple(cards),
        key_check=key_check(raw),
        warnings=tuple(_warnings(groups, group_threshold)),
    )


def _validate(groups: Sequence[GroupSpec], group_threshold: int) -> None:
    if not groups:
        raise UsageError("at least one group of share holders is needed")
    if len(groups) > MAX_SHARES:
        raise UsageError(f"SLIP-39 allows at most {MAX_SHARES} groups, not {len(groups)}")
    if not 1 <= group_threshold <= len(groups):
        raise UsageError(
            f"the group threshold must be between 1 and the number of groups ({len(groups)}), "
            f"not {group_threshold}"
        )
    names = [g.name.casefold() for g in groups if g.name]
    if len(names) != len(set(names)):
        raise UsageError("two groups have the same name")
    for n, g in enumerate(groups, start=1):
        label = f"group '{g.name}'" if g.name else f"group {n}"
        if not 1 <= g.count <= MAX_SHARES:
            raise UsageError(
                f"{label}: the number of shares must be between 1 and {MAX_SHARES}, not {g.count}"
            )
        if not 1 <= g.threshold <= g.count:
            raise UsageError(
                f"{label}: the threshold must be between 1 and its number of shares ({g.count}), "
                f"not {g.threshold}"
            )


def _warnings(groups: Sequence[GroupSpec], group_threshold: int) -> list[str]:
    out: list[str] = []
    if group_threshold == 1 and any(g.threshold == 1 for g in groups):
        out.append("a single envelope opens the escrow on its own; consider a threshold of at least 2")
    if group_threshold == len(groups) and all(g.threshold == g.count for g in groups):
        out.append("every share is needed: losing one envelope locks break-glass out")
    return out


def _key_bytes(key: Secret | bytes) -> bytes:
    raw = key.reveal() if isinstance(key, Secret) else key
    return raw if isinstance(raw, bytes) else raw.encode()


def _passphrase(passphrase: Secret | None) -> bytes:
    if passphrase is None:
        return b""
    text = passphrase.reveal_str()
    if not all(32 <= ord(c) <= 126 for c in text):
        raise UsageError(
            "the break-glass passphrase must use printable ASCII characters only (SLIP-39)",
            "Avoid accented letters and emoji; spaces are fine.",
        )
    return text.encode("ascii")


# --------------------------------------------------------------------------------------------------
# Recovery


@dataclass(frozen=True)
class ShareInfo:
    """What a share says about itself (no secret): for progress messages during recovery."""

    set_id: int
    group_number: int  # 1-based
    groups_needed: int
    groups_total: int
    member_number: int  # 1-based
    member_threshold: int


class RecoverySession:
    """Collect shares one at a time (the interactive `breakglass recover`), then `finish()`.

    `groups` (from `BreakGlassSplit.public_metadata`) adds names and thresholds of groups that no
    share has been seen from yet; `expected_set_id` and `expected_check` bind recovery to the
    registry's current set so stale shares and a wrong passphrase get their own errors.
    """

    def __init__(
        self,
        *,
        groups: Sequence[GroupSpec] = (),
        expected_set_id: int | None = None,
        expected_check: str | None = None,
    ) -> None:
        self._groups = tuple(groups)
        self._expected_set_id = expected_set_id
        self._expected_check = expected_check
        self._shares: list[tuple[int, Any, str]] = []  # (entry number, Share, normalised words)

    def __repr__(self) -> str:
        return f"RecoverySession(shares={len(self._shares)})"

    def add(self, mnemonic: str | Secret) -> ShareInfo:
        """Check one share and keep it. Raises ShareWordError, ShareChecksumError, MixedSharesError,
        StaleSharesError or DuplicateShareError; the session is unchanged on error."""
        from shamir_mnemonic import MnemonicError, Share

        number = len(self._shares) + 1
        words = normalise_words(mnemonic, share_number=number)
        # Translate outside the except block: MnemonicError's text quotes share words.
        share, problem = None, ""
        try:
            share = Share.from_mnemonic(words)
        except MnemonicError as exc:
            problem = str(exc)
        if share is None:
            raise _translate(problem, number, len(words.split()))
        info = _info(share)
        if self._expected_set_id is not None and share.identifier != self._expected_set_id:
            raise StaleSharesError(
                f"share {number} belongs to break-glass set {share.identifier}, but this registry's "
                f"current set is {self._expected_set_id}: it is from an earlier ceremony and opens nothing",
                "Use the envelopes from the latest `auditor breakglass setup`.",
            )
        for prev_number, prev, prev_words in self._shares:
            if prev.common_parameters() != share.common_parameters():
                if prev.identifier != share.identifier:
                    raise MixedSharesError(
                        f"share {number} belongs to break-glass set {share.identifier}, but share "
                        f"{prev_number} belongs to set {prev.identifier}: shares of different sets "
                        "cannot be combined",
                        "Use envelopes from the same ceremony; the set number is printed on each.",
                    )
                raise MixedSharesError(
                    f"share {number} disagrees with share {prev_number} about the set's thresholds: "
                    "one of them is forged or damaged"
                )
            if prev.group_index == share.group_index:
                if prev.member_threshold != share.member_threshold:
                    raise MixedSharesError(
                        f"share {number} disagrees with share {prev_number} about group "
                        f"{info.group_number}'s threshold: one of them is forged or damaged"
                    )
                if prev.index == share.index:
                    if prev_words == words:
                        raise DuplicateShareError(
                            f"share {number} is the same share as share {prev_number} "
                            f"(group {info.group_number}, share {info.member_number}); it counts once",
                            "Enter a share from a different envelope.",
                        )
                    raise MixedSharesError(
                        f"share {number} and share {prev_number} claim the same place (group "
                        f"{info.group_number}, share {info.member_number}) with different words: "
                        "one of them is forged"
                    )
        self._shares.append((number, share, words))
        return info

    # ---- progress -------------------------------------------------------------------------------

    def _by_group(self) -> dict[int, list[Any]]:
        groups: dict[int, list[Any]] = {}
        for _, share, _ in self._shares:
            groups.setdefault(share.group_index, []).append(share)
        return groups

    def _group_label(self, index: int) -> str:
        if index < len(self._groups) and self._groups[index].name:
            return f"group {index + 1} '{self._groups[index].name}'"
        return f"group {index + 1}"

    @property
    def is_complete(self) -> bool:
        return self._missing() is None

    def _missing(self) -> InsufficientSharesError | None:
        if not self._shares:
            return InsufficientSharesError("no shares were entered", "Enter the words of one share per line.")
        first = self._shares[0][1]
        group_threshold: int = first.group_threshold
        group_count: int = first.group_count
        by_group = self._by_group()
        complete = [g for g, shares in by_group.items() if len(shares) >= shares[0].member_threshold]
        if len(complete) >= group_threshold:
            return None
        groups_missing = group_threshold - len(complete)
        missing = {
            g + 1: shares[0].member_threshold - len(shares)
            for g, shares in sorted(by_group.items())
            if g not in complete
        }
        if group_count == 1:
            only = by_group[0]
            need = only[0].member_threshold
            return InsufficientSharesError(
                f"{len(only)} of the {need} shares needed were entered: {need - len(only)} more "
                f"share{'s' if need - len(only) != 1 else ''} needed",
                missing=missing,
                groups_missing=1,
            )
        parts = [
            f"{self._group_label(g - 1)} needs {n} more share{'s' if n != 1 else ''}"
            for g, n in missing.items()
        ]
        unstarted = [g for g in range(group_count) if g not in by_group]
        if len(missing) < groups_missing or unstarted:
            names = []
            for g in unstarted:
                label = self._group_label(g)
                if g < len(self._groups):
                    label += f" ({self._groups[g].threshold} of {self._groups[g].count})"
                names.append(label)
            if names:
                parts.append("no share yet from " + ", ".join(names))
        done = ", ".join(self._group_label(g) for g in sorted(complete)) or "none"
        return InsufficientSharesError(
            f"shares from {group_threshold} of the {group_count} groups are needed and "
            f"{len(complete)} {'is' if len(complete) == 1 else 'are'} complete ({done}); "
            f"{groups_missing} more group{'s' if groups_missing != 1 else ''} needed: " + "; ".join(parts),
            missing=missing,
            groups_missing=groups_missing,
        )

    def progress(self) -> str:
        """A sentence for the prompt: what is still needed, or that the set is complete."""
        missing = self._missing()
        return missing.message if missing else "enough shares were entered"

    def finish(self, passphrase: Secret | None = None) -> Secret:
        """Combine the shares into the key. Raises InsufficientSharesError, ForgedShareError or
        BreakGlassPassphraseError (only when `expected_check` was given)."""
        from shamir_mnemonic import MnemonicError
        from shamir_mnemonic.shamir import ShareGroup, recover_ems

        missing = self._missing()
        if missing is not None:
            raise missing
        first = self._shares[0][1]
        reduced: dict[int, ShareGroup] = {}
        for index, shares in sorted(self._by_group().items()):
            threshold = shares[0].member_threshold
            if len(shares) < threshold or len(reduced) >= first.group_threshold:
                continue
            group = ShareGroup()
            for share in shares[:threshold]:
                group.add(share)
            reduced[index] = group
        try:
            ems = recover_ems(reduced)
            key = ems.decrypt(_passphrase(passphrase))
        except MnemonicError:
            raise ForgedShareError(
                "the shares pass their checksums but do not combine: one of them is forged or was "
                "altered consistently",
                "Try a different combination of envelopes and report the event.",
            ) from None
        if self._expected_check is not None and not hmac.compare_digest(key_check(key), self._expected_check):
            raise BreakGlassPassphraseError(
                "the shares combine, but not to this registry's break-glass key: the passphrase is wrong",
                "The passphrase was chosen at the ceremony; it is case-sensitive.",
            )
        return Secret(key)


def recover(
    mnemonics: Sequence[str | Secret],
    passphrase: Secret | None = None,
    *,
    groups: Sequence[GroupSpec] = (),
    expected_set_id: int | None = None,
    expected_check: str | None = None,
) -> Secret:
    """Recover the key from a list of shares (see RecoverySession for the errors)."""
    session = RecoverySession(groups=groups, expected_set_id=expected_set_id, expected_check=expected_check)
    for mnemonic in mnemonics:
        session.add(mnemonic)
    return session.finish(passphrase)


def inspect(mnemonic: str | Secret) -> ShareInfo:
    """Read a share's label (set, group, position) after checking its words and checksum."""
    return RecoverySession().add(mnemonic)


def normalise_words(mnemonic: str | Secret, *, share_number: int = 1) -> str:
    """Lower-case, single-spaced words; a word may be typed as its first four letters or more
    (SLIP-39 words are unique in their first four). Raises ShareWordError naming the position only."""
    from shamir_mnemonic.wordlist import WORD_INDEX_MAP

    text = mnemonic.reveal_str() if isinstance(mnemonic, Secret) else mnemonic
    # Printed cards number their words ("1. academic"): drop the numbers.
    tokens = [t for t in re.split(r"[\s,]+", text.lower()) if t and not re.fullmatch(r"\d+[.)]?", t)]
    if not tokens:
        raise ShareWordError(f"share {share_number} is empty", share=share_number)
    words: list[str] = []
    for position, token in enumerate(tokens, start=1):
        if token in WORD_INDEX_MAP:
            words.append(token)
            continue
        matches = (
            [w for w in _prefix_index().get(token[:4], ()) if w.startswith(token)] if len(token) >= 4 else []
        )
        if len(matches) != 1:
            raise ShareWordError(
                f"share {share_number}, word {position} is not a SLIP-39 word",
                "Check the spelling against the envelope; the first four letters are enough.",
                share=share_number,
                word=position,
            )
        words.append(matches[0])
    return " ".join(words)


_PREFIXES: dict[str, tuple[str, ...]] = {}


def _prefix_index() -> dict[str, tuple[str, ...]]:
    if not _PREFIXES:
        from shamir_mnemonic.wordlist import WORDLIST

        grouped: dict[str, list[str]] = {}
        for w in WORDLIST:
            grouped.setdefault(w[:4], []).append(w)
        _PREFIXES.update({k: tuple(v) for k, v in grouped.items()})
    return _PREFIXES


def _info(share: Any) -> ShareInfo:
    return ShareInfo(
        set_id=share.identifier,
        group_number=share.group_index + 1,
        groups_needed=share.group_threshold,
        groups_total=share.group_count,
        member_number=share.index + 1,
        member_threshold=share.member_threshold,
    )


def _translate(text: str, number: int, word_count: int) -> BreakGlassError:
    """Turn shamir_mnemonic's MnemonicError text (which may quote words) into our own message."""
    if "checksum" in text:
        return ShareChecksumError(
            f"share {number} fails its checksum: a word is wrong, missing or out of order",
            "Compare each word with the envelope, in order.",
            share=number,
        )
    if "padding" in text:
        return ShareChecksumError(
            f"share {number} does not encode a valid share (its padding is wrong): a word is wrong",
            "Compare each word with the envelope, in order.",
            share=number,
        )
    if "length" in text:
        return ShareWordError(
            f"share {number} has {word_count} words, which is not a valid share length "
            f"(break-glass shares have {SHARE_WORDS_256} words)",
            "A word may be missing or doubled.",
            share=number,
        )
    return ShareWordError(f"share {number} is not a valid SLIP-39 share", share=number)
