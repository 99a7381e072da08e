"""The customers settings page: fields required on creation, the default delete mode (read by
the list's delete action), the titles list (add, rename, delete; a title in use is refused),
each change an event, bad input a message next to the field."""

import re

import pytest
from django.conf import settings
from django.contrib.messages import get_messages

from comptoir.core.models import Event
from comptoir.customers.models import Customer, CustomerSettings, Title
from comptoir.customers.services import (
    customer_settings_get,
    customer_settings_update,
    delete_mode_default,
    title_create,
    title_delete,
)

pytestmark = pytest.mark.django_db

SETTINGS = "/customers/settings/"


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def checked(html: str, name: str) -> set[str]:
    return set(
        re.findall(rf'type="(?:checkbox|radio)" name="{name}" value="(\w+)"[^>]*checked', html)
    )


class TestSettings:
    def test_the_page_shows_the_current_settings(self, staff_client, actor):
        html = staff_client.get(SETTINGS).content.decode()
        assert checked(html, "required_fields") == set()
        assert checked(html, "delete_mode") == {"deny"}
        assert re.search(
            r'class="nav-link active" href="/customers/settings/" aria-current="page"', html
        )
        customer_settings_update(
            actor=actor, required_fields=["birthday", "sms"], delete_mode="anonymise"
        )
        html = staff_client.get(SETTINGS).content.decode()
        assert checked(html, "required_fields") == {"birthday", "sms"}
        assert checked(html, "delete_mode") == {"anonymise"}

    def test_saving_records_an_event_and_feeds_the_list(
        self, staff_client, staff_user, django_capture_on_commit_callbacks
    ):
        staff_client.get("/customers/")  # the list caches the default delete mode
        with django_capture_on_commit_callbacks(execute=True):
            response = in_language(staff_client, "en").post(
                SETTINGS, {"required_fields": ["phone", "address"], "delete_mode": "allow"}
            )
        assert response.status_code == 302 and response["Location"] == SETTINGS
        assert texts(response) == ["Customer settings saved."]
        row = CustomerSettings.objects.get()
        assert (row.required_fields, row.delete_mode) == (["address", "phone"], "allow")
        event = Event.objects.get(kind="customer_settings_changed")
        assert (event.actor, event.source, event.object_type) == (
            staff_user,
            "backoffice",
            "settings",
        )
        assert event.data["changes"] == {
            "required_fields": {"before": [], "after": ["address", "phone"]},
            "delete_mode": {"before": "", "after": "allow"},
        }
        assert delete_mode_default() == "allow"
        listing = staff_client.get("/customers/").content.decode()
        assert re.search(r'<option value="allow" selected>', listing)

    def test_saving_the_same_settings_records_nothing(self, staff_client, actor):
        customer_settings_update(actor=actor, required_fields=["title"], delete_mode="deny")
        events = Event.objects.count()
        staff_client.post(SETTINGS, {"required_fields": ["title"], "delete_mode": "deny"})
        assert Event.objects.count() == events

    @pytest.mark.parametrize(
        ("language", "message"),
        [
            ("en", "Select a valid choice. shred is not one of the available choices."),
            ("fr", "Sélectionnez un choix valide. shred n\u2019en fait pas partie."),
        ],
    )
    def test_bad_input_is_refused_next_to_the_field(self, staff_client, language, message):
        response = in_language(staff_client, language).post(
            SETTINGS, {"required_fields": ["birthday"], "delete_mode": "shred"}
        )
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not CustomerSettings.objects.exists()
        assert not Event.objects.filter(kind="customer_settings_changed").exists()

    def test_the_read_never_writes(self):
        assert customer_settings_get().required_fields == []
        assert not CustomerSettings.objects.exists()


