"""Phone numbers: the plain reading (``phone_plain_to_e164``) gives phonenumbers' own answer."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from comptoir.core.normalise import (
    PLAIN_EMAIL,
    email_clean,
    name_clean,
    phone_plain_to_e164,
    phone_to_e164,
)

REGIONS = ["FR", "GB", "BE", "CH", "DE", "NL", "LU", "ES", "IT", "US", "CA", "MC", "RE", "GP",
           "JE", "IM", "AU", "BR", "AR", "MX", "JP", "IN", "RU", "KZ", "SE", "NO"]  # fmt: skip


def parsed(raw: str, region: str) -> str | None:
    """What phonenumbers makes of it: its E.164 form, or None for a number it refuses."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def same_as_phonenumbers(raw: str, region: str) -> None:
    expected = parsed(raw, region)
    plain = phone_plain_to_e164(raw, region)
    assert plain is None or plain == expected, (raw, region, plain, expected)
    if expected is None:
        with pytest.raises(ValidationError):
            phone_to_e164(raw, region)
    else:
        assert phone_to_e164(raw, region) == expected, (raw, region)


def spellings(number: phonenumbers.PhoneNumber) -> list[str]:
    """How people write a number: national and international, in groups with spaces, dots or
    dashes, or in one block."""
    found = []
    for style in (phonenumbers.PhoneNumberFormat.NATIONAL,
                  phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                  phonenumbers.PhoneNumberFormat.E164):  # fmt: skip
        text = phonenumbers.format_number(number, style)
        found += [text, text.replace(" ", "."), text.replace(" ", "-"), text.replace(" ", "")]
    return found


def test_the_plain_reading_takes_the_common_spellings():
    assert phone_plain_to_e164("06 12 34 56 78", "FR") == "+33612345678"
    assert phone_plain_to_e164("06.12.34.56.78", "FR") == "+33612345678"
    assert phone_plain_to_e164("+44 20 7946 0123", "FR") == "+442079460123"
    assert phone_plain_to_e164("+33 06 12 34 56 78", "GB") == "+33612345678"
    # Others take the full parse.
    for raw in ("(0)6 12 34 56 78", "0033 6 12 34 56 78", "06 12 34 56 78 ext. 12", "33612345678",
                "+39 06 1234 5678", "06  12 34 56 78"):  # fmt: skip
        assert phone_plain_to_e164(raw, "FR") is None, raw


def test_every_example_number_of_every_region_reads_the_same_both_ways():
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            for raw in spellings(number):
                for default in (region, "FR", "GB"):
                    same_as_phonenumbers(raw, default)


def test_random_numbers_read_the_same_both_ways():
    chance = random.Random(16)
    for _ in range(20_000):
        region = chance.choice(REGIONS)
        digits = "".join(chance.choice("0123456789") for _ in range(chance.randint(3, 16)))
        lead = chance.choice(["", "0", "+", "+", "00", "+33", "+44", "+1", "+39", "+7"])
        text = lead + digits
        groups, at = [], 0
        while at < len(text):
            step = chance.randint(1, 4)
            groups.append(text[at : at + step])
            at += step
        raw = chance.choice([" ", ".", "-", ""]).join(groups)
        if raw.startswith(("+ ", "+.", "+-")):
            raw = "+" + raw[2:]
        same_as_phonenumbers(raw, region)


def test_the_benchmark_file_numbers_read_the_same_both_ways():
    for n in range(0, 10_000, 7):
        for block in range(1, 6):
            same_as_phonenumbers(f"0{block} 99 00 {n % 100:02d} {n // 100 % 100:02d}", "FR")
        for block in ("20 7946 0", "113 496 0", "117 496 0"):
            same_as_phonenumbers(f"+44 {block}{n % 1000:03d}", "GB")


@settings(max_examples=500, deadline=None)
@given(raw=st.text(alphabet="+0123456789 .-", min_size=1, max_size=22),
       region=st.sampled_from(REGIONS))  # fmt: skip
def test_any_text_of_digits_and_separators_reads_the_same_both_ways(raw, region):
    raw = raw.strip()
    if raw:
        same_as_phonenumbers(raw, region)


# -------------------------------------------------------------------------------------------------
# E-mails


@settings(max_examples=1000, deadline=None)
@given(email=st.from_regex(PLAIN_EMAIL, fullmatch=True))
def test_every_plain_email_is_one_django_accepts(email):
    assume(len(email) <= 320)
    EmailValidator()(email)
    assert email_clean(f"  {email} ") == email


def test_emails_of_other_shapes_are_still_checked_by_django():
    for good in ("marie.o'brien@example.com", "x@localhost", "a@[127.0.0.1]",
                 "a@b.xn--p1ai", "jean@sub.example.co.uk"):  # fmt: skip
        assert email_clean(good) == good
    too_long = "x" * 310 + "@example.com"
    for bad in ("a..b@example.com", ".a@example.com", "a@-example.com", "a@example", "a@b.c",
                "a@example.c0m", "a b@example.com", "a@@example.com", "É@example.fr",
                too_long):  # fmt: skip
        assert not PLAIN_EMAIL.fullmatch(bad) or len(bad) > 320
        with pytest.raises(ValidationError):
            email_clean(bad)


@settings(max_examples=500, deadline=None)
@given(
    region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    kind=st.sampled_from(phonenumbers.PhoneNumberType.values()),
    tail=st.text(alphabet="0123456789", max_size=4),
    cut=st.integers(min_value=0, max_value=4),
)
def test_the_plain_validity_check_agrees_with_phonenumbers(region, kind, tail, cut):
    """The short way of ``_valid`` (main region, general and fixed-line or mobile pattern) says
    what ``phonenumbers.is_valid_number`` says: every region's example numbers of every type,
    their last digits changed, shortened or lengthened (valid and invalid ones)."""
    from comptoir.core.normalise import _valid

    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None and not example.italian_leading_zero)
    national = str(example.national_number)
    national = (national[: len(national) - cut] + tail).lstrip("0") or "1"
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    number = phonenumbers.PhoneNumber(
        country_code=example.country_code, national_number=int(national)
    )
    assert _valid(number, national, metadata) == phonenumbers.is_valid_number(number)


def test_the_plain_validity_check_takes_the_short_way_for_common_numbers(monkeypatch):
    from comptoir.core import normalise

    monkeypatch.setattr(
        normalise.phonenumbers, "is_valid_number", lambda number: pytest.fail("the long way")
    )
    assert phone_plain_to_e164("06 12 34 56 78", "FR") == "+33612345678"
    assert phone_plain_to_e164("01 42 68 53 00", "FR") == "+33142685300"
    assert phone_plain_to_e164("+44 20 7946 0123", "FR") == "+442079460123"


def test_a_name_is_trimmed_and_its_runs_of_any_space_made_one():
    assert name_clean("  Jean \t\n Pierre\u00a0 Dupont ") == "Jean Pierre Dupont"
    assert name_clean("Jean Pierre") == "Jean Pierre"
    assert name_clean(" Jean\tPierre") == "Jean Pierre"
    assert name_clean(None) == ""


@given(
    value=st.text(
        alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u2028\u3000abé-'"), max_size=12
    )
    | st.text(max_size=12)
)
def test_a_name_cleans_as_the_whitespace_rule_says_whichever_way_it_takes(value):
    # The short way (single spaces already) must give what the regular expression gives.
    assert name_clean(value) == re.sub(r"\s+", " ", value).strip()
