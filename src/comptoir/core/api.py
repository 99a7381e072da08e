"""What every JSON API of Comptoir shares: RFC 9457 problem+json errors, strict input schemas and
the URL plumbing that keeps the API out of the back-office's login redirect.

Every error an API answers is a problem document::

    {"type": "urn:comptoir:problem:validation", "title": "...", "status": 400,
     "detail": "...", "errors": [{"field": "email", "message": "...", "code": "invalid"}]}

``type`` is stable (clients switch on it); ``title``, ``detail`` and the field messages are in the
request's language (``Accept-Language`` fr/en, through Django's LocaleMiddleware). Services raise
``django.core.exceptions.ValidationError``; an error class may carry ``http_status`` (409 for a
stale update, 403 for a blocked customer) and ``problem_type``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as RequestValidationError
from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_PREFIX = "urn:comptoir:problem:"


class StrictSchema(Schema):
    """An input body: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class OutputSchema(BaseModel):
    """An output built from plain data (the dicts and lists a selector returns), not from model
    objects. The handler returns the validated instance and ninja only dumps it.

    For the hot outputs: ninja's ``Schema`` reads every field of every object, nested ones too,
    through its per-attribute getter (a page of 100 customers: ~17 ms); pydantic validating
    dicts does the same checks in ~3 ms. The OpenAPI document is the same."""


