"""The storefront API, under /api/storefront/v1/: what the shop's own checkout and customer
account call (place an order, register, log in, my account). OpenAPI at /openapi.json, docs at
/docs.

Authentication (see ``storefront.auth``): every call carries the shop's storefront key
(``X-Storefront-Key``); the "my account" calls (``/me*``) and ``/logout`` also carry the
customer's session token returned by log in or register (``Authorization: Bearer``).

Errors are problem+json (``comptoir.core.api``); the storefront's refusals carry a stable
``type`` and a ``reason`` code (``storefront.errors``): ``customer_blocked``,
``account_disabled``, ``too_many_failures`` (with ``Retry-After``), ``invalid_credentials``, ...
``POST /orders`` takes an ``Idempotency-Key`` header: a retried checkout gets the first order
back (``Idempotent-Replayed: true``) instead of placing a second.
Handlers are thin: they parse, call one service or selector, and shape the answer.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Header, Path, Query, Status

from comptoir.core.api import Problem, make_api, not_found, problem_response
from comptoir.customers.models import Address, Channel, Customer
from comptoir.customers.services import customer_personal_data_export
from comptoir.groups.models import Group
from comptoir.orders.models import Order
from comptoir.orders.services import CustomerBlockedError, LineInput
from comptoir.storefront import selectors, services
from comptoir.storefront.auth import CustomerTokenAuth, StorefrontKeyAuth, storefront_actor
from comptoir.storefront.errors import StorefrontRefusal
from comptoir.storefront.schemas import (
    ID_MAX,
    AcceptedOut,
    AddressIn,
    AddressOut,
    AddressPatchIn,
    ConsentSetIn,
    ConsentSetOut,
    ConsentsHistoryOut,
    EraseIn,
    EraseOut,
    LoginIn,
    LoginOut,
    MeOut,
    MePatchIn,
    OrderIn,
    OrdersPageOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PlacedOrderOut,
    RegisterIn,
    RegisterOut,
    with_problems,
)

api = make_api(
    title="Comptoir storefront API",
    version="1",
    description="Orders, registration, login and the customer's own account.",
    urls_namespace="api-storefront-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

SHOP_SERVER = StorefrontKeyAuth()
CUSTOMER = CustomerTokenAuth()

# ninja lists an operation's auth objects as alternatives; the account calls need both.
_KEY_AND_TOKEN = [{"StorefrontKeyAuth": [], "CustomerTokenAuth": []}]


def _openapi_with_key_and_token(schema_of):
    def schema(*args, **kwargs):
        document = schema_of(*args, **kwargs)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if operation.get("security") == [{"CustomerTokenAuth": []}]:
                    operation["security"] = _KEY_AND_TOKEN
        return document

    return schema


api.get_openapi_schema = _openapi_with_key_and_token(api.get_openapi_schema)


def _on_refusal(request: HttpRequest, exc: StorefrontRefusal) -> HttpResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    if exc.status == 401:
        realm = "storefront-key" if exc.slug == "storefront-key-required" else "customer"
        headers["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    return problem_response(
        Problem(
            status=exc.status,
            slug=exc.slug,
            title=exc.message,
            headers=headers,
            extra={"reason": exc.reason},
        )
    )


def _on_customer_blocked(request: HttpRequest, exc: CustomerBlockedError) -> HttpResponse:
    # The reason staff wrote stays with staff: the customer is told to contact the shop.
    return problem_response(
        Problem(
            status=403,
            slug="customer-blocked",
            title=exc.messages[0],
            extra={"reason": "customer_blocked"},
        )
    )


api.add_exception_handler(StorefrontRefusal, _on_refusal)
api.add_exception_handler(CustomerBlockedError, _on_customer_blocked)


# -------------------------------------------------------------------------------------------------
# Answers
# -------------------------------------------------------------------------------------------------


def _group(group: Group) -> dict:
    return {
        "id": group.pk,
        "name": group.name,
        "discount": group.discount,
        "price_display": group.price_display,
        "show_prices": group.show_prices,
        "css_class": group.css_class,
    }


def _consents(customer: Customer) -> dict:
    return {
        channel: {
            "granted": getattr(customer, channel),
            "changed_at": getattr(customer, f"{channel}_at"),
        }
        for channel in Channel.values
    }


def _me(customer: Customer) -> dict:
    groups = selectors.account_groups(customer=customer)
    title = customer.title
    return {
        "id": customer.pk,
        "email": customer.email,
        "title": {"id": title.pk, "name": title.name} if title else None,
        **{
            field: getattr(customer, field)
            for field in (
                "first_name",
                "last_name",
                "phone",
                "mobile",
                "birthday",
                "language",
                "company",
                "vat_number",
                "siret",
                "website",
                "orders_count",
                "total_spent",
                "last_order_at",
                "created_at",
            )
        },
        "can_order": not customer.is_blocked,
        "default_group": _group(customer.default_group),
        "groups": [_group(group) for group in groups],
        "consents": _consents(customer),
    }


def _token(issued: services.IssuedSession) -> dict:
    return {"token": issued.token, "token_type": "Bearer", "expires_at": issued.session.expires_at}


def _order(order: Order) -> dict:
    return {
        **{
            field: getattr(order, field)
            for field in (
                "id",
                "reference",
                "created_at",
                "status",
                "currency",
                "payment_method",
                "total_products",
                "discount_percent",
                "discount_amount",
                "total",
            )
        },
        "lines": [
            {
                "reference": line.product_reference,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "total": line.total,
            }
            for line in order.lines.all()
        ],
    }


def _address(address: Address) -> dict:
    return {
        "id": address.pk,
        **{
            field: getattr(address, field)
            for field in (
                "alias",
                "first_name",
                "last_name",
                "company",
                "vat_number",
                "address1",
                "address2",
                "postcode",
                "city",
                "state",
                "phone",
                "is_default_shipping",
                "is_default_billing",
            )
        },
        "country": address.country.code,
    }


def _user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")


# -------------------------------------------------------------------------------------------------
# The shop's server: orders, registration, login, password reset
# -------------------------------------------------------------------------------------------------


@api.post(
    "/orders",
    auth=SHOP_SERVER,
    response=with_problems({201: PlacedOrderOut}, 503),
    tags=["orders"],
    summary="Place an order",
)
def order_place(
    request: HttpRequest,
    payload: OrderIn,
    response: HttpResponse,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e][\x20-\x7e]*$",
        description="A unique value per checkout (a UUID): a retry with the same key and body "
        "gets the order placed the first time (`Idempotent-Replayed: true`), not a second one.",
    ),
):
    """Links the order to the customer of that e-mail, or creates a guest; applies the default
    group's discount and returns it with the totals; moves the customer's figures; converts the
    given cart, else the customer's newest open cart. A blocked customer gets a 403
    `customer-blocked` problem and nothing is written. The same `Idempotency-Key` with another
    body: 422 `idempotency-key-reused`."""
    placed = services.storefront_order_place(
        actor=storefront_actor(request),
        email=payload.email,
        first_name=payload.first_name,
        last_name=payload.last_name,
        lines=[
            LineInput(
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                product_reference=line.reference,
            )
            for line in payload.lines
        ],
        status=payload.status,
        currency=payload.currency,
        payment_method=payload.payment_method,
        cart_id=payload.cart_id,
        shipping=payload.shipping.dict() if payload.shipping else None,
        idempotency_key=idempotency_key,
    )
    if placed.replayed:
        response["Idempotent-Replayed"] = "true"
    order = placed.order
    return Status(
        201,
        {
            **_order(order),
            "discount": {
                "group_id": placed.group.pk,
                "group_name": placed.group.name,
                "percent": order.discount_percent,
                "amount": order.discount_amount,
            },
            "customer": {
                "id": placed.customer.pk,
                "email": placed.customer.email,
                "is_guest": placed.customer.is_guest,
                "created": placed.customer_created,
            },
            "cart_id": placed.cart_id,
        },
    )


@api.post(
    "/register",
    auth=SHOP_SERVER,
    response=with_problems({201: RegisterOut}, 503),
    tags=["account"],
    summary="Register a customer",
)
def register(request: HttpRequest, payload: RegisterIn):
    """Creates the customer (or turns the guests of that e-mail into it) and logs them in. The
    password must pass the strength rules (10 characters at least, not common, not all digits,
    not like the name or e-mail). Consents given are recorded with the storefront as source and
    the shopper's address."""
    consents = {k: v for k, v in payload.consents.dict().items() if v is not None}
    registration = services.customer_register(
        email=payload.email,
        raw_password=payload.password,
        first_name=payload.first_name,
        last_name=payload.last_name,
        consents=consents,
        language=payload.language,
        actor=storefront_actor(request),
        user_agent=_user_agent(request),
    )
    return Status(
        201,
        {
            "customer": _me(registration.customer),
            "session": _token(registration.session) if registration.session else None,
            "converted_guest": registration.converted_guest_id is not None,
            "merged_guests": len(registration.merged_guest_ids),
        },
    )


