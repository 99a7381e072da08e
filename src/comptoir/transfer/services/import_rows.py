"""The database rows a new customer of an import becomes: the customer, its memberships, tags,
addresses, consent history and ``customer_created`` event, each already as the values
``core.bulk.bulk_insert`` takes, but without the ids the writer gives them.

Built apart from the writes so that the reading process can build them while the writing
process writes the batch before (see ``import_plan.Planner.clean``): a new customer's rows
cost about as much Python as its cleaning, and the writer is the process that waits on
the database. The writer then only puts each row's ids in front (``import_write``).
"""

from __future__ import annotations

import datetime
import functools
import json
import operator
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.db.models.expressions import DatabaseDefault

from comptoir.core.actors import Actor
from comptoir.core.bulk import datetime_text
from comptoir.core.events import jsonable
from comptoir.customers.models import Customer
from comptoir.transfer.models import ImportJob
from comptoir.transfer.services.import_clean import ADDRESS_KEYS

# The consent history's columns after ``customer_id``, and the addresses' after ``id`` and
# ``customer_id``, in the order ``NewCustomerRows`` holds them.
CONSENT_COLUMNS = (
    "channel",
    "granted",
    "created_at",
    "opt_in_level",
    "note",
    "source",
    "actor_id",
    "ip_address",
)
ADDRESS_COLUMNS = (
    *ADDRESS_KEYS,
    "is_default_shipping",
    "is_default_billing",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class NewCustomerRows:
    """A new customer's rows, ids left out."""

    line: int
    customer: tuple  # the values of ``customer_columns()``
    groups: list[int]  # the groups it joins (ids)
    tags: list[str]  # tag names
    addresses: list[tuple]  # the values of ``ADDRESS_COLUMNS``, one tuple an address
    consents: list[tuple]  # the values of ``CONSENT_COLUMNS``, one tuple a consent given
    event: str  # the data of its ``customer_created`` event, as JSON

    def __reduce__(self) -> tuple:
        # Crosses from the reading process to the writing one: pickled by position, twice
        # as fast as the default for a class with slots (see ``formats.base.Record``).
        return NewCustomerRows, (
            self.line,
            self.customer,
            self.groups,
            self.tags,
            self.addresses,
            self.consents,
            self.event,
        )


@functools.cache
def customer_columns() -> tuple[str, ...]:
    """The customer columns a new customer's row fills, after ``id`` (the writer's): every
    concrete field but those the database fills itself."""
    return tuple(column for column, _convert, _default in _customer_spec() if column != "id")


@functools.cache
def _customer_spec() -> tuple[tuple[str, Any, Any], ...]:
    """(column, converter to a database value, default as a database value) per column."""
    spec = []
    for field in Customer._meta.concrete_fields:
        default = field.get_default()
        if isinstance(default, DatabaseDefault):
            continue  # the database fills it
        convert = _CONVERTERS.get(field.get_internal_type(), _same)
        spec.append((field.attname, convert, convert(default)))
    return tuple(spec)


class RowsBuilder:
    """Builds ``NewCustomerRows`` for one import job: what every row repeats (the job, its
    actor, the columns' converters) is worked out once; a million rows call the converters
    tens of millions of times."""

    def __init__(self, *, job: ImportJob, actor: Actor) -> None:
        self._event_head = f'{{"import": {_json_scalar(job.pk)}, "line": '
        self.consent_tail = (job.consent_note[:255], actor.source, actor.user_id, actor.ip_address)
        spec = [entry for entry in _customer_spec() if entry[0] != "id"]
        self._position = {column: index for index, (column, _c, _d) in enumerate(spec)}
        # Only the columns whose values need converting (dates, JSON, decimals); the planner's
        # others are already what the database takes (ids, not models: see ``_same``).
        self._converters = {
            column: convert for column, convert, _default in spec if convert is not _same
        }
        self._template = [default for _column, _convert, default in spec]
        self._moments: dict[datetime.datetime, str] = {}

    def moment(self, value: datetime.datetime | None) -> str | None:
        """``datetime_text``, remembered for the few moments a file repeats on every row."""
        if value is None:
            return None
        text = self._moments.get(value)
        if text is None:
            text = datetime_text(value)
            if len(self._moments) < 10_000:
                self._moments[value] = text
        return text

    def build(
        self,
        *,
        line: int,
        fields: dict[str, Any],
        groups: list[int],
        tags: list[str],
        consents: list[tuple[str, datetime.datetime, str]],
        addresses: list[dict[str, Any]],
        now: datetime.datetime,
        fingerprint: int = 0,
    ) -> NewCustomerRows:
        """The rows of a new customer: ``fields`` its customer columns (model attribute names;
        the others take their defaults), ``consents`` (channel, when, opt-in level) those it
        gave, ``now`` the moment its rows are stamped with."""
        stamp = self.moment(now)
        row = self._template.copy()
        position, converters = self._position, self._converters
        for column, value in fields.items():
            index = position.get(column)
            if index is not None:
                convert = converters.get(column)
                if convert is None:
                    row[index] = value
                else:
                    row[index] = self.moment(value) if convert is _moment else convert(value)
        row[position["updated_at"]] = stamp
        return NewCustomerRows(
            line=line,
            customer=tuple(row),
            groups=groups,
            tags=tags,
            addresses=[address_values(address, stamp) for address in addresses],
            consents=[
                (channel, True, self.moment(when), level, *self.consent_tail)
                for channel, when, level in consents
            ],
            event=self._event(line, fields, consents, fingerprint),
        )

    def _event(
        self, line: int, fields: dict[str, Any], consents: list[tuple], fingerprint: int
    ) -> str:
        """The ``customer_created`` event's data as ``json.dumps`` writes it, put together
        from its parts (the whole dict through ``json.dumps`` cost twice as much)."""
        email = fields.get("email", "")
        email = _json_string(email) if type(email) is str else _json_scalar(email)
        name = f"{fields['first_name']} {fields['last_name']}".strip()
        channels = ", ".join([f'"{channel}"' for channel, _when, _level in consents])
        # The row's fingerprint: the next import of the same row knows it by it (import_known).
        tail = f', "fingerprint": {fingerprint}' if fingerprint else ""
        return (
            f"{self._event_head}{line},"
            f' "guest": {"true" if fields.get("is_guest") else "false"},'
            f' "email": {email}, "name": {_json_string(name)},'
            f' "consents": [{channels}]{tail}}}'
        )


_json_string = json.encoder.encode_basestring_ascii  # what json.dumps does to a str (in C)


def _json_scalar(value: Any) -> str:
    if isinstance(value, str):
        return _json_string(value)
    return json.dumps(value, default=jsonable)


_address_get = operator.itemgetter(*ADDRESS_KEYS)


def address_values(address: dict[str, Any], stamp: str) -> tuple:
    """A cleaned address as the values of ``ADDRESS_COLUMNS``, stamped ``stamp``."""
    try:
        values = _address_get(address)  # a cleaned address has every key (one C call)
    except KeyError:
        values = tuple(address.get(key) for key in ADDRESS_KEYS)
    if None in values:
        values = tuple(value or "" for value in values)
    return (
        *values,
        bool(address.get("is_default_shipping")),
        bool(address.get("is_default_billing")),
        stamp,
        stamp,
    )


def _same(value: Any) -> Any:
    return value.pk if isinstance(value, Model) else value


def _moment(value: datetime.datetime | None) -> str | None:
    return None if value is None else datetime_text(value)


def _date_text(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json_text(value: Any) -> str:
    return "{}" if value == {} else json.dumps(value)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


_CONVERTERS = {
    "DateTimeField": _moment,
    "DateField": _date_text,
    "JSONField": _json_text,
    "DecimalField": _text_or_none,
}
