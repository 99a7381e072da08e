"""Rows an earlier import wrote, unchanged since, recognised without reading them again.

Every record of an import gets a fingerprint: a 64-bit keyed hash of its cells, the key being
what else decides what the row becomes (the format, the header and mapping, the job's options
that apply to a stored customer, the rules' version: ``fingerprint_key``). A customer the
import creates or updates keeps that fingerprint in its ``customer_created`` /
``customer_updated`` event. The groups, titles and settings the rows are read with are not in
the key: an event that changes them makes every fingerprint before it stale instead.

When the same file comes again (a nightly sync, a retried upload), a row whose fingerprint is
in the latest event of a stored customer, an import's, would be cleaned, matched and compared
only to find that nothing changed: nothing happened to that customer since (every change
writes an event), and the same cells read the same way give the same values. Such a row is
counted unchanged without being parsed, cleaned or compared (decision 0024). It still claims
its e-mail, so that a later row with the same one is reported as a duplicate.

Matching on the e-mail only: that is the key every such row holds, and the one the snapshot
can claim for it. Matching on an id or an external id takes the usual path.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Sequence
from importlib import metadata
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Subquery

from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.transfer.models import ImportJob, MatchKey

# Bump when the cleaning of a row changes (a new rule, a new normalisation): fingerprints taken
# before then no longer match, and the next import of the same file reads every row again. A new
# release of the package does the same on its own (see ``fingerprint_key``).
FINGERPRINT_RULES = 1

# Below this many rows, an import does not look for known rows: reading the snapshot costs
# about a second a million stored customers, and a small file is read quickly anyway.
KNOWN_MIN_ROWS = 20_000

_SEPARATOR = "\x1f"  # the ASCII unit separator, between the cells of a row


def fingerprint_key(job: ImportJob) -> bytes:
    """The key of a job's fingerprints: what, beside a row's cells and the shop's groups,
    titles and settings (see ``_rules_changed_last``), decides what a row becomes. Not the
    options that only a new customer reads (default group, consent source)."""
    try:
        release = metadata.version("comptoir")
    except metadata.PackageNotFoundError:
        release = ""
    parts = [
        FINGERPRINT_RULES,
        release,
        job.platform,
        job.variant,
        (job.file_info or {}).get("header"),
        job.mapping,
        job.match,
        job.empty_cells,
        job.passwords,
        settings.PHONENUMBER_DEFAULT_REGION,
    ]
    text = json.dumps(parts, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=32).digest()


class Fingerprints:
    """Fingerprints of rows under one key: ``of(cells)``, and ``joined`` for a record made of
    several rows (Magento's continuation rows)."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hashlib.blake2b(digest_size=8, key=key)  # copied: cheaper than keying

    def of(self, cells: Sequence[str]) -> int:
        text = _SEPARATOR.join(cells)
        if text.count(_SEPARATOR) != len(cells) - 1:
            text = repr(list(cells))  # a cell holds the separator itself: unambiguous instead
        hasher = self._keyed.copy()
        hasher.update(text.encode("utf-8", "surrogatepass"))
        return int.from_bytes(hasher.digest(), "big", signed=True) or 1  # 0 means "none"

    def joined(self, first: int, second: int) -> int:
        return self.of((str(first), str(second)))


class SortedHashes:
    """A sorted ``array('q')`` of 64-bit hashes with the start of each run sharing their top
    bits: a look-up reads one or two entries, where a binary search through a million would
    read twenty (and a ``set`` of a million ints would take 60 MB instead of 8)."""

    def __init__(self, hashes: array) -> None:
        self.hashes = hashes
        bits = max(1, len(hashes).bit_length())
        self._shift = 64 - bits
        self._bias = 1 << (bits - 1)  # the top bits of a signed hash, from 0
        counts = array("i", bytes(4 * (1 << bits)))
        shift, bias = self._shift, self._bias
        for value in hashes:
            counts[(value >> shift) + bias] += 1
        self._starts = array("i", [0])
        self._starts.extend(accumulate(counts))

    def __len__(self) -> int:
        return len(self.hashes)

    def __contains__(self, value: int) -> bool:
        return self.find(value) >= 0

    def find(self, value: int) -> int:
        """The index of ``value`` in ``hashes``, or -1."""
        bucket = (value >> self._shift) + self._bias
        starts, hashes = self._starts, self.hashes
        for index in range(starts[bucket], starts[bucket + 1]):
            if hashes[index] == value:
                return index
        return -1


class KnownRows(SortedHashes):
    """The fingerprints in stored customers' latest events (sorted), with each customer's id
    and the hash of its e-mail key (what the planner's duplicate check claims:
    ``hash(email_key)``): 24 bytes a customer, where a dict would take over a hundred."""

    def __init__(self, fingerprints: array, email_hashes: array, customer_ids: array) -> None:
        super().__init__(fingerprints)
        self.email_hashes = email_hashes
        self.customer_ids = customer_ids

    @classmethod
    def empty(cls) -> KnownRows:
        return cls(array("q"), array("q"), array("q"))

    @classmethod
    def load(cls, job: ImportJob) -> KnownRows:
        """The known rows a job may skip: none when it matches on another key than the e-mail,
        or when its file is small."""
        if not _snapshot_worth_it(job):
            return cls.empty()
        fingerprints, email_hashes, customer_ids = array("q"), array("q"), array("q")
        previous = None
        sql, params = _snapshot_query()
        # A server-side cursor on PostgreSQL: a client-side one would hold all the rows at once.
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(10_000):
                for value, key, customer_id in rows:
                    fingerprint = int(value)  # PostgreSQL's jsonb comes as its text
                    if fingerprint == previous:
                        # Two customers' rows had the same fingerprint: neither is skipped.
                        if fingerprints and fingerprints[-1] == fingerprint:
                            fingerprints.pop()
                            email_hashes.pop()
                            customer_ids.pop()
                        continue
                    previous = fingerprint
                    fingerprints.append(fingerprint)
                    email_hashes.append(hash(key))
                    customer_ids.append(customer_id)
        return cls(fingerprints, email_hashes, customer_ids)


def _snapshot_worth_it(job: ImportJob) -> bool:
    """A job matching on the e-mail, with a file of at least ``KNOWN_MIN_ROWS`` rows."""
    expected = job.rows_total or (job.file_info or {}).get("lines") or 0
    return job.match == MatchKey.EMAIL and expected >= KNOWN_MIN_ROWS


# Changes to what a row's names resolve to or how it is checked: a group renamed or deleted,
# a title added, changed or removed, the customer settings. A group created does not count:
# the rows that name it created it, or it would not be new.
_RULES_EVENTS = {
    "group": ("group_updated", "group_deleted"),
    "title": ("title_created", "title_changed", "title_deleted"),
    "settings": ("customer_settings_changed",),
}


def _rules_changed_last() -> int:
    """The id of the latest event that changed what rows resolve to (0: none)."""
    last = Event.objects.filter(
        object_type__in=list(_RULES_EVENTS),
        kind__in=[kind for kinds in _RULES_EVENTS.values() for kind in kinds],
    ).aggregate(last=Max("id"))["last"]
    return last or 0


def _snapshot_query() -> tuple[str, Sequence[Any]]:
    """(fingerprint, e-mail key, id) of every registered customer, neither deleted nor anonymised,
    whose latest event (as its timeline orders them) is an import's with a fingerprint,
    written after the groups, titles and settings last changed; by fingerprint. Guests are
    left out, as the matching leaves them out."""
    latest = (
        Event.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    rows = (
        Event.objects.filter(
            kind__in=("customer_created", "customer_updated"),
            pk__gt=_rules_changed_last(),
            data__has_key="fingerprint",
            customer__is_guest=False,
            customer__deleted_at=None,
            customer__anonymised_at=None,
            pk=Subquery(latest),
        )
        .order_by("data__fingerprint")
        .values_list("data__fingerprint", "customer__email_key", "customer_id")
    )
    return rows.query.sql_with_params()


def stored_emails(job: ImportJob) -> SortedHashes | None:
    """The hashes of every stored customer's e-mail key, for a dry run matching on the e-mail:
    a record whose e-mail is not among them will be a new customer (or rejected), and only
    what says which crosses from the reading process (``Planner.clean``). None for a small
    file, or another match key."""
    if not _snapshot_worth_it(job):
        return None
    sql, params = (
        Customer.objects.exclude(email_key="").values_list("email_key").query.sql_with_params()
    )
    hashes = array("q")
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            hashes.extend(hash(key) for (key,) in rows)
    return SortedHashes(array("q", sorted(hashes)))
