"""A kind's head is computed in one batch over a scan's rows (`heads.terms_of`): the same terms,
so the same heads, as one `heads.term` per row; a head computed either way verifies the other."""

from __future__ import annotations

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


@given(key=st.binary(min_size=32, max_size=32), kind=st.text(min_size=1, max_size=20), rows=ROWS)
def test_batch_terms_are_the_terms_of_each_row(key: bytes, kind: str, rows: list) -> None:  # type: ignore[type-arg]
    one_by_one = [heads.term(key, kind, StampRow(*r)) for r in rows]
    assert heads.terms_of(key, kind, rows) == one_by_one
    head, _ = heads.KindHead.over(key, kind, [StampRow(*r) for r in rows])
    assert (head.n, head.total) == (len(rows), sum(one_by_one) % heads.MOD)
