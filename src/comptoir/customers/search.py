"""The accent-folded search text of a customer, kept up to date by the services."""

from __future__ import annotations

from collections.abc import Iterable

from comptoir.core.normalise import phone_national_digits
from comptoir.core.text import fold


def search_text_build(
    *,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    mobile: str = "",
    company: str = "",
    places: Iterable[tuple[str, str]] = (),
) -> str:
    """One line of folded words: names, e-mail, phones in E.164 and national digits, company,
    and the (city, postcode) of each address."""
    parts = [first_name, last_name, email, company]
    for number in (phone, mobile):
        if number:
            parts += [number, phone_national_digits(number)]
    for city, postcode in places:
        parts += [city, postcode]
    return fold(" ".join(p for p in parts if p))


def search_text_for(customer) -> str:
    places = customer.addresses.values_list("city", "postcode") if customer.pk else ()
    return search_text_build(
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        mobile=customer.mobile,
        company=customer.company,
        places=places,
    )
