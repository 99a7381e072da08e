"""The customers list at scale, against the plain Django admin changelist, same data, same run.

Server time through Django's test client (request in, HTML out), 30 runs after a warm-up.
Usage: see bench/README.md. Prints a Markdown table; --out appends it to a file.
"""

from __future__ import annotations

import argparse
import random

from common import django_setup, machine, measure, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--bulk-repeat", type=int, default=5)
    parser.add_argument("--out", help="append the table to this Markdown file")
    args = parser.parse_args()
    django_setup()

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from comptoir.core.actors import Actor
    from comptoir.customers.filters import CustomerFilterSet
    from comptoir.customers.models import Customer
    from comptoir.customers.selectors import customer_summary
    from comptoir.customers.selectors.listing import _summary_compute
    from comptoir.groups.models import Group

    users = get_user_model()
    staff, _created = users.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(staff)

    def get(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    # Search terms drawn from the data itself: name fragments, e-mail fragments, phone fragments.
    rng = random.Random(7)
    sample = list(
        Customer.objects.filter(id__in=[rng.randint(1, 900_000) for _ in range(60)]).values_list(
            "last_name", "email", "phone"
        )
    )
    names = [last[1:5].lower() for last, _email, _phone in sample if len(last) >= 5][:30]
    emails = [email.split("@")[0][2:7] for _last, email, _phone in sample][:30]
    # A phone fragment as merchants type it: the national "0" and the next five digits. Four
    # digits ("0465") match 5-12 % of the demo's customers (its numbers come from a few fictional
    # ranges), so that case is measured too, apart, as the worst one.
    french = [phone for _last, _email, phone in sample if phone.startswith("+33")]
    phones = ["0" + phone[3:8] for phone in french][:30] or [p[-6:] for *_, p in sample if p][:30]
    short_phones = ["0" + phone[3:6] for phone in french][:30] or phones

    filters = "newsletter=true&enabled=true&country=FR"
    admin_filters = "newsletter__exact=1&is_enabled__exact=1&country__exact=FR"
    matching = CustomerFilterSet(dict(p.split("=") for p in filters.split("&"))).qs.count()
    last_page = max(1, -(-matching // 50))

    def fresh(url: str) -> None:
        """``url`` with no figures known yet, as after any change to the data (the summary's
        cache key is the newest event's id): the list page asks for them afterwards."""
        cache.clear()
        get(url)

    rows = []
    ours = measure("first page", lambda i: get("/customers/?per_page=50"), repeat=args.repeat)
    peer = measure(
        "admin first page", lambda i: get("/django-admin/customers/customer/"), repeat=args.repeat
    )
    rows.append(("first page, default sort, 50 rows", ours, peer, 20))
    ours = measure(
        "first page fresh", lambda i: fresh("/customers/?per_page=50"), repeat=args.repeat
    )
    rows.append(("first page, figures not yet known (first view after a change)", ours, None, 20))
    ours = measure(
        "first page figures", lambda i: fresh("/customers/figures/?per_page=50"), repeat=args.repeat
    )
    rows.append(("its figures (second request): all customers counted", ours, None, None))
    searches = (
        ("name", names),
        ("e-mail", emails),
        ("phone", phones),
        ("4-digit phone", short_phones),
    )
    for label, terms in searches:
        ours = measure(
            label, lambda i, t=terms: get(f"/customers/?q={t[i % len(t)]}"), repeat=args.repeat
        )
        peer = measure(
            label,
            lambda i, t=terms: get(f"/django-admin/customers/customer/?q={t[i % len(t)]}"),
            repeat=args.repeat,
        )
        target = None if label == "4-digit phone" else 30
        rows.append((f"search by a {label} fragment", ours, peer, target))
        ours = measure(
            label,
            lambda i, t=terms: fresh(f"/customers/figures/?q={t[i % len(t)]}"),
            repeat=args.repeat,
        )
        rows.append((f"its figures (second request): {label} matches counted", ours, None, None))
    ours = measure(
        "deep",
        lambda i: get(f"/customers/?{filters}&sort=-sales&page={last_page}"),
        repeat=args.repeat,
    )
    peer = measure(
        "deep",
        lambda i: get(f"/django-admin/customers/customer/?{admin_filters}&o=-6&p={last_page}"),
        repeat=args.repeat,
    )
    rows.append((f"three filters + sort on sales + last page ({matching:,} rows)", ours, peer, 50))
    deep_all = max(1, -(-Customer.objects.count() // 50))
    ours = measure(
        "deep all", lambda i: get(f"/customers/?sort=-sales&page={deep_all}"), repeat=args.repeat
    )
    peer = measure(
        "deep all",
        lambda i: get(f"/django-admin/customers/customer/?o=-6&p={deep_all}"),
        repeat=args.repeat,
    )
    rows.append(("sort on sales, last page of all customers", ours, peer, None))
    summary_filter = CustomerFilterSet({"newsletter": "true", "country": "FR"}).qs
    ours = measure("summary", lambda i: customer_summary(summary_filter), repeat=args.repeat)
    rows.append(("summary cards for a filter (newsletter + country), cached", ours, None, 50))
    month = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ours = measure(
        "summary uncached",
        lambda i: _summary_compute(summary_filter, month),
        repeat=max(5, args.repeat // 3),
    )
    rows.append(
        ("summary cards for a filter, computed (first view after a change)", ours, None, None)
    )

    bulk = bulk_add_to_group(Customer, Group, Actor, staff, repeat=args.bulk_repeat)
    if bulk is not None:
        rows.append(("bulk add to group, 100,000 customers, events included", bulk, None, 3000))

    output = f"{machine()}\n\n{table(rows)}\n"
    print(output)
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(output + "\n")


def bulk_add_to_group(customer_model, group_model, actor_class, staff, *, repeat: int):
    """Time "add to group" on 100,000 matching customers (events included); take them out
    again between runs, untimed."""
    import time

    from common import Result

    from comptoir.customers.filters import CustomerFilterSet
    from comptoir.customers.services import (
        customers_bulk_group_add,
        customers_bulk_group_remove,
    )

    actor = actor_class.staff(staff)
    group, _created = group_model.objects.get_or_create(name_fr="Bench", name_en="Bench")
    live = CustomerFilterSet({}).qs
    bound = live.order_by("id").values_list("id", flat=True)[99_999]
    selection = live.filter(id__lte=bound)
    result = Result("bulk")
    for _ in range(repeat):
        started = time.perf_counter()
        changed = customers_bulk_group_add(selection=selection, group=group, actor=actor)
        result.samples_ms.append((time.perf_counter() - started) * 1000)
        assert changed == 100_000, changed
        customers_bulk_group_remove(selection=selection, group=group, actor=actor)
    return result


if __name__ == "__main__":
    main()
