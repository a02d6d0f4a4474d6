"""Bitwarden and KeePass(XC) imports: realistic export files, URL/handle matching, all-or-nothing."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.model.errors import InputError
from auditor.model.types import Account, Platform
from vault.escrow import credential_import as ci
from vault.escrow.credential_import import ProfileKey, profile_key

SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's SHA-1 key, so codes are known answers
PW = {
    "ig": "Canary-IG-pass-1!",
    "x": "Canary-X-pass-2!",
    "yt": "Canary-YT-pass-3!",
    "bsky": "Canary-BSKY-pass-4!",
    "masto": "Canary-MASTO-pass-5!",
    "fb": "Canary-FB-pass-6!",
    "tt": "Canary-TT-pass-7!",
    "amazon": "Canary-AMAZON-pass-8!",
    "ghost": "Canary-GHOST-pass-9!",
}
CODE = "canary-code-4455"


def make_account(**overrides: Any) -> Account:
    data: dict[str, Any] = {"id": "acct", "platform": Platform.INSTAGRAM, "handle": "lincolnhs"}
    data.update(overrides)
    return Account(**data)


ACCOUNTS = [
    make_account(id="a-ig", platform=Platform.INSTAGRAM, handle="@LincolnHS_Athletics"),
    make_account(id="a-x", platform=Platform.X, handle="@LincolnHS", profile_url="https://x.com/LincolnHS"),
    make_account(id="a-yt", platform=Platform.YOUTUBE, handle="@LincolnHSMedia"),
    make_account(id="a-bsky", platform=Platform.BLUESKY, handle="lincolnhs.bsky.social"),
    make_account(
        id="a-masto",
        platform=Platform.MASTODON,
        handle="@lincolnhs",
        profile_url="https://k12.social/@lincolnhs",
    ),
    make_account(
        id="a-fb",
        platform=Platform.FACEBOOK,
        handle="LincolnHighSchool",
        login_email="comms@lincoln.k12.example",
    ),
    make_account(id="a-tt", platform=Platform.TIKTOK, handle="@lincoln_hs_band"),
]


def bitwarden_export() -> dict[str, Any]:
    def login(
        name: str, uris: list[str], username: str, password: str, totp: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": f"id-{name}",
            "organizationId": None,
            "folderId": None,
            "type": 1,
            "reprompt": 0,
            "name": name,
            "notes": extra.pop("notes", None),
            "favorite": False,
            "fields": extra.pop("fields", []),
            "login": {
                "uris": [{"match": None, "uri": u} for u in uris],
                "username": username,
                "password": password,
                "totp": totp,
            },
            "collectionIds": None,
        }

    return {
        "encrypted": False,
        "folders": [{"id": "f1", "name": "Social media"}],
        "items": [
            login(
                "Instagram - Athletics",
                ["https://www.Instagram.com/lincolnhs_athletics/"],
                "lincolnhs_athletics",
                PW["ig"],
                f"otpauth://totp/Instagram:lincolnhs_athletics?secret={SEED}&issuer=Instagram",
                notes="Coach Rivera owns the phone number",
                fields=[
                    {
                        "name": "Recovery codes",
                        "value": f"{CODE}\n2222 3333\n4444 5555",
                        "type": 1,
                        "linkedId": None,
                    },
                    {
                        "name": "Recovery email",
                        "value": "athletics@lincoln.k12.example",
                        "type": 0,
                        "linkedId": None,
                    },
                    {"name": "Security question", "value": "Canary-answer", "type": 1, "linkedId": None},
                ],
            ),
            login("Twitter", ["https://mobile.twitter.com/lincolnhs"], "lincolnhs", PW["x"], SEED.lower()),
            login("YouTube channel", ["youtube.com/@LincolnHSMedia"], "media@lincoln.k12.example", PW["yt"]),
            login(
                "Bluesky",
                ["https://bsky.app/profile/lincolnhs.bsky.social"],
                "lincolnhs.bsky.social",
                PW["bsky"],
            ),
            login("Mastodon", ["https://k12.social/@lincolnhs"], "lincolnhs", PW["masto"]),
            login(
                "Facebook page", ["https://www.facebook.com/login.php"], "Comms@Lincoln.k12.example", PW["fb"]
            ),
            login("Band TikTok (@lincoln_hs_band)", [], "band-director", PW["tt"]),
            login("Amazon (personal)", ["https://www.amazon.com/"], "someone", PW["amazon"]),
            login("Old IG account", ["https://instagram.com/lincolnhs_old"], "lincolnhs_old", PW["ghost"]),
            {"type": 3, "name": "District P-card", "card": {"number": "4111111111111111"}},
            {"type": 2, "name": "Wifi note", "notes": "Canary-wifi", "secureNote": {"type": 0}},
        ],
    }


def _assert_no_secrets(*texts: str) -> None:
    joined = "\n".join(texts)
    for secret in (
        *PW.values(),
        CODE,
        SEED,
        SEED.lower(),
        "Canary-answer",
        "Canary-wifi",
        "4111111111111111",
    ):
        assert secret not in joined, f"secret {secret!r} leaked"


def test_bitwarden_export_parses_and_matches(tmp_path: Path) -> None:
    path = tmp_path / "bitwarden_export_20250203.json"
    path.write_text(json.dumps(bitwarden_export(), indent=2), encoding="utf-8")
    parsed = ci.load(path)
    assert [e.title for e in parsed.entries][:2] == ["Instagram - Athletics", "Twitter"]
    assert parsed.skipped == (
        "District P-card (item 10): not a login item",
        "Wifi note (item 11): not a login item",
    )
    plan = ci.match(parsed, ACCOUNTS)
    got = {m.account_id: (m.entry.title, m.by) for m in plan.matched}
    assert got == {
        "a-ig": ("Instagram - Athletics", "url"),
        "a-x": ("Twitter", "url"),
        "a-yt": ("YouTube channel", "url"),
        "a-bsky": ("Bluesky", "url"),
        "a-masto": ("Mastodon", "url"),
        "a-fb": ("Facebook page", "login"),
        "a-tt": ("Band TikTok (@lincoln_hs_band)", "handle"),
    }
    assert plan.unmatched == (
        "Amazon (personal) (item 8): no account matches its URL, username or title",
        "Old IG account (item 9): its profile URL matches no account in the registry",
    )
    assert plan.ambiguous == () and not plan.is_clean
    lines = plan.summary_lines({"a-ig": "Instagram account @LincolnHS_Athletics"})
    assert lines[:2] == ["Format: Bitwarden JSON", "7 matched, 0 ambiguous, 2 unmatched, 2 skipped"]
    assert (
        "  match: Instagram - Athletics (item 1) -> Instagram account @LincolnHS_Athletics (by url, TOTP)"
        in lines
    )
    _assert_no_secrets(*lines, repr(plan), *plan.unmatched, *plan.skipped)


def test_bitwarden_bundle_contents_and_totp_preserved() -> None:
    parsed = ci.parse_bitwarden(json.dumps(bitwarden_export()))
    ig = parsed.entries[0].bundle
    assert ig.password is not None and ig.password.reveal_str() == PW["ig"]
    assert ig.login == "lincolnhs_athletics"
    assert [c.code.reveal_str() for c in ig.recovery_codes] == [CODE, "2222 3333", "4444 5555"]
    assert ig.recovery_email == "athletics@lincoln.k12.example"
    assert ig.notes is not None and ig.notes.reveal_str() == (
        "Coach Rivera owns the phone number\nSecurity question: Canary-answer"
    )
    # RFC 6238 Appendix B, SHA-1, cut to 6 digits: 94287082 -> 287082
    assert ig.totp_now(datetime.fromtimestamp(59, UTC)) == ("287082", 1)
    x = parsed.entries[1].bundle
    key = x.otp()
    assert key is not None and key.issuer == "Twitter" and key.account == "lincolnhs"
    assert x.totp_now(datetime.fromtimestamp(59, UTC)) == ("287082", 1)


KEEPASSXC_HEADER = [
    "Group",
    "Title",
    "Username",
    "Password",
    "URL",
    "Notes",
    "TOTP",
    "Icon",
    "Last Modified",
    "Created",
]


def keepassxc_rows() -> list[list[str]]:
    otp = f"otpauth://totp/Instagram:lincolnhs_athletics?secret={SEED}&period=30&digits=6&issuer=Instagram"
    return [
        KEEPASSXC_HEADER,
        [
            "Root/Social",
            "Athletics IG",
            "lincolnhs_athletics",
            PW["ig"],
            "https://instagram.com/LincolnHS_Athletics",
            "Owner: Coach Rivera\nBackup phone in the AD office",
            otp,
            "0",
            "2025-01-02T10:00:00Z",
            "2024-08-01T10:00:00Z",
        ],
        ["Root/Social", "X / Twitter", "LincolnHS", PW["x"], "https://x.com/lincolnhs/", "", "", "0", "", ""],
        ["Root/Social", "Ghost", "ghost", PW["ghost"], "", "", "", "0", "", ""],
        ["Root", "Empty entry", "", "", "", "", "", "0", "", ""],
    ]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def test_keepassxc_csv(tmp_path: Path) -> None:
    parsed = ci.load(_write_csv(tmp_path / "keepassxc.csv", keepassxc_rows()))
    assert [(e.title, e.location, e.source) for e in parsed.entries] == [
        ("Athletics IG", "line 2", "keepassxc"),
        ("X / Twitter", "line 4", "keepassxc"),  # the notes of line 2 span two lines
        ("Ghost", "line 5", "keepassxc"),
    ]
    assert parsed.skipped == ("Empty entry (line 6): no password, TOTP or recovery codes",)
    ig = parsed.entries[0].bundle
    assert ig.totp_now(datetime.fromtimestamp(59, UTC)) == ("287082", 1)
    assert ig.notes is not None and "Backup phone" in ig.notes.reveal_str()
    plan = ci.match(parsed.entries, ACCOUNTS)
    assert {m.account_id: m.by for m in plan.matched} == {"a-ig": "url", "a-x": "url"}
    assert plan.unmatched == ("Ghost (line 5): no account matches its URL, username or title",)
    _assert_no_secrets(*plan.summary_lines())


def test_keepass2_csv_and_keeotp_style_totp(tmp_path: Path) -> None:
    rows = [
        ["Account", "Login Name", "Password", "Web Site", "Comments"],
        [
            "Lincoln Bluesky",
            "lincolnhs.bsky.social",
            PW["bsky"],
            "bsky.app/profile/LincolnHS.bsky.social",
            "n",
        ],
        ["Facebook", "comms@lincoln.k12.example", PW["fb"], "", ""],
    ]
    parsed = ci.load(_write_csv(tmp_path / "keepass2.csv", rows))
    assert [e.source for e in parsed.entries] == ["keepass", "keepass"]
    plan = ci.match(parsed, ACCOUNTS)
    assert {m.account_id: m.by for m in plan.matched} == {"a-bsky": "url", "a-fb": "login"}
    totp_rows = [KEEPASSXC_HEADER[:7], ["G", "IG", "u", PW["ig"], "", "", f"key={SEED}&step=30&size=8"]]
    bundle = ci.parse_keepass_csv(_csv_text(totp_rows)).entries[0].bundle
    assert bundle.totp_now(datetime.fromtimestamp(59, UTC)) == ("94287082", 1)


def _csv_text(rows: list[list[str]]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL).writerows(rows)
    return buf.getvalue()


def test_two_entries_for_one_account_are_ambiguous_not_half_imported() -> None:
    rows = [
        KEEPASSXC_HEADER[:7],
        ["G", "IG main", "a", PW["ig"], "https://instagram.com/lincolnhs_athletics", "", ""],
        ["G", "IG copy", "b", PW["ghost"], "https://www.instagram.com/LincolnHS_Athletics/", "", ""],
    ]
    plan = ci.match(ci.parse_keepass_csv(_csv_text(rows)), ACCOUNTS)
    assert plan.matched == ()
    assert [a.label for a in plan.ambiguous] == [
        "IG main (line 2): a-ig is also matched by IG copy (line 3)",
        "IG copy (line 3): a-ig is also matched by IG main (line 2)",
    ]
    _assert_no_secrets(*plan.summary_lines())


def test_handle_on_two_platforms_is_ambiguous_unless_the_title_names_one() -> None:
    accounts = [
        make_account(id="ig", platform=Platform.INSTAGRAM, handle="lincolnband"),
        make_account(id="tt", platform=Platform.TIKTOK, handle="lincolnband"),
    ]
    rows = [
        KEEPASSXC_HEADER[:7],
        ["G", "Band @lincolnband", "", PW["tt"], "", "", ""],
        ["G", "Band TikTok @lincolnband", "", PW["tt"], "", "", ""],
    ]
    plan = ci.match(ci.parse_keepass_csv(_csv_text(rows)), accounts)
    assert [(a.entry.title, a.account_ids) for a in plan.ambiguous] == [("Band @lincolnband", ("ig", "tt"))]
    assert [(m.entry.title, m.account_id) for m in plan.matched] == [("Band TikTok @lincolnband", "tt")]


@pytest.mark.parametrize(
    "url,key",
    [
        ("https://twitter.com/LincolnHS", ProfileKey(Platform.X, "lincolnhs")),
        ("http://www.x.com/lincolnhs/", ProfileKey(Platform.X, "lincolnhs")),
        ("https://x.com/i/flow/login", ProfileKey(Platform.X)),
        (
            "https://m.facebook.com/LincolnHighSchool?ref=bookmarks",
            ProfileKey(Platform.FACEBOOK, "lincolnhighschool"),
        ),
        (
            "https://www.facebook.com/profile.php?id=100064",
            ProfileKey(Platform.FACEBOOK, platform_id="100064"),
        ),
        ("https://www.instagram.com/accounts/login/", ProfileKey(Platform.INSTAGRAM)),
        ("instagram.com/lincolnhs_athletics", ProfileKey(Platform.INSTAGRAM, "lincolnhs_athletics")),
        ("https://www.youtube.com/@LincolnHSMedia/videos", ProfileKey(Platform.YOUTUBE, "lincolnhsmedia")),
        ("https://youtube.com/channel/UCabc123", ProfileKey(Platform.YOUTUBE, platform_id="UCabc123")),
        ("https://bsky.app/profile/did:plc:abc", ProfileKey(Platform.BLUESKY, platform_id="did:plc:abc")),
        ("https://www.tiktok.com/@lincoln_hs_band?lang=en", ProfileKey(Platform.TIKTOK, "lincoln_hs_band")),
        ("https://www.threads.net/@lincolnhs", ProfileKey(Platform.THREADS, "lincolnhs")),
        ("https://www.linkedin.com/school/lincoln-hs/", ProfileKey(Platform.LINKEDIN, "lincoln-hs")),
        ("https://mastodon.social/@LincolnHS", ProfileKey(Platform.MASTODON, "lincolnhs@mastodon.social")),
        ("https://www.amazon.com/", None),
        ("", None),
    ],
)
def test_profile_keys(url: str, key: ProfileKey | None) -> None:
    assert profile_key(url) == key


def test_normalise_url() -> None:
    assert ci.normalise_url("HTTPS://www.Twitter.com/LincolnHS/") == "x.com/lincolnhs"
    assert ci.normalise_url("m.facebook.com/Page?x=1#top") == "facebook.com/page"


# --------------------------------------------------------------------------------------------------
# All or nothing: malformed input names the row and leaks nothing


def _bw_with(item_changes: dict[str, Any], login_changes: dict[str, Any] | None = None) -> str:
    data = bitwarden_export()
    if login_changes:
        data["items"][2]["login"].update(login_changes)
    data["items"][2].update(item_changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"encrypted": true, "encKeyValidation_DO_NOT_EDIT": "2.x"}', "encrypted Bitwarden export"),
        ('{"items": [', "not valid JSON"),
        ('{"folders": []}', "no items list"),
        (_bw_with({}, {"totp": "steam://" + SEED}), "YouTube channel \\(item 3\\): totp: not an otpauth"),
        (
            _bw_with({}, {"totp": PW["yt"]}),
            "YouTube channel \\(item 3\\): totp: TOTP seed is not valid base32",
        ),
        (
            _bw_with({"fields": [{"name": "Recovery email", "value": PW["yt"], "type": 1}]}),
            "item 3\\): recovery_email is not an e-mail address",
        ),
        (_bw_with({"login": "nope"}), "item 3\\): 'login' is not an object"),
        (_bw_with({}, {"password": {"x": PW["yt"]}}), "non-text value"),
    ],
)
def test_bitwarden_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        ci.parse_export(text)
    link: BaseException | None = info.value
    while link is not None:  # JSONDecodeError.doc would hold the whole export
        _assert_no_secrets(str(link), repr(link.args), repr(vars(link)))
        link = link.__cause__ or link.__context__


@pytest.mark.parametrize(
    "mutate,message,line",
    [
        (lambda rows: rows[2].pop(), "CSV line 4 has 9 fields but the header has 10", 4),
        (
            lambda rows: rows[3].__setitem__(6, "otpauth://hotp/x?secret=" + SEED),
            "Ghost \\(line 5\\): totp: otpauth://hotp",
            5,
        ),
        (
            lambda rows: rows[3].__setitem__(6, PW["ghost"]),
            "Ghost \\(line 5\\): totp: TOTP seed is not valid base32",
            5,
        ),
        (
            lambda rows: rows.__setitem__(0, ["Name", "Secret"]),
            "not one of a known password manager's exports",
            1,
        ),
    ],
)
def test_csv_errors_name_the_line(mutate: Any, message: str, line: int) -> None:
    rows = keepassxc_rows()
    mutate(rows)
    with pytest.raises(InputError, match=message) as info:
        ci.parse_keepass_csv(_csv_text(rows))
    assert info.value.line == line
    _assert_no_secrets(str(info.value), info.value.hint, repr(info.value))


def test_unterminated_quote_is_reported_with_a_line() -> None:
    text = _csv_text(keepassxc_rows()) + '"Root","Broken","u","' + PW["ghost"] + "\n"
    with pytest.raises(InputError, match="malformed at line 7") as info:
        ci.parse_keepass_csv(text)
    _assert_no_secrets(str(info.value))


def test_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "export.csv"
    bad.write_bytes(b"url,username\n\xff\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        ci.load(bad)
    with pytest.raises(InputError, match="cannot read"):
        ci.load(tmp_path / "missing.json")
