"""auditor/model/safetext.py skips its regular expressions for plain ASCII text (printable, newline,
tab): that shortcut must never let through a character the expressions would have changed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import safetext
from auditor.model.safetext import inert, json_safe, strip_controls

# Mostly ASCII (where the shortcut applies), with every control, DEL, C1, bidi and separator mixed in.
_TRICKY = [chr(c) for c in range(0x20)] + [
    "\x7f",
    "\x85",
    "\x9b",
    "\u202e",
    "\u2066",
    "\u2028",
    "\u061c",
    "é",
]
texts = st.text(st.sampled_from([*map(chr, range(0x20, 0x7F)), *_TRICKY]), max_size=40)


@settings(max_examples=400)
@given(texts)
def test_the_shortcut_gives_what_the_expressions_give(text: str) -> None:
    assert inert(text) == safetext._INERT.sub(safetext._visible, text)
    assert strip_controls(text) == safetext._CONTROL.sub(" ", text)
    assert json_safe(text) == safetext._JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def test_each_dangerous_character_alone_in_plain_text_is_still_caught() -> None:
    for ch in _TRICKY[:-1]:
        text = f"plain {ch} text"
        if ch not in "\n\t":
            assert ch not in inert(text), repr(ch)
        if ch != "\n":
            assert ch not in strip_controls(text), repr(ch)
    assert inert("line\r\n") == "line\r\n"  # a CR ending a line stays
    assert inert("a\rb") == "a\\rb"
    assert json_safe('"\x7f"') == '"\\u007f"'
