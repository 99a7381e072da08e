"""Planning one batch of an import: the records read from the file are cleaned with the same
rules as the customer services, matched against the stored customers (a fixed handful of
queries per batch, whatever its size), and sorted into customers to create, customers to
update (with the before/after of every change), unchanged ones and rejected rows with their
reasons. Nothing is written here: the dry run stops at the plan, the run hands it to
``import_write``.
"""

from __future__ import annotations

import ctypes
import datetime
import functools
import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import RawValue
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.normalise import email_key
from comptoir.core.text import fold, fold_cached
from comptoir.customers.models import Address, Customer, Language, Membership, Tag, Title
from comptoir.customers.search import search_text_build
from comptoir.customers.selectors import data_version
from comptoir.groups.models import Group
from comptoir.transfer.formats import registry
from comptoir.transfer.formats.base import Record, RowParser
from comptoir.transfer.formats.reading import FileInfo, rows_read
from comptoir.transfer.models import EmptyCells, ImportJob, ImportMode, MatchKey
from comptoir.transfer.services.import_clean import (
    ADDRESS_KEYS,
    CONSENTS,
    RecordCleaning,
    RowRejected,
    title_word,
)
from comptoir.transfer.services.import_known import (
    Fingerprints,
    KnownRows,
    fingerprint_key,
    stored_emails,
)
from comptoir.transfer.services.import_rows import NewCustomerRows, RowsBuilder

# The stored customer columns a plan reads to compare and to rebuild the search text.
STORED_FIELDS = (
    "id", "title_id", "first_name", "last_name", "email", "email_key", "phone", "mobile",
    "birthday", "language", "company", "siret", "ape_code", "vat_number", "website",
    "social_accounts", "external_id", "is_tax_exempt", "tax_exemption_ref", "is_guest",
    "is_enabled", "is_blocked", "blocked_reason", "newsletter", "partner_offers", "sms", "note",
    "created_at", "default_group_id", "version", "deleted_at", "anonymised_at", "country",
    "phone_input", "mobile_input", "blocked_at", "blocked_by_id",
)  # fmt: skip
# What a dry run's new customer keeps of its values: what ``Planner._create`` checks.
_COUNTED = ("email", "first_name", "last_name", "is_guest")

# -------------------------------------------------------------------------------------------------
# The plan

# The password a dry run's update carries instead of a hash (it writes nothing).
UNHASHED = "!unhashed"


@dataclass
class Rejection:
    line: int
    column: str
    reason: str


@dataclass
class NewCustomer:
    line: int
    fields: dict[str, Any]  # Customer columns (model attribute names, e.g. title_id)
    default_group: int | str  # a group id, or the name of a group still to create
    groups: list[int | str]
    tags: list[str]
    consents: list[tuple[str, datetime.datetime, str]]  # (channel, when, opt-in level)
    addresses: list[dict[str, Any]]
    fingerprint: int = 0  # its row's (``import_known``), kept in its event

    @classmethod
    def counted(cls, line: int) -> NewCustomer:
        """A new customer a dry run only counts: none of its columns built."""
        return cls(line, {}, 0, [], [], [], [])


@dataclass
class CustomerUpdate:
    line: int
    customer_id: int
    version: int  # the version after the update
    changes: dict[str, tuple[Any, Any]]  # field -> (before, after), Customer columns
    consents: list[tuple[str, bool, datetime.datetime, str]]  # (channel, given, when, level)
    groups: tuple[list[int], list[int | str]] | None = None  # (before, after)
    tags: tuple[list[str], list[str]] | None = None  # (before, after)
    addresses: list[dict[str, Any]] = field(default_factory=list)  # to add
    password: str | None = None  # a new hash (never the password itself)
    fingerprint: int = 0  # its row's (``import_known``), kept in its event


@dataclass
class BatchPlan:
    first_line: int = 0
    last_line: int = 0
    rows: int = 0
    creates: list[NewCustomer | NewCustomerRows] = field(default_factory=list)
    updates: list[CustomerUpdate] = field(default_factory=list)
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    new_groups: set[str] = field(default_factory=set)


@dataclass
class CleanBatch:
    records: list[Record]
    cleaned: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)
    rejected: list[tuple[Record, list[tuple[str, str]]]] = field(default_factory=list)


# -------------------------------------------------------------------------------------------------
# Reading the job's file


def job_file(job: ImportJob) -> Path:
    from comptoir.transfer.services.importing import import_dir

    return import_dir() / job.file_path


def job_parser(job: ImportJob) -> RowParser:
    info = FileInfo.from_dict(job.file_info)
    fmt = registry.format_get(job.platform)
    return RowParser(
        headers=info.header,
        mapping=job.mapping,
        day_first=fmt.day_first,
        continuation_rows=fmt.continuation_rows,
        list_split=fmt.list_split,
    )


# A row of the file not parsed yet: (line, cells, problem, fingerprint). ``records_read``
# leaves rows so when asked, and ``Planner.clean`` parses them, in whichever process cleans.
Unparsed = tuple[int, list[str], str, int]


