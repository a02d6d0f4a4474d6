"""The bulk forms the scan uses (all names at once) agree with the per-name functions they replace."""

from __future__ import annotations

import importlib
import random
import re

import pytest

from auditor.engine.impersonation.detector import _PAIRED_RE, Detector
from auditor.engine.impersonation.roles import _SINGLE, Official, RoleModel
from auditor.engine.impersonation.scoring import ProtectedName

from . import district

# the package exports the function `normalise`, which hides the module of that name
n = importlib.import_module("auditor.engine.impersonation.normalise")

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._- !|$@\t"
WORDS = ("naperville", "203", "the", "real", "official", "rn", "clvv", "nn", "D203", "Supt", "2024")


def _names(seed: int, count: int = 3000) -> list[str]:
    rng = random.Random(seed)
    out = ["", "_", "__a_", "realjohn_", "2024", "ab12cd", "a1b2", "_the_real_", "NapervilleNorth_HS"]
    for _ in range(count):
        if rng.random() < 0.5:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 18))))
        else:
            sep = rng.choice(("", "_", ".", "-", " ", "__"))
            out.append(sep.join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))))
    return out


@pytest.mark.parametrize("extra", [(), ("schools", "district")])
def test_plain_tokens_many_agrees_with_sorted_tokens(extra: tuple[str, ...]) -> None:
    names = [x for x in _names(1) if "\n" not in x]
    big = n.joinable(names)
    assert big is not None
    starts = n.line_starts(names)
    singles = n.fold_many(big, len(names))
    assert singles == [x.lower().translate(n._FAST_TABLE) for x in names]
    paired = n.lines_matching(_PAIRED_RE, "\n".join(singles), n.line_starts(singles))
    odd = n.not_plain(names, big, starts)
    for tokens in (
        n.plain_tokens_many(names, big, singles, extra, paired),
        n.plain_tokens_many(names, big, singles, extra),
    ):
        for k, name in enumerate(names):
            key = n.fast_key(name, extra)
            core = n.strip_affixes(key, extra)[0]
            if k in odd:
                assert n._NOT_PLAIN_RE.search(name), name
                continue
            assert not n._NOT_PLAIN_RE.search(name), name
            got = core if tokens[k] is None else tokens[k]
            assert got == n.sorted_tokens(name, core, extra), name


def test_lines_matching_and_affixed_lines_agree_with_each_line() -> None:
    names = [x for x in _names(2) if "\n" not in x]
    big = "\n".join(names)
    starts = n.line_starts(names)
    for pattern in (re.compile("rn|vv|cl|nn"), re.compile(r"\d\d"), re.compile("naper|203")):
        assert n.lines_matching(pattern, big, starts) == {k for k, x in enumerate(names) if pattern.search(x)}
    keys = [n.fast_key(x) for x in names]
    _, _, prefix_re, suffix_re = n._affix_matchers(())
    found = n.affixed_lines("\n".join(keys), n.line_starts(keys))
    assert found == {k for k, key in enumerate(keys) if prefix_re.match(key) or suffix_re.match(key[::-1])}
    for k, key in enumerate(keys):
        if k not in found:
            assert n.strip_affixes(key)[0] == key


def test_joinable_refuses_newlines_and_other_scripts() -> None:
    assert n.joinable(["a", "b"]) == "a\nb"
    assert n.joinable(["a\nb"]) is None
    assert n.joinable(["n\u0430per"]) is None
    assert n.joinable([]) is None


def test_bulk_role_gates_agree_with_the_per_text_ones() -> None:
    roles = RoleModel(
        district_names=("Naperville 203",),
        officials=(Official("Dan Bridges", "superintendent"),),
        buildings=(("Naperville North High School", ("NNHS",)),),
    )
    texts = [*_names(3), "Supt Bridges", "Dan Bridges", "d203 board", "sUperintendent", "bRidgeS"]
    texts = [t for t in texts if "\n" not in t]
    assert roles.may_claim_texts(texts) == {k for k, t in enumerate(texts) if roles._may_claim(t)}
    keys = [t.lower().translate(_SINGLE) for t in texts]
    assert roles.may_claim_many(keys) == {k for k, key in enumerate(keys) if roles.may_claim_keys((key,))}
    assert roles.may_claim_texts(["d203\nsupt", "supt"]) == {0, 1}  # not joinable: one at a time


def test_exclusions_and_names_of_the_bulk_path_agree_with_excluded() -> None:
    protected = [*district.protected(), ProtectedName("@NNHS_Athletics")]
    d = Detector(protected)
    handles = [
        *_names(4, 500),
        "naperville203",
        " Naperville203 ",
        "@naperville203",
        "NNHS_athletics",
        "n\u0430per",
    ]
    handles += ["d203\nboard", "@nnhs_athletics ", "\x1cd203"]
    kept, names = d._unexcluded(handles, None)
    expected = [h for h in dict.fromkeys(handles) if not d._excluded(h, None)]
    assert kept == expected
    assert names == [n.split_handle(h)[0] for h in expected]


def test_scan_equals_score_on_odd_handles() -> None:
    d = Detector(district.protected(), threshold=70)
    handles = [*_names(5, 1500), "d203\nnaperville203", "\u202e302ellivrepan", "n\u0430perville203"]
    got = d.scan(handles)
    want = [m for h in dict.fromkeys(handles) for m in d.score(h)]
    key = lambda m: (m.candidate, m.protected.name, m.score, m.reasons)  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)


@pytest.mark.parametrize("extra", [(), ("schools", "tv")])
def test_keys_of_many_agrees_with_keys_of_single(extra: tuple[str, ...]) -> None:
    singles = [x.lower().translate(n._FAST_TABLE) for x in _names(6) if "\n" not in x]
    singles += ["tvvernon", "rnnrn", "nnrn", "vvv", "clnn", "theclassics", "officialrnn"]
    assert n.keys_of_many(singles, extra) == [n.keys_of_single(x, extra) for x in singles]


def test_bulk_helpers_take_no_names() -> None:
    assert n.plain_tokens_many([], "", []) == []
    assert n.keys_of_many([]) == []
    assert n.not_plain([], "", n.line_starts([])) == set()
    assert Detector(district.protected()).scan(["ab", "x"]) == []
