"""Shared fixtures: a staff member and their actor, groups, a customer factory."""

import itertools

import pytest

from comptoir.core.actors import Actor
from comptoir.groups.models import Group

_sequence = itertools.count(1)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="marie",
        password="correct horse battery staple",
        is_staff=True,
        first_name="Marie",
        last_name="Curie",
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def actor(staff_user):
    return Actor.staff(staff_user, ip_address="192.0.2.10")


@pytest.fixture
def default_group(db):
    return Group.objects.get(is_default=True)


@pytest.fixture
def vip_group(db):
    return Group.objects.create(name_fr="VIP", name_en="VIP", discount=10)


@pytest.fixture
def make_customer(db, actor):
    """Create customers through the service, with unique e-mails unless one is given."""
    from comptoir.customers.services import customer_create

    def make(**fields):
        n = next(_sequence)
        fields.setdefault("first_name", "Hélène")
        fields.setdefault("last_name", f"Dupont{n}")
        if not fields.get("is_guest"):
            fields.setdefault("email", f"helene.dupont{n}@example.com")
        return customer_create(actor=fields.pop("actor", actor), **fields)

    return make


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: ids are reused after a rolled-back test, so a value
    cached under the same data version by an earlier test would otherwise leak into the next."""
    from django.core.cache import cache

    from comptoir.customers.selectors.listing import sort_index_probes_clear

    cache.clear()
    sort_index_probes_clear()
    yield
    cache.clear()
    sort_index_probes_clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request through the test client
    leaves the language it negotiated active in the thread (Django only activates)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