@api.post(
    "/login",
    auth=SHOP_SERVER,
    response=with_problems({200: LoginOut}, 503),
    tags=["account"],
    summary="Log in",
)
def login(request: HttpRequest, payload: LoginIn):
    """Returns a session token. After 5 failures within 15 minutes the e-mail is locked out for
    the rest of that window (429 `login-locked`, `Retry-After`); a disabled account gets 403
    `account-disabled`; a blocked one logs in (it cannot order)."""
    issued = services.customer_login(
        email=payload.email,
        raw_password=payload.password,
        actor=storefront_actor(request),
        user_agent=_user_agent(request),
    )
    return {"session": _token(issued), "customer": _me(issued.customer)}


@api.post(
    "/password-reset",
    auth=SHOP_SERVER,
    response=with_problems({202: AcceptedOut}, 503),
    tags=["account"],
    summary="Ask for a password reset link",
)
def password_reset(request: HttpRequest, payload: PasswordResetIn):
    """Writes a one-time link to the outbox for a registered account; answers 202 in every case,
    so the answer does not tell whether the e-mail has an account."""
    services.password_reset_request(email=payload.email, actor=storefront_actor(request))
    return Status(
        202,
        {
            "detail": _(
                "If an account exists for this e-mail address, a message with a link to choose a "
                "new password is on its way."
            )
        },
    )


