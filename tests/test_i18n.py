"""French and English are both complete: the catalogues, the pages, the service messages."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from comptoir.core.normalise import email_clean, phone_to_e164

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
CATALOGUES = {lang: LOCALE_DIR / lang / "LC_MESSAGES" / "django.po" for lang in ("fr", "en")}


def read_catalogue(language):
    with CATALOGUES[language].open("rb") as po:
        return read_po(po, locale=language)


def is_empty(string) -> bool:
    return not all(string) if isinstance(string, tuple) else not string


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_catalogue_is_complete(language):
    catalogue = read_catalogue(language)
    messages = [message for message in catalogue if message.id]
    assert len(messages) > 50, "the catalogue looks truncated"
    untranslated = [message.id for message in messages if is_empty(message.string)]
    fuzzy = [message.id for message in messages if message.fuzzy]
    assert not untranslated, f"untranslated in {language}: {untranslated}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"
    assert not catalogue.fuzzy, "the header is marked fuzzy"


def test_english_catalogue_says_what_the_source_says():
    different = [
        message.id
        for message in read_catalogue("en")
        if message.id and message.string != message.id
    ]
    assert not different


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)[sdif]", text))


def test_french_catalogue_is_french_and_keeps_the_placeholders():
    catalogue = read_catalogue("fr")
    assert catalogue.get("Log out").string == "Se déconnecter"
    assert catalogue.get("Customers").string == "Clients"
    # A placeholder lost in translation would raise (KeyError) when the string is formatted.
    broken = []
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            # A plural form may leave out the number ("the first row"), never add a name the
            # code does not pass.
            allowed = placeholders(message.id[0]) | placeholders(message.id[1])
            broken += [(message.id[0], t) for t in message.string if not placeholders(t) <= allowed]
        elif placeholders(message.string) != placeholders(message.id):
            broken.append((message.id, message.string))
    assert not broken


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        (
            "fr",
            [
                "Tableau de bord",
                "Clients",
                "Nouveaux ce mois-ci",
                "Abonnés à la newsletter",
                "Valeur vie client moyenne",
                "Se déconnecter",
                '<html lang="fr">',
            ],
            ["Newsletter subscribers", "Log out"],
        ),
        (
            "en",
            [
                "Dashboard",
                "Customers",
                "New this month",
                "Newsletter subscribers",
                "Average lifetime value",
                "Log out",
                '<html lang="en">',
            ],
            ["Abonnés à la newsletter", "Se déconnecter"],
        ),
    ],
)
@pytest.mark.django_db
def test_home_page_by_language_cookie(staff_client, language, expected, absent):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = staff_client.get("/").content.decode()
    for text in expected:
        assert text in html
    for text in absent:
        assert text not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "title"), [("fr-FR,fr;q=0.9", "Tableau de bord"), ("en-GB,en;q=0.8", "Dashboard")]
)
def test_home_page_by_accept_language(staff_client, header, title):
    assert title in staff_client.get("/", HTTP_ACCEPT_LANGUAGE=header).content.decode()


@pytest.mark.django_db
def test_unknown_language_falls_back_to_the_default(staff_client):
    html = staff_client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()
    assert f'<html lang="{settings.LANGUAGE_CODE}">' in html


def messages_in(language: str, check, value) -> list[str]:
    """The messages of the ValidationError ``check(value)`` raises, read in ``language``
    (they are lazy: read outside the override they would take the default language)."""
    with translation.override(language):
        with pytest.raises(ValidationError) as error:
            check(value)
        return [str(message) for message in error.value.messages]


def test_service_validation_messages_are_translated():
    assert messages_in("fr", phone_to_e164, "abc") == [
        "Saisissez un numéro de téléphone valide, par exemple +33 6 12 34 56 78."
    ]
    assert messages_in("en", phone_to_e164, "abc") == [
        "Enter a valid phone number, e.g. +33 6 12 34 56 78."
    ]
    assert messages_in("fr", email_clean, "not an e-mail") == [
        "Saisissez une adresse e-mail valide."
    ]
    assert messages_in("en", email_clean, "not an e-mail") == ["Enter a valid e-mail address."]
