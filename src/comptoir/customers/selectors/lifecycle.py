"""Reads behind one customer's lifecycle actions: which duplicates could be merged into a
customer, the side-by-side preview of a merge (and why it cannot be done), the guests a
conversion would fold in, and everything held on a person (GDPR right of access).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.customers.models import Customer


@dataclass(frozen=True)
class MergeField:
    """A value staff choose between when merging: ``columns`` move together (a phone and the
    phone as typed; tax exemption and its reference)."""

    name: str
    label: Any
    columns: tuple[str, ...]


MERGE_FIELDS = (
    MergeField("title", gettext_lazy("Title"), ("title",)),
    MergeField("first_name", gettext_lazy("First name"), ("first_name",)),
    MergeField("last_name", gettext_lazy("Last name"), ("last_name",)),
    MergeField("email", gettext_lazy("E-mail"), ("email", "email_key")),
    MergeField("phone", gettext_lazy("Phone"), ("phone", "phone_input")),
    MergeField("mobile", gettext_lazy("Mobile phone"), ("mobile", "mobile_input")),
    MergeField("birthday", gettext_lazy("Birthday"), ("birthday",)),
    MergeField("language", gettext_lazy("Language"), ("language",)),
    MergeField("company", gettext_lazy("Company"), ("company",)),
    MergeField("siret", gettext_lazy("SIRET"), ("siret",)),
    MergeField("ape_code", gettext_lazy("APE/NAF code"), ("ape_code",)),
    MergeField("vat_number", gettext_lazy("VAT number"), ("vat_number",)),
    MergeField("website", gettext_lazy("Website"), ("website",)),
    MergeField("external_id", gettext_lazy("External id"), ("external_id",)),
    MergeField(
        "tax_exemption", gettext_lazy("Tax exemption"), ("is_tax_exempt", "tax_exemption_ref")
    ),
    MergeField("default_group", gettext_lazy("Default group"), ("default_group",)),
)
MERGE_FIELD_NAMES = tuple(merge_field.name for merge_field in MERGE_FIELDS)
SURVIVOR, DUPLICATE = "survivor", "duplicate"


def merge_value(customer: Customer, merge_field: MergeField) -> Any:
    """The value staff see for a field: the first column (an object for title and group)."""
    if merge_field.name == "tax_exemption":
        return (customer.is_tax_exempt, customer.tax_exemption_ref)
    return getattr(customer, merge_field.columns[0])


def merge_value_empty(customer: Customer, merge_field: MergeField) -> bool:
    value = merge_value(customer, merge_field)
    if merge_field.name == "tax_exemption":
        return not value[0]
    return value in (None, "")


def merge_refusals(survivor: Customer, duplicate: Customer) -> list[str]:
    """Why ``duplicate`` cannot be merged into ``survivor`` at all, whatever values win."""
    refusals = []
    if survivor.pk == duplicate.pk:
        return [_("A customer cannot be merged into itself.")]
    for customer, role in ((survivor, _("This customer")), (duplicate, _("The duplicate"))):
        if customer.anonymised_at:
            refusals.append(_("%(who)s is anonymised.") % {"who": role})
        elif customer.deleted_at:
            refusals.append(_("%(who)s is deleted.") % {"who": role})
    if survivor.is_guest and not duplicate.is_guest:
        refusals.append(
            _(
                "The duplicate is a registered customer and this one a guest: merge this guest "
                "into the registered customer instead, so that its account and password stay."
            )
        )
    return refusals


@dataclass(frozen=True)
class MergeRow:
    field: MergeField
    survivor_value: Any
    duplicate_value: Any
    default: str  # SURVIVOR or DUPLICATE

    @property
    def differs(self) -> bool:
        return self.survivor_value != self.duplicate_value

    @property
    def survivor_display(self) -> str:
        return merge_value_display(self.field, self.survivor_value)

    @property
    def duplicate_display(self) -> str:
        return merge_value_display(self.field, self.duplicate_value)


def merge_value_display(merge_field: MergeField, value: Any) -> str:
    """A value as staff read it in the preview ('' when there is none)."""
    from django.utils.formats import date_format

    if merge_field.name == "tax_exemption":
        exempt, reference = value
        if not exempt:
            return _("No")
        return _("Yes (%(reference)s)") % {"reference": reference} if reference else _("Yes")
    if merge_field.name == "language":
        from comptoir.customers.models import Language

        return str(Language(value).label) if value in Language.values else str(value)
    if merge_field.name == "birthday" and value:
        return date_format(value, "SHORT_DATE_FORMAT")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class MergePreview:
    survivor: Customer
    duplicate: Customer
    rows: list[MergeRow]
    refusals: list[str]
    moving: dict[str, int] = field(default_factory=dict)

    @property
    def possible(self) -> bool:
        return not self.refusals


def merge_default_choices(survivor: Customer, duplicate: Customer) -> dict[str, str]:
    """The survivor's values win, except where it has none and the duplicate has one."""
    return {
        merge_field.name: DUPLICATE
        if merge_value_empty(survivor, merge_field)
        and not merge_value_empty(duplicate, merge_field)
        else SURVIVOR
        for merge_field in MERGE_FIELDS
    }


