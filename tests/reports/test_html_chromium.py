"""The HTML reports in a real browser: Debian's headless Chromium opens reports whose data carry
script, image, style and javascript: payloads pointing at a loopback server. Nothing may run and no
request may leave the page; the payloads must show as text; the charts must be there. A screenshot
is taken so the layout can be looked at (copied to $AUDITOR_TEST_ARTIFACTS when set).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.services.reporting import build_report
from reports import render
from tests.reports.conftest import District
from tests.reports.hostile import leak_server, plant

CHROMIUM = "/usr/bin/chromium"
# Read at import: tests/conftest.py clears every AUDITOR_* variable before each test runs.
REQUIRE_CHROMIUM = os.environ.get("AUDITOR_TEST_REQUIRE_CHROMIUM") == "1"
ARTIFACTS = os.environ.get("AUDITOR_TEST_ARTIFACTS")
pytestmark = pytest.mark.chromium


@pytest.fixture(autouse=True)
def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if REQUIRE_CHROMIUM:
            pytest.fail(f"{CHROMIUM} is missing and AUDITOR_TEST_REQUIRE_CHROMIUM=1")
        pytest.skip(f"{CHROMIUM} is not installed")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class Elements(HTMLParser):
    """Every element and attribute name in a DOM, to find anything a payload injected."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_hostile_findings_report_is_inert_in_chromium(district: District, tmp_path: Path) -> None:
    with leak_server() as server:
        p = plant(district, server.base)
        reg = district.open()
        try:
            pages = {
                kind: render(build_report(kind, reg), "html")
                for kind in ("findings", "inventory", "activity")
            }
        finally:
            reg.close()
        dom_by_kind = {}
        for kind, html in pages.items():
            page = tmp_path / f"{kind}.html"
            page.write_bytes(html)
            dumped = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
            assert dumped.returncode == 0, dumped.stderr[-2000:]
            dom_by_kind[kind] = dumped.stdout
        shot = tmp_path / "findings.png"
        taken = chromium(
            tmp_path,
            "--virtual-time-budget=3000",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            (tmp_path / "findings.html").as_uri(),
        )
        assert taken.returncode == 0, taken.stderr[-2000:]
        assert server.paths == [], f"the report made requests: {server.paths}"

    for kind, dom in dom_by_kind.items():
        parsed = Elements()
        parsed.feed(dom)
        # Only the report's own elements: no script, img, iframe or injected style/div anywhere.
        assert not {"script", "img", "iframe", "object", "embed"} & set(parsed.tags), kind
        assert parsed.tags.count("style") == 1, kind  # the report's own stylesheet, nothing injected
        assert not [a for a in parsed.attrs if a[1].startswith("on")], kind
        assert not [a for a in parsed.attrs if a[1] == "href" and not a[2].startswith(("#", "http"))], kind
        assert not [a for a in parsed.attrs if "127.0.0.1" in a[2]], (
            kind
        )  # no attribute carries a payload URL
    # The payloads are there, as text (escaped by the browser when it serialises the DOM).
    findings_dom = dom_by_kind["findings"]
    assert "&lt;style&gt;body{background:url(" in findings_dom  # Tom's name, quoted by finding messages
    assert "&lt;img src=" in findings_dom  # the waiver reason
    inventory_dom = dom_by_kind["inventory"]
    assert "&lt;script&gt;fetch(" in inventory_dom
    assert p["formula"].replace('"', "&quot;") in inventory_dom or "=HYPERLINK(" in inventory_dom
    assert "javascript:fetch(" in inventory_dom  # shown as text, not a link
    assert "\x1b" not in inventory_dom
    assert "&lt;script&gt;fetch(" in dom_by_kind["activity"]  # the reveal reason
    # The charts: by severity, building and platform, and the trend, as inline SVG.
    for chart in ("c-by_severity", "c-by_building", "c-by_platform", "c-trend"):
        assert f'id="{chart}"' in findings_dom
    assert findings_dom.count("<svg") == 4

    width, height = png_size(shot)
    assert (width, height) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # a page with tables and charts, not a blank one
    if ARTIFACTS:
        Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(ARTIFACTS) / "findings-report.png")