class TestTitles:
    def test_the_list(self, staff_client, make_customer):
        mme = Title.objects.get(name_fr="Mme")
        make_customer(title=mme)
        html = staff_client.get(SETTINGS).content.decode()
        rows = re.findall(r'<tr data-title="(\d+)">(.*?)</tr>', html, re.S)
        assert [int(pk) for pk, _row in rows] == list(Title.objects.values_list("pk", flat=True))
        in_use = {int(pk): "In use" in row or "Utilisé" in row for pk, row in rows}
        assert in_use[mme.pk] is True
        assert in_use[Title.objects.get(name_fr="M.").pk] is False
        assert f'action="/customers/settings/titles/{mme.pk}/delete/"' not in html

    def test_add(self, staff_client, staff_user):
        response = in_language(staff_client, "en").post(
            "/customers/settings/titles/new/",
            {"new-title-name_fr": "Dr", "new-title-name_en": "Dr", "new-title-gender": "neutral"},
        )
        assert response.status_code == 302
        assert texts(response) == ["Title “Dr” added."]
        title = Title.objects.get(name_fr="Dr")
        assert title.position == 3  # after M. and Mme
        event = Event.objects.get(kind="title_created")
        assert (event.object_id, event.actor) == (title.pk, staff_user)

    @pytest.mark.parametrize(
        ("language", "message"),
        [
            ("en", "There is already a title with this name."),
            ("fr", "Il existe déjà une civilité de ce nom."),
        ],
    )
    def test_a_duplicate_name_is_refused(self, staff_client, language, message):
        count = Title.objects.count()
        response = in_language(staff_client, language).post(
            "/customers/settings/titles/new/",
            {"new-title-name_fr": "mme", "new-title-name_en": "Ms", "new-title-gender": "female"},
        )
        assert response.status_code == 200
        assert message in response.content.decode()
        assert Title.objects.count() == count

    def test_rename(self, staff_client):
        mme = Title.objects.get(name_fr="Mme")
        response = staff_client.post(
            f"/customers/settings/titles/{mme.pk}/",
            {
                f"title-{mme.pk}-name_fr": "Madame",
                f"title-{mme.pk}-name_en": "Ms",
                f"title-{mme.pk}-gender": "female",
                f"title-{mme.pk}-position": "5",
            },
        )
        assert response.status_code == 302
        mme.refresh_from_db()
        assert (mme.name_fr, mme.name_en, mme.position) == ("Madame", "Ms", 5)
        event = Event.objects.get(kind="title_changed")
        assert event.data["changes"]["name_fr"] == {"before": "Mme", "after": "Madame"}

    def test_rename_errors_stay_on_their_row(self, staff_client):
        mme = Title.objects.get(name_fr="Mme")
        response = in_language(staff_client, "en").post(
            f"/customers/settings/titles/{mme.pk}/",
            {
                f"title-{mme.pk}-name_fr": "",
                f"title-{mme.pk}-name_en": "Ms",
                f"title-{mme.pk}-gender": "female",
            },
        )
        assert response.status_code == 200
        row = re.search(rf'<tr data-title="{mme.pk}">(.*?)</tr>', response.content.decode(), re.S)
        assert "This field is required." in row.group(1)
        assert Title.objects.get(pk=mme.pk).name_fr == "Mme"

    def test_delete_an_unused_title(self, staff_client, actor):
        title = title_create(actor=actor, name_fr="Pr", name_en="Prof", gender="neutral")
        response = staff_client.post(f"/customers/settings/titles/{title.pk}/delete/")
        assert response.status_code == 302
        assert not Title.objects.filter(pk=title.pk).exists()
        assert Event.objects.get(kind="title_deleted").data == {"name_fr": "Pr", "name_en": "Prof"}

    @pytest.mark.parametrize(
        ("language", "message"),
        [
            (
                "en",
                "“Mrs” is the title of 2 customers; give them another title before deleting it.",
            ),
            (
                "fr",
                "« Mme » est la civilité de 2 clients ; donnez-leur une autre civilité avant "
                "de la supprimer.",
            ),
        ],
    )
    def test_a_title_in_use_is_not_deleted(self, staff_client, make_customer, language, message):
        mme = Title.objects.get(name_fr="Mme")
        first, second = make_customer(title=mme), make_customer(title=mme)
        response = in_language(staff_client, language).post(
            f"/customers/settings/titles/{mme.pk}/delete/"
        )
        assert response.status_code == 302
        assert texts(response) == [message]
        assert Title.objects.filter(pk=mme.pk).exists()
        assert set(Customer.objects.filter(title=mme)) == {first, second}
        assert not Event.objects.filter(kind="title_deleted").exists()

    def test_the_service_refuses_too(self, actor, make_customer):
        mme = Title.objects.get(name_fr="Mme")
        make_customer(title=mme)
        with pytest.raises(Exception) as caught:
            title_delete(title=mme, actor=actor)
        assert caught.value.code == "in_use" and caught.value.customers_count == 1

    def test_the_titles_list_runs_a_fixed_number_of_queries(
        self, staff_client, actor, django_assert_num_queries
    ):
        staff_client.get(SETTINGS)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as few:
            staff_client.get(SETTINGS)
        for number in range(10):
            title_create(actor=actor, name_fr=f"T{number}", name_en=f"T{number}", gender="neutral")
        with django_assert_num_queries(len(few)):
            html = staff_client.get(SETTINGS).content.decode()
        assert html.count("<tr data-title=") == 12

    def test_the_titles_list_is_paginated(self, staff_client, actor):
        for number in range(60):
            title_create(actor=actor, name_fr=f"T{number}", name_en=f"T{number}", gender="neutral")
        first = staff_client.get(SETTINGS).content.decode()
        second = staff_client.get(SETTINGS, {"page": 2}).content.decode()
        assert first.count("<tr data-title=") == 50 and second.count("<tr data-title=") == 12
        assert 'href="?page=2"' in first