def _moving_counts(customer_ids: Iterable[int]) -> dict[str, int]:
    """How many rows of each kind belong to these customers (what a merge moves)."""
    from comptoir.core.models import Event
    from comptoir.customers.models import Address, ConsentRecord
    from comptoir.orders.models import Cart, Order, Visit, Voucher
    from comptoir.support.models import Thread

    ids = list(customer_ids)
    return {
        key: model.objects.filter(customer_id__in=ids).count()
        for key, model in (
            ("orders", Order),
            ("carts", Cart),
            ("addresses", Address),
            ("consents", ConsentRecord),
            ("threads", Thread),
            ("visits", Visit),
            ("vouchers", Voucher),
            ("events", Event),
        )
    }


def customer_merge_preview(*, survivor: Customer, duplicate: Customer) -> MergePreview:
    """Both customers side by side, field by field, with the default choice, what would move
    and the reasons it cannot be done (if any)."""
    defaults = merge_default_choices(survivor, duplicate)
    rows = [
        MergeRow(
            field=merge_field,
            survivor_value=merge_value(survivor, merge_field),
            duplicate_value=merge_value(duplicate, merge_field),
            default=defaults[merge_field.name],
        )
        for merge_field in MERGE_FIELDS
    ]
    refusals = merge_refusals(survivor, duplicate)
    moving = {} if refusals else _moving_counts([duplicate.pk])
    return MergePreview(
        survivor=survivor, duplicate=duplicate, rows=rows, refusals=refusals, moving=moving
    )


def customer_merge_candidates(*, customer: Customer, query: str = "") -> QuerySet[Customer]:
    """Customers that could be merged into ``customer``: those the search box finds (id,
    names, e-mail, phone; the list's indexed search) when ``query`` is given, else those
    sharing its e-mail or its name. Deleted and anonymised customers are left out: they cannot
    be merged."""
    from comptoir.core.search import search_filter

    candidates = Customer.objects.filter(
        deleted_at__isnull=True, anonymised_at__isnull=True
    ).exclude(pk=customer.pk)
    query = (query or "").strip()
    number = query.lstrip("#")
    if number.isdigit() and len(number) <= 18:
        # An id means that very customer, not every phone or postcode holding those digits.
        candidates = candidates.filter(pk=int(number))
    elif query:
        candidates = search_filter(candidates, query)
    else:
        conditions = []
        if customer.full_name:
            named = search_filter(Customer.objects.all(), customer.full_name).values("id")
            conditions.append(Q(id__in=named))
        if customer.email_key:
            conditions.append(Q(email_key=customer.email_key))
        if not conditions:
            return candidates.none()
        candidates = candidates.filter(functools.reduce(operator.or_, conditions))
    return candidates.select_related("default_group").order_by("-id")


def customer_guests_to_fold(*, customer: Customer) -> QuerySet[Customer]:
    """The other guests with this customer's e-mail: converting it folds them into it."""
    if not customer.email_key:
        return Customer.objects.none()
    return (
        Customer.objects.filter(
            email_key=customer.email_key,
            is_guest=True,
            deleted_at__isnull=True,
            anonymised_at__isnull=True,
        )
        .exclude(pk=customer.pk)
        .order_by("-id")
    )


# -------------------------------------------------------------------------------------------------
# Personal data (GDPR right of access)
# -------------------------------------------------------------------------------------------------

# Columns of the customer never given out: secrets, and what is only machinery.
_PROFILE_WITHHELD = frozenset(
    {"password", "must_reset_password", "email_key", "search_text", "version", "blocked_by"}
)


def _ip_if_theirs(row) -> str | None:
    """An IP address is the customer's only when they acted themselves (the storefront); on
    other rows it is the staff member's or an integration's, which is not theirs to see."""
    return row.ip_address if row.source == "storefront" else None


