"""The webhooks screens through the test client: who gets in, create/edit/switch off/delete with
their events, the form's errors (English and French), the deliveries log, "send a test" and
"retry now" against a server on 127.0.0.1."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.utils import timezone

from comptoir.core.models import Event, Source
from comptoir.webhooks.dispatch import webhooks_dispatch
from comptoir.webhooks.models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery
from comptoir.webhooks.runner import webhooks_send
from comptoir.webhooks.topics import (
    CUSTOMER_BLOCKED,
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    GROUP_UPDATED,
)

from .conftest import signature_valid

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FR = {"HTTP_ACCEPT_LANGUAGE": "fr"}
LOGIN = resolve_url(settings.LOGIN_URL)


def html(response) -> str:
    return response.content.decode()


def valid_form(**changes) -> dict:
    form = {
        "name": "ERP",
        "url": "https://erp.example.com/hooks/comptoir",
        "topics": [CUSTOMER_CREATED, CUSTOMER_BLOCKED],
        "is_active": "on",
        "secret": "",
    }
    form.update(changes)
    return form


def event(kind: str) -> Event:
    return Event.objects.get(kind=kind)


# ----- who gets in -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_and_changes_nothing(client, make_webhook):
    webhook = make_webhook()
    delivery = WebhookDelivery.objects.create(webhook=webhook, topic=CUSTOMER_CREATED)
    pages = [
        "/webhooks/",
        "/webhooks/new/",
        f"/webhooks/{webhook.pk}/",
        f"/webhooks/{webhook.pk}/edit/",
        f"/webhooks/{webhook.pk}/delete/",
        f"/webhooks/deliveries/{delivery.pk}/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{LOGIN}?next={url}", url
    actions = [
        "/webhooks/new/",
        f"/webhooks/{webhook.pk}/edit/",
        f"/webhooks/{webhook.pk}/active/",
        f"/webhooks/{webhook.pk}/test/",
        f"/webhooks/{webhook.pk}/delete/",
        f"/webhooks/deliveries/{delivery.pk}/redeliver/",
    ]
    for url in actions:
        response = client.post(url, valid_form(name="Hacked", is_active="0"))
        assert response.status_code == 302, url
        assert response["Location"].startswith(LOGIN), url
    webhook.refresh_from_db()
    assert (webhook.name, webhook.is_active) == ("ERP", True)
    assert WebhookDelivery.objects.count() == 1 and not WebhookAttempt.objects.exists()


def test_missing_objects_are_404_and_actions_want_a_post(staff_client, make_webhook):
    webhook = make_webhook()
    for url in ("/webhooks/999999/", "/webhooks/999999/edit/", "/webhooks/deliveries/999999/"):
        assert staff_client.get(url).status_code == 404
    assert staff_client.post("/webhooks/999999/test/").status_code == 404
    assert staff_client.post("/webhooks/deliveries/999999/redeliver/").status_code == 404
    assert staff_client.get(f"/webhooks/{webhook.pk}/test/").status_code == 405
    assert staff_client.get(f"/webhooks/{webhook.pk}/active/").status_code == 405


# ----- create, edit, switch off, delete ----------------------------------------------------------


def test_staff_create_a_webhook(staff_client, staff_user):
    assert "No webhook yet" in html(staff_client.get("/webhooks/", **EN))
    form_page = staff_client.get("/webhooks/new/", **EN)
    assert form_page.status_code == 200
    assert 'value="customer.merged"' in html(form_page)
    response = staff_client.post("/webhooks/new/", valid_form(), **EN)
    webhook = Webhook.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/webhooks/{webhook.pk}/"
    assert (webhook.name, webhook.url) == ("ERP", "https://erp.example.com/hooks/comptoir")
    assert webhook.topics == [CUSTOMER_CREATED, CUSTOMER_BLOCKED]
    assert webhook.is_active and webhook.created_by == staff_user
    # No secret given: a random one (64 hex digits) was made.
    assert re.fullmatch(r"[0-9a-f]{64}", webhook.secret)
    created = event("webhook_created")
    assert (created.actor_id, created.source, created.ip_address) == (
        staff_user.pk,
        Source.BACKOFFICE,
        "127.0.0.1",
    )
    assert (created.object_type, created.object_id) == ("webhook", webhook.pk)
    assert webhook.since_event_id == created.pk  # sent the changes after its creation
    assert created.data["url"] == webhook.url and created.data["is_active"] is True
    assert webhook.secret not in str(created.data)
    # Its page shows the secret to give the receiver, and how to check a signature.
    page = staff_client.get(response["Location"], **EN)
    assert "no-store" in page["Cache-Control"]
    text = html(page)
    assert webhook.secret in text and "X-Comptoir-Signature" in text
    assert "No delivery yet" in text
    listing = html(staff_client.get("/webhooks/", **EN))
    assert "ERP" in listing and "https://erp.example.com/hooks/comptoir" in listing
    assert "Customer created" in listing and "Active" in listing


def test_a_secret_given_is_kept(staff_client):
    staff_client.post("/webhooks/new/", valid_form(secret="s3cret-shared-with-erp"), **EN)
    assert Webhook.objects.get().secret == "s3cret-shared-with-erp"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "This field is required."),
        ("ftp://erp.example.com/hooks", "Use an address starting with http:// or https://."),
        ("javascript:alert(1)", "Use an address starting with http:// or https://."),
        ("file:///etc/passwd", "Use an address starting with http:// or https://."),
        ("erp.example.com/hooks", "Use an address starting with http:// or https://."),
        ("http://", "Enter a valid web address."),
        ("https://exa mple.com/hooks", "Enter a valid web address."),
        ("http://erp.example.com:99999/hooks", "Enter a valid web address."),
        ("http://169.254.169.254/latest/meta-data/", "This address cannot receive webhooks"),
        ("http://[fe80::1]/hooks", "This address cannot receive webhooks"),
        ("http://0.0.0.0:8000/hooks", "This address cannot receive webhooks"),
    ],
)
def test_a_bad_url_is_an_error_next_to_the_field_never_a_500(staff_client, url, message):
    response = staff_client.post("/webhooks/new/", valid_form(url=url), **EN)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["url"]
    assert message in errors["url"][0]
    assert message.replace("'", "&#x27;") in html(response)
    assert not Webhook.objects.exists() and not Event.objects.filter(kind__startswith="webhook")


def test_every_error_is_shown_at_once(staff_client):
    response = staff_client.post(
        "/webhooks/new/",
        {"name": " ", "url": "ftp://x.example.com", "topics": [], "secret": "short"},
        **EN,
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["url"] == ["Use an address starting with http:// or https://."]
    assert errors["topics"] == ["Choose at least one topic."]
    assert errors["secret"][0].startswith("Use between 16 and 128 letters")
    text = html(response)
    for message in ("This field is required.", "Choose at least one topic.", "Use between 16"):
        assert message in text
    response = staff_client.post(
        "/webhooks/new/", valid_form(topics=["customer.created", "order.paid"]), **EN
    )
    assert response.context["form"].errors["topics"]
    assert not Webhook.objects.exists()


def test_errors_are_in_french_for_a_french_reader(staff_client):
    response = staff_client.post("/webhooks/new/", valid_form(name=" "), **FR)
    assert response.status_code == 200
    text = html(response)
    assert '<html lang="fr"' in text
    assert response.context["form"].errors["name"] == ["Ce champ est obligatoire."]
    assert "Ce champ est obligatoire." in text
    assert "Client créé" in text and "Enregistrer" in text
    assert not Webhook.objects.exists()
    english = staff_client.post("/webhooks/new/", valid_form(name=" "), **EN)
    assert english.context["form"].errors["name"] == ["This field is required."]
    assert "Customer created" in html(english) and "Client créé" not in html(english)


def test_staff_edit_a_webhook(staff_client, make_webhook, staff_user):
    webhook = make_webhook(name="ERP", topics=[CUSTOMER_CREATED])
    secret = webhook.secret
    page = staff_client.get(f"/webhooks/{webhook.pk}/edit/", **EN)
    assert page.status_code == 200
    assert 'value="https://erp.example.com/hooks"' in html(page)
    response = staff_client.post(
        f"/webhooks/{webhook.pk}/edit/",
        valid_form(
            name="ERP (prod)",
            url="https://erp.example.com/v2/hooks",
            topics=[CUSTOMER_UPDATED, GROUP_UPDATED],
        ),
        **EN,
    )
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{webhook.pk}/"
    webhook.refresh_from_db()
    assert (webhook.name, webhook.url) == ("ERP (prod)", "https://erp.example.com/v2/hooks")
    assert webhook.topics == [CUSTOMER_UPDATED, GROUP_UPDATED]
    assert webhook.secret == secret  # an empty "new secret" keeps it
    updated = event("webhook_updated")
    assert updated.actor_id == staff_user.pk and updated.object_id == webhook.pk
    assert updated.data["changes"]["name"] == {"before": "ERP", "after": "ERP (prod)"}
    assert updated.data["changes"]["topics"]["after"] == [CUSTOMER_UPDATED, GROUP_UPDATED]
    # A new random secret: the event says it changed, never what it is.
    staff_client.post(
        f"/webhooks/{webhook.pk}/edit/",
        valid_form(
            name="ERP (prod)",
            url="https://erp.example.com/v2/hooks",
            topics=[CUSTOMER_UPDATED, GROUP_UPDATED],
            secret_regenerate="on",
        ),
        **EN,
    )
    webhook.refresh_from_db()
    assert webhook.secret != secret and re.fullmatch(r"[0-9a-f]{64}", webhook.secret)
    latest = Event.objects.filter(kind="webhook_updated").latest("id")
    assert latest.data["changes"] == {"secret": {"changed": True}}
    assert webhook.secret not in str(latest.data)
    # A bad URL on edit: shown, nothing changed.
    response = staff_client.post(
        f"/webhooks/{webhook.pk}/edit/", valid_form(url="gopher://x.example.com"), **EN
    )
    assert response.status_code == 200
    assert "Use an address starting with http:// or https://." in html(response)
    webhook.refresh_from_db()
    assert webhook.url == "https://erp.example.com/v2/hooks"
    assert Event.objects.filter(kind="webhook_updated").count() == 2


def test_saving_without_a_change_writes_no_event(staff_client, make_webhook):
    webhook = make_webhook(topics=[CUSTOMER_CREATED])
    staff_client.post(
        f"/webhooks/{webhook.pk}/edit/",
        valid_form(url=webhook.url, topics=[CUSTOMER_CREATED]),
        **EN,
    )
    assert not Event.objects.filter(kind="webhook_updated").exists()


def test_staff_switch_a_webhook_off_and_on(staff_client, make_webhook, staff_user):
    webhook = make_webhook()
    response = staff_client.post(f"/webhooks/{webhook.pk}/active/", {"is_active": "0"}, **EN)
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert not webhook.is_active
    switched = Event.objects.get(kind="webhook_updated")
    assert switched.actor_id == staff_user.pk
    assert switched.data == {"changes": {"is_active": {"before": True, "after": False}}}
    page = html(staff_client.get(response["Location"], **EN))
    assert "switched off: nothing is sent to it" in page and 'id="webhook-switch-on"' in page
    assert "Switched off" in html(staff_client.get("/webhooks/", **EN))
    # Switching off twice changes nothing and writes nothing.
    staff_client.post(f"/webhooks/{webhook.pk}/active/", {"is_active": "0"}, **EN)
    assert Event.objects.filter(kind="webhook_updated").count() == 1
    staff_client.post(f"/webhooks/{webhook.pk}/active/", {"is_active": "1"}, **EN)
    webhook.refresh_from_db()
    assert webhook.is_active
    # It is sent the changes after it was switched back on.
    switched_on = Event.objects.filter(kind="webhook_updated").latest("id")
    assert switched_on.data["changes"]["is_active"]["after"] is True
    assert webhook.since_event_id == switched_on.pk
    assert Event.objects.filter(kind="webhook_updated").count() == 2


def test_staff_delete_a_webhook_with_its_log(staff_client, make_webhook, receiver, staff_user):
    webhook = make_webhook(url=receiver.url)
    other = make_webhook(name="Other", url=receiver.url)
    staff_client.post(f"/webhooks/{webhook.pk}/test/", **EN)
    staff_client.post(f"/webhooks/{other.pk}/test/", **EN)
    confirm = staff_client.get(f"/webhooks/{webhook.pk}/delete/", **EN)
    assert confirm.status_code == 200 and receiver.url in html(confirm)
    assert Webhook.objects.filter(pk=webhook.pk).exists()  # GET deletes nothing
    response = staff_client.post(f"/webhooks/{webhook.pk}/delete/", **EN)
    assert response.status_code == 302 and response["Location"] == "/webhooks/"
    assert list(Webhook.objects.values_list("name", flat=True)) == ["Other"]
    assert list(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == [other.pk]
    assert WebhookAttempt.objects.filter(delivery__webhook=other).count() == 1
    assert WebhookAttempt.objects.count() == 1
    deleted = event("webhook_deleted")
    assert (deleted.actor_id, deleted.object_id) == (staff_user.pk, webhook.pk)
    assert deleted.data["url"] == receiver.url
    assert "deleted" in html(staff_client.get("/webhooks/", **EN))
    assert staff_client.post(f"/webhooks/{webhook.pk}/delete/").status_code == 404


# ----- send a test, the log, retry now -----------------------------------------------------------


def test_send_a_test_delivery(staff_client, make_webhook, receiver, staff_user):
    webhook = make_webhook(url=receiver.url, topics=[CUSTOMER_CREATED])
    response = staff_client.post(f"/webhooks/{webhook.pk}/test/", follow=True, **EN)
    assert response.status_code == 200
    [request] = receiver.requests
    assert request.headers["X-Comptoir-Topic"] == "webhook.test"
    assert request.json["data"]["name"] == "ERP"
    assert request.json["data"]["sent_by"] == str(staff_user)
    assert signature_valid(webhook.secret, request.body, request.headers["X-Comptoir-Signature"])
    delivery = WebhookDelivery.objects.get()
    assert delivery.is_test and delivery.status == DeliveryStatus.DELIVERED
    text = html(response)
    assert f"Delivered: the receiver answered 200 in {delivery.response_ms} ms." in text
    tested = event("webhook_tested")
    assert tested.actor_id == staff_user.pk and tested.object_id == webhook.pk
    assert tested.data == {
        "delivery": str(delivery.uuid),
        "delivered": True,
        "response_status": 200,
    }


def test_a_failed_test_says_why_and_is_not_retried(staff_client, make_webhook, receiver):
    receiver.status, receiver.answer = 500, b"boom"
    webhook = make_webhook(url=receiver.url)
    response = staff_client.post(f"/webhooks/{webhook.pk}/test/", follow=True, **EN)
    assert "Not delivered: HTTP 500: boom" in html(response)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.next_attempt_at is None


def _log_with_three_deliveries(webhook, receiver):
    """One delivered (200), one waiting for its second try (500), one failed (503)."""
    now = timezone.now()
    receiver.status = 200
    WebhookDelivery.objects.create(
        webhook=webhook,
        topic=CUSTOMER_CREATED,
        object_type="customer",
        object_id=1,
        next_attempt_at=now,
    )
    webhooks_send()
    receiver.status, receiver.answer = 500, b"ERP down"
    WebhookDelivery.objects.create(
        webhook=webhook,
        topic=CUSTOMER_UPDATED,
        object_type="customer",
        object_id=2,
        next_attempt_at=now,
    )
    webhooks_send()
    receiver.status, receiver.answer = 503, b"maintenance"
    failed = WebhookDelivery.objects.create(
        webhook=webhook,
        topic=CUSTOMER_BLOCKED,
        object_type="customer",
        object_id=3,
        next_attempt_at=now,
    )
    webhooks_send()
    WebhookDelivery.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED, attempts=6, next_attempt_at=None
    )
    return WebhookDelivery.objects.order_by("id")


def row(text: str, delivery_id: int) -> str:
    start = text.index(f'data-delivery="{delivery_id}"')
    return text[start : text.index("</tr>", start)]


def test_the_log_shows_status_code_time_attempts_and_next_try(staff_client, make_webhook, receiver):
    webhook = make_webhook(url=receiver.url)
    delivered, waiting, failed = _log_with_three_deliveries(webhook, receiver)
    page = staff_client.get(f"/webhooks/{webhook.pk}/", **EN)
    text = html(page)
    first = row(text, delivered.pk)
    assert 'data-status="delivered"' in first and '<td class="text-end" data-code>200<' in first
    assert f"{delivered.response_ms} ms" in first
    assert "Retry now" not in first
    second = row(text, waiting.pk)
    assert "Retrying" in second and "data-code>500<" in second
    assert re.search(r"data-attempts>1<", second)
    next_cell = second[second.index("data-next>") :]
    assert re.match(r"data-next>\S", next_cell)  # the date of the next try
    assert "Retry now" in second
    third = row(text, failed.pk)
    assert 'data-status="failed"' in third and "data-code>503<" in third
    assert "data-attempts>6<" in third and "Retry now" in third
    assert "HTTP 500: ERP down" in text and "HTTP 503: maintenance" in text
    assert page.context["log"].counts == {"pending": 1, "delivered": 1, "failed": 1}
    # Filtered by status.
    only_failed = staff_client.get(f"/webhooks/{webhook.pk}/?status=failed", **EN)
    assert [d.pk for d in only_failed.context["log"].page] == [failed.pk]
    # Bad query strings are not errors.
    assert staff_client.get(f"/webhooks/{webhook.pk}/?status=x&page=zz").status_code == 200
    # The list shows the latest delivery and how many wait.
    listing = html(staff_client.get("/webhooks/", **EN))
    assert re.search(r"data-pending>1<", listing)
    # A delivery's page: its body, each try with its code and time.
    detail = staff_client.get(f"/webhooks/deliveries/{waiting.pk}/", **EN)
    text = html(detail)
    assert str(waiting.uuid) in text and "customer.updated" in text
    assert "1 of at most 6" in text and 'id="next-attempt"' in text
    assert "HTTP 500: ERP down" in text and "Retry now" in text
    assert f"{waiting.response_ms} ms" in text


def test_the_log_in_french(staff_client, make_webhook, receiver):
    webhook = make_webhook(url=receiver.url)
    _log_with_three_deliveries(webhook, receiver)
    text = html(staff_client.get(f"/webhooks/{webhook.pk}/", **FR))
    assert '<html lang="fr"' in text
    assert "Livré<" in text and "Échec" in text and "Modifier" in text and "Supprimer" in text
    assert "HTTP 500: ERP down" in text


def test_retry_now_from_the_log_keeps_the_count(staff_client, make_webhook, receiver, staff_user):
    webhook = make_webhook(url=receiver.url)
    _delivered, waiting, _failed = _log_with_three_deliveries(webhook, receiver)
    receiver.status = 200
    response = staff_client.post(
        f"/webhooks/deliveries/{waiting.pk}/redeliver/", {"back": "log"}, **EN
    )
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{webhook.pk}/"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts, waiting.response_status) == ("delivered", 2, 200)
    assert WebhookAttempt.objects.filter(delivery=waiting).count() == 2
    assert receiver.requests[-1].headers["X-Comptoir-Attempt"] == "2"
    assert receiver.requests[-1].headers["X-Comptoir-Delivery"] == str(waiting.uuid)
    retried = event("webhook_delivery_retried")
    assert retried.actor_id == staff_user.pk and retried.object_id == webhook.pk
    assert retried.data == {"delivery": str(waiting.uuid), "topic": CUSTOMER_UPDATED}
    page = html(staff_client.get(response["Location"], **EN))
    assert "Delivered: the receiver answered 200" in page


def test_send_again_a_failed_delivery_starts_its_schedule_again(
    staff_client, make_webhook, receiver, staff_user
):
    webhook = make_webhook(url=receiver.url)
    _delivered, _waiting, failed = _log_with_three_deliveries(webhook, receiver)
    receiver.status, receiver.answer = 502, b"still down"
    response = staff_client.post(f"/webhooks/deliveries/{failed.pk}/redeliver/", **EN)
    assert response["Location"] == f"/webhooks/deliveries/{failed.pk}/"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.response_status) == ("pending", 1, 502)
    assert failed.next_attempt_at - failed.last_attempt_at == datetime.timedelta(minutes=1)
    assert event("webhook_delivery_resent").actor_id == staff_user.pk
    page = html(staff_client.get(response["Location"], **EN))
    assert "Not delivered: HTTP 502: still down" in page
    assert "1 of at most 6" in page


def test_the_list_page_runs_a_fixed_number_of_queries(
    staff_client, make_webhook, receiver, django_assert_max_num_queries
):
    for n in range(6):
        webhook = make_webhook(name=f"Hook {n}", url=receiver.url)
        WebhookDelivery.objects.create(
            webhook=webhook, topic=CUSTOMER_CREATED, next_attempt_at=timezone.now()
        )
    webhooks_send()
    with django_assert_max_num_queries(8):
        response = staff_client.get("/webhooks/", **EN)
    assert html(response).count("data-webhook=") == 6


def test_the_dispatcher_and_the_screens_agree(staff_client, make_webhook, make_customer, receiver):
    """A change made after the webhook exists shows in its log once sent."""
    webhook = make_webhook(url=receiver.url, topics=[CUSTOMER_CREATED])
    customer = make_customer()
    webhooks_dispatch()
    webhooks_send()
    text = html(staff_client.get(f"/webhooks/{webhook.pk}/", **EN))
    assert f"/customers/{customer.pk}/" in text and "customer.created" in text
    assert WebhookDelivery.objects.get().created_at <= timezone.now()
