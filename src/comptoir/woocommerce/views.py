"""WooCommerce REST API v3's customers endpoints, under ``/wp-json/wc/v3/``:

- ``GET  customers``: the list (``page``, ``per_page``, ``offset``, ``search``, ``email``,
  ``orderby``, ``order``, ``include``, ``exclude``, ``role``, ``_fields``) with the
  ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link`` headers;
- ``POST customers``: create; ``GET customers/<id>``: one customer;
- ``PUT``/``PATCH``/``POST customers/<id>``: update; ``DELETE customers/<id>?force=true``: delete
  (in the shop's default delete mode) and answer the deleted object;
- ``POST``/``PUT``/``PATCH customers/batch``: ``{"create": [...], "update": [...],
  "delete": [ids]}``;
- anything else under ``/wp-json/``: WordPress's ``rest_no_route``.

Plain Django views (not ninja): the bodies, errors and parameter handling are WooCommerce's own.
They only read the request, call the auth, one selector or service, and render.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from comptoir.core.actors import Actor
from comptoir.woocommerce.auth import authenticate
from comptoir.woocommerce.errors import (
    WooError,
    invalid_id,
    invalid_params,
    no_route,
    woo_error_response,
    woo_json,
)
from comptoir.woocommerce.mapping import (
    customer_to_woo,
    fields_keep,
    woo_error_from_validation,
    woo_input_parse,
)
from comptoir.woocommerce.models import ConsumerKey
from comptoir.woocommerce.params import (
    ParamError,
    fields_requested,
    list_query_parse,
    php_parse,
    query_pairs,
    wp_boolean,
)
from comptoir.woocommerce.selectors import (
    ID_MAX,
    WooCustomer,
    woo_customer_get,
    woo_customers_page,
)
from comptoir.woocommerce.services import (
    woo_customer_create,
    woo_customer_delete,
    woo_customer_update,
)

logger = logging.getLogger(__name__)

BATCH_LIMIT = 100
# Credentials never go back into the pagination links.
_PRIVATE_QUERY = ("consumer_key", "consumer_secret")


@dataclass
class WooRequest:
    request: HttpRequest
    method: str
    query: dict[str, Any]
    params: dict[str, Any]  # the body's over the query string's, as WordPress merges them
    key: ConsumerKey | None

    @property
    def actor(self) -> Actor:
        assert self.key is not None
        return Actor.api(user=self.key.user, ip_address=self.request.META.get("REMOTE_ADDR"))

    @property
    def collection_url(self) -> str:
        return self.request.build_absolute_uri(reverse("woocommerce-api:customers"))


# Reading the request.


def _body(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any], WooError | None]:
    """The body's parameters, the form parameters (what PHP's ``$_POST`` holds, which OAuth
    signs) and a JSON error to answer once the caller is authenticated."""
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        if not request.body.strip():
            return {}, {}, None
        try:
            parsed = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return {}, {}, WooError("rest_invalid_json", _("Invalid JSON body passed."), 400)
        return (parsed if isinstance(parsed, dict) else {"_items": parsed}), {}, None
    if content_type == "application/x-www-form-urlencoded":
        text = request.body.decode("utf-8", errors="replace")
        form = php_parse(parse_qsl(text, keep_blank_values=True))
    elif content_type == "multipart/form-data":
        form = php_parse(query_pairs(request.POST))
    else:
        return {}, {}, None
    return form, (form if request.method == "POST" else {}), None


def _method(request: HttpRequest, query: Mapping[str, Any]) -> str:
    """The method asked for: WordPress lets a POST say another one (``_method`` or the
    ``X-HTTP-Method-Override`` header) for clients that can only send GET and POST."""
    method = (request.method or "GET").upper()
    if method == "POST":
        override = query.get("_method") or request.META.get("HTTP_X_HTTP_METHOD_OVERRIDE")
        if isinstance(override, str) and override.strip():
            method = override.strip().upper()
    return "GET" if method == "HEAD" else method


def _refusal(operation: str) -> WooError:
    """What WooCommerce answers a request that carries no credentials."""
    refusals = {
        "list": ("woocommerce_rest_cannot_view", _("Sorry, you cannot list resources.")),
        "create": (
            "woocommerce_rest_cannot_create",
            _("Sorry, you are not allowed to create resources."),
        ),
        "get": ("woocommerce_rest_cannot_view", _("Sorry, you cannot view this resource.")),
        "update": (
            "woocommerce_rest_cannot_edit",
            _("Sorry, you are not allowed to edit this resource."),
        ),
        "delete": (
            "woocommerce_rest_cannot_delete",
            _("Sorry, you are not allowed to delete this resource."),
        ),
        "batch": (
            "woocommerce_rest_cannot_batch",
            _("Sorry, you are not allowed to batch manipulate this resource."),
        ),
    }
    code, message = refusals.get(operation, refusals["list"])
    return WooError(code, message, 401)


Handler = Callable[..., HttpResponse]


def _endpoint(routes: Mapping[str, tuple[str, Handler]], name: str) -> Callable[..., HttpResponse]:
    """A view answering ``routes`` (method → operation name and handler) the WooCommerce way:
    credentials first, then the route, then the handler; every error as WooCommerce's body."""

    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        # WooCommerce speaks English; a client that asks for another language gets it.
        language = translation.get_language() if "HTTP_ACCEPT_LANGUAGE" in request.META else "en"
        with translation.override(language):
            try:
                return _dispatch(request, routes, kwargs)
            except WooError as error:
                return woo_error_response(error)
            except RequestDataTooBig:
                return woo_error_response(
                    WooError(
                        "woocommerce_rest_request_entity_too_large",
                        _("The request body is too large."),
                        413,
                    )
                )
            except SuspiciousOperation:
                raise
            except Exception:
                logger.exception("WooCommerce API error on %s %s", request.method, request.path)
                return woo_error_response(
                    WooError("internal_server_error", _("Something went wrong on our side."), 500)
                )

    view.__name__ = name
    view.login_required = False  # type: ignore[attr-defined]  # its own authentication
    return csrf_exempt(view)