def _profile(customer: Customer) -> dict[str, Any]:
    profile = {
        field.name: getattr(customer, field.attname)
        for field in Customer._meta.concrete_fields
        if field.name not in _PROFILE_WITHHELD and not field.is_relation
    }
    profile["title"] = str(customer.title) if customer.title_id else ""
    profile["country"] = str(customer.country.code) if customer.country else ""
    profile["default_group"] = str(customer.default_group)
    profile["groups"] = [str(group) for group in customer.groups.order_by("id")]
    profile["tags"] = sorted(customer.tags.values_list("name", flat=True))
    return profile


def customer_personal_data(*, customer: Customer) -> dict[str, Any]:
    """Everything held on this person, section by section, as plain values: the profile,
    addresses, consent history, orders with their lines, carts, vouchers, support threads with
    their messages, visits, the timeline, and the messages written to them. Never a password,
    its hash or a token; staff members' identities and IP addresses are left out."""
    from comptoir.core.models import Event, OutboxMessage
    from comptoir.orders.models import Cart, Order, Visit, Voucher
    from comptoir.support.models import Thread

    customer = Customer.objects.select_related("title", "default_group").get(pk=customer.pk)
    addresses = [
        {
            "id": address.pk,
            **{
                name: getattr(address, name)
                for name in (
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
                    "created_at",
                    "updated_at",
                )
            },
            "country": str(address.country.code),
        }
        for address in customer.addresses.order_by("id")
    ]
    consents = [
        {
            "channel": record.channel,
            "given": record.granted,
            "when": record.created_at,
            "source": record.source,
            "opt_in_level": record.opt_in_level,
            "ip_address": _ip_if_theirs(record),
        }
        for record in customer.consents.order_by("created_at", "id")
    ]
    orders = [
        {
            "reference": order.reference,
            "date": order.created_at,
            "status": order.status,
            "valid": order.is_valid,
            "first_name": order.customer_first_name,
            "last_name": order.customer_last_name,
            "email": order.customer_email,
            "total_products": order.total_products,
            "discount_percent": order.discount_percent,
            "discount_amount": order.discount_amount,
            "total": order.total,
            "currency": order.currency,
            "payment_method": order.payment_method,
            "lines": [
                {
                    "product_reference": line.product_reference,
                    "product": line.product_name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "total": line.total,
                }
                for line in order.lines.all()
            ],
        }
        for order in Order.objects.filter(customer=customer)
        .order_by("created_at", "id")
        .prefetch_related("lines")
    ]
    carts = [
        {
            "id": cart.pk,
            "status": cart.status,
            "order": cart.order.reference if cart.order_id else "",
            "items": cart.items_count,
            "total": cart.total,
            "currency": cart.currency,
            "created_at": cart.created_at,
            "updated_at": cart.updated_at,
        }
        for cart in Cart.objects.filter(customer=customer)
        .select_related("order")
        .order_by("created_at", "id")
    ]
    vouchers = [
        {
            "code": voucher.code,
            "name": voucher.name,
            "amount": voucher.amount,
            "percent": voucher.percent,
            "valid_until": voucher.valid_until,
            "used": voucher.is_used,
            "created_at": voucher.created_at,
        }
        for voucher in Voucher.objects.filter(customer=customer).order_by("created_at", "id")
    ]
    messages = [
        {
            "subject": thread.subject,
            "email": thread.email,
            "status": thread.status,
            "created_at": thread.created_at,
            "messages": [
                {
                    "sent": message.created_at,
                    "from": "customer" if message.from_customer else "shop",
                    "message": message.body,
                }
                for message in thread.messages.all()
            ],
        }
        for thread in Thread.objects.filter(customer=customer)
        .order_by("created_at", "id")
        .prefetch_related("messages")
    ]
    visits = [
        {"date": visit.created_at, "ip_address": visit.ip_address, "referrer": visit.referrer}
        for visit in Visit.objects.filter(customer=customer).order_by("created_at", "id")
    ]
    events = [
        {
            "when": event.created_at,
            "what": event.kind,
            "source": event.source,
            "ip_address": _ip_if_theirs(event),
            "details": event.data,
        }
        for event in Event.objects.filter(customer_id=customer.pk).order_by("created_at", "id")
    ]
    # The body of a message may carry a password-reset link: only its envelope is given.
    sent_to_them = [
        {
            "to": message.to,
            "subject": message.subject,
            "language": message.language,
            "created_at": message.created_at,
            "sent_at": message.sent_at,
        }
        for message in OutboxMessage.objects.filter(customer=customer).order_by("created_at", "id")
    ]
    return {
        "profile": _profile(customer),
        "addresses": addresses,
        "consents": consents,
        "orders": orders,
        "carts": carts,
        "vouchers": vouchers,
        "messages": messages,
        "visits": visits,
        "events": events,
        "messages_to_customer": sent_to_them,
    }
