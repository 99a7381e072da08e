"""``FirstLines``, the compact table of the first line that claimed each key of a file (the
duplicates inside a file), behaves as a dict's ``setdefault`` would, through its growth."""

from hypothesis import given
from hypothesis import strategies as st

from comptoir.transfer.services.import_plan import FirstLines

KEYS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(st.tuples(KEYS, st.integers(min_value=1, max_value=2**31 - 1)), max_size=300))
def test_first_lines_answer_as_a_dict_setdefault(claims):
    table, reference = FirstLines(capacity=4), {}
    for key, line in claims:
        assert table.claim(key, line) == reference.setdefault(key, line)
    assert len(table) == len(reference)


def test_keys_sharing_their_low_bits_and_many_growths_keep_their_first_lines():
    table = FirstLines(capacity=4)
    # Every key falls in the same slot of the first tables (multiples of 2**20), and negative
    # hashes too: they are told apart by probing, then spread out as the table grows.
    keys = [n << 20 for n in range(-3000, 3000)] + [hash(f"x{n}@example.com") for n in range(20000)]
    for line, key in enumerate(keys, start=2):
        assert table.claim(key, line) == line
    for line, key in enumerate(keys, start=2):
        assert table.claim(key, 10**9) == line
    assert len(table) == len(keys)
