"""The back-office screens of the WooCommerce key pairs, and the key services behind them."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.woocommerce.keys import consumer_key_hash, consumer_secret_derive
from comptoir.woocommerce.models import ConsumerKey
from comptoir.woocommerce.services import consumer_key_create

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _basic_get(client, ck, cs):
    token = base64.b64encode(f"{ck}:{cs}".encode()).decode()
    return client.get("/wp-json/wc/v3/customers", secure=True, HTTP_AUTHORIZATION=f"Basic {token}")


def test_create_shows_the_pair_once_and_it_works(staff_client, client, staff_user):
    page = staff_client.get("/woocommerce/keys/new/", **EN)
    assert page.status_code == 200
    response = staff_client.post(
        "/woocommerce/keys/new/", {"description": "Mailing sync", "permissions": "read"}, **EN
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    ck = response.context["consumer_key"]
    cs = response.context["consumer_secret"]
    assert ck.startswith("ck_") and len(ck) == 43 and cs.startswith("cs_") and len(cs) == 43
    html = response.content.decode()
    assert ck in html and cs in html
    key = ConsumerKey.objects.get()
    # Only the key's hash is kept; the secret is nowhere in the row.
    assert key.key_hash == consumer_key_hash(ck)
    assert ck not in str(key.__dict__) and cs not in str(key.__dict__)
    assert (key.user, key.permissions, key.truncated_key) == (staff_user, "read", ck[-7:])
    event = Event.objects.get(kind="woocommerce_key_created")
    assert (event.actor_id, event.object_id) == (staff_user.pk, key.pk)
    # The pair lets a WooCommerce client in.
    assert _basic_get(client, ck, cs).status_code == 200
    # The list shows the pair without its secret.
    listing = staff_client.get("/woocommerce/keys/", **EN).content.decode()
    assert "Mailing sync" in listing and ck[-7:] in listing
    assert cs not in listing and ck not in listing


def test_create_refuses_an_empty_description(staff_client):
    response = staff_client.post(
        "/woocommerce/keys/new/", {"description": " ", "permissions": "read_write"}, **EN
    )
    assert response.status_code == 200
    assert response.context["form"].errors["description"]
    assert not ConsumerKey.objects.exists()


def test_service_checks_its_input(staff_user):
    actor = Actor.staff(staff_user)
    with pytest.raises(ValidationError) as caught:
        consumer_key_create(description="", permissions="admin", actor=actor)
    assert set(caught.value.message_dict) == {"description", "permissions"}
    with pytest.raises(ValidationError):
        consumer_key_create(description="x", permissions="read", actor=Actor.system())


def test_revoke(staff_client, client, make_key, staff_user):
    key, ck, cs = make_key()
    confirm = staff_client.get(f"/woocommerce/keys/{key.pk}/revoke/", **EN)
    assert confirm.status_code == 200 and "Revoke the key" in confirm.content.decode()
    response = staff_client.post(f"/woocommerce/keys/{key.pk}/revoke/", **EN)
    assert response.status_code == 302 and response["Location"] == "/woocommerce/keys/"
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Event.objects.filter(kind="woocommerce_key_revoked", object_id=key.pk).exists()
    refused = _basic_get(client, ck, cs)
    assert refused.status_code == 401
    listing = staff_client.get("/woocommerce/keys/", **EN).content.decode()
    assert "data-revoked" in listing


def test_others_keys_are_hidden_but_not_from_a_superuser(
    staff_client, make_key, django_user_model, client
):
    other = django_user_model.objects.create_user(
        "paul", password="x-long-password-1", is_staff=True
    )
    key, _ck, _cs = make_key(user=other, description="Tool of Paul")
    assert "Tool of Paul" not in staff_client.get("/woocommerce/keys/").content.decode()
    assert staff_client.get(f"/woocommerce/keys/{key.pk}/revoke/").status_code == 404
    assert staff_client.post(f"/woocommerce/keys/{key.pk}/revoke/").status_code == 404
    boss = django_user_model.objects.create_superuser("boss", password="x-long-password-2")
    client.force_login(boss)
    assert "Tool of Paul" in client.get("/woocommerce/keys/").content.decode()


def test_the_navigation_links_the_keys(staff_client):
    html = staff_client.get("/woocommerce/keys/", **EN).content.decode()
    assert 'href="/woocommerce/keys/"' in html


def test_a_rotated_server_key_keeps_the_pairs_working_through_the_fallbacks(client, make_key):
    key, ck, cs = make_key()
    with override_settings(SECRET_KEY="a-new-server-key", SECRET_KEY_FALLBACKS=[]):
        assert consumer_secret_derive(key.secret_salt) != cs
        assert _basic_get(client, ck, cs).status_code == 401
    from django.conf import settings

    with override_settings(
        SECRET_KEY="a-new-server-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
    ):
        assert _basic_get(client, ck, cs).status_code == 200
