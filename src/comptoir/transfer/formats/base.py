"""What a platform's file format is made of, and how a row of it becomes a record.

A ``Format`` is declarative: the headers a platform writes, each mapped to a *target* (a
Comptoir field, see ``TARGETS``), plus the header sets that recognise it. The per-platform
modules only declare; everything that reads cells lives here and in ``cells``.

A *mapping* is the list of targets aligned with the file's header ("" for a column left out).
The detected format proposes one; the user may change it; ``RowParser`` applies it to rows.

Address targets come in slots: ``address.*`` (the file's one address), ``billing.*`` and
``shipping.*`` (WooCommerce writes both).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from comptoir.transfer.formats import cells
from comptoir.transfer.formats.cells import CellError
from comptoir.transfer.formats.targets import IDENTIFIER_TARGETS, TARGETS

# -------------------------------------------------------------------------------------------------
# Parsers by kind


def _json(value: str) -> dict | None:
    raw = value.strip()
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise CellError(_('Expected JSON text such as {"instagram": "@jane"}.')) from None
    if not isinstance(data, dict):
        raise CellError(_('Expected JSON text such as {"instagram": "@jane"}.'))
    return {str(k): str(v) for k, v in data.items()}


def _raw(value: str) -> str | None:
    return value if value.strip() else None


def parsers_for(
    *, day_first: bool, list_split: re.Pattern = cells.LIST_SPLIT
) -> dict[str, Callable[[str], Any]]:
    return {
        "text": cells.text,
        "line": cells.one_line,
        "raw": _raw,
        "bool": cells.boolean,
        "status": cells.marketing_status,
        "opt_in": cells.opt_in_level,
        "integer": cells.integer,
        "integers": cells.integers,
        "decimal": cells.decimal,
        "date": partial(cells.date, day_first=day_first),
        "datetime": partial(cells.moment, day_first=day_first),
        "names": partial(cells.names, split=list_split),
        "full_name": cells.full_name,
        "country": cells.country,
        "json": _json,
    }


# -------------------------------------------------------------------------------------------------
# Formats


def header_key(header: str) -> str:
    """How headers are compared: case, surrounding spaces and quotes, inner runs of spaces and
    a BOM do not matter."""
    return re.sub(r"\s+", " ", header.replace("\ufeff", "").strip().strip("\"'").strip()).casefold()


@dataclass(frozen=True)
class Format:
    """A platform's file: ``columns`` maps each header it writes to a target ("" = known but
    not imported); ``signatures`` name the variants and the headers that must all be present
    to recognise each."""

    key: str
    label: Promise | str
    columns: Mapping[str, str]
    signatures: Mapping[str, Iterable[str]]
    day_first: bool = True
    # A row with no customer data, only an address (and maybe the same identifiers as the row
    # above), adds that address to the customer above (Magento composite, Comptoir).
    continuation_rows: bool = False
    # Header patterns (regular expressions) of columns known to carry nothing to import, such
    # as Shopify's metafields.
    ignored_patterns: tuple[str, ...] = ()
    # What separates names (groups, tags) in one cell.
    list_split: re.Pattern = cells.LIST_SPLIT
    _keys: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_keys", {header_key(header): target for header, target in self.columns.items()}
        )

    def target_for(self, header: str) -> str | None:
        """The target of a header ("" = known, not imported), or None if unknown."""
        key = header_key(header)
        if key in self._keys:
            return self._keys[key]
        if any(re.search(pattern, header, re.IGNORECASE) for pattern in self.ignored_patterns):
            return ""
        return None

    def variant_of(self, headers: Iterable[str]) -> str | None:
        """The name of the first variant whose signature headers are all present."""
        present = {header_key(header) for header in headers}
        for variant, signature in self.signatures.items():
            if {header_key(header) for header in signature} <= present:
                return variant
        return None

    def mapping_for(self, headers: Sequence[str]) -> list[str]:
        """The proposed mapping: each header's target, "" when unknown or not imported; a
        target already taken by an earlier column is kept only where both say the same thing
        (Shopify legacy writes both Province and Province Code)."""
        return [self.target_for(header) or "" for header in headers]


@dataclass(frozen=True)
class Detection:
    format: Format | None
    variant: str
    mapping: list[str]
    known: int  # how many headers the format knows


def format_detect(headers: Sequence[str], formats: Iterable[Format]) -> Detection:
    """The format whose signature the header matches and which knows most of its columns."""
    best: Detection | None = None
    for candidate in formats:
        variant = candidate.variant_of(headers)
        if variant is None:
            continue
        known = sum(1 for header in headers if candidate.target_for(header) is not None)
        if best is None or known > best.known:
            best = Detection(candidate, variant, candidate.mapping_for(headers), known)
    if best is not None:
        return best
    return Detection(None, "", mapping_guess(headers, formats), 0)


def mapping_guess(headers: Sequence[str], formats: Iterable[Format]) -> list[str]:
    """For an unknown file: each header's target in the first format that knows it, or the
    target whose key or label it is (e.g. 'email', 'First name'); "" otherwise."""
    formats = list(formats)
    guessed = []
    for header in headers:
        key = header_key(header)
        target = _target_by_name().get(key)
        if target is None:
            target = next((found for fmt in formats if (found := fmt.target_for(header))), "")
        guessed.append(target or "")
    return guessed


@lru_cache(maxsize=1)
def _target_by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for key in TARGETS:
        names[header_key(key)] = key
        names[header_key(key.replace("_", " "))] = key
    for alias, key in _PLAIN_NAMES.items():
        names[header_key(alias)] = key
    return names


# Plain names in English and French that hand-made files use (Ecwid's template among them).
_PLAIN_NAMES = {
    "name": "full_name",
    "nom complet": "full_name",
    "customer name": "full_name",
    "first name": "first_name",
    "firstname": "first_name",
    "prénom": "first_name",
    "prenom": "first_name",
    "last name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "nom": "last_name",
    "nom de famille": "last_name",
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "adresse e-mail": "email",
    "adresse email": "email",
    "courriel": "email",
    "mail": "email",
    "phone": "phone",
    "phone number": "phone",
    "telephone": "phone",
    "téléphone": "phone",
    "mobile": "mobile",
    "portable": "mobile",
    "company": "company",
    "société": "company",
    "entreprise": "company",
    "birthday": "birthday",
    "date of birth": "birthday",
    "date de naissance": "birthday",
    "tags": "tags",
    "note": "note",
    "notes": "note",
    "newsletter": "newsletter",
    "accepts marketing": "newsletter",
    "group": "default_group",
    "customer group": "default_group",
    "groupe": "default_group",
    "tax exempt": "is_tax_exempt",
    "password": "password",
    "mot de passe": "password",
    "address": "address.address1",
    "adresse": "address.address1",
    "street": "address.street",
    "city": "address.city",
    "ville": "address.city",
    "zip": "address.postcode",
    "zip code": "address.postcode",
    "postcode": "address.postcode",
    "postal code": "address.postcode",
    "code postal": "address.postcode",
    "country": "address.country",
    "pays": "address.country",
    "country code": "address.country",
    "state": "address.state",
    "region": "address.state",
    "province": "address.state",
}


# -------------------------------------------------------------------------------------------------
# Rows into records


@dataclass(slots=True)
class Record:
    """One customer read from the file: its customer values (a target present with ``None``
    means an empty cell), its addresses, and what could not be read."""

    line: int
    values: dict[str, Any]
    addresses: list[dict[str, Any]]
    errors: list[tuple[str, str]]  # (column header, reason)
    last_line: int = 0
    # A 64-bit hash of the record's cells and of what the job reads them with (0: none), and
    # whether an earlier import wrote this row, unchanged since: then it is not parsed, its
    # values are left empty (``transfer.services.import_known``).
    fingerprint: int = 0
    known: bool = False

    def __post_init__(self) -> None:
        self.last_line = self.last_line or self.line

    def __reduce__(self) -> tuple:
        # An import's batches of records cross from the reading process to the writing one
        # pickled; the default for a class with slots goes through copyreg and costs twice
        # as much as the record's own values.
        return Record, (
            self.line,
            self.values,
            self.addresses,
            self.errors,
            self.last_line,
            self.fingerprint,
            self.known,
        )


class RowParser:
    """Applies a mapping to rows: ``record = parser.parse(row)``."""

    def __init__(
        self,
        *,
        headers: Sequence[str],
        mapping: Sequence[str],
        day_first: bool = True,
        continuation_rows: bool = False,
        list_split: re.Pattern = cells.LIST_SPLIT,
    ):
        parsers = parsers_for(day_first=day_first, list_split=list_split)
        self.headers = list(headers)
        self.width = len(headers)
        self.continuation_rows = continuation_rows
        # (column index, header, target, slot or "", field, parser)
        self.columns: list[tuple[int, str, str, str, str, Callable]] = []
        for index, target in enumerate(mapping[: len(headers)]):
            if not target or target not in TARGETS:
                continue
            slot, _dot, name = target.rpartition(".")
            self.columns.append(
                (index, headers[index], target, slot, name, parsers[TARGETS[target].kind])
            )

    def parse(self, line: int, row: Sequence[str], problem: str = "") -> Record:
        record = Record(line=line, values={}, addresses=[], errors=[])
        if problem:
            record.errors.append(("", problem))
            return record
        if len(row) > self.width:
            extra = row[self.width :]
            # PrestaShop ends data rows with one more (empty) field than the header.
            if any(cell.strip() for cell in extra):
                record.errors.append(
                    (
                        "",
                        _("This line has %(found)d fields; the header has %(expected)d.")
                        % {"found": len(row), "expected": self.width},
                    )
                )
                return record
        slots: dict[str, dict[str, Any]] = {}
        values = record.values
        width = len(row)
        for index, header, _target, slot, name, parse in self.columns:
            cell = row[index] if index < width else ""
            if not cell:
                value = None  # every cell parser reads an empty cell as None
            elif "\ufffd" in cell or "\x00" in cell:
                # Undecodable bytes (see reading.py), or a NUL, which no text column of
                # PostgreSQL can hold (and no spreadsheet writes in a cell).
                record.errors.append(
                    (header, _("This cell holds characters that are not valid text."))
                )
                continue
            else:
                try:
                    value = parse(cell)
                except CellError as error:
                    record.errors.append((header, str(error)))
                    continue
            into = slots.setdefault(slot, {}) if slot else values
            # Two columns for one target (Province and Province Code): the first filled wins.
            if into.get(name) is None:
                into[name] = value
        _names_split(values)
        for slot in ("address", "billing", "shipping"):
            address = slots.get(slot)
            if address and _filled(address):
                _names_split(address)
                _street_split(address)
                if slot == "billing":
                    address.setdefault("default_billing", True)
                elif slot == "shipping":
                    address.setdefault("default_shipping", True)
                record.addresses.append(address)
        _billing_shipping_merge(record.addresses)
        return record

    def is_continuation(self, record: Record, previous: Record | None) -> bool:
        """A row that only adds an address to the customer above."""
        if not self.continuation_rows or previous is None or not record.addresses:
            return False
        for key, value in record.values.items():
            if value is None:
                continue
            if key in IDENTIFIER_TARGETS and _same(value, previous.values.get(key)):
                continue
            return False
        return True


def _filled(values: dict[str, Any]) -> bool:
    """Whether any of ``values`` is neither None nor empty text (counted in C: a generator
    over the values was a quarter of the cost of parsing a row with an address)."""
    found = list(values.values())
    return len(found) > found.count(None) + found.count("")


def _same(value: Any, other: Any) -> bool:
    if isinstance(value, str) and isinstance(other, str):
        return value.strip().lower() == other.strip().lower()
    return value == other


def _names_split(values: dict[str, Any]) -> None:
    """A "First Last" cell fills the first and last names the row leaves empty."""
    pair = values.pop("full_name", None)
    if pair:
        first, last = pair
        if not values.get("first_name") and first:
            values["first_name"] = first
        if not values.get("last_name") and last:
            values["last_name"] = last


def _street_split(address: dict[str, Any]) -> None:
    """A street on several lines (Magento) goes into the two street fields."""
    street = address.pop("street", None)
    if street:
        lines = [re.sub(r"\s+", " ", line).strip() for line in street.splitlines()]
        lines = [line for line in lines if line]
        if lines and not address.get("address1"):
            address["address1"] = lines[0]
            if len(lines) > 1 and not address.get("address2"):
                address["address2"] = ", ".join(lines[1:])


_ADDRESS_SAME = ("first_name", "last_name", "company", "address1", "address2", "postcode", "city",
                 "country")  # fmt: skip


def _billing_shipping_merge(addresses: list[dict[str, Any]]) -> None:
    """Billing and shipping columns holding the same address make one address, default for
    both (WooCommerce writes the address twice)."""
    if len(addresses) != 2:
        return
    first, second = addresses
    if all((first.get(k) or "") == (second.get(k) or "") for k in _ADDRESS_SAME):
        first["default_billing"] = first.get("default_billing") or second.get("default_billing")
        first["default_shipping"] = first.get("default_shipping") or second.get("default_shipping")
        for key, value in second.items():
            if first.get(key) in (None, ""):
                first[key] = value
        del addresses[1]
