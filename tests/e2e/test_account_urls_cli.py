"""A profile URL pasted where a handle goes (issue 16): `account add`, `account import` and the
credential matching store and find the handle it names, with the platform id when it has one."""

from __future__ import annotations

import json

from tests.e2e.conftest import Cli


def accounts(cli: Cli) -> dict[str, dict[str, str]]:
    items = json.loads(cli.ok("account", "list", "--json").output)["items"]
    return {f"{a['platform']}:{a['handle']}": a for a in items}


def test_account_add_with_a_pasted_url_stores_the_handle(cli: Cli) -> None:
    cli.init()
    cli.ok("account", "add", "instagram", "https://www.instagram.com/NNHS_Athletics/?hl=en")
    cli.ok("account", "add", "mastodon", "https://k12.social/@nnhs")
    got = accounts(cli)
    assert set(got) == {"instagram:NNHS_Athletics", "mastodon:nnhs@k12.social"}
    assert got["instagram:NNHS_Athletics"]["profile_url"] == "https://www.instagram.com/NNHS_Athletics/?hl=en"
    wrong = cli("account", "add", "x", "https://www.instagram.com/nnhs")
    assert wrong.exit_code == 2 and "is a profile URL on Instagram, not on X" in wrong.stderr
    only_id = cli("account", "add", "facebook", "https://business.facebook.com/latest/home?asset_id=1045")
    assert only_id.exit_code == 2 and "only by its id 1045" in only_id.stderr


def test_account_import_reads_urls_in_the_handle_column(cli: Cli) -> None:
    cli.init()
    rows = (
        "platform,handle\n"
        "instagram,https://www.instagram.com/nnhs_athletics/\n"
        "youtube,https://www.youtube.com/@NNHSMedia/featured\n"
        "facebook,https://www.facebook.com/profile.php?id=100064\n"
    )
    bad = cli("account", "import", str(cli.file("accounts.csv", rows)))
    assert (
        bad.exit_code == 1 and "line 4, column handle" in bad.stderr and "only by its id 100064" in bad.stderr
    )
    cli.ok("account", "import", str(cli.file("accounts.csv", "".join(rows.splitlines(keepends=True)[:3]))))
    got = accounts(cli)
    assert set(got) == {"instagram:nnhs_athletics", "youtube:NNHSMedia"}
    assert got["youtube:NNHSMedia"]["profile_url"] == "https://www.youtube.com/@NNHSMedia/featured"


def test_business_suite_url_matches_the_page_by_its_id(cli: Cli) -> None:
    cli.init()
    cli.ok("account", "add", "facebook", "NNHSPage", "--platform-id", "104512345678901")
    export = (
        "name,url,username,password,note\n"
        "NNHS page,https://business.facebook.com/latest/home?asset_id=104512345678901,comms,Fb-Canary-1,\n"
    )
    out = cli.ok("secret", "import", str(cli.file("chrome.csv", export)), "--dry-run").output
    assert "match: NNHS page (line 2) -> " in out and "(by url)" in out and "Fb-Canary-1" not in out