@api.post(
    "/password-reset/confirm",
    auth=SHOP_SERVER,
    response=with_problems({204: None}, 503),
    tags=["account"],
    summary="Choose a new password with a reset token",
)
def password_reset_confirm(request: HttpRequest, payload: PasswordResetConfirmIn):
    """Uses the token up and logs the customer out everywhere; they log in with the new
    password."""
    services.password_reset_confirm(
        raw_token=payload.token, raw_password=payload.password, actor=storefront_actor(request)
    )
    return Status(204, None)


# -------------------------------------------------------------------------------------------------
# The logged-in customer
# -------------------------------------------------------------------------------------------------


@api.post(
    "/logout",
    auth=CUSTOMER,
    response={204: None},
    tags=["account"],
    summary="Log out",
)
def logout(request: HttpRequest, everywhere: bool = False):
    """Ends this session (with `everywhere=true`, every session of the customer)."""
    if everywhere:
        services.sessions_revoke_all(customer=request.auth)
    else:
        services.session_revoke(session=request.customer_session)
    return Status(204, None)


@api.get(
    "/me",
    auth=CUSTOMER,
    response={200: MeOut},
    tags=["my account"],
    summary="My profile, group and discount",
)
def me(request: HttpRequest):
    return _me(request.auth)


@api.patch(
    "/me",
    auth=CUSTOMER,
    response={200: MeOut},
    tags=["my account"],
    summary="Change my profile",
)
def me_update(request: HttpRequest, payload: MePatchIn):
    customer = services.account_profile_update(
        customer=request.auth,
        changes=payload.dict(exclude_unset=True),
        actor=storefront_actor(request),
    )
    return _me(customer)


@api.get(
    "/me/addresses",
    auth=CUSTOMER,
    response={200: list[AddressOut]},
    tags=["my account"],
    summary="My addresses",
)
def addresses(request: HttpRequest):
    return [_address(a) for a in selectors.account_addresses(customer_id=request.auth.pk)]


def _my_address(request: HttpRequest, address_id: int) -> Address:
    address = selectors.account_address(customer_id=request.auth.pk, address_id=address_id)
    if address is None:
        raise not_found(_("You have no address with this id."))
    return address


@api.post(
    "/me/addresses",
    auth=CUSTOMER,
    response={201: AddressOut},
    tags=["my account"],
    summary="Add an address",
)
def address_add(request: HttpRequest, payload: AddressIn):
    address = services.account_address_add(
        customer=request.auth, actor=storefront_actor(request), **payload.dict()
    )
    return Status(201, _address(address))


