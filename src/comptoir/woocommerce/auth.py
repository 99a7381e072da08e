"""WooCommerce's REST authentication, as ``WC_REST_Authentication`` does it:

- over HTTPS, HTTP Basic with the consumer key as user name and the consumer secret as password,
  or ``consumer_key``/``consumer_secret`` in the query string (tried first);
- otherwise (and over HTTPS when Basic gave nothing), one-legged OAuth 1.0a: the ``oauth_*``
  parameters in the query string, the form body or an ``Authorization: OAuth`` header, signed with
  HMAC-SHA256 or HMAC-SHA1, a timestamp within 15 minutes, a nonce used once;
- then the key's permissions: reading needs ``read``, writing needs ``write``.

The signature is checked against WooCommerce's own base string (``check_oauth_signature``): every
request parameter (query, form body, OAuth header) but ``oauth_signature``, duplicates collapsed
(the last wins), sorted by name, each name and value RFC 3986-encoded, nested ``a[b]`` names
written ``a%5Bb%5D``, each ``name=value`` encoded again and joined with ``%26``; then
``METHOD&enc(url)&pairs``, keyed with ``secret + "&"``. The official Python client's own
variant of that string is accepted too (``python_client_base_string``).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from comptoir.woocommerce.errors import WooError, authentication_error
from comptoir.woocommerce.keys import consumer_secret_candidates, consumer_secret_matches
from comptoir.woocommerce.models import ConsumerKey
from comptoir.woocommerce.params import query_pairs
from comptoir.woocommerce.selectors import consumer_key_find
from comptoir.woocommerce.services import consumer_key_touch, oauth_nonce_use

OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
TIMESTAMP_WINDOW = datetime.timedelta(minutes=15)
SIGNATURE_METHODS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer '
    'secret in the password field."'
)
READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# The signature, as pure functions.


def rfc3986(value: str) -> str:
    """PHP's ``rawurlencode``: everything but letters, digits and ``-_.~`` percent-encoded."""
    return quote(value, safe="-_.~")


def _join_with_equals(params: Mapping[str, Any], prefix: str = "") -> list[str]:
    pairs: list[str] = []
    for key, value in params.items():
        name = f"{prefix}%5B{key}%5D" if prefix else key
        if isinstance(value, Mapping):
            pairs.extend(_join_with_equals(value, name))
        else:
            pairs.append(rfc3986(f"{name}={value}"))
    return pairs


def _normalise_values(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _normalise_values(item) for key, item in value.items()}
    return rfc3986(str(value))


def signature_base_string(method: str, url: str, params: Mapping[str, Any]) -> str:
    """WooCommerce's string to sign for these parameters (``oauth_signature`` left out)."""
    signed = {key: value for key, value in params.items() if key != "oauth_signature"}
    # PHP's strcmp order is byte order, which for UTF-8 is code point order: Python's.
    normalised = {rfc3986(key): _normalise_values(signed[key]) for key in sorted(signed)}
    return "&".join([method.upper(), rfc3986(url), "%26".join(_join_with_equals(normalised))])


def python_client_base_string(method: str, url: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The string the official Python client (``woocommerce`` on PyPI) signs for the request's
    query pairs (as sent: flat names, the last of a repeated name winning in its first place).

    It is WooCommerce's but for its encoding of each name and value, ``quote(unquote(x))``: a
    ``/`` is left as it is and a percent-escape in the text is decoded first. WooCommerce itself
    therefore refuses that client's requests whose parameters hold a ``/`` (a search for
    ``12/B``); Comptoir accepts either string, so the client works unchanged.
    """
    params: dict[str, str] = {}
    for key, value in pairs:
        if key != "oauth_signature":
            params[key] = value
    # The client groups the names by their base (before "["), in its own order within a base.
    ordered = sorted(params, key=lambda key: key.split("[")[0])

    def encode(text: str) -> str:
        return quote(unquote(text)).replace("%", "%25")

    joined = "%26".join(f"{encode(key)}%3D{encode(params[key])}" for key in ordered)
    return f"{method.upper()}&{quote(url, safe='')}&{joined}"


def oauth_signature(base_string: str, secret: str, signature_method: str) -> str:
    digest = SIGNATURE_METHODS[signature_method]
    mac = hmac.new(f"{secret}&".encode(), base_string.encode(), digest).digest()
    return base64.b64encode(mac).decode()


def signature_matches(
    *,
    method: str,
    url: str,
    params: Mapping[str, Any],
    secrets: list[str],
    other_base_strings: Iterable[str] = (),
) -> bool:
    """Whether ``params["oauth_signature"]`` signs the request with one of ``secrets``, over
    WooCommerce's base string or one of ``other_base_strings``."""
    signature_method = params.get("oauth_signature_method")
    if signature_method not in SIGNATURE_METHODS:
        return False
    # As WooCommerce: a "+" turned into a space by the query decoding is put back, and a
    # signature encoded twice is decoded once more.
    given = unquote(str(params.get("oauth_signature", "")).replace(" ", "+"))
    bases = dict.fromkeys([signature_base_string(method, url, params), *other_base_strings])
    matched = False
    for base in bases:
        for secret in secrets:
            matched |= hmac.compare_digest(oauth_signature(base, secret, signature_method), given)
    return matched


# Reading the credentials from a request.

_OAUTH_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))')


