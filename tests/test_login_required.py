"""No way into the back-office without a staff login, for every URL the project has.

The URL conf is walked at collection time, so a URL added anywhere is covered without editing
this file. A view is public only if it is marked ``login_not_required`` *and* listed below:
marking a back-office view public by mistake fails here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.urls import (
    URLPattern,
    URLResolver,
    converters,
    get_resolver,
    include,
    path,
    re_path,
    resolve,
)
from django.urls.resolvers import LocalePrefixPattern, RoutePattern

# View names (namespace:name) and whole namespaces allowed to be public.
PUBLIC_VIEWS = {"staff:login", "set_language", "api-not-found"}
# The APIs authenticate by their own means (tokens, storefront keys, WooCommerce consumer keys);
# that each of their operations refuses an anonymous caller is tested below and per endpoint.
PUBLIC_NAMESPACES = {"api-v1", "api-storefront-v1", "woocommerce-api"}

SAMPLE_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
SAMPLES_BY_CONVERTER = {
    converters.IntConverter: 1,
    converters.StringConverter: "x",
    converters.SlugConverter: "x",
    converters.UUIDConverter: SAMPLE_UUID,
    converters.PathConverter: "x",
}
# For custom converters and regex groups: the first value the pattern accepts is used.
FALLBACK_SAMPLES = (1, "x", SAMPLE_UUID, "2024", "01", "2024-01-31", "ABC", "x/y")


@dataclass(frozen=True)
class Url:
    path: str | None  # None when no concrete path could be built (then ``problem`` says why)
    view_name: str
    callback: object
    problem: str = ""

    @property
    def public(self) -> bool:
        return getattr(self.callback, "login_required", True) is False

    @property
    def id(self) -> str:
        return self.view_name or self.path or "?"


def _converter_sample(converter) -> str:
    sample = SAMPLES_BY_CONVERTER.get(type(converter))
    candidates = (sample,) if sample is not None else FALLBACK_SAMPLES
    for candidate in candidates:
        try:
            text = converter.to_url(candidate)
            if re.fullmatch(converter.regex, text):
                converter.to_python(text)
                return text
        except (ValueError, TypeError):
            continue
    raise LookupError(f"no sample value fits converter {type(converter).__name__}")


_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _route_segment(pattern) -> str:
    route = str(pattern)
    return _ROUTE_PARAMETER.sub(
        lambda m: _converter_sample(pattern.converters[m.group("name")]), route
    )


def _regex_segment(pattern) -> str:
    regex = str(pattern.regex.pattern).removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    return _regex_fill(regex)


def _regex_fill(regex: str) -> str:
    """A concrete string for a regex: each innermost group replaced by a sample value it matches,
    the rest taken literally. Anything else regex-like is reported, not guessed."""
    out, i = [], 0
    while i < len(regex):
        if regex[i] == "(":
            depth, j = 1, i + 1
            while depth:
                if regex[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                j += 1
            group = regex[i + 1 : j - 1]
            inner = re.sub(r"^\?P<\w+>|^\?:", "", group)
            if "(" in inner:
                out.append(_regex_fill(inner))
            else:
                sample = next(
                    (str(c) for c in FALLBACK_SAMPLES if re.fullmatch(inner, str(c))), None
                )
                if sample is None:
                    raise LookupError(f"no sample value fits the group ({group})")
                out.append(sample)
            i = j
        elif regex[i] == "\\" and not regex[i + 1].isalnum():  # an escaped literal: \. \/ \-
            out.append(regex[i + 1])
            i += 2
        elif regex[i] in ".*+?[]{}|^$\\":
            raise LookupError(f"cannot build a path from the regex {regex!r}")
        else:
            out.append(regex[i])
            i += 1
    return "".join(out)


def _segment(pattern) -> str:
    if isinstance(pattern, LocalePrefixPattern):  # i18n_patterns
        return pattern.language_prefix
    if isinstance(pattern, RoutePattern):
        return _route_segment(pattern)
    return _regex_segment(pattern)


def _walk(patterns, prefix: str = "", namespaces: tuple[str, ...] = ()):
    for entry in patterns:
        try:
            segment = _segment(entry.pattern)
        except LookupError as problem:
            segment, error = None, str(problem)
        else:
            error = ""
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            if segment is None:
                yield Url(None, ":".join(inner), None, f"{prefix}…: {error}")
                continue
            yield from _walk(entry.url_patterns, prefix + segment, inner)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            path = None if segment is None else "/" + prefix + segment
            yield Url(path, name, entry.callback, error)


def discover_urls() -> list[Url]:
    return list(_walk(get_resolver().url_patterns))


URLS = discover_urls()
BACKOFFICE_URLS = [url for url in URLS if not url.public]
PUBLIC_URLS = [url for url in URLS if url.public]


def _login_url() -> str:
    return resolve_url(settings.LOGIN_URL)


def assert_sent_to_login(response, path: str) -> None:
    assert response.status_code == 302, f"{path} answered {response.status_code}"
    assert response["Location"].split("?")[0] == _login_url(), response["Location"]


def test_the_walk_finds_the_known_urls():
    names = {url.view_name for url in URLS}
    assert {"core:home", "staff:login", "staff:logout", "set_language"} <= names
    assert len(BACKOFFICE_URLS) >= 2


def _view(request, **kwargs):
    return HttpResponse()


def test_the_walk_builds_paths_for_routes_regexes_and_includes():
    nested = ([path("<slug:slug>/<uuid:key>/", _view, name="deep")], "inner")
    patterns = [
        path("items/<int:pk>/", _view, name="item"),
        re_path(r"^legacy/(?P<year>[0-9]{4})/(?:(?P<month>[0-9]{2})/)$", _view, name="legacy"),
        re_path(r"^old/(?P<code>[A-Z]+)\.csv$", _view, name="old"),
        path("outer/<str:part>/", include(nested)),
        re_path(r"^weird/.*$", _view, name="weird"),
    ]
    found = {url.view_name: url for url in _walk(patterns)}
    assert found["item"].path == "/items/1/"
    assert found["old"].path == "/old/ABC.csv"
    assert found["inner:deep"].path == f"/outer/x/x/{SAMPLE_UUID}/"
    # A pattern it cannot fill is reported (and fails the per-URL test), never skipped.
    assert found["weird"].path is None and "cannot build a path" in found["weird"].problem
    assert found["legacy"].path == "/legacy/2024/01/"


@pytest.mark.parametrize("url", URLS, ids=lambda url: url.id)
def test_every_url_gets_a_concrete_path_that_resolves_to_its_view(url):
    assert url.path is not None, f"cannot build a path for {url.id}: {url.problem}"
    match = resolve(url.path)
    # django-ninja adds one pattern per operation name on a shared path (so each name reverses);
    # the first of them serves every method, the others are aliases.
    ninja_alias = match.app_name == "ninja" and url.view_name.startswith(f"{match.namespace}:")
    assert match.func is url.callback or ninja_alias, url.path


@pytest.mark.parametrize("url", PUBLIC_URLS, ids=lambda url: url.id)
def test_public_views_are_the_allowed_ones(url):
    namespace = url.view_name.split(":")[0] if ":" in url.view_name else ""
    assert url.view_name in PUBLIC_VIEWS or namespace in PUBLIC_NAMESPACES, (
        f"{url.id} ({url.path}) is marked login_not_required but is not on the public list"
    )


def test_the_allowed_public_views_are_really_public():
    public_names = {url.view_name for url in PUBLIC_URLS}
    assert public_names >= PUBLIC_VIEWS


@pytest.mark.django_db
@pytest.mark.parametrize("url", BACKOFFICE_URLS, ids=lambda url: url.id)
def test_anonymous_visitors_are_sent_to_login(client, url):
    assert url.path is not None, url.problem
    response = client.get(url.path)
    assert_sent_to_login(response, url.path)
    assert response["Location"] == redirect_to_login(url.path)["Location"]
    assert_sent_to_login(client.post(url.path, {"x": "1"}), url.path)


@pytest.mark.django_db
@pytest.mark.parametrize("url", BACKOFFICE_URLS, ids=lambda url: url.id)
def test_signed_in_non_staff_are_logged_out_and_sent_to_login(client, django_user_model, url):
    assert url.path is not None, url.problem
    customer_like = django_user_model.objects.create_user("paul", password="irrelevant-pass-1")
    client.force_login(customer_like)
    assert_sent_to_login(client.get(url.path), url.path)
    assert SESSION_KEY not in client.session
    client.force_login(customer_like)
    assert_sent_to_login(client.post(url.path, {"x": "1"}), url.path)
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_staff_get_the_home_page(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "core/home.html"


@pytest.mark.django_db
def test_public_pages_answer_anonymous_visitors(client):
    assert client.get(_login_url()).status_code == 200
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/staff/login/"})
    assert response.status_code == 302 and response["Location"] == "/staff/login/"


API_DOCUMENT_VIEWS = {"api-root", "openapi-json", "openapi-view"}
BACKOFFICE_API_URLS = [
    url
    for url in PUBLIC_URLS
    if url.view_name.startswith("api-v1:") and url.view_name.split(":")[1] not in API_DOCUMENT_VIEWS
]


def test_the_walk_finds_the_back_office_api():
    assert len(BACKOFFICE_API_URLS) >= 10


@pytest.mark.django_db
@pytest.mark.parametrize("url", BACKOFFICE_API_URLS, ids=lambda url: url.id)
def test_the_back_office_api_refuses_anonymous_callers(client, url):
    # The first method the path serves (405 answers the others) must be refused.
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url.path, data={}, content_type="application/json")
        if response.status_code != 405:
            break
    assert response.status_code == 401, f"{url.path} answered {response.status_code}"
    assert response["Content-Type"].startswith("application/problem+json")
