"""The shape of the code base (docs/design.md): the required top-level layout, and no folder
grown so large that a newcomer cannot tell what lives in it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("auditor", "connectors", "vault", "reports")
MAX_SHARE = 0.15  # of all code lines, per folder (its own files; subfolders count apart)


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_required_top_level_layout_exists() -> None:
    for name in ("pyproject.toml", *PACKAGES, "tests"):
        assert (ROOT / name).exists(), name


def test_no_folder_holds_more_than_15_percent_of_the_code() -> None:
    per_folder: dict[str, int] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            folder = str(path.parent.relative_to(ROOT))
            per_folder[folder] = per_folder.get(folder, 0) + _lines(path)
    total = sum(per_folder.values())
    too_big = {f: f"{n / total:.1%}" for f, n in per_folder.items() if n > MAX_SHARE * total}
    assert not too_big, f"folders over {MAX_SHARE:.0%} of {total} lines: {too_big}"