def oauth_header_params(header: str) -> dict[str, str]:
    """The ``oauth_*`` parameters of an ``Authorization: OAuth ...`` header."""
    header = header.strip()
    if not header.startswith("OAuth "):
        return {}
    return {
        match.group(1): unquote_plus(match.group(3) or match.group(4) or "")
        for match in _OAUTH_HEADER_PARAM.finditer(header)
    }


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _space, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _colon, password = decoded.partition(":")
    return user, password


def request_url(request: HttpRequest) -> str:
    """The URL the client signed: scheme, host and path, without the query string."""
    scheme = "https" if request.is_secure() else "http"
    return f"{scheme}://{request.get_host()}{escape_uri_path(request.path)}"


class Authenticator:
    """Authenticates one request. ``query`` and ``form`` are the PHP-style parsed query string
    and form body (``php_parse``)."""

    def __init__(self, request: HttpRequest, *, query: Mapping[str, Any], form: Mapping[str, Any]):
        self.request = request
        self.query = query
        self.form = form

    def authenticate(self) -> ConsumerKey | None:
        """The key pair behind the request; None when it carries no credentials at all.
        Raises ``WooError`` when it carries wrong ones."""
        error: WooError | None = None
        if self.request.is_secure():
            try:
                key = self._basic()
            except WooError as basic_error:
                key, error = None, basic_error
            if key is not None:
                return key
        key = self._oauth()
        if key is not None:
            return key
        if error is not None:
            raise error
        return None

    def _basic(self) -> ConsumerKey | None:
        consumer_key = self.query.get("consumer_key")
        consumer_secret = self.query.get("consumer_secret")
        if not (isinstance(consumer_key, str) and consumer_key) or not (
            isinstance(consumer_secret, str) and consumer_secret
        ):
            consumer_key, consumer_secret = _basic_credentials(self.request)
        if not consumer_key or not consumer_secret:
            return None
        key = consumer_key_find(raw=consumer_key.strip())
        if key is None:
            return None
        if not consumer_secret_matches(key.secret_salt, consumer_secret):
            raise WooError(
                "woocommerce_rest_authentication_error",
                _("Consumer secret is invalid."),
                401,
                headers={"WWW-Authenticate": BASIC_REALM},
            )
        return key

    def _oauth(self) -> ConsumerKey | None:
        params: dict[str, Any] = {**self.query, **self.form}
        header = oauth_header_params(self.request.META.get("HTTP_AUTHORIZATION", ""))
        params.update(header)
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if len(missing) == len(OAUTH_PARAMS):
            return None  # not trying OAuth at all
        if missing:
            raise WooError(
                "woocommerce_rest_authentication_missing_parameter",
                ngettext(
                    "Missing OAuth parameter %(names)s",
                    "Missing OAuth parameters %(names)s",
                    len(missing),
                )
                % {"names": ", ".join(missing)},
                401,
            )
        if any(not isinstance(params[name], str) for name in OAUTH_PARAMS):
            raise authentication_error(_("Invalid signature - signature method is invalid."))
        key = consumer_key_find(raw=params["oauth_consumer_key"].strip())
        if key is None:
            raise authentication_error(_("Consumer key is invalid."))
        if params["oauth_signature_method"] not in SIGNATURE_METHODS:
            raise authentication_error(_("Invalid signature - signature method is invalid."))
        method = self.request.method or "GET"
        url = request_url(self.request)
        client_pairs = [*query_pairs(self.request.GET), *header.items()]
        if not signature_matches(
            method=method,
            url=url,
            params=params,
            secrets=consumer_secret_candidates(key.secret_salt),
            other_base_strings=[python_client_base_string(method, url, client_pairs)],
        ):
            raise authentication_error(_("Invalid signature - provided signature does not match."))
        self._check_timestamp_and_nonce(key, params["oauth_timestamp"], params["oauth_nonce"])
        return key

    def _check_timestamp_and_nonce(self, key: ConsumerKey, timestamp: str, nonce: str) -> None:
        try:
            sent = datetime.datetime.fromtimestamp(int(timestamp.strip()), tz=datetime.UTC)
        except (ValueError, OverflowError, OSError):
            raise authentication_error(_("Invalid timestamp.")) from None
        if abs(timezone.now() - sent) > TIMESTAMP_WINDOW:
            raise authentication_error(_("Invalid timestamp."))
        if not oauth_nonce_use(key=key, nonce=nonce, expires_at=sent + TIMESTAMP_WINDOW):
            raise authentication_error(_("Invalid nonce - nonce has already been used."))


def permission_check(key: ConsumerKey, method: str) -> None:
    """The key's own permissions (read, write, read/write), as WooCommerce checks them."""
    if method in READ_METHODS and not key.can_read:
        raise authentication_error(_("The API key provided does not have read permissions."))
    if method in WRITE_METHODS and not key.can_write:
        raise authentication_error(_("The API key provided does not have write permissions."))
    if method not in READ_METHODS | WRITE_METHODS | {"OPTIONS"}:
        raise authentication_error(_("Unknown request method."))


def authenticate(
    request: HttpRequest, *, query: Mapping[str, Any], form: Mapping[str, Any], method: str
) -> ConsumerKey | None:
    """The key pair of the request, its permissions checked for ``method`` (the one the request
    asks for, ``_method`` included) and its last access noted; None when the request carries no
    credentials. Raises ``WooError`` when they are wrong."""
    key = Authenticator(request, query=query, form=form).authenticate()
    if key is not None:
        permission_check(key, method)
        consumer_key_touch(key=key)
    return key
