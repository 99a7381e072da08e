"""Staff login and logout through the real pages: who gets in, what they are told."""

import pytest
from django.contrib.auth import SESSION_KEY

pytestmark = pytest.mark.django_db

LOGIN = "/staff/login/"
LOGOUT = "/staff/logout/"
PASSWORD = "correct horse battery staple"  # the staff_user fixture's


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_login_page_in_french_by_default(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Connexion à Comptoir" in html
    assert "Se connecter" in html
    # Django's own label, in French.
    assert "Nom d\u2019utilisateur" in html and "Mot de passe" in html
    # The language switch is here too, sending people back to this page.
    assert 'action="/i18n/setlang/"' in html
    assert '<input type="hidden" name="next" value="/staff/login/">' in html
    assert 'autocomplete="current-password"' in html


def test_login_page_in_english(client):
    html = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert "Log in to Comptoir" in html
    assert "Username" in html and "Password" in html


def test_staff_logs_in_and_lands_on_home(client, staff_user):
    assert staff_user.password.startswith("argon2")  # Argon2 is the hasher in use
    response = client.post(LOGIN, {"username": "marie", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in(client)
    assert client.session[SESSION_KEY] == str(staff_user.pk)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert home.status_code == 200
    assert "Marie Curie" in home.content.decode()


def test_login_goes_back_to_the_page_asked_for(client, staff_user):
    response = client.get("/?page=2")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/%3Fpage%3D2"
    page = client.get(response["Location"]).content.decode()
    assert '<input type="hidden" name="next" value="/?page=2">' in page
    response = client.post(LOGIN, {"username": "marie", "password": PASSWORD, "next": "/?page=2"})
    assert response["Location"] == "/?page=2"


def test_login_refuses_an_offsite_next(client, staff_user):
    response = client.post(
        LOGIN, {"username": "marie", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Wrong username or password. Both are case-sensitive"),
        ("fr", "Nom d\u2019utilisateur ou mot de passe incorrect."),
    ],
)
def test_wrong_password_is_refused_with_a_message(client, staff_user, language, message):
    response = client.post(
        LOGIN, {"username": "marie", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="login-errors"' in html
    assert message in html
    assert not signed_in(client)
    # The username is kept, the password is not sent back.
    assert 'value="marie"' in html
    assert "wrong" not in html


def test_empty_fields_are_marked_invalid(client):
    html = client.post(LOGIN, {"username": "", "password": ""}, HTTP_ACCEPT_LANGUAGE="en")
    html = html.content.decode()
    assert html.count("is-invalid") == 2
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_username_error"' in html
    assert '<div class="invalid-feedback" id="id_username_error">This field is required.' in html


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This account has no access to the back-office."),
        ("fr", "Ce compte n\u2019a pas accès au back-office."),
    ],
)
def test_non_staff_cannot_log_in(client, django_user_model, language, message):
    django_user_model.objects.create_user(username="paul", password=PASSWORD, is_staff=False)
    response = client.post(
        LOGIN, {"username": "paul", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not signed_in(client)


def test_inactive_staff_cannot_log_in(client, staff_user):
    staff_user.is_active = False
    staff_user.save()
    response = client.post(LOGIN, {"username": "marie", "password": PASSWORD})
    assert response.status_code == 200
    assert 'id="login-errors"' in response.content.decode()
    assert not signed_in(client)


def test_signed_in_staff_skip_the_login_page(staff_client):
    response = staff_client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logout_needs_post_then_says_so(staff_client):
    assert staff_client.get(LOGOUT).status_code == 405
    assert signed_in(staff_client)

    response = staff_client.post(LOGOUT)
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not signed_in(staff_client)
    page = staff_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Déconnexion effectuée." in page
    # Back-office pages are closed again.
    assert staff_client.get("/")["Location"].startswith(LOGIN)


def test_logout_in_english(staff_client):
    response = staff_client.post(LOGOUT, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.redirect_chain == [(LOGIN, 302)]
    assert "You have been logged out." in response.content.decode()