def records_read(
    job: ImportJob,
    *,
    fingerprints: Fingerprints | None = None,
    known: KnownRows | None = None,
    parsed: bool = True,
) -> Iterator[Record | Unparsed]:
    """The job's file as records: one per customer, its continuation rows merged in. With
    ``fingerprints``, each record has its fingerprint; a row that is one record on its own and
    whose fingerprint is ``known`` is not parsed (``import_known``). Without ``parsed``, a
    file without continuation rows gives its rows ``Unparsed``: parsing them can then be
    shared between the two processes of a run (``importing._ahead``)."""
    info = FileInfo.from_dict(job.file_info)
    parser = job_parser(job)
    skip_known = bool(known) and not parser.continuation_rows
    leave = not parsed and not parser.continuation_rows
    pending: Record | None = None
    for row in rows_read(job_file(job), info):
        fingerprint = fingerprints.of(row.cells) if fingerprints and not row.problem else 0
        if skip_known and fingerprint in known:
            record = Record(row.line, {}, [], [], fingerprint=fingerprint, known=True)
        elif leave:
            yield (row.line, row.cells, row.problem, fingerprint)
            continue
        else:
            record = parser.parse(row.line, row.cells, row.problem)
            record.fingerprint = fingerprint
        if pending is not None and parser.is_continuation(record, pending):
            pending.addresses.extend(record.addresses)
            pending.errors.extend(record.errors)
            pending.last_line = record.line
            if pending.fingerprint and fingerprint:
                pending.fingerprint = fingerprints.joined(pending.fingerprint, fingerprint)
            else:
                pending.fingerprint = 0
            continue
        if pending is not None:
            yield pending
        pending = record
    if pending is not None:
        yield pending


# -------------------------------------------------------------------------------------------------
# The planner


