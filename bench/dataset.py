"""Build the benchmark dataset through the product's own path: migrate, then
``comptoir demo --customers N`` (customers with their orders, carts, visits and events).

Skips the build when the database already holds at least N customers, so every benchmark can
call it first. Where the data goes is the product's own setting: ``COMPTOIR_HOME`` (SQLite file
under ``var/``) or ``DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import time

from common import django_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    django_setup(server=False)

    from django.core.management import call_command

    from comptoir.customers.models import Customer

    call_command("migrate", verbosity=0)
    present = Customer.objects.count()
    if present >= args.customers:
        print(f"dataset ready: {present:,} customers")
        return
    started = time.perf_counter()
    call_command("demo", customers=args.customers)
    print(f"dataset built: {args.customers:,} customers in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
