"""Keys, cores, numbers and traced observations for a table of handles (lookalikes.md recipe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import auditor.engine.impersonation as imp
from auditor.engine.impersonation.normalise import canonical_handle, fast_key_core, normalise, split_handle
from auditor.model.types import Platform

KEYS = [
    # handle, platform, key, core, numbers, events
    ("@naperville203", None, "napervllle2oe", "napervllle2oe", ("203",), ()),
    ("TheReal203Superintendent", None, "thereal2oesuperlntendent", "2oesuperlntendent", ("203",), ()),
    ("nаperville203", None, "napervllle2oe", "napervllle2oe", ("203",), ("Cyrillic а for a at position 2",)),
    ("ѕсһооӏ", None, "school", "school", (), ("6 Cyrillic look-alike letters (ѕсһооӏ for school)",)),
    (
        "ｎａｐｅｒｖｉｌｌｅ２０３",
        None,
        "napervllle2oe",
        "napervllle2oe",
        ("203",),
        ("fullwidth characters",),
    ),
    ("naper\u200bville203", None, "napervllle2oe", "napervllle2oe", ("203",), ("zero-width space removed",)),
    ("napervi\u00adlle203", None, "napervllle2oe", "napervllle2oe", ("203",), ("soft hyphen removed",)),
    (
        "naperville\u202e203",  # shown as naperville302; scoring also tries the stored order
        None,
        "napervllleeo2",
        "napervllleeo2",
        ("302",),
        ("right-to-left override removed", "shown right to left as naperville302"),
    ),
    (
        "naperville\ufe0f203",
        None,
        "napervllle2oe",
        "napervllle2oe",
        ("203",),
        ("variation selector-16 removed",),
    ),
    ("d2O3_superintendent", None, "d2oesuperlntendent", "d2oesuperlntendent", ("203",), ()),
    ("official_naperville203", None, "offldalnapervllle2oe", "napervllle2oe", ("203",), ()),
    ("NapervilleCUSD203", None, "napervlllecusd2oe", "napervlllecusd2oe", ("203",), ()),
    ("naperville2O3", None, "napervllle2oe", "napervllle2oe", ("203",), ()),
    ("naperv1lle203", None, "napervllle2oe", "napervllle2oe", ("203",), ()),
    ("naperville203_2024", None, "napervllle2oe2o2a", "napervllle2oe2o2a", ("203", "2024"), ()),
    ("RanchVievvES203", None, "ranchvlewes2oe", "ranchvlewes2oe", ("203",), ()),
    ("cl203", None, "d2oe", "d2oe", ("203",), ()),
    ("Modern", None, "modem", "modem", (), ()),
    ("Café-Team", None, "cafeteam", "cafe", (), ("accented é at position 4",)),
    ("the_og", None, "theog", "theog", (), ()),  # no affix stripped below 4 characters
    ("itsnapervillenews", None, "ltsnapervlllenews", "napervllle", (), ()),
    ("$uper!ntendent", None, "superlntendent", "superlntendent", (), ()),
    ("𝐧𝐚𝐩𝐞𝐫𝐯𝐢𝐥𝐥𝐞", None, "napervllle", "napervllle", (), ("mathematical styled characters",)),
    ("@naperville203@mastodon.social", Platform.MASTODON, "napervllle2oe", "napervllle2oe", ("203",), ()),
    ("naperville203.bsky.social", Platform.BLUESKY, "napervllle2oe", "napervllle2oe", ("203",), ()),
    ("news.naperville203.org", Platform.BLUESKY, "newsnapervllle2oe", "napervllle2oe", ("203",), ()),
]


@pytest.mark.parametrize(("handle", "platform", "key", "core", "numbers", "events"), KEYS)
def test_key_core_numbers_and_events(handle, platform, key, core, numbers, events):
    n = normalise(handle, platform)
    assert (n.key, n.core, n.numbers, n.events) == (key, core, numbers, events)


def test_affixes_are_recorded_in_order_and_district_terms_extend_them():
    n = normalise("TheReal_Naperville203_Official")
    assert (n.prefixes, n.suffixes, n.core) == (("the", "real"), ("offldal",), "napervllle2oe")
    assert normalise("naperville203schools").core == "napervllle2oeschools"
    assert normalise("naperville203schools", extra_affixes=["schools"]).core == "napervllle2oe"


def test_mixed_script_means_latin_plus_a_foreign_lookalike():
    assert normalise("nаperville203").mixed_script is True
    assert normalise("ѕсһооӏ").mixed_script is False  # whole-script fake: caught by the key instead
    assert normalise("naperville203").mixed_script is False


def test_split_handle_per_platform():
    assert split_handle("@user@k12.social", Platform.MASTODON) == ("user", "k12.social")
    assert split_handle("@user@k12.social", Platform.X) == ("user@k12.social", "")
    assert split_handle("Name.bsky.social", Platform.BLUESKY) == ("Name", "bsky.social")
    assert split_handle("naperville203.org", Platform.BLUESKY) == ("naperville203", "org")


def test_canonical_handle_follows_platform_identity_rules():
    assert canonical_handle("@John.Smith55", Platform.FACEBOOK) == "johnsmith55"
    assert canonical_handle("@John.Smith55", Platform.INSTAGRAM) == "john.smith55"
    assert canonical_handle("nаperville203", Platform.X) != canonical_handle("naperville203", Platform.X)


_HANDLE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@$!| "


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_HANDLE_CHARS, max_size=20))
def test_fast_path_agrees_with_traced_path(text):
    n = normalise(text)
    assert fast_key_core(n.name) == (n.key, n.core)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=16))
def test_any_unicode_normalises_without_error_and_spans_cover_the_key(text):
    n = normalise(text)
    assert len(n.spans) == len(n.key) == len(n.prefold)
    assert all(0 <= s < e <= len(n.name) for s, e in n.spans)


def test_confusables_data_names_its_source_and_version():
    data = json.loads((Path(imp.__file__).parent / "confusables.json").read_text(encoding="utf-8"))
    assert data["unicode_version"] == "17.0.0"
    assert "confusables.txt" in data["source"] and "disarm" in data["source"]
    assert data["map"]["\U0001ccf0"] == "0"  # outlined digit zero, new in Unicode 16
    assert data["map"]["а"] == "a" and data["map"]["ѕ"] == "s" and data["map"]["з"] == "3"