class FirstLines:
    """The line that first claimed each key of a file, keys being 64-bit hashes (of e-mails,
    external ids): what a ``dict`` of ``setdefault`` does, in 12 bytes a key where a dict of
    ints takes 110 (a million-row file: 24 MB instead of 110, most of what kept the writing
    process over its 300 MB). An open-addressing table with linear probing in two arrays, never
    more than half full; line 0 marks a free slot (files count lines from 1). A Python probe
    costs a microsecond where the dict's costs a tenth: a second a million rows."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self._used = 0
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        self._mask = capacity - 1
        self._keys = array("q", bytes(8 * capacity))
        self._lines = array("i", bytes(4 * capacity))

    def __len__(self) -> int:
        return self._used

    def claim(self, key: int, line: int) -> int:
        """The line that claimed ``key`` first: ``line`` itself if none did (it claims it)."""
        mask, keys, lines = self._mask, self._keys, self._lines
        slot = key & mask
        while lines[slot]:
            if keys[slot] == key:
                return lines[slot]
            slot = (slot + 1) & mask
        keys[slot], lines[slot] = key, line
        self._used += 1
        if 2 * self._used > mask:
            self._grow()
        return line

    def _grow(self) -> None:
        keys, lines = self._keys, self._lines
        self._allocate(2 * (self._mask + 1))
        mask, new_keys, new_lines = self._mask, self._keys, self._lines
        for key, line in zip(keys, lines, strict=True):
            if line:
                slot = key & mask
                while new_lines[slot]:
                    slot = (slot + 1) & mask
                new_keys[slot], new_lines[slot] = key, line


class Planner(RecordCleaning):
    """Plans batches for one job. Keeps what is the same for every batch (titles, groups) and
    what spans batches (the keys already seen, for duplicates inside the file)."""

    def __init__(self, job: ImportJob, *, actor: Actor, counting_only: bool = False):
        self.job = job
        # A dry run's plans are only counted and their rejections listed: the columns only the
        # writes need (search text, password hashes, ...) are not built.
        self.counting_only = counting_only
        self.now = timezone.now()
        self.user_id = actor.user_id
        self.rows = RowsBuilder(job=job, actor=actor)
        self.parser = job_parser(job)
        # Whether the last batch planned was mostly new customers, in memory the reading
        # process shares (see ``clean``): it then builds their rows ahead.
        self._creating = RawValue(ctypes.c_bool, False)
        self.headers = FileInfo.from_dict(job.file_info).header
        self.column_of: dict[str, str] = {}
        for index, target in enumerate(job.mapping[: len(self.headers)]):
            if target:
                self.column_of.setdefault(target, self.headers[index])
        self.mapped = set(self.column_of)
        self.clear = job.empty_cells == EmptyCells.CLEAR
        self.seen_emails = FirstLines()
        self.seen_keys = FirstLines()
        self._titles_load()
        self._groups_load()
        self.default_group = job.default_group_id or Group.objects.get(is_default=True).pk
        self.region = settings.PHONENUMBER_DEFAULT_REGION
        self._phones: dict[tuple[str, str], str | ValidationError] = {}
        # Each record's fingerprint, and those of rows an earlier import wrote that nothing
        # changed since: counted unchanged without being read (``import_known``).
        self.fingerprints = Fingerprints(fingerprint_key(job))
        self.known = KnownRows.load(job)
        # (Taken first: a change made while the e-mails are read moves it too.)
        self.stored_version = data_version()
        self.stored_emails = stored_emails(job) if counting_only or _creates_likely(job) else None

    def records(self, *, parsed: bool = True) -> Iterator[Record | Unparsed]:
        """The job's file as records, with their fingerprints, known rows left unparsed (and
        without ``parsed``, the others too where the format allows: see ``records_read``)."""
        # A dry run has nothing to keep them in: it only needs them to find known rows.
        fingerprints = self.fingerprints if self.known or not self.counting_only else None
        return records_read(self.job, fingerprints=fingerprints, known=self.known, parsed=parsed)

    # -- lookups ---------------------------------------------------------------------------------

    def _titles_load(self) -> None:
        self.titles: dict[str, Title] = {}
        self.title_by_gender: dict[str, Title] = {}
        for title in Title.objects.order_by("position", "id"):
            for name in (title.name_fr, title.name_en):
                self.titles.setdefault(title_word(name), title)
            self.title_by_gender.setdefault(title.gender, title)

    def _groups_load(self) -> None:
        self.groups: dict[str, int] = {}
        self.group_ids = set()
        for pk, name_fr, name_en in Group.objects.values_list("id", "name_fr", "name_en"):
            self.group_ids.add(pk)
            self.groups.setdefault(fold(name_fr).strip(), pk)
            self.groups.setdefault(fold(name_en).strip(), pk)

    def group_created(self, name: str, pk: int) -> None:
        self.groups[fold(name).strip()] = pk
        self.group_ids.add(pk)

    def column(self, target: str) -> str:
        return self.column_of.get(target, "")

    # -- one batch -------------------------------------------------------------------------------

    def plan(self, records: Sequence[Record]) -> BatchPlan:
        return self.plan_cleaned(self.clean(records))

    def _parsed(self, row: Unparsed) -> Record:
        line, cells, problem, fingerprint = row
        record = self.parser.parse(line, cells, problem)
        record.fingerprint = fingerprint
        return record

    def clean(self, records: Sequence[Record | Unparsed]) -> CleanBatch:
        """The first half of planning, which reads no database and keeps nothing from one
        batch to the next (so it can run ahead, in another process, while the previous batch
        is written): each record cleaned, or its reasons for rejection. While the batches
        planned are mostly new customers, each record's rows as a new customer are built too
        (``_rows_ahead``): the one thing the batches before decide, and only how fast, not
        what, the plan is. Rows that came unparsed (``Unparsed``) are parsed first."""
        records = [
            record if isinstance(record, Record) else self._parsed(record) for record in records
        ]
        batch = CleanBatch(records=records)
        ahead = self._creating.value and not self.counting_only
        now = timezone.now()
        for record in records:
            if self._is_known(record):
                batch.cleaned.append((record, None))  # see ``_known_claim``
                continue
            try:
                values = self._record_clean(record)
            except RowRejected as rejected:
                batch.rejected.append((record, rejected.problems))
                continue
            if ahead:
                self._rows_ahead(record, values, now)
            if (self.counting_only or "_rows" in values) and self._surely_new(values):
                values = _trimmed(values)
            # What matching still needs of the record: its lines and the id it may match on
            # (the rest is in ``values``; a smaller batch crosses between processes faster).
            record.values = {"id": record.values.get("id")}
            record.addresses = []
            batch.cleaned.append((record, values))
        return batch

    def plan_cleaned(self, batch: CleanBatch) -> BatchPlan:
        """The second half: match the cleaned records against the stored customers and sort
        them into creates, updates, unchanged and rejected."""
        records = batch.records
        plan = BatchPlan(
            first_line=records[0].line if records else 0,
            last_line=records[-1].last_line if records else 0,
            rows=len(records),
        )
        cleaned, rejected, plan.unchanged = self._duplicates_set_apart(batch)
        for record, problems in rejected:
            self._reject(plan, record, problems)
        stored = self._stored_find(cleaned)
        if not self.counting_only and self.job.mode != ImportMode.CREATE:
            cleaned = self._stored_since(cleaned, stored, plan)
        taken = self._emails_taken(cleaned)
        context = _StoredContext.load([row["id"] for row in stored.values() if row])
        for record, values in cleaned:
            try:
                self._classify(plan, record, values, stored, taken, context)
            except RowRejected as rejected:
                self._reject(plan, record, rejected.problems)
        self._creating.value = 2 * len(plan.creates) > len(cleaned)
        return plan

    def _surely_new(self, values: dict[str, Any]) -> bool:
        """Whether no customer stored when the job began has the record's e-mail
        (``stored_emails``): then only what ``_create`` checks, and the rows built ahead in a
        run, need cross over (``_trimmed``). A customer stored since (by someone else) is
        found when the batch is matched: see ``_stored_since``."""
        stored = self.stored_emails
        return stored is not None and hash(email_key(values.get("email"))) not in stored

    def _stored_since(self, cleaned: list, stored: dict, plan: BatchPlan) -> list:
        """``cleaned`` with the full values of each trimmed record (``_surely_new``) whose
        e-mail a customer took since the job began: it updates that customer, and needs what
        the file says. They are read again from the file, one pass for the batch (this only
        happens when someone else stores a customer of the file while it is imported)."""
        again = {
            record.line
            for record, values in cleaned
            if values.get("_new") and stored.get(self._match_value(record, values))
        }
        if not again:
            return cleaned
        fresh: dict[int, dict[str, Any]] = {}
        for record in records_read(self.job):
            if record.line not in again:
                continue
            try:
                fresh[record.line] = self._record_clean(record)
            except RowRejected as rejected:  # (the same rules: never, but not silently)
                self._reject(plan, record, rejected.problems)
        return [
            (record, fresh[record.line] if record.line in again else values)
            for record, values in cleaned
            if record.line not in again or record.line in fresh
        ]

    def _rows_ahead(self, record: Record, values: dict[str, Any], now) -> None:
        """Build the rows of the customer ``values`` would create, into ``values["_rows"]``:
        in the reading process, while the writing one writes the batch before, for a file that
        creates more customers than it updates. Those a match turns into an update are
        thrown away. Not for a row the create itself would reject, nor one that names a
        group still to create (whose id the writing process gives)."""
        if self._create_problems(values):
            return
        groups: set[str] = set()
        # (On copies: an update's addresses settle their defaults differently.)
        addresses = [dict(address) for address in values["_addresses"]]
        new = self._new_customer(record, {**values, "_addresses": addresses}, groups)
        if not groups:
            values["_rows"] = self.rows_of(new, now=now)

    def rows_of(self, new: NewCustomer, *, now) -> NewCustomerRows:
        """The rows of a planned new customer whose groups are all known (ids)."""
        new.fields["default_group_id"] = new.default_group
        return self.rows.build(
            line=new.line,
            fields=new.fields,
            groups=new.groups,
            tags=new.tags,
            consents=new.consents,
            addresses=new.addresses,
            now=now,
            fingerprint=new.fingerprint,
        )

    def _duplicates_set_apart(self, batch: CleanBatch) -> tuple[list, list, int]:
        """The batch's cleaned records less those whose e-mail (or match key) an earlier row
        of the file claimed, its rejected records with those added, in the file's order, and
        how many known rows it held (unchanged). Here, not in ``clean``: the claims span the
        whole file, and batches may be cleaned in two processes, but they are planned in one,
        in order."""
        cleaned, rejected, unchanged = [], list(batch.rejected), 0
        known_again: list[tuple[Record, int]] = []  # (record, the line that has its e-mail)
        for record, values in batch.cleaned:
            if values is None:
                earlier = self._known_claim(record)
                if earlier == record.line:
                    unchanged += 1
                else:
                    known_again.append((record, earlier))
                continue
            try:
                self._duplicates_check(record, values)
            except RowRejected as duplicate:
                rejected.append((record, duplicate.problems))
                continue
            cleaned.append((record, values))
        rejected += self._known_duplicates(known_again)
        if len(rejected) > len(batch.rejected):
            rejected.sort(key=lambda pair: pair[0].line)
        return cleaned, rejected, unchanged

    def _is_known(self, record: Record) -> bool:
        """Whether an earlier import wrote this row, and nothing changed its customer since."""
        return record.known or (bool(self.known) and record.fingerprint in self.known)

    def _known_claim(self, record: Record) -> int:
        """A known row claims its customer's e-mail, as its cleaning would have: the line that
        has it (``record.line`` unless an earlier row of the file claimed it)."""
        index = self.known.find(record.fingerprint)
        return self.seen_emails.claim(self.known.email_hashes[index], record.line)

    def _known_duplicates(self, known_again: list[tuple[Record, int]]) -> list[tuple]:
        """Known rows whose e-mail an earlier row of the file has, with the reason
        ``_duplicates_check`` gives: the e-mail is their customer's (they were imported
        unchanged, so the row's cleaned e-mail is the one stored). One query."""
        if not known_again:
            return []
        known = self.known
        customer_of = {
            record.line: known.customer_ids[known.find(record.fingerprint)]
            for record, _earlier in known_again
        }
        emails = dict(
            Customer.objects.filter(pk__in=set(customer_of.values())).values_list("pk", "email")
        )
        return [
            (record, [self._duplicate_problem(emails.get(customer_of[record.line]), earlier)])
            for record, earlier in known_again
        ]

    def keys_remember(self, records: Iterable[Record]) -> None:
        """On resuming, the rows before the checkpoint still claim their keys."""
        for record in records:
            if self._is_known(record):
                self._known_claim(record)
                continue
            try:
                values = self._record_clean(record)
                self._duplicates_check(record, values)
            except RowRejected:
                continue

    def _reject(self, plan: BatchPlan, record: Record, problems: list[tuple[str, str]]) -> None:
        plan.rejected += 1
        for column, reason in problems:
            plan.rejections.append(Rejection(record.line, column, reason))

    # -- cleaning --------------------------------------------------------------------------------

    # -- duplicates inside the file --------------------------------------------------------------

    def _duplicates_check(self, record: Record, values: dict[str, Any]) -> None:
        """The first row with an e-mail (or match key) claims it; later rows with the same one
        are rejected, not merged."""
        key = email_key(values.get("email"))
        if key:
            earlier = self.seen_emails.claim(hash(key), record.line)
            if earlier != record.line:
                raise RowRejected([self._duplicate_problem(values["email"], earlier)])
        match = self.job.match
        if match != MatchKey.EMAIL:
            value = values.get(match) if match == MatchKey.EXTERNAL_ID else record.values.get("id")
            if value not in (None, ""):
                earlier = self.seen_keys.claim(hash(str(value)), record.line)
                if earlier != record.line:
                    raise RowRejected(
                        [(self.column(match),
                          _("The same %(key)s is already on line %(line)s of this file.")
                          % {"key": MatchKey(match).label, "line": earlier})]
                    )  # fmt: skip

    def _duplicate_problem(self, email: str | None, earlier: int) -> tuple[str, str]:
        return (
            self.column("email"),
            _("The e-mail address %(email)s is already on line %(line)s of this file.")
            % {"email": email, "line": earlier},
        )

    # -- matching --------------------------------------------------------------------------------

    def _match_value(self, record: Record, values: dict[str, Any]) -> Any:
        match = self.job.match
        if match == MatchKey.EMAIL:
            return email_key(values.get("email")) or None
        if match == MatchKey.ID:
            return record.values.get("id")
        return values.get("external_id") or None

    def _stored_find(self, cleaned) -> dict[Any, dict | None]:
        """The stored customer of each match value (one query); ``None`` when several share an
        external id. A dry run leaves out the records no customer matched when it began
        (``_surely_new``) while no customer data changed since (``data_version``): the most
        costly half of its planning, for a file of new customers."""
        skip_new = self.counting_only and data_version() == self.stored_version
        keys = {
            self._match_value(record, values)
            for record, values in cleaned
            if not (skip_new and "_new" in values)
        } - {None}
        if not keys:
            return {}
        key_of = {MatchKey.EMAIL: "email_key", MatchKey.ID: "id"}.get(self.job.match, "external_id")
        where, params = _among(key_of, keys, listed=key_of != "id")
        if key_of == "email_key":
            where += _REGISTERED
        found: dict[Any, dict | None] = {}
        for row in _customer_rows(where, params):
            key = row[key_of]
            found[key] = None if key in found else row
        return found

    def _emails_taken(self, cleaned) -> dict[str, int]:
        """Registered customers already holding the batch's e-mails, when the match key is not
        the e-mail (otherwise a match is the owner)."""
        if self.job.match == MatchKey.EMAIL:
            return {}
        keys = {email_key(values.get("email")) for _record, values in cleaned} - {""}
        if not keys:
            return {}
        among, params = _among("email_key", keys)
        return dict(
            _fetch(
                f"SELECT {_quote('email_key')}, {_quote('id')} FROM {_quote(_CUSTOMERS)}"
                f" WHERE {among}{_REGISTERED}",
                params,
            )
        )

    # -- create, update or leave ----------------------------------------------------------------

    def _classify(self, plan, record, values, stored, taken, context) -> None:
        key = self._match_value(record, values)
        mode = self.job.mode
        if key is None and not (self.job.match == MatchKey.ID and mode != ImportMode.UPDATE):
            raise RowRejected([(self.column(self.job.match), _missing_key_message(self.job.match))])
        current = stored.get(key) if key is not None else None
        if key is not None and key in stored and current is None:
            raise RowRejected(
                [(self.column("external_id"),
                  _("Several customers have this external id; match on the e-mail instead."))]
            )  # fmt: skip
        if current is None:
            if mode == ImportMode.UPDATE or (self.job.match == MatchKey.ID and key is not None):
                raise RowRejected(
                    [(self.column(self.job.match), _no_match_message(self.job.match))]
                )
            plan.creates.append(self._create(record, values, taken, plan))
            return
        if current["deleted_at"] or current["anonymised_at"]:
            raise RowRejected(
                [(self.column(self.job.match),
                  _("This customer was deleted; it is not imported again."))]
            )  # fmt: skip
        if mode == ImportMode.CREATE:
            plan.unchanged += 1
            return
        if values.get("_new"):
            # A dry run's record whose customer was stored after the run began (see
            # ``_surely_new``): what would change is not known, it is counted as updated.
            plan.updates.append(CustomerUpdate(record.line, current["id"], 0, {}, []))
            return
        update = self._update(record, values, current, taken, context, plan)
        if update is None:
            plan.unchanged += 1
        else:
            plan.updates.append(update)

    def _email_check(self, values, taken, *, own_id: int | None) -> None:
        key = email_key(values.get("email"))
        owner = taken.get(key)
        if key and owner is not None and owner != own_id:
            raise RowRejected(
                [(self.column("email"),
                  _("Customer #%(id)s already has this e-mail address.") % {"id": owner})]
            )  # fmt: skip

    def _create(self, record, values, taken, plan) -> NewCustomer | NewCustomerRows:
        problems = self._create_problems(values)
        if problems:
            raise RowRejected(problems)
        self._email_check(values, taken, own_id=None)
        if self.counting_only:
            return NewCustomer.counted(record.line)
        if "_rows" in values:
            return values["_rows"]
        return self._new_customer(record, values, plan.new_groups)

    def _create_problems(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        """Why a row cannot create a customer (which updating one allows)."""
        problems = []
        for name in ("first_name", "last_name"):
            if not values.get(name):
                problems.append((self.column(name) or self.column("full_name"),
                                 _("This field is required.")))  # fmt: skip
        if not values.get("is_guest") and not values.get("email"):
            problems.append((self.column("email"), _("A customer needs an e-mail address.")))
        return problems

    def _new_customer(self, record, values, new_groups: set[str]) -> NewCustomer:
        """The new customer of ``values``; the names of the groups it names that do not exist
        yet go into ``new_groups``."""
        fields = {key: values[key] for key in _field_keys(tuple(values))}
        if "title" in fields:
            title = fields.pop("title")
            fields["title_id"] = title.pk if title else None
        fields["email_key"] = email_key(values.get("email"))
        fields["created_at"] = values.get("created_at") or self.now
        consents = []
        for channel, moment in _CONSENT_MOMENTS:
            if values.get(channel):
                when = values.get(moment) or self.now
                fields[moment] = when
                consents.append((channel, when, values["_opt_in"]))
        if values.get("is_blocked"):
            fields["blocked_at"] = self.now
            fields["blocked_by_id"] = self.user_id
        if values.get("_password"):
            fields["password"] = make_password(values["_password"])
        elif values.get("_must_reset") or "_password" in values:
            fields["must_reset_password"] = True
        addresses = values["_addresses"]
        _defaults_settle(addresses)
        billing = next((a for a in addresses if a["is_default_billing"]), None)
        fields["country"] = billing["country"] if billing else values["_country"]
        fields["search_text"] = _search_text(fields, addresses)
        default_group = values.get("_default_group", self.default_group)
        groups = [*values.get("_groups", []), default_group]
        for group in (*groups, default_group):
            if isinstance(group, str):
                new_groups.add(group)
        tags = values.get("_tags") or []
        fields["tags_text"] = _tags_text(tags)
        return NewCustomer(
            line=record.line,
            fields=fields,
            default_group=default_group,
            groups=list(dict.fromkeys(groups)),
            tags=tags,
            consents=consents,
            addresses=addresses,
            fingerprint=record.fingerprint,
        )

    def _update(self, record, values, current, taken, context, plan) -> CustomerUpdate | None:
        own = current["id"]
        if "email" in values and not values["email"] and not current["is_guest"]:
            values.pop("email")  # a registered customer keeps an e-mail
        self._email_check(values, taken, own_id=own)
        changes: dict[str, tuple[Any, Any]] = {}
        for name, value in values.items():
            if not _compared(name):
                continue
            if name == "title":
                name, value = "title_id", value.pk if value else None
            if name in ("first_name", "last_name") and not value:
                continue
            before = current.get(name)
            if not _same(before, value):
                changes[name] = (before, value)
        for name in ("phone", "mobile"):
            if name in changes:
                input_name = f"{name}_input"
                changes[input_name] = (current[input_name], values.get(input_name, ""))
        if "email" in changes:
            changes["email_key"] = (current["email_key"], email_key(values["email"]))
        if "is_blocked" in changes:
            blocked = changes["is_blocked"][1]
            changes["blocked_at"] = (current["blocked_at"], self.now if blocked else None)
            changes["blocked_by_id"] = (current["blocked_by_id"], self.user_id if blocked else None)
        elif "blocked_reason" in changes and not current["is_blocked"]:
            del changes["blocked_reason"]
        consents = []
        for channel in CONSENTS:
            if channel in values and values[channel] != current[channel]:
                when = values.get(f"{channel}_at") or self.now
                consents.append((channel, values[channel], when, values["_opt_in"]))
        update = CustomerUpdate(
            line=record.line,
            customer_id=own,
            version=current["version"] + 1,
            changes=changes,
            consents=consents,
            fingerprint=record.fingerprint,
        )
        self._memberships_diff(update, values, current, context, plan)
        if "_tags" in values:
            before = sorted(context.tags.get(own, []), key=str.lower)
            after = sorted(values["_tags"], key=str.lower)
            if [t.lower() for t in before] != [t.lower() for t in after]:
                update.tags = (before, after)
                changes["tags_text"] = (None, _tags_text(after))
        known = {_address_key(a) for a in context.addresses.get(own, [])}
        for address in values["_addresses"]:
            key = _address_key(address)
            if key not in known:
                known.add(key)
                update.addresses.append(address)
        if values.get("_password"):
            # Argon2 takes tens of milliseconds a password: a dry run only notes there is one.
            update.password = UNHASHED if self.counting_only else make_password(values["_password"])
        if not context.addresses.get(own):
            _defaults_settle(update.addresses)
        else:
            # Added beside existing addresses: default only where the file says so.
            _defaults_settle(update.addresses, first_takes_free=False)
        if update.addresses:
            billing = next((a for a in update.addresses if a["is_default_billing"]), None)
            if billing and billing["country"] != current["country"]:
                changes["country"] = (current["country"], billing["country"])
        if not self.counting_only and (_search_inputs_changed(changes) or update.addresses):
            merged = {**current, **{name: after for name, (_b, after) in changes.items()}}
            text = _search_text(merged, [*context.addresses.get(own, []), *update.addresses])
            changes["search_text"] = (None, text)
        if not (changes or consents or update.groups or update.tags or update.addresses
                or update.password):  # fmt: skip
            return None
        return update

    def _memberships_diff(self, update, values, current, context, plan) -> None:
        own = current["id"]
        before = sorted(context.groups.get(own, []))
        default = values.get("_default_group", current["default_group_id"])
        if default != current["default_group_id"]:
            update.changes["default_group_id"] = (current["default_group_id"], default)
        if "_groups" in values:
            wanted = [*values["_groups"], default]
        elif default != current["default_group_id"]:
            wanted = [*before, default]
        else:
            return
        wanted = list(dict.fromkeys(wanted))
        for group in wanted:
            if isinstance(group, str):
                plan.new_groups.add(group)
        if sorted(g for g in wanted if isinstance(g, int)) != before or any(
            isinstance(g, str) for g in wanted
        ):
            update.groups = (before, wanted)


@dataclass
class _StoredContext:
    """What a batch's matched customers already have: groups, tags, addresses."""

    groups: dict[int, list[int]]
    tags: dict[int, list[str]]
    addresses: dict[int, list[dict[str, Any]]]

    @classmethod
    def load(cls, ids: list[int]) -> _StoredContext:
        context = cls({}, {}, {})
        if not ids:
            return context
        q = _quote
        among, ids = _among("customer_id", ids)
        memberships = Membership._meta.db_table
        for customer_id, group_id in _fetch(
            f"SELECT {q('customer_id')}, {q('group_id')} FROM {q(memberships)} WHERE {among}",
            ids,
        ):
            context.groups.setdefault(customer_id, []).append(group_id)
        through, tags = Customer.tags.through._meta.db_table, Tag._meta.db_table
        for customer_id, name in _fetch(
            f"SELECT ct.{q('customer_id')}, t.{q('name')} FROM {q(through)} ct"
            f" JOIN {q(tags)} t ON t.{q('id')} = ct.{q('tag_id')}"
            f" WHERE ct.{among}",
            ids,
        ):
            context.tags.setdefault(customer_id, []).append(name)
        columns = ", ".join(q(key) for key in ADDRESS_KEYS)
        for customer_id, *values in _fetch(
            f"SELECT {q('customer_id')}, {columns} FROM {q(Address._meta.db_table)} WHERE {among}",
            ids,
        ):
            address = dict(zip(ADDRESS_KEYS, values, strict=True))
            context.addresses.setdefault(customer_id, []).append(address)
        return context


# -------------------------------------------------------------------------------------------------
# Reading stored rows without the ORM's per-value work (a batch reads thousands of rows)

_CUSTOMERS = Customer._meta.db_table


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _among(column: str, values, *, listed: bool = True) -> tuple[str, list]:
    """``column`` is one of ``values``: the condition and its parameters. On PostgreSQL, with
    ``listed`` (values of the column's own type), one array parameter: a query with 2,000
    placeholders is parsed again on every call by the driver (too long for its cache), a
    sixth of a re-import's time."""
    values = list(values)
    if listed and connection.vendor == "postgresql":
        return f"{_quote(column)} = ANY(%s)", [values]
    return f"{_quote(column)} IN ({', '.join(['%s'] * len(values))})", values


# Registered customers with an e-mail, in the words of the partial unique index on the e-mail
# (``customer_email_unique_registered``), so that both databases look them up through it: a
# large import puts off the plain index on the e-mail (``importing._KEPT_CUSTOMER_INDEXES``).
_REGISTERED = f" AND NOT {_quote('is_guest')} AND NOT ({_quote('email_key')} = '')"


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _fast_loaders(cursor.cursor)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fast_loaders(cursor) -> None:
    """psycopg's own (C) loader for time stamps on this cursor, in place of the pure-Python
    subclass Django registers for every connection (it only sets the time zone, which the
    connection's, UTC, already is): a tenth of a re-import's time went to parsing them."""
    from psycopg.types.datetime import TimestamptzLoader

    cursor.adapters.register_loader("timestamptz", TimestamptzLoader)


def _stored_converters() -> list[tuple[str, Any]]:
    """(column, converter from what the driver returns) for ``STORED_FIELDS``: SQLite hands
    back booleans as integers, dates and date-times as text, JSON as text."""

    def moment(value):
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value

    def day(value):
        return datetime.date.fromisoformat(value) if isinstance(value, str) else value

    def boolean(value):
        return None if value is None else bool(value)

    def data(value):
        if value == "{}":  # what nearly every customer's social accounts hold
            return {}
        return json.loads(value) if isinstance(value, str) else value

    by_type = {
        "DateTimeField": moment,
        "DateField": day,
        "BooleanField": boolean,
        "JSONField": data,
    }
    return [
        (name, by_type.get(Customer._meta.get_field(name).get_internal_type()))
        for name in STORED_FIELDS
    ]


def _customer_rows(where: str, params: list) -> list[dict[str, Any]]:
    # Only the columns that need it are converted (a few of the 37), by position.
    converting = [
        (index, convert)
        for index, (_name, convert) in enumerate(_stored_converters())
        if convert is not None
    ]
    columns = ", ".join(_quote(Customer._meta.get_field(name).column) for name in STORED_FIELDS)
    rows = []
    for values in _fetch(f"SELECT {columns} FROM {_quote(_CUSTOMERS)} WHERE {where}", params):
        values = list(values)
        for index, convert in converting:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        rows.append(dict(zip(STORED_FIELDS, values, strict=True)))
    return rows


# -------------------------------------------------------------------------------------------------
# Helpers


def _missing_key_message(match: str) -> str:
    if match == MatchKey.EMAIL:
        return _("This row has no e-mail address to find the customer by.")
    if match == MatchKey.EXTERNAL_ID:
        return _("This row has no external id to find the customer by.")
    return _("This row has no id to find the customer by.")


def _no_match_message(match: str) -> str:
    if match == MatchKey.EMAIL:
        return _("No customer has this e-mail address.")
    if match == MatchKey.EXTERNAL_ID:
        return _("No customer has this external id.")
    return _("No customer has this id.")


@functools.cache
def _compared(name: str) -> bool:
    """Whether a cleaned value is compared with the stored column of that name: not the
    planner's own keys ("_..."), dates and consents (compared apart), nor what follows from
    another field (the phones as typed) or never changes by import (guest)."""
    if name.startswith("_") or name.endswith("_at") or name in CONSENTS:
        return False
    return name not in ("is_guest", "phone_input", "mobile_input")


def _same(before: Any, after: Any) -> bool:
    if isinstance(after, datetime.datetime) and isinstance(before, datetime.datetime):
        # Files keep seconds; the database keeps microseconds.
        return abs((after - before).total_seconds()) < 1
    if isinstance(before, str) and after is None:
        return before == ""
    return before == after


def _trimmed(values: dict[str, Any]) -> dict[str, Any]:
    """What a record no stored customer matches needs to be planned: the values ``_create``
    checks, its rows if they were built ahead, and the mark (``_new``) that this is all."""
    kept = {key: values[key] for key in _COUNTED if key in values}
    if "_rows" in values:
        kept["_rows"] = values["_rows"]
    kept["_new"] = True
    return kept


def _creates_likely(job: ImportJob) -> bool:
    """Whether the run's file will mostly create customers, so that its rows are built ahead
    and trimmed (``_trimmed``): a file matched on the e-mail (``stored_emails``) with at least
    twice as many rows as there are customers. Otherwise reading every stored e-mail would
    cost more than it saves."""
    expected = job.rows_total or (job.file_info or {}).get("lines") or 0
    return job.match == MatchKey.EMAIL and 2 * Customer.objects.count() <= expected


@functools.lru_cache(maxsize=256)
def _field_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Which of a record's cleaned values are customer columns as they are: not those the
    planner keeps for itself (``_addresses``...) nor the moments it fills in. A file gives its
    records one or two sets of keys: worked out once a set, not once a row."""
    return tuple(key for key in keys if not key.startswith("_") and not key.endswith("_at"))


_CONSENT_MOMENTS = tuple((channel, f"{channel}_at") for channel in CONSENTS)


def _address_key(address: dict[str, Any]) -> tuple:
    street = tuple(fold_cached(address.get(key) or "") for key in ("address1", "postcode", "city"))
    return (*street, (address.get("country") or "").upper())


def _defaults_settle(addresses: list[dict[str, Any]], *, first_takes_free: bool = True) -> None:
    """At most one default billing and one default shipping address; with
    ``first_takes_free`` the first address is the default for whatever no address claims (as
    ``address_create`` does for a customer's first address)."""
    if not addresses:
        return
    if len(addresses) == 1 and first_takes_free:  # (most customers: it takes both)
        addresses[0]["is_default_billing"] = addresses[0]["is_default_shipping"] = True
        return
    for flag in ("is_default_billing", "is_default_shipping"):
        flagged = [a for a in addresses if a.get(flag)]
        for extra in flagged[1:]:
            extra[flag] = False
        if not flagged and first_takes_free:
            addresses[0][flag] = True


_SEARCH_INPUTS = {"first_name", "last_name", "email", "phone", "mobile", "company"}


def _search_inputs_changed(changes: dict) -> bool:
    return bool(_SEARCH_INPUTS & changes.keys())


def _search_text(fields: dict[str, Any], addresses: Iterable[dict[str, Any]]) -> str:
    return search_text_build(
        first_name=fields.get("first_name") or "",
        last_name=fields.get("last_name") or "",
        email=fields.get("email") or "",
        phone=fields.get("phone") or "",
        mobile=fields.get("mobile") or "",
        company=fields.get("company") or "",
        places=[(a.get("city") or "", a.get("postcode") or "") for a in addresses],
    )


def _tags_text(names: Iterable[str]) -> str:
    """As ``customers.services.tags_text_for``: sorted case-insensitively, comma-joined."""
    return ", ".join(sorted(names, key=str.lower))[:1000]


def languages() -> list[str]:
    return list(Language.values)
