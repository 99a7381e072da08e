"""What a delivery says about its customer or group: the object as the API shows it, read for
many objects at once (a fixed number of queries per chunk of ids, whatever their number).

Never a password hash or a token; a customer who is deleted or anonymised is its id only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from comptoir.core.events import jsonable

# Ids per query: well under SQLite's limit on the number of parameters.
CHUNK = 500

CUSTOMER_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "title_id",
    "title__name_fr",
    "title__name_en",
    "phone",
    "mobile",
    "birthday",
    "language",
    "company",
    "siret",
    "ape_code",
    "vat_number",
    "website",
    "external_id",
    "country",
    "is_guest",
    "is_enabled",
    "is_blocked",
    "blocked_reason",
    "blocked_at",
    "is_tax_exempt",
    "tax_exemption_ref",
    "default_group_id",
    "newsletter",
    "newsletter_at",
    "partner_offers",
    "partner_offers_at",
    "sms",
    "sms_at",
    "note",
    "orders_count",
    "invalid_orders_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "last_visit_at",
    "created_at",
    "updated_at",
    "deleted_at",
    "anonymised_at",
    "version",
)
ADDRESS_FIELDS = (
    "id",
    "customer_id",
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
    "country",
    "phone",
    "is_default_shipping",
    "is_default_billing",
)
GROUP_FIELDS = (
    "id",
    "name_fr",
    "name_en",
    "description",
    "discount",
    "price_display",
    "show_prices",
    "css_class",
    "is_default",
    "created_at",
    "updated_at",
)


def _chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    iterator = iter(sorted(set(ids)))
    while chunk := list(islice(iterator, size)):
        yield chunk


def _customer_data(row: dict, groups, tags, addresses) -> dict[str, Any]:
    pk = row["id"]
    title = None
    if row["title_id"] is not None:
        title = {
            "id": row["title_id"],
            "name_fr": row["title__name_fr"],
            "name_en": row["title__name_en"],
        }
    return {
        "id": pk,
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "title": title,
        "phone": row["phone"],
        "mobile": row["mobile"],
        "birthday": jsonable(row["birthday"]),
        "language": row["language"],
        "company": row["company"],
        "siret": row["siret"],
        "ape_code": row["ape_code"],
        "vat_number": row["vat_number"],
        "website": row["website"],
        "external_id": row["external_id"],
        "country": str(row["country"] or ""),
        "is_guest": row["is_guest"],
        "is_enabled": row["is_enabled"],
        "is_blocked": row["is_blocked"],
        "blocked_reason": row["blocked_reason"],
        "blocked_at": jsonable(row["blocked_at"]),
        "is_tax_exempt": row["is_tax_exempt"],
        "tax_exemption_ref": row["tax_exemption_ref"],
        "default_group": row["default_group_id"],
        "groups": sorted(groups.get(pk, ())),
        "tags": sorted(tags.get(pk, ()), key=str.lower),
        "consents": {
            channel: {"granted": row[channel], "changed_at": jsonable(row[f"{channel}_at"])}
            for channel in ("newsletter", "partner_offers", "sms")
        },
        "note": row["note"],
        "figures": {
            "orders_count": row["orders_count"],
            "invalid_orders_count": row["invalid_orders_count"],
            "total_spent": jsonable(row["total_spent"]),
            "first_order_at": jsonable(row["first_order_at"]),
            "last_order_at": jsonable(row["last_order_at"]),
            "last_visit_at": jsonable(row["last_visit_at"]),
        },
        "addresses": addresses.get(pk, []),
        "created_at": jsonable(row["created_at"]),
        "updated_at": jsonable(row["updated_at"]),
        "version": row["version"],
    }


def customers_data(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """{id: the customer as a delivery shows it} for the live customers among ``ids``; deleted,
    anonymised and missing ones are left out (their deliveries carry the id only)."""
    from comptoir.customers.models import Address, Customer, Membership

    tags_through = Customer.tags.through
    result: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        rows = list(
            Customer.objects.filter(
                id__in=chunk, deleted_at__isnull=True, anonymised_at__isnull=True
            ).values(*CUSTOMER_FIELDS)
        )
        if not rows:
            continue
        live = [row["id"] for row in rows]
        groups: dict[int, list[int]] = defaultdict(list)
        for customer_id, group_id in Membership.objects.filter(customer_id__in=live).values_list(
            "customer_id", "group_id"
        ):
            groups[customer_id].append(group_id)
        tags: dict[int, list[str]] = defaultdict(list)
        for customer_id, name in tags_through.objects.filter(customer_id__in=live).values_list(
            "customer_id", "tag__name"
        ):
            tags[customer_id].append(name)
        addresses: dict[int, list[dict]] = defaultdict(list)
        for address in (
            Address.objects.filter(customer_id__in=live).order_by("id").values(*ADDRESS_FIELDS)
        ):
            customer_id = address.pop("customer_id")
            address["country"] = str(address["country"] or "")
            addresses[customer_id].append(address)
        for row in rows:
            result[row["id"]] = _customer_data(row, groups, tags, addresses)
    return result


def groups_data(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """{id: the group as a delivery shows it} for the groups among ``ids`` that exist."""
    from comptoir.groups.models import Group

    result: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        for row in Group.objects.filter(id__in=chunk).values(*GROUP_FIELDS):
            result[row["id"]] = {name: jsonable(value) for name, value in row.items()}
    return result


def objects_data(
    wanted: Sequence[tuple[str, int]],
) -> dict[tuple[str, int], dict[str, Any]]:
    """{(object type, id): data} for the customers and groups in ``wanted``."""
    by_type: dict[str, set[int]] = defaultdict(set)
    for object_type, object_id in wanted:
        by_type[object_type].add(object_id)
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for pk, data in customers_data(by_type.get("customer", ())).items():
        found["customer", pk] = data
    for pk, data in groups_data(by_type.get("group", ())).items():
        found["group", pk] = data
    return found