class Problem(Exception):
    """Raise from an API handler to answer a problem document."""

    def __init__(
        self,
        *,
        status: int,
        slug: str,
        title: str,
        detail: str = "",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(problem: Problem) -> JsonResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_PREFIX + problem.slug,
        "title": problem.title,
        "status": problem.status,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    response = JsonResponse(body, status=problem.status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def not_found(detail: str = "") -> Problem:
    return Problem(status=404, slug="not-found", title=_("Not found."), detail=detail)


# Pydantic's own messages are English only; the common ones are said here in the user's language.
def _request_error_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    messages = {
        "missing": _("This field is required."),
        "extra_forbidden": _("This field is not accepted here."),
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "decimal_parsing": _("Enter a number."),
        "float_parsing": _("Enter a number."),
        "bool_parsing": _("Enter true or false."),
        "bool_type": _("Enter true or false."),
        "string_type": _("Enter a text."),
        "string_too_long": _("This text is too long."),
        "string_too_short": _("This text is too short."),
        "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_parsing": _("Enter a date as YYYY-MM-DD."),
        "datetime_parsing": _("Enter a date and time in ISO 8601."),
        "datetime_from_date_parsing": _("Enter a date and time in ISO 8601."),
        "enum": _("Choose one of the allowed values."),
        "literal_error": _("Choose one of the allowed values."),
        "list_type": _("Enter a list."),
        "dict_type": _("Enter an object."),
        "model_attributes_type": _("Enter an object."),
        "json_invalid": _("The body is not valid JSON."),
        "greater_than_equal": _("This number is too small."),
        "less_than_equal": _("This number is too large."),
        "greater_than": _("This number is too small."),
        "less_than": _("This number is too large."),
    }
    return messages.get(kind) or str(error.get("msg", _("This value is not valid.")))


# Errors about the body as a whole (missing, or not a JSON object) rather than one of its fields.
_WHOLE_BODY_ERRORS = frozenset({"missing", "model_attributes_type", "model_type", "dict_type"})


def _error_field(location: Iterable[Any], kind: str = "") -> str:
    # ninja puts the source first ("body", "query", "path") and the schema's parameter name
    # next; a client thinks in the body's own field names, and knows nothing of the parameter.
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        source, parts = parts[0], parts[1:]
        if source == "body" and len(parts) > 1:
            parts = parts[1:]
        elif source == "body" and kind in _WHOLE_BODY_ERRORS:
            parts = []
    return ".".join(parts) or "body"


def _on_request_invalid(request: HttpRequest, exc: RequestValidationError) -> JsonResponse:
    errors = [
        {
            "field": _error_field(error.get("loc", ()), str(error.get("type", ""))),
            "message": _request_error_message(error),
            "code": str(error.get("type", "invalid")),
        }
        for error in exc.errors
    ]
    return problem_response(
        Problem(
            status=400,
            slug="invalid-request",
            title=_("The request is not valid."),
            detail=_("Correct the fields listed in errors and send it again."),
            errors=errors,
        )
    )


def validation_errors(exc: DjangoValidationError) -> list[dict[str, str]]:
    """A service's ValidationError as a list of {field, message, code}."""
    if hasattr(exc, "error_dict"):
        return [
            {"field": field, "message": str(message), "code": error.code or "invalid"}
            for field, errors in exc.error_dict.items()
            for error in errors
            for message in error.messages
        ]
    return [
        {"field": "", "message": str(message), "code": error.code or "invalid"}
        for error in exc.error_list
        for message in error.messages
    ]


def _on_service_invalid(request: HttpRequest, exc: DjangoValidationError) -> JsonResponse:
    errors = validation_errors(exc)
    general = [error["message"] for error in errors if not error["field"]]
    status = getattr(exc, "http_status", 400)
    code = getattr(exc, "code", None) or "validation"
    extra = dict(getattr(exc, "problem_extra", {}) or {})
    return problem_response(
        Problem(
            status=status,
            slug=getattr(exc, "problem_type", None) or ("validation" if status == 400 else code),
            title=general[0] if general else _("The request is not valid."),
            detail=" ".join(general[1:]) if len(general) > 1 else "",
            errors=[error for error in errors if error["field"]] or errors,
            extra=extra,
        )
    )


def _on_problem(request: HttpRequest, exc: Problem) -> JsonResponse:
    return problem_response(exc)


def _on_unauthenticated(request: HttpRequest, exc: Exception) -> JsonResponse:
    return problem_response(
        Problem(
            status=401,
            slug="unauthenticated",
            title=_("Authentication is required."),
            detail=_("Send a valid API token as 'Authorization: Bearer <token>'."),
            headers={"WWW-Authenticate": 'Bearer realm="comptoir"'},
        )
    )


def _on_forbidden(request: HttpRequest, exc: Exception) -> JsonResponse:
    # ninja's AuthorizationError says "Forbidden" in English; only a service's own (translated)
    # reason is worth passing on.
    detail = "" if isinstance(exc, AuthorizationError) else str(exc)
    return problem_response(
        Problem(status=403, slug="forbidden", title=_("You may not do this."), detail=detail)
    )


def _on_not_found(request: HttpRequest, exc: Exception) -> JsonResponse:
    return problem_response(not_found())


def _on_throttled(request: HttpRequest, exc: Throttled) -> JsonResponse:
    wait = max(1, math.ceil(exc.wait or 1))
    return problem_response(
        Problem(
            status=429,
            slug="rate-limited",
            title=_("Too many requests."),
            detail=_("Wait %(seconds)s seconds before the next request.") % {"seconds": wait},
            headers={"Retry-After": str(wait)},
        )
    )


def _on_too_big(request: HttpRequest, exc: Exception) -> JsonResponse:
    return problem_response(
        Problem(status=413, slug="body-too-large", title=_("The request body is too large."))
    )


def _on_http_error(request: HttpRequest, exc: HttpError) -> JsonResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        # ninja's words for a body that is not JSON: said like any other request error.
        return problem_response(
            Problem(
                status=400,
                slug="invalid-request",
                title=_("The request is not valid."),
                detail=_("The body is not valid JSON."),
                errors=[
                    {
                        "field": "body",
                        "message": _("The body is not valid JSON."),
                        "code": "json_invalid",
                    }
                ],
            )
        )
    slugs = {400: "bad-request", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
    titles = {
        400: _("The request is not valid."),
        403: _("You may not do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
    }
    status = exc.status_code
    return problem_response(
        Problem(
            status=status,
            slug=slugs.get(status, "error"),
            title=titles.get(status, str(exc)),
        )
    )


def _on_crash(request: HttpRequest, exc: Exception) -> JsonResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(
        Problem(status=500, slug="server-error", title=_("Something went wrong on our side."))
    )


_HANDLERS: list[tuple[type[Exception], Callable[[HttpRequest, Any], JsonResponse]]] = [
    (Exception, _on_crash),
    (HttpError, _on_http_error),
    (Problem, _on_problem),
    (RequestValidationError, _on_request_invalid),
    (DjangoValidationError, _on_service_invalid),
    (AuthenticationError, _on_unauthenticated),
    (AuthorizationError, _on_forbidden),
    (PermissionDenied, _on_forbidden),
    (Http404, _on_not_found),
    (ObjectDoesNotExist, _on_not_found),
    (Throttled, _on_throttled),
    (RequestDataTooBig, _on_too_big),
]


class ProblemOut(Schema):
    """A problem document, for a handler that declares an error status of its own in
    ``response=`` (``{200: CustomerOut, 409: ProblemOut}``); the OpenAPI document then says
    ``application/problem+json``, as it is sent."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None


# What every operation may answer besides its own responses, documented once here so the OpenAPI
# document is true for every endpoint (schemathesis checks it): status -> (description, when).
_COMMON_PROBLEMS: dict[str, tuple[str, str]] = {
    "400": (
        "The request is not valid (invalid-request, validation): see errors.",
        "always",
    ),
    "401": ("Authentication is required (unauthenticated).", "secured"),
    "403": (
        "Not allowed: read-only-token on a write, csrf-failed for a session, forbidden.",
        "secured",
    ),
    "404": ("Not found, or not visible to the caller (not-found).", "always"),
    "413": ("The request body is too large (body-too-large).", "body"),
    "429": ("Too many requests for this token (rate-limited); see Retry-After.", "secured"),
}

_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document, in the request's language.",
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "description": "Stable identifier to switch on: urn:comptoir:problem:<slug>.",
            "examples": ["urn:comptoir:problem:invalid-request"],
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["field", "message", "code"],
            },
        },
    },
    "required": ["type", "title", "status"],
}

_PROBLEM_CONTENT = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema and the common problem responses to every operation; a 4xx/5xx
    an operation declares itself is said to be problem+json, as it is sent."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if str(status)[:1] in {"4", "5"}:
                    response["content"] = dict(_PROBLEM_CONTENT)
            applies = {
                "always": True,
                "secured": bool(operation.get("security")),
                "body": "requestBody" in operation,
            }
            for status, (description, when) in _COMMON_PROBLEMS.items():
                if applies[when] and status not in responses:
                    responses[status] = {"description": description, "content": _PROBLEM_CONTENT}
            if "429" in responses:
                responses["429"].setdefault("headers", {})["Retry-After"] = {
                    "description": "Seconds to wait before the next request.",
                    "schema": {"type": "integer"},
                }
    return schema


def _method_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """ninja answers a method an endpoint lacks with a plain-text 405; say it as a problem."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type") == PROBLEM_CONTENT_TYPE:
            return response
        problem = problem_response(
            Problem(
                status=405,
                slug="method-not-allowed",
                title=_("This method is not allowed here."),
                detail=_("Allowed: %(methods)s.") % {"methods": response.get("Allow", "")},
            )
        )
        problem["Allow"] = response.get("Allow", "")
        return problem

    return wrapped


def _api_root(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """The API's bare prefix: a 404 problem that points to the documentation."""
    return problem_response(
        not_found(_("Start from the documentation at %(url)s.") % {"url": request.path + "docs"})
    )


class ProblemAPI(NinjaAPI):
    """A NinjaAPI whose every error, 405 and bare prefix included, is a problem document, and
    whose OpenAPI document says so."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return _document_problems(super().get_openapi_schema(*args, **kwargs))

    @property
    def urls(self) -> tuple[list[URLPattern | URLResolver], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                pattern.callback = _api_root
            elif not inspect.iscoroutinefunction(pattern.callback):
                pattern.callback = _method_not_allowed(pattern.callback)
        return patterns, app_name, namespace


def make_api(**kwargs: Any) -> NinjaAPI:
    """A NinjaAPI that answers every error as problem+json."""
    api = ProblemAPI(**kwargs)
    for exc_class, handler in _HANDLERS:
        api.add_exception_handler(exc_class, handler)
    return api


def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Unknown URLs under an API prefix answer a problem, not the back-office's HTML 404."""
    return problem_response(not_found(_("There is no such API endpoint.")))


api_not_found.login_required = False  # type: ignore[attr-defined]
# It changes nothing, so a POST to a wrong URL gets its 404 rather than the CSRF page.
api_not_found.csrf_exempt = True  # type: ignore[attr-defined]


def public(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """Mark URL patterns as outside the staff login (each API authenticates on its own)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            public(pattern.url_patterns)
        else:
            pattern.callback.login_required = False
    return patterns
