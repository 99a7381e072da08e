"""WooCommerce's (WordPress's) error bodies::

    {"code": "woocommerce_rest_authentication_error", "message": "...", "data": {"status": 401}}

``code`` is WooCommerce's own, so existing clients that switch on it keep working; ``message`` is
a sentence in the request's language (English unless ``Accept-Language`` asks otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.http import JsonResponse
from django.utils.translation import gettext as _

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"


class WooError(Exception):
    """Raise from the WooCommerce views to answer WooCommerce's error body."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        *,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = dict(data or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }


def woo_json(data: Any, *, status: int = 200) -> JsonResponse:
    return JsonResponse(
        data,
        status=status,
        safe=False,
        content_type=JSON_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def woo_error_response(error: WooError) -> JsonResponse:
    response = woo_json(error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def authentication_error(message: str) -> WooError:
    return WooError("woocommerce_rest_authentication_error", message, 401)


def invalid_params(params: Mapping[str, str]) -> WooError:
    """WordPress's refusal of query or body parameters, one message per parameter."""
    return WooError(
        "rest_invalid_param",
        _("Invalid parameter(s): %(names)s") % {"names": ", ".join(params)},
        400,
        data={"params": dict(params)},
    )


def missing_params(names: Sequence[str]) -> WooError:
    return WooError(
        "rest_missing_callback_param",
        _("Missing parameter(s): %(names)s") % {"names": ", ".join(names)},
        400,
        data={"params": list(names)},
    )


def no_route() -> WooError:
    return WooError(
        "rest_no_route", _("No route was found matching the URL and request method."), 404
    )


def invalid_id(status: int = 404) -> WooError:
    return WooError("woocommerce_rest_invalid_id", _("Invalid resource ID."), status)
