"""Strong password and passphrase generation for `auditor secret generate`.

Everything draws from `secrets` (the OS CSPRNG). The default password is 24 characters from all
four character classes with at least one of each, because platforms' sign-up forms commonly demand
that; the symbol set is limited to characters every platform we support accepts and that survive
copy-paste into a web form and a shell heredoc (no quotes, backslash, space or backtick). The
passphrase option draws words from the SLIP-39 word list already shipped by `shamir-mnemonic`
(1024 words, unique in their first four letters, so easy to read aloud over the phone).
"""

from __future__ import annotations

import math
import secrets
import string
from dataclasses import dataclass

from auditor.model.errors import UsageError
from auditor.model.types import Secret

LOWERCASE = string.ascii_lowercase
UPPERCASE = string.ascii_uppercase
DIGITS = string.digits
# Accepted by X, Facebook, Instagram, Google/YouTube, Mastodon, Bluesky, TikTok and LinkedIn forms.
SYMBOLS = "!#$%&*+-=?@^_~.:,"
# Characters people misread when a password is read from paper or a screen.
AMBIGUOUS = frozenset("Il1O0o|`'\";:,.S5B8Z2")

DEFAULT_LENGTH = 24
MIN_LENGTH = 12
MAX_LENGTH = 256
DEFAULT_WORDS = 8
MIN_WORDS = 5


@dataclass(frozen=True)
class PasswordPolicy:
    """What a generated password must look like. Defaults suit every platform we support."""

    length: int = DEFAULT_LENGTH
    lowercase: bool = True
    uppercase: bool = True
    digits: bool = True
    symbols: bool = True
    symbol_set: str = SYMBOLS
    exclude_ambiguous: bool = False

    def classes(self) -> list[str]:
        """The enabled character classes, each as its alphabet (ambiguous characters removed)."""
        chosen = [
            alphabet
            for enabled, alphabet in (
                (self.lowercase, LOWERCASE),
                (self.uppercase, UPPERCASE),
                (self.digits, DIGITS),
                (self.symbols, self.symbol_set),
            )
            if enabled
        ]
        if self.exclude_ambiguous:
            chosen = ["".join(c for c in alphabet if c not in AMBIGUOUS) for alphabet in chosen]
        return [_dedupe(a) for a in chosen if a]

    def entropy_bits(self) -> float:
        """A lower bound on the strength: length x log2(alphabet), less the cost of the guarantee."""
        classes = self.classes()
        alphabet = len(set("".join(classes)))
        return self.length * math.log2(alphabet) if alphabet > 1 else 0.0


def _dedupe(alphabet: str) -> str:
    return "".join(dict.fromkeys(alphabet))


def generate_password(policy: PasswordPolicy | None = None, **overrides: object) -> Secret:
    """A random password meeting `policy` (or `PasswordPolicy(**overrides)`), with at least one
    character from each enabled class, positions shuffled so the guaranteed ones are not predictable.
    """
    if policy is None:
        policy = PasswordPolicy(**overrides)  # type: ignore[arg-type]
    elif overrides:
        raise TypeError("give either a policy or keyword overrides, not both")
    classes = policy.classes()
    if not classes:
        raise UsageError("no character classes are enabled for the password")
    if any(c.isspace() for c in policy.symbol_set):
        raise UsageError("the symbol set must not contain whitespace")
    if not MIN_LENGTH <= policy.length <= MAX_LENGTH:
        raise UsageError(
            f"password length must be between {MIN_LENGTH} and {MAX_LENGTH}, not {policy.length}",
            f"The default is {DEFAULT_LENGTH}; use a shorter length only if the platform caps it.",
        )
    if policy.length < len(classes):
        raise UsageError("the password is too short to hold one character of each class")
    alphabet = "".join(classes)
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice(alphabet) for _ in range(policy.length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return Secret("".join(chars))


def wordlist() -> list[str]:
    """The SLIP-39 English word list (1024 words of 4 to 8 letters)."""
    from shamir_mnemonic.wordlist import WORDLIST

    return list(WORDLIST)


def generate_passphrase(words: int = DEFAULT_WORDS, separator: str = "-", capitalize: bool = False) -> Secret:
    """`words` random words joined by `separator`: 10 bits of entropy per word (8 words = 80 bits)."""
    if words < MIN_WORDS:
        raise UsageError(f"a passphrase needs at least {MIN_WORDS} words, not {words}")
    if words > 64:
        raise UsageError("a passphrase of more than 64 words is not useful")
    pool = wordlist()
    chosen = [secrets.choice(pool) for _ in range(words)]
    if capitalize:
        chosen = [w.capitalize() for w in chosen]
    return Secret(separator.join(chosen))


def passphrase_entropy_bits(words: int) -> float:
    return words * math.log2(len(wordlist()))
