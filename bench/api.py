r"""The HTTP API at scale, in the dataset COMPTOIR_HOME (or DATABASE_URL) points at.

Server time through Django's test client (request in, JSON out), 30 runs after a warm-up, with
an API token the script creates (``api_token_create``, a rate limit high enough not to count)
and revokes and deletes at the end:

- the customers list, 100 a page: first page (default sort), the same with the optional total
  (``count=true``), a search by a name fragment, a sort on sales with two filters, and pages far
  from the start (90 % of the way) of the default sort and of the sort on sales;
- one customer, random ids;
- placing an order through the storefront API (an existing customer found by e-mail, 2 lines),
  with a storefront key set in this process. **Each run adds its orders to the dataset**
  (about 35 with the defaults, on as many customers, their figures and carts moved as the
  service moves them); they are left there.

A deep page is reached the way an integration gets there, through cursors: the first page's
``next`` cursor is moved to the row 90 % of the way down (the cursor's position, taken with
the API's own keyset selector), then the ``next`` links are followed from there and the pages
measured are those.

Then throughput: ``gunicorn -w 2 comptoir.wsgi`` with the product's settings (DEBUG off,
persistent database connections: CONN_MAX_AGE=600), the same COMPTOIR_HOME/DATABASE_URL, on a
free loopback port, driven by ``wrk`` (2 threads, 16 connections, 15 s after a 3 s warm-up;
``apt-get install wrk``) getting random live customers by id with the token, as a TLS proxy
in front would pass them on (``X-Forwarded-Proto: https``).

    COMPTOIR_HOME=/tmp/comptoir-bench .venv/bin/python bench/api.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comptoir_bench .venv/bin/python bench/api.py

Prints two Markdown tables (server time, throughput); --out appends them to a file.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

from common import ROOT, django_setup, machine, measure, table

DEEP = 0.9
LIST = "/api/v1/customers"
ORDERS = "/api/storefront/v1/orders"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--duration", type=int, default=15, help="wrk seconds, after warm-up")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn/wrk run")
    parser.add_argument("--out", help="append the tables to this Markdown file")
    args = parser.parse_args()
    django_setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from comptoir.core.actors import Actor
    from comptoir.customers.models import Customer
    from comptoir.staff.services import api_token_create, api_token_revoke

    users = get_user_model()
    staff, _created = users.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    actor = Actor.staff(staff)
    token, raw = api_token_create(
        name=f"bench api {datetime.datetime.now():%Y-%m-%d %H:%M}",
        actor=actor,
        requests_per_minute=100_000,
    )
    settings.COMPTOIR_STOREFRONT_KEY = secrets.token_urlsafe(32)
    live = Customer.objects.filter(deleted_at__isnull=True, anonymised_at__isnull=True)
    rng = random.Random(7)
    sample = random_ids(live, rng, 10_000)
    try:
        rows = server_time(args, raw, live, sample, rng)
        load = None if args.skip_load else throughput(args, raw, sample)
    finally:
        api_token_revoke(token=token, actor=actor)
        token.delete()

    output = f"{machine()}\n\n{table(rows)}\n"
    if load is not None:
        output += f"\n{load}\n"
    print(output)
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(output + "\n")


def random_ids(live, rng: random.Random, size: int) -> list[int]:
    """``size`` random live customer ids. The million ids they are drawn from are let go before
    anything is timed: a list that long, alive in the measuring process, costs every full
    garbage collection about 10 ms of walking (measured: it alone moved the list's p95 from
    14 to 23 ms), a cost no server process carries."""
    ids = list(live.values_list("id", flat=True))
    return rng.sample(ids, min(len(ids), size))


# -------------------------------------------------------------------------------------------------
# Server time, through the test client
# -------------------------------------------------------------------------------------------------


def server_time(args, raw: str, live, sample: list[int], rng: random.Random) -> list:
    from django.conf import settings
    from django.test import Client

    from comptoir.customers.filters import CustomerFilterSet

    client = Client(headers={"Authorization": f"Bearer {raw}"})

    def get(url: str) -> dict:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]}")
        return response.json()

    names = [
        last[1:5].lower()
        for last in live.filter(id__in=sample[:100]).values_list("last_name", flat=True)
        if len(last) >= 5
    ][:30]
    sorted_filtered = "sort=-sales&newsletter=true&country=FR"
    matching = CustomerFilterSet(dict(p.split("=") for p in sorted_filtered.split("&"))).qs
    total = live.count()

    rows = []

    def row(label: str, urls: list[str], target: float | None) -> None:
        result = measure(label, lambda i: get(urls[i % len(urls)]), repeat=args.repeat)
        rows.append((label, result, None, target))

    row("list, 100 customers, default sort, first page", [f"{LIST}?limit=100"], 25)
    row(
        "same, with the total (count=true)",
        [f"{LIST}?limit=100&count=true"],
        None,
    )
    row(
        "list, 100 customers, search by a name fragment",
        [f"{LIST}?limit=100&q={urllib.parse.quote(name)}" for name in names],
        25,
    )
    row(
        f"list, 100 customers, sort on sales + 2 filters ({matching.count():,} rows), first page",
        [f"{LIST}?limit=100&{sorted_filtered}"],
        25,
    )
    followed = deep_pages(get, f"{LIST}?limit=100", DEEP, args.repeat)
    row(f"list, default sort, {DEEP:.0%} down ({total:,} rows), next cursors", followed, 25)
    followed = deep_pages(get, f"{LIST}?limit=100&{sorted_filtered}", DEEP, args.repeat)
    row(f"list, sort on sales + 2 filters, {DEEP:.0%} down, next cursors", followed, 25)
    row("get one customer, random ids", [f"{LIST}/{pk}" for pk in sample[:500]], 5)

    customers = list(
        live.filter(is_guest=False, is_blocked=False, id__in=sample[:200])
        .exclude(email="")
        .values_list("email", "first_name", "last_name")
    )
    rng.shuffle(customers)
    key = settings.COMPTOIR_STOREFRONT_KEY

    def place(i: int) -> None:
        email, first_name, last_name = customers[place.count % len(customers)]
        place.count += 1
        body = {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "payment_method": "Carte bancaire",
            "lines": [
                {"product_name": "Thé vert Sencha", "reference": "TH-SEN", "quantity": 2,
                 "unit_price": "12.50"},
                {"product_name": "Théière en fonte", "reference": "TE-FON", "quantity": 1,
                 "unit_price": "39.90"},
            ],
        }  # fmt: skip
        response = client.post(
            ORDERS,
            json.dumps(body),
            content_type="application/json",
            headers={"X-Storefront-Key": key, "X-Customer-IP": "198.51.100.7"},
        )
        if response.status_code != 201:
            raise SystemExit(f"{ORDERS} answered {response.status_code}: {response.content[:300]}")

    place.count = 0
    rows.append(
        (
            "place an order (storefront, existing customer by e-mail, 2 lines)",
            measure("order", place, repeat=args.repeat),
            None,
            15,
        )
    )
    print(f"The order benchmark added {place.count} orders to the dataset.")
    return rows


def deep_pages(get, first_url: str, depth: float, count: int) -> list[str]:
    """``count`` page URLs from ``depth`` of the way down the list ``first_url`` starts, each
    reached by the ``next`` link of the one before; the first of them by the first page's own
    ``next`` cursor, moved to the row at that depth (its position read by the API's keyset
    selector, as the API reads a page's last row)."""
    from django.core.exceptions import ValidationError

    from comptoir.customers.filters import CustomerFilterSet
    from comptoir.customers.selectors.api import customer_keyset_columns, keyset_page

    following = get(first_url)["next"]
    if not following:
        raise SystemExit(f"{first_url}: a single page, nothing deep to measure")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(following).query))
    filterset = CustomerFilterSet({k: v for k, v in params.items() if k != "cursor"})
    if not filterset.is_valid():
        raise ValidationError(filterset.form.errors.as_data())
    columns = customer_keyset_columns(filterset.sort_key)
    ordering = [f"-{column.path}" if column.descending else column.path for column in columns]
    offset = int(filterset.qs.count() * depth)
    at = list(filterset.qs.order_by(*ordering).values_list("id", flat=True)[offset : offset + 2])
    page = keyset_page(queryset=filterset.qs.filter(id__in=at), columns=columns, limit=1)
    cursor = params["cursor"]
    body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    body["v"] = [_json_value(value) for value in page.next.values]
    moved = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    url = following.replace(cursor, moved.decode().rstrip("="))
    urls = []
    for _ in range(count):
        url = url.removeprefix("http://testserver")
        urls.append(url)
        url = get(url)["next"]
        if not url:
            break
    return urls


