"""Cells that a spreadsheet would run as a formula ("CSV injection"), made harmless.

Excel, LibreOffice and Google Sheets treat a cell starting with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a leading tab or carriage return can hide such a start (OWASP, "CSV Injection").
Every text cell an export writes goes through ``cell_safe``: a dangerous cell gets a leading
apostrophe, which spreadsheets read as "this is text".

Two choices, and why:

- A cell that is only a signed number (``+33612345678``, ``-12.50``) is left as it is, as
  defusedcsv does: it cannot call a function or reference anything, and E.164 phone numbers
  must reach Brevo, Shopify and Mailchimp with their ``+`` intact.
- The escaping can be undone exactly (``cell_restore``), so a file exported then imported gives
  back the same text. A value that already starts with an apostrophe followed by something
  dangerous, or by a number (which the importer reads as a spreadsheet's guard, as Shopify
  writes its ids), is escaped too (``'=x`` becomes ``''=x``, ``'0`` becomes ``''0``), which
  keeps the mapping one-to-one.
"""

from __future__ import annotations

import re

# What a spreadsheet may take for the start of a formula.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
ESCAPE = "'"
# The first characters of the cells ``cell_safe`` may change: a cheap test before calling it.
NEEDS_CHECK = FORMULA_TRIGGERS | {ESCAPE}
_SIGNED_NUMBER = re.compile(r"[+-][0-9]+(?:[.,][0-9]+)?")
_NUMBER_START = re.compile(r"\+?[0-9]")


def cell_is_dangerous(value: str) -> bool:
    """Whether a spreadsheet could run ``value`` (or read it back wrongly after escaping)."""
    if not value:
        return False
    first = value[0]
    if first in FORMULA_TRIGGERS:
        if first in "+-" and value[1:].isascii() and value[1:].isdigit():
            return False  # the common case, an E.164 phone, without the regular expression
        return _SIGNED_NUMBER.fullmatch(value) is None
    # An apostrophe in front of a dangerous value would be taken for our escape on the way back,
    # and in front of a number for a spreadsheet's guard (Shopify writes "'7210448301122"),
    # which the importer drops too.
    return first == ESCAPE and (
        cell_is_dangerous(value[1:]) or _NUMBER_START.match(value, 1) is not None
    )


def cell_safe(value: str) -> str:
    """``value`` as a spreadsheet can open it without running anything."""
    return ESCAPE + value if cell_is_dangerous(value) else value


def cell_restore(value: str) -> str:
    """The value ``cell_safe`` was given, from what it returned (for the importer)."""
    if value.startswith(ESCAPE) and cell_is_dangerous(value[1:]):
        return value[1:]
    return value


def cell_is_formula_safe(value: str) -> bool:
    """Whether a written cell is harmless: no formula start, or a plain signed number."""
    return not value or value[0] not in FORMULA_TRIGGERS or bool(_SIGNED_NUMBER.fullmatch(value))