def _dispatch(
    request: HttpRequest, routes: Mapping[str, tuple[str, Handler]], kwargs: dict[str, Any]
) -> HttpResponse:
    query = php_parse(query_pairs(request.GET))
    body, form, body_error = _body(request)
    method = _method(request, query)
    if method == "OPTIONS":
        return _options(routes)
    key = authenticate(request, query=query, form=form, method=method)
    if method not in routes:
        raise no_route()
    operation, handler = routes[method]
    if operation == "no_route":
        raise no_route()
    if key is None:
        raise _refusal(operation)
    if body_error is not None:
        raise body_error
    woo = WooRequest(request=request, method=method, query=query, params={**query, **body}, key=key)
    return handler(woo, **kwargs)


def _options(routes: Mapping[str, tuple[str, Handler]]) -> HttpResponse:
    methods = sorted(set(routes) | ({"HEAD"} if "GET" in routes else set()))
    response = woo_json({"namespace": "wc/v3", "methods": methods})
    response["Allow"] = ", ".join(methods)
    return response


# Answers.


def _object(woo: WooRequest, record: WooCustomer) -> dict[str, Any]:
    return fields_keep(
        customer_to_woo(record, collection_url=woo.collection_url), fields_requested(woo.query)
    )


def _page_link(woo: WooRequest, page: int) -> str:
    kept: dict[str, str] = {}
    for name, value in query_pairs(woo.request.GET):
        if name.startswith("oauth_") or name in _PRIVATE_QUERY:
            continue
        kept[name] = value  # a repeated parameter counts once, the last value winning
    kept["page"] = str(page)
    return f"{woo.collection_url}?{urlencode(kept)}"


def _customer_id(value: int) -> int:
    if value < 1 or value > ID_MAX:
        raise invalid_id()
    return value


def customers_list(woo: WooRequest) -> HttpResponse:
    query = list_query_parse(woo.params)
    page = woo_customers_page(query=query)
    response = woo_json([_object(woo, record) for record in page.rows])
    response["X-WP-Total"] = str(page.total)
    response["X-WP-TotalPages"] = str(page.pages)
    number = query.page_number
    links = []
    if number > 1:
        links.append(f'<{_page_link(woo, min(number - 1, page.pages))}>; rel="prev"')
    if page.pages > number:
        links.append(f'<{_page_link(woo, number + 1)}>; rel="next"')
    if links:
        response["Link"] = ", ".join(links)
    return response


def _create(woo: WooRequest, body: Mapping[str, Any]) -> WooCustomer:
    if body.get("id"):
        raise WooError(
            "woocommerce_rest_customer_exists", _("Cannot create existing resource."), 400
        )
    data = woo_input_parse(body, creating=True)
    try:
        customer = woo_customer_create(data=data, actor=woo.actor)
    except ValidationError as error:
        raise woo_error_from_validation(error, creating=True) from None
    record = woo_customer_get(customer_id=customer.pk)
    assert record is not None
    return record


def customers_create(woo: WooRequest) -> HttpResponse:
    record = _create(woo, woo.params)
    response = woo_json(_object(woo, record), status=201)
    response["Location"] = f"{woo.collection_url}/{record.customer.pk}"
    return response


def customer_get(woo: WooRequest, pk: int) -> HttpResponse:
    record = woo_customer_get(customer_id=_customer_id(pk))
    if record is None:
        raise invalid_id()
    return woo_json(_object(woo, record))


