"""Break-glass shares: SLIP-39 published vectors, a district ceremony, distinct errors, properties."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model.errors import AuditorError, UsageError
from auditor.model.types import Secret
from vault.escrow import breakglass as bg
from vault.escrow.breakglass import GroupSpec

# SLIP-39 test vectors (trezor/python-shamir-mnemonic vectors.json, passphrase "TREZOR"):
# (description, mnemonics, master secret hex or "" when the set must be rejected)
SLIP39_VECTORS = [
    (
        "1. valid, no sharing, 128 bits",
        [
            "duckling enlarge academic academic agency result length solution fridge kidney coal piece deal husband erode duke ajar critical decision keyboard"
        ],
        "bb54aac4b89dc868ba37d9cc21b2cece",
    ),
    (
        "2. invalid checksum",
        [
            "duckling enlarge academic academic agency result length solution fridge kidney coal piece deal husband erode duke ajar critical decision kidney"
        ],
        "",
    ),
    (
        "3. invalid padding",
        [
            "duckling enlarge academic academic email result length solution fridge kidney coal piece deal husband erode duke ajar music cargo fitness"
        ],
        "",
    ),
    (
        "4. basic sharing 2-of-3",
        [
            "shadow pistol academic always adequate wildlife fancy gross oasis cylinder mustang wrist rescue view short owner flip making coding armed",
            "shadow pistol academic acid actress prayer class unknown daughter sweater depict flip twice unkind craft early superior advocate guest smoking",
        ],
        "b43ceb7e57a0ea8766221624d01b0864",
    ),
    (
        "5. basic sharing 2-of-3, insufficient",
        [
            "shadow pistol academic always adequate wildlife fancy gross oasis cylinder mustang wrist rescue view short owner flip making coding armed"
        ],
        "",
    ),
    (
        "6. different identifiers",
        [
            "adequate smoking academic acid debut wine petition glen cluster slow rhyme slow simple epidemic rumor junk tracks treat olympic tolerate",
            "adequate stay academic agency agency formal party ting frequent learn upstairs remember smear leaf damage anatomy ladle market hush corner",
        ],
        "",
    ),
    (
        "7. different iteration exponents",
        [
            "peasant leaves academic acid desert exact olympic math alive axle trial tackle drug deny decent smear dominant desert bucket remind",
            "peasant leader academic agency cultural blessing percent network envelope medal junk primary human pumps jacket fragment payroll ticket evoke voice",
        ],
        "",
    ),
    (
        "8. mismatching group thresholds",
        [
            "liberty category beard echo animal fawn temple briefing math username various wolf aviation fancy visual holy thunder yelp helpful payment",
            "liberty category beard email beyond should fancy romp founder easel pink holy hairy romp loyalty material victim owner toxic custody",
            "liberty category academic easy being hazard crush diminish oral lizard reaction cluster force dilemma deploy force club veteran expect photo",
        ],
        "",
    ),
    (
        "11. duplicate member indices",
        [
            "device stay academic always dive coal antenna adult black exceed stadium herald advance soldier busy dryer daughter evaluate minister laser",
            "device stay academic always dwarf afraid robin gravity crunch adjust soul branch walnut coastal dream costume scholar mortgage mountain pumps",
        ],
        "",
    ),
    (
        "12. mismatching member thresholds",
        [
            "hour painting academic academic device formal evoke guitar random modern justice filter withdraw trouble identify mailman insect general cover oven",
            "hour painting academic agency artist again daisy capital beaver fiber much enjoy suitable symbolic identify photo editor romp float echo",
        ],
        "",
    ),
    (
        "13. invalid digest",
        [
            "guilt walnut academic acid deliver remove equip listen vampire tactics nylon rhythm failure husband fatigue alive blind enemy teaspoon rebound",
            "guilt walnut academic agency brave hamster hobo declare herd taste alpha slim criminal mild arcade formal romp branch pink ambition",
        ],
        "",
    ),
    (
        "14. insufficient number of groups",
        [
            "eraser senior beard romp adorn nuclear spill corner cradle style ancient family general leader ambition exchange unusual garlic promise voice"
        ],
        "",
    ),
    (
        "16. threshold groups but insufficient members in one",
        [
            "eraser senior decision shadow artist work morning estate greatest pipeline plan ting petition forget hormone flexible general goat admit surface",
            "eraser senior beard romp adorn nuclear spill corner cradle style ancient family general leader ambition exchange unusual garlic promise voice",
        ],
        "",
    ),
    (
        "17. group sharing, case 1 (extra shares)",
        [
            "eraser senior decision roster beard treat identify grumpy salt index fake aviation theater cubic bike cause research dragon emphasis counter",
            "eraser senior ceramic snake clay various huge numb argue hesitate auction category timber browser greatest hanger petition script leaf pickup",
            "eraser senior ceramic shaft dynamic become junior wrist silver peasant force math alto coal amazing segment yelp velvet image paces",
            "eraser senior ceramic round column hawk trust auction smug shame alive greatest sheriff living perfect corner chest sled fumes adequate",
            "eraser senior decision smug corner ruin rescue cubic angel tackle skin skunk program roster trash rumor slush angel flea amazing",
        ],
        "7c3397a292a5941682d7a4ae2d898d11",
    ),
    (
        "18. group sharing, case 2",
        [
            "eraser senior decision smug corner ruin rescue cubic angel tackle skin skunk program roster trash rumor slush angel flea amazing",
            "eraser senior beard romp adorn nuclear spill corner cradle style ancient family general leader ambition exchange unusual garlic promise voice",
            "eraser senior decision scared cargo theory device idea deliver modify curly include pancake both news skin realize vitamins away join",
        ],
        "7c3397a292a5941682d7a4ae2d898d11",
    ),
    (
        "19. group sharing, case 3",
        [
            "eraser senior beard romp adorn nuclear spill corner cradle style ancient family general leader ambition exchange unusual garlic promise voice",
            "eraser senior acrobat romp bishop medical gesture pumps secret alive ultimate quarter priest subject class dictate spew material endless market",
        ],
        "7c3397a292a5941682d7a4ae2d898d11",
    ),
    (
        "20. valid, no sharing, 256 bits",
        [
            "theory painting academic academic armed sweater year military elder discuss acne wildlife boring employer fused large satoshi bundle carbon diagnose anatomy hamster leaves tracks paces beyond phantom capital marvel lips brave detect luck"
        ],
        "989baf9dcaad5b10ca33dfd8cc75e42477025dce88ae83e75a230086a0e00e92",
    ),
    (
        "21. invalid checksum, 256 bits",
        [
            "theory painting academic academic armed sweater year military elder discuss acne wildlife boring employer fused large satoshi bundle carbon diagnose anatomy hamster leaves tracks paces beyond phantom capital marvel lips brave detect lunar"
        ],
        "",
    ),
    (
        "23. basic sharing 2-of-3, 256 bits",
        [
            "humidity disease academic always aluminum jewelry energy woman receiver strategy amuse duckling lying evidence network walnut tactics forget hairy rebound impulse brother survive clothes stadium mailman rival ocean reward venture always armed unwrap",
            "humidity disease academic agency actress jacket gross physics cylinder solution fake mortgage benefit public busy prepare sharp friar change work slow purchase ruler again tricycle involve viral wireless mixture anatomy desert cargo upgrade",
        ],
        "c938b319067687e990e05e0da0ecce1278f75ff58d9853f19dcaeed5de104aae",
    ),
    (
        "37. group sharing, 256 bits, case 2",
        [
            "wildlife deal decision scared acne fatal snake paces obtain election dryer dominant romp tactics railroad marvel trust helpful flip peanut theory theater photo luck install entrance taxi step oven network dictate intimate listen",
            "wildlife deal beard romp alcohol space mild usual clothes union nuclear testify course research heat listen task location thank hospital slice smell failure fawn helpful priest ambition average recover lecture process dough stadium",
            "wildlife deal decision smug ancestor genuine move huge cubic strategy smell game costume extend swimming false desire fake traffic vegan senior twice timber submit leader payroll fraction apart exact forward pulse tidy install",
        ],
        "5385577c8cfc6c1a8aa0f7f10ecde0a3318493262591e78b8c14c6686167123b",
    ),
    (
        "38. group sharing, 256 bits, case 3",
        [
            "wildlife deal beard romp alcohol space mild usual clothes union nuclear testify course research heat listen task location thank hospital slice smell failure fawn helpful priest ambition average recover lecture process dough stadium",
            "wildlife deal acrobat romp anxiety axis starting require metric flexible geology game drove editor edge screw helpful have huge holy making pitch unknown carve holiday numb glasses survive already tenant adapt goat fangs",
        ],
        "5385577c8cfc6c1a8aa0f7f10ecde0a3318493262591e78b8c14c6686167123b",
    ),
    (
        "39. insufficient length",
        [
            "junk necklace academic academic acne isolate join hesitate lunar roster dough calcium chemical ladybug amount mobile glasses verify cylinder"
        ],
        "",
    ),
]

EXPECTED_ERRORS = {
    "2.": bg.ShareChecksumError,
    "3.": bg.ShareChecksumError,
    "5.": bg.InsufficientSharesError,
    "6.": bg.MixedSharesError,
    "7.": bg.MixedSharesError,
    "8.": bg.MixedSharesError,
    "11.": bg.MixedSharesError,
    "12.": bg.MixedSharesError,
    "13.": bg.ForgedShareError,
    "14.": bg.InsufficientSharesError,
    "16.": bg.InsufficientSharesError,
    "21.": bg.ShareChecksumError,
    "39.": bg.ShareWordError,
}
TREZOR = Secret("TREZOR")


@pytest.mark.parametrize(
    "description,mnemonics,secret_hex", SLIP39_VECTORS, ids=[v[0][:3] for v in SLIP39_VECTORS]
)
def test_slip39_published_vectors(description: str, mnemonics: list[str], secret_hex: str) -> None:
    if secret_hex:
        assert bg.recover(mnemonics, TREZOR).reveal() == bytes.fromhex(secret_hex)
    else:
        expected = EXPECTED_ERRORS[description.split()[0]]
        with pytest.raises(expected) as info:
            bg.recover(mnemonics, TREZOR)
        assert isinstance(info.value, AuditorError)
        # our messages never quote share words (shamir_mnemonic's own messages do)
        words = {w for m in mnemonics for w in m.split()}
        assert not words & set(info.value.message.replace(",", " ").replace(":", " ").split())


# --------------------------------------------------------------------------------------------------
# A district ceremony: 1 of the superintendent's office AND 2 of IT


OFFICE = GroupSpec("Superintendent's office", 1, 2)
IT = GroupSpec("IT", 2, 3)
BOARD = GroupSpec("Board", 2, 2)


@pytest.fixture(scope="module")
def ceremony() -> tuple[Secret, bg.BreakGlassSplit]:
    key = bg.new_key()
    return key, bg.split(key, [OFFICE, IT], group_threshold=2)


def _words(split: bg.BreakGlassSplit, group: int, member: int) -> Secret:
    card = next(c for c in split.cards if c.group_number == group and c.member_number == member)
    return card.words


def test_ceremony_cards_and_metadata(ceremony: tuple[Secret, bg.BreakGlassSplit]) -> None:
    key, split = ceremony
    assert len(key.reveal()) == 32
    assert len(split.cards) == 5
    office = [c for c in split.cards if c.group_number == 1]
    assert office[0].words == office[1].words  # 1-of-2 is two copies of one share
    assert office[1].title == (
        f"Break-glass set {split.set_id}, 2 of 2 groups needed: group 1 'Superintendent's office', "
        "copy 2 of 2 (any one copy is enough)"
    )
    it = [c for c in split.cards if c.group_number == 2]
    assert len({c.words.reveal_str() for c in it}) == 3
    assert it[0].title.endswith("group 2 'IT', share 1 of 3 (2 needed)")
    assert all(len(c.words.reveal_str().split()) == bg.SHARE_WORDS_256 for c in split.cards)
    meta = split.public_metadata()
    assert meta["key_check"] == bg.key_check(key) and meta["set_id"] == split.set_id
    assert split.describe() == "2 of 2 groups ('Superintendent's office': 1 of 2, 'IT': 2 of 3)"
    # nothing secret in the reprs or metadata
    for text in (repr(split), repr(split.cards), str(meta)):
        assert it[0].words.reveal_str() not in text
        # A share word as a word of its own: "check" is a SLIP-39 word and also in `key_check`.
        assert not re.search(rf"(?<![\w]){it[0].words.reveal_str().split()[5]}(?![\w])", text)


def test_printable_card_numbers_words_and_can_be_typed_back(
    ceremony: tuple[Secret, bg.BreakGlassSplit],
) -> None:
    key, split = ceremony
    sheet = split.cards[0].printable("Lincoln Unified School District")
    assert sheet.startswith("Lincoln Unified School District\nBreak-glass set")
    assert " 1. " in sheet and "33. " in sheet
    # a holder types the card back as printed, numbers and all, or just four letters per word
    card_body = sheet.split("\n", 3)[3]
    lines = card_body.strip().splitlines()
    assert len(lines) == 11
    typed_it = " ".join(w[:4] for w in _words(split, 2, 3).reveal_str().split())
    assert bg.recover([sheet_words(split.cards[0].printable()), typed_it, _words(split, 2, 1)]) == key


def sheet_words(sheet: str) -> str:
    """The words of a printed sheet in reading order (column by column)."""
    body = [line for line in sheet.splitlines()[2:] if line.strip()]
    cells = [cell.split() for line in body for cell in line.split("   ") if cell.strip()]
    return " ".join(word for _, word in sorted((int(n.rstrip(".")), w) for n, w in cells))


def test_ceremony_recovers_with_any_valid_combination(ceremony: tuple[Secret, bg.BreakGlassSplit]) -> None:
    key, split = ceremony
    for office in (1, 2):
        for a, b in itertools.combinations((1, 2, 3), 2):
            shares = [_words(split, 1, office), _words(split, 2, a), _words(split, 2, b)]
            assert bg.recover(shares, expected_check=split.key_check, expected_set_id=split.set_id) == key
            assert bg.recover(list(reversed(shares))) == key


def test_too_few_says_what_is_missing(ceremony: tuple[Secret, bg.BreakGlassSplit]) -> None:
    _, split = ceremony
    session = bg.RecoverySession(groups=split.groups)
    session.add(_words(split, 2, 1))
    assert session.progress() == (
        "shares from 2 of the 2 groups are needed and 0 are complete (none); 2 more groups needed: "
        "group 2 'IT' needs 1 more share; no share yet from group 1 'Superintendent's office' (1 of 2)"
    )
    with pytest.raises(bg.InsufficientSharesError) as info:
        session.finish()
    assert info.value.missing == {2: 1} and info.value.groups_missing == 2
    session.add(_words(split, 1, 2))
    with pytest.raises(bg.InsufficientSharesError, match="group 2 'IT' needs 1 more share") as more:
        session.finish()
    assert more.value.groups_missing == 1
    assert not session.is_complete
    info2 = session.add(_words(split, 2, 3))
    assert (info2.group_number, info2.member_number, info2.member_threshold) == (2, 3, 2)
    assert session.is_complete and session.progress() == "enough shares were entered"


def test_duplicate_share_is_its_own_error(ceremony: tuple[Secret, bg.BreakGlassSplit]) -> None:
    _, split = ceremony
    session = bg.RecoverySession()
    session.add(_words(split, 2, 2))
    retyped = "  " + _words(split, 2, 2).reveal_str().upper().replace(" ", "\n") + "\n"
    with pytest.raises(
        bg.DuplicateShareError, match="share 2 is the same share as share 1 \\(group 2, share 2\\)"
    ):
        session.add(retyped)
    # the session is unchanged: the next, different share is still share 2
    assert session.add(_words(split, 2, 1)).member_number == 1


def test_shares_of_two_ceremonies_are_mixed(ceremony: tuple[Secret, bg.BreakGlassSplit]) -> None:
    _, split = ceremony
    other = bg.split(bg.new_key(), [OFFICE, IT], group_threshold=2)
    assert other.set_id != split.set_id or other.key_check != split.key_check
    if other.set_id == split.set_id:  # 1 in 32768: the identifiers collided
        pytest.skip("random set identifiers collided")
    with pytest.raises(bg.MixedSharesError, match=f"belongs to break-glass set {other.set_id}, but share 1"):
        bg.recover([_words(split, 2, 1), _words(other, 2, 2), _words(split, 1, 1)])
    with pytest.raises(bg.StaleSharesError, match="earlier ceremony"):
        bg.recover([_words(other, 2, 1)], expected_set_id=split.set_id)


def test_mistyped_word_and_swapped_words(ceremony: tuple[Secret, bg.BreakGlassSplit]) -> None:
    _, split = ceremony
    words = _words(split, 2, 1).reveal_str().split()
    typo = words.copy()
    typo[6] = typo[6][:-1] + ("x" if typo[6][-1] != "x" else "y")
    with pytest.raises(bg.ShareWordError, match="share 1, word 7 is not a SLIP-39 word") as info:
        bg.recover([" ".join(typo)])
    assert info.value.word == 7 and words[6] not in info.value.message
    swapped = words.copy()
    i = next(i for i in range(8, 30) if swapped[i] != swapped[i + 1])
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    with pytest.raises(bg.ShareChecksumError, match="share 1 fails its checksum") as checksum:
        bg.recover([" ".join(swapped)])
    # shamir_mnemonic's own error quotes the first words; it must not ride along as the context
    assert checksum.value.__context__ is None and checksum.value.__cause__ is None
    with pytest.raises(bg.ShareWordError, match="has 32 words"):
        bg.recover([" ".join(words[:-1])])


def test_passphrase_is_checked_against_the_key_check() -> None:
    key = bg.new_key()
    split = bg.split(key, bg.single_group(2, 3), passphrase=Secret("correct horse"))
    shares = [split.cards[0].words, split.cards[2].words]
    assert bg.recover(shares, Secret("correct horse"), expected_check=split.key_check) == key
    with pytest.raises(bg.BreakGlassPassphraseError, match="passphrase is wrong"):
        bg.recover(shares, Secret("Correct horse"), expected_check=split.key_check)
    # without a key check SLIP-39 cannot tell: a different key comes out
    assert bg.recover(shares, Secret("Correct horse")) != key
    with pytest.raises(UsageError, match="printable ASCII"):
        bg.split(key, bg.single_group(2, 3), passphrase=Secret("pässword"))


@pytest.mark.parametrize(
    "groups,threshold,message",
    [
        ([GroupSpec("", 3, 2)], 1, "threshold must be between 1 and its number of shares \\(2\\), not 3"),
        ([GroupSpec("", 0, 2)], 1, "not 0"),
        ([GroupSpec("", 2, 17)], 1, "between 1 and 16, not 17"),
        ([OFFICE, IT], 3, "group threshold must be between 1 and the number of groups \\(2\\), not 3"),
        ([], 1, "at least one group"),
        ([IT, GroupSpec("it", 1, 1)], 1, "same name"),
    ],
)
def test_impossible_setups_are_usage_errors(groups: list[GroupSpec], threshold: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        bg.split(bg.new_key(), groups, threshold)


def test_warnings_for_weak_or_brittle_setups() -> None:
    assert "single envelope" in bg.split(bg.new_key(), bg.single_group(1, 3)).warnings[0]
    assert "every share is needed" in bg.split(bg.new_key(), [BOARD]).warnings[0]
    assert bg.split(bg.new_key(), bg.single_group(2, 3)).warnings == ()


def test_parse_group_option() -> None:
    assert bg.parse_group("Superintendent's office:1of2") == OFFICE
    assert bg.parse_group("IT = 2/3") == IT
    with pytest.raises(UsageError, match="cannot read the group") as info:
        bg.parse_group("IT two of three")
    assert "NAME:KofN" in info.value.hint


# --------------------------------------------------------------------------------------------------
# Properties: any K of N recover, K-1 do not


@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=6))
def test_any_k_of_n_recover_and_k_minus_1_do_not(data: st.DataObject, n: int) -> None:
    k = data.draw(st.integers(min_value=2, max_value=n), label="k")
    key = Secret(data.draw(st.binary(min_size=32, max_size=32), label="key"))
    split = bg.split(key, bg.single_group(k, n))
    words = [c.words for c in split.cards]
    chosen = data.draw(st.permutations(range(n)), label="order")
    assert bg.recover([words[i] for i in chosen[:k]], expected_check=split.key_check) == key
    with pytest.raises(
        bg.InsufficientSharesError, match=f"{k - 1} of the {k} shares needed were entered: 1 more"
    ):
        bg.recover([words[i] for i in chosen[: k - 1]])


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_group_thresholds_property(data: st.DataObject) -> None:
    sizes = data.draw(st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=3), label="sizes")
    groups = [GroupSpec(f"g{i}", data.draw(st.integers(1, c), label=f"t{i}"), c) for i, c in enumerate(sizes)]
    gt = data.draw(st.integers(min_value=1, max_value=len(groups)), label="group threshold")
    key = bg.new_key()
    split = bg.split(key, groups, gt)
    chosen = data.draw(st.permutations(range(len(groups))), label="groups")[:gt]
    shares = [
        c.words
        for g in chosen
        for c in [c for c in split.cards if c.group_number == g + 1][: groups[g].threshold]
    ]
    assert bg.recover(shares, expected_check=split.key_check) == key
    # drop one share from the last chosen group: no longer enough
    with pytest.raises(bg.InsufficientSharesError):
        bg.recover(shares[:-1])
