"""Cell parsers: the shapes platforms write, and (property tests) that no input makes them
raise anything but ``CellError``."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comptoir.core.csv_safety import cell_safe
from comptoir.transfer.formats import cells
from comptoir.transfer.formats.cells import CellError


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The readers' messages are checked in English (the shop's default language is French)."""
    from django.utils import translation

    with translation.override("en"):
        yield


PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1", True), ("yes", True), ("Oui", True), (" TRUE ", True), ("x", True),
     ("0", False), ("no", False), ("Non", False), ("false", False), ("", None), ("  ", None)],
)  # fmt: skip
def test_booleans(given, expected):
    assert cells.boolean(given) is expected


def test_a_boolean_that_is_not_one_says_so():
    with pytest.raises(CellError, match="Expected yes or no"):
        cells.boolean("peut-être")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1 234,50 €", "1234.50"), ("$1,234.50", "1234.50"), ("12,5", "12.5"), ("1.234,5", "1234.5"),
     ("EUR 12", "12"), ("1\u202f234,00", "1234.00"), ("-3,20", "-3.20"), ("1,234", "1234"),
     ("1.234.567", "1234567"), ("0", "0")],
)  # fmt: skip
def test_decimals_with_currencies_and_decimal_commas(given, expected):
    assert cells.decimal(given) == Decimal(expected)


@pytest.mark.parametrize(
    ("given", "day_first", "expected"),
    [("2024-03-01", True, datetime.date(2024, 3, 1)),
     ("01/03/2024", True, datetime.date(2024, 3, 1)),
     ("3/1/2024", False, datetime.date(2024, 3, 1)),
     ("25/12/2023", False, datetime.date(2023, 12, 25)),  # 25 can only be the day
     ("01.03.2024", True, datetime.date(2024, 3, 1)),
     ("2024-03-01 10:00:00", True, datetime.date(2024, 3, 1)),
     ("0000-00-00", True, None), ("0000-00-00 00:00:00", True, None), ("", True, None)],
)  # fmt: skip
def test_dates(given, day_first, expected):
    assert cells.date(given, day_first=day_first) == expected


def test_date_times_in_the_shops_zone_unless_they_say_otherwise():
    assert cells.moment("2015-10-30 12:49:47") == datetime.datetime(
        2015, 10, 30, 12, 49, 47, tzinfo=PARIS
    )
    assert cells.moment("5/6/2012 3:53 PM", day_first=False) == datetime.datetime(
        2012, 5, 6, 15, 53, tzinfo=PARIS
    )
    assert cells.moment("2024-03-01T14:05:00Z") == datetime.datetime(
        2024, 3, 1, 14, 5, tzinfo=datetime.UTC
    )
    assert cells.moment("0000-00-00 00:00:00") is None


@pytest.mark.parametrize("given", ["31/02/2024", "2024-13-01", "hier", "12/2024"])
def test_impossible_dates_are_refused(given):
    with pytest.raises(CellError):
        cells.date(given)


def test_text_loses_the_spreadsheet_guard_only():
    assert cells.text("'7210448301122") == "7210448301122"  # Shopify's ids
    assert cells.text(cell_safe("=HYPERLINK(1)")) == "=HYPERLINK(1)"  # our own export
    assert cells.text("'t Hooft") == "'t Hooft"
    assert cells.text("  ") is None


def test_names_in_one_cell():
    assert cells.names("VIP, Pro") == ["VIP", "Pro"]
    assert cells.names("VIP | vip |  Grossistes ") == ["VIP", "Grossistes"]
    assert cells.names("") is None
    assert cells.full_name("Jean Pierre  Dupont") == ("Jean Pierre", "Dupont")
    assert cells.full_name("Dupont, Jean") == ("Jean", "Dupont")


def test_countries_by_code_or_name_in_either_language():
    assert cells.country("fr") == "FR"
    assert cells.country("FRA") == "FR"
    assert cells.country("Allemagne") == "DE"
    assert cells.country("United Kingdom") == "GB"
    with pytest.raises(CellError):
        cells.country("Atlantide")


PARSERS = [
    cells.text,
    cells.one_line,
    cells.boolean,
    cells.marketing_status,
    cells.opt_in_level,
    cells.decimal,
    cells.integer,
    cells.date,
    cells.moment,
    cells.names,
    cells.integers,
    cells.full_name,
    cells.country,
]


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=60), parser=st.sampled_from(PARSERS))
def test_no_cell_makes_a_parser_raise_anything_but_a_cell_error(value, parser):
    try:
        parser(value)
    except CellError as error:
        assert str(error)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"\A[0-9]{1,3}( ?[0-9]{3}){0,2}([.,][0-9]{1,2})?\Z"),
    st.sampled_from(["", " €", "€", " EUR", "$"]),
)
def test_french_amounts_read_back_as_their_value(number, currency):
    expected = Decimal(number.replace(" ", "").replace(",", "."))
    assert cells.decimal(f"{number}{currency}") == expected


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2100, 12, 31)))
def test_dates_in_every_written_shape_read_back(day):
    assert cells.date(day.isoformat()) == day
    assert cells.date(day.strftime("%d/%m/%Y"), day_first=True) == day
    assert cells.date(day.strftime("%m/%d/%Y"), day_first=False) == day
    assert cells.date(f"{day.month}/{day.day}/{day.year}", day_first=False) == day


def test_digits_that_are_not_decimal_are_a_cell_error_not_a_crash():
    # Found by the property above: "¹" is a digit to str.isdigit() but not to int().
    with pytest.raises(cells.CellError):
        cells.integer("¹")


@pytest.mark.parametrize("day_first", [True, False])
def test_every_parser_reads_an_empty_cell_as_none(day_first):
    """``RowParser`` skips the parser for an empty cell and stores None: this must agree."""
    from comptoir.transfer.formats.base import parsers_for

    for kind, parse in parsers_for(day_first=day_first).items():
        assert parse("") is None, kind


def test_one_line_collapses_every_kind_of_space():
    assert cells.one_line("Jean\u00a0 Pierre") == "Jean Pierre"
    assert cells.one_line("Jean\tPierre\r\nDupont") == "Jean Pierre Dupont"
    assert cells.one_line("Jean Pierre") == "Jean Pierre"


def test_country_read_twice_gives_the_same_code():
    assert cells.country("France") == cells.country("France") == "FR"
    assert cells.country("fra") == "FR"
    for _attempt in range(2):
        with pytest.raises(CellError):
            cells.country("Atlantis")
