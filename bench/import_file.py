"""Import benchmark: a generated Shopify-format customer file (addresses, phones, consents,
tags) imported end to end (read, detect, clean, match, write, events), into an empty database,
then the same file again (all unchanged), and its dry run. Optionally django-import-export
importing the same file into the same model, for the ratio.

    .venv/bin/python bench/import_file.py --rows 100000 --repeat 3 --peer
    .venv/bin/python bench/import_file.py --rows 1000000 --repeat 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comptoir_import_bench \\
        .venv/bin/python bench/import_file.py --rows 1000000

Each measured run is a child process (so its peak memory is its own) on a fresh copy of an
empty, migrated database: a SQLite file under ``--workdir``, or the PostgreSQL database of
``DATABASE_URL`` emptied with TRUNCATE. Prints one Markdown table: median and p95 seconds,
rows/s at the median, the largest peak RSS, and the peer's ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
]  # fmt: skip
FIRST = ["Marie", "Jean", "Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Noé",
         "Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Émilie", "François", "Zoé",
         "Théo"]  # fmt: skip
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Smith", "Jones", "Taylor", "Brown", "Davies", "Lefèvre", "Noël", "Müller",
        "Garcia", "O'Brien"]  # fmt: skip
FR_CITIES = [("Paris", "750", 1), ("Lyon", "6900", 4), ("Nantes", "4400", 2), ("Lille", "5900", 3),
             ("Bordeaux", "3300", 5)]  # fmt: skip
GB_CITIES = [("London", "SW1A 1A", "20 7946 0"), ("Leeds", "LS1 4A", "113 496 0"),
             ("Bristol", "BS1 5A", "117 496 0")]  # fmt: skip
TAGS = ["", "", "VIP", "Wholesale", "VIP, Newsletter", "Retail"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def generate(path: Path, rows: int, seed: int = 6) -> None:
    """A Shopify export of ``rows`` customers; the same file for the same arguments."""
    chance = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            first, last = chance.choice(FIRST), chance.choice(LAST)
            if chance.random() < 0.75:
                city, stem, block = chance.choice(FR_CITIES)
                country, postcode = "FR", f"{stem}{chance.randint(1, 9):02d}"[:5]
                phone = f"0{block} 99 00 {n % 100:02d} {n // 100 % 100:02d}"
                street = f"{chance.randint(1, 120)} rue de la République"
            else:
                city, stem, block = chance.choice(GB_CITIES)
                country, postcode = "GB", f"{stem}{chance.choice('ABDE')}"
                phone = f"+44 {block}{n % 1000:03d}"
                street = f"{chance.randint(1, 120)} High Street"
            email = _ascii(f"{first[0]}.{last}.{n}@example.com".lower().replace("'", ""))
            writer.writerow([
                f"'{7_000_000_000_000 + n}", first, last, email, chance.choice(["yes", "no"]), "",
                street,
                "Flat 2" if chance.random() < 0.1 else "", city, "", country, postcode, phone,
                "", chance.choice(["yes", "no", "no"]), f"{chance.randint(0, 90000) / 100:.2f}",
                str(chance.randint(0, 9)), "", "no", chance.choice(TAGS),
            ])  # fmt: skip


# -------------------------------------------------------------------------------------------------
# Databases


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="comptoir.settings", PYTHONPATH=str(ROOT))
    env.setdefault("SECRET_KEY", "bench-only-not-secret")
    if "DATABASE_URL" not in env:
        env["COMPTOIR_HOME"] = str(workdir)
    return env


def _sqlite_file(workdir: Path) -> Path:
    return workdir / "var" / "comptoir.sqlite3"


def database_template(base: Path) -> None:
    """Migrate once; SQLite keeps that empty database as a file to copy before each run."""
    template = base / "template"
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v0"], env=_env(template), check=True
    )
    if "DATABASE_URL" not in os.environ:
        subprocess.run(
            [sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
             " c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()",
             str(_sqlite_file(template))], check=True,
        )  # fmt: skip


def database_fresh(base: Path) -> Path:
    """An empty, migrated database for one run."""
    workdir = base / "run"
    if "DATABASE_URL" in os.environ:
        child([], workdir, op="truncate")
        return workdir
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "var").mkdir(parents=True)
    shutil.copy(_sqlite_file(base / "template"), _sqlite_file(workdir))
    return workdir


# -------------------------------------------------------------------------------------------------
# Child processes: one measured operation each


def child(args: list[str], workdir: Path, *, op: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", op, *args]
    done = subprocess.run(command, env=_env(workdir), check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child_main(op: str, file: str | None) -> None:
    import resource

    import django

    django.setup()
    from comptoir.core.actors import Actor

    result: dict = {}
    cpu_before = sum(
        usage.ru_utime + usage.ru_stime for usage in (resource.getrusage(resource.RUSAGE_SELF),)
    )
    started = time.perf_counter()
    if op == "truncate":
        _truncate()
    elif op in ("import", "dry"):
        from comptoir.transfer.services.importing import (
            import_dry_run,
            import_job_create,
            import_run,
        )

        actor = Actor.importer()
        with open(file, "rb") as source:
            job = import_job_create(source=source, file_name=Path(file).name, actor=actor)
        job = (import_dry_run if op == "dry" else import_run)(job=job, actor=actor)
        rows = job.dry_rows if op == "dry" else job.rows_done
        result = {
            "rows": rows,
            "created": job.dry_created if op == "dry" else job.created,
            "unchanged": job.dry_unchanged if op == "dry" else job.unchanged,
            "rejected": job.dry_rejected if op == "dry" else job.rejected,
        }
    elif op == "peer":
        result = {"rows": _peer_import(file)}
    result["seconds"] = time.perf_counter() - started
    # CPU seconds of this process and the reading one: what the work costs, whatever else the
    # machine runs meanwhile (wall times on a shared machine say more about the neighbours).
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    result["cpu"] = sum(usage.ru_utime + usage.ru_stime for usage in used) - cpu_before
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The process that reads and cleans the file ahead of the writes (files of 4 MB and more).
    result["reader_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def _truncate() -> None:
    from django.db import connection

    tables = [
        "customers_customer_tags", "customers_membership", "customers_address",
        "customers_consentrecord", "customers_customer", "customers_tag", "core_event",
        "transfer_importrejection", "transfer_importbatch", "transfer_importjob",
    ]  # fmt: skip
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {', '.join(t for t in tables if t in existing)} RESTART IDENTITY CASCADE"
        )


def _peer_import(file: str) -> int:
    """django-import-export, configured as a Django developer would for this file."""
    import tablib
    from import_export import fields, resources

    from comptoir.customers.models import Customer
    from comptoir.groups.models import Group

    default_group = Group.objects.get(is_default=True)

    class CustomerResource(resources.ModelResource):
        external_id = fields.Field(attribute="external_id", column_name="Customer ID")
        first_name = fields.Field(attribute="first_name", column_name="First Name")
        last_name = fields.Field(attribute="last_name", column_name="Last Name")
        email = fields.Field(attribute="email", column_name="Email")
        phone_input = fields.Field(attribute="phone_input", column_name="Default Address Phone")
        note = fields.Field(attribute="note", column_name="Note")

        class Meta:
            model = Customer
            import_id_fields = ("email",)
            fields = ("external_id", "first_name", "last_name", "email", "phone_input", "note")
            use_bulk = True
            batch_size = 2000
            skip_unchanged = True

        def before_save_instance(self, instance, row, **kwargs):
            instance.default_group = default_group
            instance.email_key = (instance.email or "").lower()

    with open(file, encoding="utf-8") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="csv")
    result = CustomerResource().import_data(dataset, dry_run=False, raise_errors=False)
    return result.total_rows


# -------------------------------------------------------------------------------------------------
# The table


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/comptoir-import-bench")
    parser.add_argument("--peer", action="store_true", help="also time django-import-export")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(args.child, args.file)
        return

    base = Path(args.workdir)
    base.mkdir(parents=True, exist_ok=True)
    file = base / f"shopify-{args.rows}.csv"
    if not file.exists():
        started = time.perf_counter()
        generate(file, args.rows)
        print(f"generated {file} ({file.stat().st_size >> 20} MB) in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)  # fmt: skip
    database_template(base)
    runs: dict[str, list[dict]] = {"import": [], "again": [], "dry": [], "peer": []}
    for attempt in range(args.repeat):
        workdir = database_fresh(base)
        runs["import"].append(child(["--file", str(file)], workdir, op="import"))
        runs["again"].append(child(["--file", str(file)], workdir, op="import"))
        workdir = database_fresh(base)
        runs["dry"].append(child(["--file", str(file)], workdir, op="dry"))
        if args.peer:
            workdir = database_fresh(base)
            runs["peer"].append(child(["--file", str(file)], workdir, op="peer"))
        print(f"run {attempt + 1}/{args.repeat}: "
              + ", ".join(f"{k} {v[-1]['seconds']:.1f} s ({v[-1].get('cpu', 0):.1f} s CPU, "
                          f"{v[-1]['rss_mb']:.0f} MB)" for k, v in runs.items() if v),
              file=sys.stderr)  # fmt: skip
    vendor = "PostgreSQL" if "DATABASE_URL" in os.environ else "SQLite"
    print(f"\nImport of a {args.rows:,}-row Shopify file on {vendor}, {args.repeat} runs, "
          f"{os.cpu_count()} cores\n")  # fmt: skip
    print("| operation | median s | p95 s | rows/s (median) | CPU s (median) | peak RSS MB "
          "(+ reader) | check |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|")
    labels = {
        "import": "import into an empty database",
        "again": "the same file again (all unchanged)",
        "dry": "dry run",
        "peer": "django-import-export (same file, same model)",
    }
    for key, results in runs.items():
        if not results:
            continue
        seconds = [r["seconds"] for r in results]
        median = statistics.median(seconds)
        check = ""
        if key in ("import", "dry"):
            check = f"{results[0]['created']:,} created, {results[0]['rejected']:,} rejected"
        elif key == "again":
            check = f"{results[0]['unchanged']:,} unchanged"
        print(f"| {labels[key]} | {median:.1f} | {_p95(seconds):.1f} | "
              f"{results[0]['rows'] / median:,.0f} | "
              f"{statistics.median(r.get('cpu', 0) for r in results):.1f} | "
              f"{max(r['rss_mb'] for r in results):.0f} "
              f"(+ {max(r.get('reader_mb', 0) for r in results):.0f}) | {check} |")  # fmt: skip
    if runs["peer"]:
        ratio = statistics.median(r["seconds"] for r in runs["peer"]) / statistics.median(
            r["seconds"] for r in runs["import"]
        )
        print(f"\nOurs is {ratio:.1f}x faster than django-import-export on this file.")


if __name__ == "__main__":
    main()