def _update(
    woo: WooRequest, pk: Any, body: Mapping[str, Any], *, missing_status: int = 404
) -> WooCustomer:
    """``missing_status``: WooCommerce answers an unknown id with 404 on ``PUT customers/<id>``
    (its permission check looks the customer up first) but 400 inside a batch, where
    ``update_item`` is called directly."""
    try:
        customer_id = int(pk)
    except (TypeError, ValueError):
        raise invalid_id(missing_status) from None
    if not 1 <= customer_id <= ID_MAX:
        raise invalid_id(missing_status)
    record = woo_customer_get(customer_id=customer_id)
    if record is None:
        raise invalid_id(missing_status)
    data = woo_input_parse(body, creating=False)
    try:
        woo_customer_update(customer=record.customer, data=data, actor=woo.actor)
    except ValidationError as error:
        raise woo_error_from_validation(error, creating=False) from None
    updated = woo_customer_get(customer_id=record.customer.pk)
    assert updated is not None
    return updated


def customer_update(woo: WooRequest, pk: int) -> HttpResponse:
    return woo_json(_object(woo, _update(woo, pk, woo.params)))


def _delete(woo: WooRequest, pk: Any) -> WooCustomer:
    try:
        customer_id = int(pk)
    except (TypeError, ValueError):
        raise invalid_id() from None
    record = woo_customer_get(customer_id=_customer_id(customer_id))
    if record is None:
        raise invalid_id()
    woo_customer_delete(customer=record.customer, actor=woo.actor)
    return record


def customer_delete(woo: WooRequest, pk: int) -> HttpResponse:
    try:
        force = wp_boolean("force", woo.params.get("force", False))
    except ParamError as error:
        raise invalid_params({"force": str(error)}) from None
    if not force:
        raise WooError(
            "woocommerce_rest_trash_not_supported", _("Customers do not support trashing."), 501
        )
    # The object as it was: the answer WooCommerce gives to a deletion.
    return woo_json(_object(woo, _delete(woo, pk)))


def _batch_items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return list(value.values())
    return []


def _batch_error(identifier: Any, error: WooError) -> dict[str, Any]:
    return {
        "id": identifier,
        "error": {
            "code": error.code,
            "message": error.message,
            "data": {"status": error.status, **error.data},
        },
    }


def customers_batch(woo: WooRequest) -> HttpResponse:
    """Each item is done on its own, as WooCommerce does: one refused item does not stop the
    others, and answers its error in its place."""
    creates = _batch_items(woo.params.get("create"))
    updates = _batch_items(woo.params.get("update"))
    deletes = _batch_items(woo.params.get("delete"))
    if len(creates) + len(updates) + len(deletes) > BATCH_LIMIT:
        raise WooError(
            "woocommerce_rest_request_entity_too_large",
            _("Unable to accept more than %(limit)s items for this request.")
            % {"limit": BATCH_LIMIT},
            413,
        )
    not_an_object = WooError(
        "rest_invalid_param", _("Each item must be an object of customer fields."), 400
    )
    answer: dict[str, list[Any]] = {}
    for item in creates:
        try:
            if not isinstance(item, Mapping):
                raise not_an_object
            answer.setdefault("create", []).append(_object(woo, _create(woo, item)))
        except WooError as error:
            answer.setdefault("create", []).append(_batch_error(0, error))
    for item in updates:
        identifier = item.get("id") if isinstance(item, Mapping) else None
        try:
            if not isinstance(item, Mapping):
                raise not_an_object
            updated = _update(woo, identifier, item, missing_status=400)
            answer.setdefault("update", []).append(_object(woo, updated))
        except WooError as error:
            answer.setdefault("update", []).append(_batch_error(identifier, error))
    for identifier in deletes:
        try:
            customer_id = int(identifier)
        except (TypeError, ValueError):
            customer_id = 0
        if customer_id == 0:
            continue  # as WooCommerce: not an id, nothing to delete
        try:
            answer.setdefault("delete", []).append(_object(woo, _delete(woo, customer_id)))
        except WooError as error:
            answer.setdefault("delete", []).append(_batch_error(customer_id, error))
    # PHP's empty array is a JSON list: WooCommerce answers [] to an empty batch.
    return woo_json(answer or [])


def _no_route(woo: WooRequest, **kwargs: Any) -> HttpResponse:
    raise no_route()  # never called: the dispatcher answers "no_route" operations itself


ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE")

customers = _endpoint(
    {"GET": ("list", customers_list), "POST": ("create", customers_create)}, "customers"
)
customer = _endpoint(
    {
        "GET": ("get", customer_get),
        "POST": ("update", customer_update),
        "PUT": ("update", customer_update),
        "PATCH": ("update", customer_update),
        "DELETE": ("delete", customer_delete),
    },
    "customer",
)
batch = _endpoint(
    {method: ("batch", customers_batch) for method in ("POST", "PUT", "PATCH")}, "batch"
)
not_found = _endpoint({method: ("no_route", _no_route) for method in ANY_METHOD}, "not_found")
