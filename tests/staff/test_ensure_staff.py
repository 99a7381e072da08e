"""``comptoir ensure_staff``: one administrator, a password shown once, never a fixed one."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

pytestmark = pytest.mark.django_db

LOGIN = "/staff/login/"


def ensure_staff(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("ensure_staff", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    match = re.search(r"shown only this once: (\S+)", output)
    assert match, output
    return match.group(1)


@pytest.fixture(autouse=True)
def no_password_in_environment(monkeypatch):
    monkeypatch.delenv("COMPTOIR_ADMIN_PASSWORD", raising=False)


def test_creates_an_admin_once_with_a_printed_random_password(client, django_user_model):
    output = ensure_staff()
    assert "Created the staff superuser admin." in output
    password = printed_password(output)
    assert len(password) >= 20

    admin = django_user_model.objects.get()
    assert admin.username == "admin"
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.password.startswith("argon2")
    assert admin.check_password(password)

    # The printed password opens the back-office through the real login form.
    response = client.post(LOGIN, {"username": "admin", "password": password})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200

    # A second run changes nothing and prints no password.
    again = ensure_staff()
    assert "already exists (admin); nothing changed" in again
    assert "shown only this once" not in again
    assert django_user_model.objects.count() == 1
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_each_creation_gets_a_different_password(django_user_model):
    first = printed_password(ensure_staff())
    django_user_model.objects.all().delete()
    second = printed_password(ensure_staff())
    assert first != second


def test_username_option(django_user_model):
    output = ensure_staff("--username", "chef", "--email", "chef@example.com")
    assert "Created the staff superuser chef." in output
    user = django_user_model.objects.get()
    assert (user.username, user.email) == ("chef", "chef@example.com")


def test_an_existing_staff_member_who_is_not_superuser_does_not_count(
    staff_user, django_user_model
):
    ensure_staff()
    assert django_user_model.objects.filter(is_superuser=True).count() == 1
    staff_user.refresh_from_db()
    assert not staff_user.is_superuser


def test_an_inactive_superuser_does_not_count(django_user_model):
    django_user_model.objects.create_superuser("old", password="x" * 20, is_active=False)
    output = ensure_staff()
    assert "Created the staff superuser admin." in output
    assert django_user_model.objects.filter(is_superuser=True, is_active=True).count() == 1


def test_refuses_to_take_over_an_existing_account(django_user_model):
    user = django_user_model.objects.create_user("admin", password="x" * 20, is_staff=False)
    with pytest.raises(CommandError, match="already exists but is not an active staff superuser"):
        ensure_staff()
    user.refresh_from_db()
    assert not user.is_superuser and user.check_password("x" * 20)


def test_password_from_the_environment_is_used_and_never_printed(
    monkeypatch, client, django_user_model
):
    secret = "Ocelot-Violin-Harbour-42"
    monkeypatch.setenv("COMPTOIR_ADMIN_PASSWORD", secret)
    output = ensure_staff()
    assert "Created the staff superuser admin (password from COMPTOIR_ADMIN_PASSWORD)." in output
    assert secret not in output
    assert "shown only this once" not in output
    assert django_user_model.objects.get().check_password(secret)
    assert client.login(username="admin", password=secret)


def test_a_weak_password_from_the_environment_is_refused(monkeypatch, django_user_model):
    monkeypatch.setenv("COMPTOIR_ADMIN_PASSWORD", "zq8")
    with pytest.raises(CommandError, match="COMPTOIR_ADMIN_PASSWORD was refused") as error:
        ensure_staff()
    assert "too short" in str(error.value)
    assert "zq8" not in str(error.value)  # the rejected password is not echoed either
    assert not django_user_model.objects.exists()


def test_messages_in_french(django_user_model):
    out = StringIO()
    with translation.override("fr"):
        call_command("ensure_staff", stdout=out)
        call_command("ensure_staff", stdout=out)
    output = out.getvalue()
    assert "Superutilisateur admin créé." in output
    assert "Son mot de passe, affiché cette seule fois\xa0:" in output
    assert "Un superutilisateur actif existe déjà (admin)\xa0; rien n\u2019a été modifié." in output
