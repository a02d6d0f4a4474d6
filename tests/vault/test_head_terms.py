"""A kind's head term is the HMAC of the message the module doc of vault/heads.py describes,
written out here on its own: length-prefixed kind and id, the version ended by ':', the
length-prefixed blind index, then the stamp. `heads.terms_of` (a scan's batch), `heads.term` (one
row) and `KindHead.over` must all give it, or every stored head would stop verifying."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from vault import heads
from vault.backends.storage import StampRow

ROWS = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=20),
        st.integers(min_value=1, max_value=10**6),
        st.none() | st.text(max_size=44),
        st.none() | st.binary(min_size=12, max_size=12),
    ),
    max_size=30,
)


def _documented(
    key: bytes, kind: str, rid: str, version: int, lookup: str | None, stamp: bytes | None
) -> int:
    index = lookup or ""
    msg = f"{len(kind)}:{kind}{len(rid)}:{rid}{version}:{len(index)}:{index}".encode() + (stamp or b"")
    return int.from_bytes(hmac.new(key, msg, hashlib.sha256).digest(), "big")


@given(key=st.binary(min_size=32, max_size=32), kind=st.text(min_size=1, max_size=20), rows=ROWS)
def test_batch_terms_are_the_terms_of_each_row(key: bytes, kind: str, rows: list) -> None:  # type: ignore[type-arg]
    one_by_one = [_documented(key, kind, *r) for r in rows]
    assert heads.terms_of(key, kind, rows) == one_by_one
    assert [heads.term(key, kind, StampRow(*r)) for r in rows] == one_by_one
    head, _ = heads.KindHead.over(key, kind, [StampRow(*r) for r in rows])
    assert (head.n, head.total) == (len(rows), sum(one_by_one) % heads.MOD)
