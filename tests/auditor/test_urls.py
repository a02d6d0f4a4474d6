"""The one profile-URL parser (auditor/model/urls.py): every form real exports and staff hold."""

from __future__ import annotations

import pytest

from auditor.model.platforms import Platform
from auditor.model.urls import ProfileKey, handle_from_text, looks_like_url, normalise_url, parse_profile_url

FB, IG, X, YT, BS, MA = (
    Platform.FACEBOOK,
    Platform.INSTAGRAM,
    Platform.X,
    Platform.YOUTUBE,
    Platform.BLUESKY,
    Platform.MASTODON,
)


@pytest.mark.parametrize(
    "url,key",
    [
        # Meta Business Suite: the Page's id, not a profile called "latest".
        (
            "https://business.facebook.com/latest/home?asset_id=104512345678901&nav_ref=bm_home_redirect",
            ProfileKey(FB, platform_id="104512345678901"),
        ),
        (
            "https://business.facebook.com/latest/inbox/all?asset_id=1045&mailbox_id=9",
            ProfileKey(FB, platform_id="1045"),
        ),
        ("https://business.facebook.com/latest/home", ProfileKey(FB)),
        ("https://www.facebook.com/profile.php?id=100064&sk=about", ProfileKey(FB, platform_id="100064")),
        ("https://m.facebook.com/profile.php?id=100064", ProfileKey(FB, platform_id="100064")),
        ("https://www.facebook.com/pages/Lincoln-HS/123456789", ProfileKey(FB, platform_id="123456789")),
        ("https://web.facebook.com/LincolnHighSchool/about/?ref=page", ProfileKey(FB, "lincolnhighschool")),
        ("https://www.facebook.com/pg/LincolnHS/posts", ProfileKey(FB, "lincolnhs")),
        ("https://www.facebook.com/groups/123", ProfileKey(FB)),
        ("https://mobile.twitter.com/LincolnHS/status/17?s=20", ProfileKey(X, "lincolnhs")),
        ("https://x.com/intent/user?screen_name=LincolnHS", ProfileKey(X, "lincolnhs")),
        ("https://x.com/i/user/783214", ProfileKey(X, platform_id="783214")),
        ("https://x.com/home", ProfileKey(X)),
        ("https://www.instagram.com/lincolnhs_athletics/reels/?hl=en", ProfileKey(IG, "lincolnhs_athletics")),
        ("https://instagram.com/_u/lincolnhs", ProfileKey(IG, "lincolnhs")),
        ("https://www.instagram.com/p/Cabc123/", ProfileKey(IG)),
        ("https://m.youtube.com/@LincolnHSMedia/featured", ProfileKey(YT, "lincolnhsmedia")),
        ("https://studio.youtube.com/channel/UCabc123/videos", ProfileKey(YT, platform_id="UCabc123")),
        ("https://www.youtube.com/watch?v=abc", ProfileKey(YT)),
        (
            "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3k",
            ProfileKey(BS, platform_id="did:plc:z72i7hdynmk6r22z27h6tvur"),
        ),
        ("https://bsky.app/profile/LincolnHS.bsky.social", ProfileKey(BS, "lincolnhs.bsky.social")),
        ("https://k12.social/@LincolnHS", ProfileKey(MA, "lincolnhs@k12.social")),
        ("https://k12.social/@LincolnHS/with_replies", ProfileKey(MA, "lincolnhs@k12.social")),
        ("https://mastodon.social/@lincolnhs@k12.social", ProfileKey(MA, "lincolnhs@k12.social")),
        ("https://k12.social/users/lincolnhs", ProfileKey(MA, "lincolnhs@k12.social")),
        ("https://k12.social/web/@lincolnhs", ProfileKey(MA, "lincolnhs@k12.social")),
        (
            "https://www.tiktok.com/@lincoln_hs_band/video/1?lang=en",
            ProfileKey(Platform.TIKTOK, "lincoln_hs_band"),
        ),
        ("https://www.threads.net/@lincolnhs", ProfileKey(Platform.THREADS, "lincolnhs")),
        ("https://www.linkedin.com/school/lincoln-hs/posts/", ProfileKey(Platform.LINKEDIN, "lincoln-hs")),
        ("https://www.snapchat.com/add/lincolnhs?share_id=1", ProfileKey(Platform.SNAPCHAT, "lincolnhs")),
        ("https://sis.d203.org/admin", None),
        ("https://www.amazon.com/", None),
        ("not a url", None),
        ("", None),
    ],
)
def test_parse_profile_url(url: str, key: ProfileKey | None) -> None:
    assert parse_profile_url(url) == key


def test_written_keeps_the_case_for_storing() -> None:
    key = parse_profile_url("https://www.instagram.com/LincolnHS_Athletics/")
    assert key is not None and key.written == "LincolnHS_Athletics" and key.handle == "lincolnhs_athletics"


def test_normalise_url() -> None:
    assert normalise_url("HTTPS://www.Twitter.com/LincolnHS/") == "x.com/lincolnhs"
    assert normalise_url("m.facebook.com/Page?x=1#top") == "facebook.com/page"


@pytest.mark.parametrize(
    "platform,text,result",
    [
        (IG, "lincolnhs", (IG, "lincolnhs", "")),
        (IG, "https://www.instagram.com/LincolnHS/", (IG, "LincolnHS", "")),
        (None, "instagram.com/LincolnHS", (IG, "LincolnHS", "")),
        (MA, "https://k12.social/@nnhs", (MA, "nnhs@k12.social", "")),
        (BS, "https://bsky.app/profile/nnhs.bsky.social", (BS, "nnhs.bsky.social", "")),
    ],
)
def test_handle_from_text(platform: Platform | None, text: str, result: tuple[Platform, str, str]) -> None:
    assert handle_from_text(platform, text) == result


@pytest.mark.parametrize(
    "platform,text,message",
    [
        (X, "https://www.instagram.com/lincolnhs", "is a profile URL on Instagram, not on X"),
        (FB, "https://www.facebook.com/profile.php?id=100064", "only by its id 100064"),
        (FB, "https://business.facebook.com/latest/home?asset_id=42", "only by its id 42"),
        (X, "https://x.com/home", "names no account"),
        (X, "https://example.org/whatever", "not a profile URL of a platform"),
    ],
)
def test_handle_from_text_refusals(platform: Platform, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        handle_from_text(platform, text)


def test_looks_like_url() -> None:
    assert looks_like_url("https://example.org") and looks_like_url("instagram.com/x")
    assert not looks_like_url("lincolnhs") and not looks_like_url("user@k12.social")