@api.get(
    "/me/addresses/{address_id}",
    auth=CUSTOMER,
    response={200: AddressOut},
    tags=["my account"],
    summary="One of my addresses",
)
def address_get(request: HttpRequest, address_id: int = Path(..., ge=1, le=ID_MAX)):
    return _address(_my_address(request, address_id))


@api.patch(
    "/me/addresses/{address_id}",
    auth=CUSTOMER,
    response={200: AddressOut},
    tags=["my account"],
    summary="Change an address",
)
def address_change(
    request: HttpRequest, payload: AddressPatchIn, address_id: int = Path(..., ge=1, le=ID_MAX)
):
    address = services.account_address_change(
        address=_my_address(request, address_id),
        actor=storefront_actor(request),
        **payload.dict(exclude_unset=True),
    )
    return _address(address)


@api.delete(
    "/me/addresses/{address_id}",
    auth=CUSTOMER,
    response={204: None},
    tags=["my account"],
    summary="Remove an address",
)
def address_remove(request: HttpRequest, address_id: int = Path(..., ge=1, le=ID_MAX)):
    services.account_address_remove(
        address=_my_address(request, address_id), actor=storefront_actor(request)
    )
    return Status(204, None)


@api.get(
    "/me/orders",
    auth=CUSTOMER,
    response={200: OrdersPageOut},
    tags=["my account"],
    summary="My orders",
)
def orders(
    request: HttpRequest,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=200),
):
    """Newest first, with their lines; `next_cursor` fetches the next page."""
    page = selectors.account_orders(customer_id=request.auth.pk, limit=limit, cursor=cursor)
    return {"items": [_order(order) for order in page.orders], "next_cursor": page.next_cursor}


@api.get(
    "/me/consents",
    auth=CUSTOMER,
    response={200: ConsentsHistoryOut},
    tags=["my account"],
    summary="My consents and their history",
)
def consents(request: HttpRequest):
    history = selectors.account_consent_history(customer_id=request.auth.pk)
    return {
        "current": _consents(request.auth),
        "history": [
            {
                "channel": record.channel,
                "granted": record.granted,
                "opt_in_level": record.opt_in_level,
                "source": record.source,
                "at": record.created_at,
            }
            for record in history
        ],
    }


@api.put(
    "/me/consents/{channel}",
    auth=CUSTOMER,
    response={200: ConsentSetOut},
    tags=["my account"],
    summary="Give or withdraw a consent",
)
def consent_set(request: HttpRequest, channel: str, payload: ConsentSetIn):
    """`channel`: newsletter, partner_offers or sms. A change writes a history row with the
    storefront as source and the shopper's address."""
    customer = request.auth
    changed = services.account_consent_set(
        customer=customer,
        channel=channel,
        granted=payload.granted,
        actor=storefront_actor(request),
    )
    return {
        "channel": channel,
        "granted": getattr(customer, channel),
        "changed": changed,
        "changed_at": getattr(customer, f"{channel}_at"),
    }


@api.post(
    "/me/personal-data",
    auth=CUSTOMER,
    tags=["my account"],
    summary="Download my personal data",
    openapi_extra={
        "responses": {
            200: {
                "description": "A ZIP archive: every section as JSON and as CSV.",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def personal_data(request: HttpRequest):
    """Everything the shop holds on the customer (GDPR right of access); the handing-out is
    recorded on their timeline."""
    archive = customer_personal_data_export(customer=request.auth, actor=storefront_actor(request))
    response = HttpResponse(archive.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@api.post(
    "/me/erase",
    auth=CUSTOMER,
    response={200: EraseOut, 202: EraseOut},
    tags=["my account"],
    summary="Ask to be erased",
)
def erase(request: HttpRequest, payload: EraseIn):
    """Confirmed with the password. The shop's default delete mode is applied at once (200,
    `erased`; the session ends). A customer blocked from ordering is not erased automatically:
    the request is recorded for the shop's staff (202, `pending`)."""
    result = services.account_erase_request(
        customer=request.auth, raw_password=payload.password, actor=storefront_actor(request)
    )
    if result.erased:
        return Status(200, {"status": "erased", "mode": result.mode})
    return Status(202, {"status": "pending", "mode": None})