def _json_value(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# -------------------------------------------------------------------------------------------------
# Throughput: gunicorn + wrk on loopback
# -------------------------------------------------------------------------------------------------

WRK_SCRIPT = """
local ids = {%(ids)s}
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["Accept"] = "application/json"

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("seed", thread_count)
end

function init(args)
  math.randomseed(os.time() + seed)
end

function request()
  return wrk.format("GET", "%(path)s/" .. ids[math.random(#ids)])
end

function done(summary, latency, requests)
  io.write(string.format(
    "BENCH requests=%%d duration_us=%%d status_errors=%%d socket_errors=%%d "
    .. "p50_us=%%d p99_us=%%d max_us=%%d\\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

LOAD_HEADER = (
    "| load | requests | req/s | p50 ms | p99 ms | max ms | errors | gunicorn CPU ms / request |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|"
)


def throughput(args, raw: str, sample: list[int]) -> str | None:
    from django.conf import settings
    from django.db import connection

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (apt-get install wrk): no throughput figures.")
        return None
    connection.close()  # the server's workers hold their own connections
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "COMPTOIR_HOME": str(settings.BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-not-secret-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "600",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [
        sys.executable, "-m", "gunicorn", "comptoir.wsgi",
        "--workers", str(args.workers),
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ]  # fmt: skip
    handle, log = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
    with os.fdopen(handle, "w") as log_file:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(server, f"{base}{LIST}/{sample[0]}", raw, log)
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
            script = Path(folder) / "get_one.lua"
            script.write_text(
                WRK_SCRIPT % {"ids": ",".join(map(str, sample)), "token": raw, "path": LIST}
            )
            common = [wrk, "--threads", str(args.threads), "--connections", str(args.connections),
                      "--latency", "--timeout", "5s", "--script", str(script)]  # fmt: skip
            subprocess.run([*common, "--duration", "3s", base], check=True, capture_output=True)
            load_before = os.getloadavg()[0]
            cpu_before = _group_cpu_seconds(server.pid)
            done = subprocess.run(
                [*common, "--duration", f"{args.duration}s", base],
                check=True,
                capture_output=True,
                text=True,
            )
            cpu_used = _group_cpu_seconds(server.pid) - cpu_before
    finally:
        _stop(server)
    print(done.stdout)
    figures = _wrk_figures(done.stdout)
    errors = figures["status_errors"] + figures["socket_errors"]
    if errors:
        print(f"wrk saw {errors} errors; the server's log: {log}")
    else:
        os.unlink(log)
    label = (
        f"get one customer, gunicorn -w {args.workers}, persistent connections, "
        f"wrk {args.threads} threads x {args.connections} connections, {args.duration} s"
    )
    rate = figures["requests"] / (figures["duration_us"] / 1e6)
    return "\n".join(
        [
            LOAD_HEADER,
            f"| {label} | {figures['requests']:,} | {rate:,.0f} | "
            f"{figures['p50_us'] / 1000:.1f} | {figures['p99_us'] / 1000:.1f} | "
            f"{figures['max_us'] / 1000:.1f} | {errors} | "
            f"{cpu_used * 1000 / max(1, figures['requests']):.1f} |",
            "",
            f"Load average when the run started: {load_before:.1f} on {os.cpu_count()} cores "
            "(wrk, gunicorn and the database share them).",
        ]
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(server: subprocess.Popen, url: str, raw: str, log: str) -> None:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {raw}", "X-Forwarded-Proto": "https"}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped (exit {server.returncode}); its log: {log}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            message = f"{url} answered {error.code} under gunicorn; its log: {log}"
            raise SystemExit(message) from None
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 60 s; its log: {log}")


def _stop(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers (its own process group)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _group_cpu_seconds(group: int) -> float:
    """CPU time used so far by the processes of a process group (gunicorn and its workers), from
    /proc (Linux); 0 elsewhere."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK") if ticks else 0.0


def _wrk_figures(output: str) -> dict[str, int]:
    match = re.search(r"^BENCH (.*)$", output, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk's output has no figures:\n{output}")
    return {key: int(value) for key, value in (pair.split("=") for pair in match[1].split())}


if __name__ == "__main__":
    main()
