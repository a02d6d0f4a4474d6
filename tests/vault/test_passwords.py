"""Generated passwords have the promised length, classes and unpredictability."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model.errors import UsageError
from auditor.model.types import Secret
from vault.escrow import passwords
from vault.escrow.passwords import AMBIGUOUS, SYMBOLS, PasswordPolicy, generate_password


def test_default_is_long_and_has_every_class() -> None:
    for _ in range(200):
        pw = generate_password()
        assert isinstance(pw, Secret) and repr(pw) == "Secret('****')"
        text = pw.reveal_str()
        assert len(text) == passwords.DEFAULT_LENGTH >= 20
        assert any(c in string.ascii_lowercase for c in text)
        assert any(c in string.ascii_uppercase for c in text)
        assert any(c in string.digits for c in text)
        assert any(c in SYMBOLS for c in text)
        assert set(text) <= set(string.ascii_letters + string.digits + SYMBOLS)


def test_default_symbols_are_form_and_shell_safe() -> None:
    assert not set(SYMBOLS) & set("'\"`\\ \t(){}[]<>|;/")
    assert passwords.PasswordPolicy().entropy_bits() > 140


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(min_value=12, max_value=64),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()).filter(any),
    exclude=st.booleans(),
)
def test_any_policy_is_honoured(length: int, flags: tuple[bool, bool, bool, bool], exclude: bool) -> None:
    lower, upper, digits, symbols = flags
    policy = PasswordPolicy(length, lower, upper, digits, symbols, exclude_ambiguous=exclude)
    text = generate_password(policy).reveal_str()
    assert len(text) == length
    for enabled, alphabet in (
        (lower, string.ascii_lowercase),
        (upper, string.ascii_uppercase),
        (digits, string.digits),
        (symbols, SYMBOLS),
    ):
        present = any(c in alphabet for c in text)
        assert present is enabled
    if exclude:
        assert not set(text) & AMBIGUOUS


def test_no_repeats_over_many_draws() -> None:
    draws = {generate_password(length=12).reveal_str() for _ in range(5000)}
    assert len(draws) == 5000


def test_characters_are_spread_over_positions() -> None:
    # The guaranteed one-per-class characters must not sit at fixed positions.
    first = {
        generate_password(lowercase=True, uppercase=False, digits=True, symbols=False, length=12)
        .reveal_str()[0]
        .isdigit()
        for _ in range(200)
    }
    assert first == {True, False}


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"length": 8}, "between 12 and 256"),
        ({"length": 1000}, "between 12 and 256"),
        ({"lowercase": False, "uppercase": False, "digits": False, "symbols": False}, "no character classes"),
        ({"symbol_set": "! "}, "whitespace"),
    ],
)
def test_bad_policies_are_usage_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        generate_password(**overrides)


def test_passphrase_words_come_from_the_slip39_list() -> None:
    words = set(passwords.wordlist())
    assert len(words) == 1024
    phrase = passwords.generate_passphrase().reveal_str().split("-")
    assert len(phrase) == passwords.DEFAULT_WORDS and set(phrase) <= words
    assert passwords.passphrase_entropy_bits(8) == 80
    assert len({passwords.generate_passphrase().reveal_str() for _ in range(500)}) == 500
    capital = passwords.generate_passphrase(6, separator=" ", capitalize=True).reveal_str().split(" ")
    assert len(capital) == 6 and all(w[0].isupper() for w in capital)
    with pytest.raises(UsageError, match="at least 5 words"):
        passwords.generate_passphrase(3)
