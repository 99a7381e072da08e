"""Reading a customer file into rows of text: CSV of any dialect or a spreadsheet (XLSX, XLS,
ODS), whatever its encoding.

``file_inspect`` looks at the start of the file once (kind, encoding, delimiter, header, a few
sample rows); ``rows_read`` then streams the data rows, each with the line number a person sees
when opening the file: the physical line where the row starts in a CSV (a quoted cell with line
breaks spans several lines), the row number in a spreadsheet. Memory stays flat for CSV whatever
the size; a spreadsheet is loaded by calamine (Rust) one sheet at a time.

Nothing here raises on bad content: undecodable bytes become U+FFFD (the row is then rejected
with a reason by the importer), a row the CSV parser cannot read is returned as an unreadable
row. Only a file that is not a table at all raises ``FileFormatError``.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

SAMPLE_BYTES = 1 << 20  # what the encoding and dialect are guessed from
SAMPLE_ROWS = 5
# A cell longer than this is junk (a stray quote swallowing the rest of the file, binary data):
# the CSV parser stops it instead of filling the memory.
MAX_CELL = 1 << 20
DELIMITERS = (";", ",", "\t", "|")
REPLACEMENT = "\ufffd"

csv.field_size_limit(MAX_CELL)


class FileFormatError(ValueError):
    """The file is not a table Comptoir can read; the message is for the user."""


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int  # where the row starts, as the user sees it (1 = the first line of the file)
    cells: list[str]
    problem: str = ""  # set when the row could not be read at all


@dataclass
class FileInfo:
    kind: str  # "csv" or "spreadsheet"
    encoding: str = ""
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    header_line: int = 1
    samples: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "header": self.header,
            "header_line": self.header_line,
        }

    @classmethod
    def from_dict(cls, data: dict) -> FileInfo:
        return cls(
            kind=data["kind"],
            encoding=data.get("encoding", ""),
            delimiter=data.get("delimiter", ","),
            header=list(data.get("header", [])),
            header_line=data.get("header_line", 1),
        )


# -------------------------------------------------------------------------------------------------
# Kind and encoding

_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # XLSX/ODS (zip), XLS (OLE)


def _looks_binary(sample: bytes) -> bool:
    """Text files have no NUL bytes and few control characters."""
    if not sample:
        return False
    head = sample[:8192]
    # A stray control character can hide in a text file; many of them make it binary.
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return head.count(b"\x00") > len(head) // 100 or controls > len(head) // 20


def encoding_detect(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, else what charset-normalizer
    finds among the encodings shop files come in, else Windows-1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: the sample may end in the middle of a character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(
        sample[:200_000],
        cp_isolation=["cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850"],
    ).best()
    if best is not None and best.encoding:
        return best.encoding
    return "cp1252"


def _text_open(path: Path, encoding: str) -> io.TextIOWrapper:
    # newline="": the CSV parser sees the line breaks inside quoted cells as they are.
    return open(path, encoding=encoding, errors="replace", newline="")


# -------------------------------------------------------------------------------------------------
# Dialect


def _split(line_block: str, delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(line_block, newline=""), delimiter=delimiter))
    except csv.Error:
        return []


def _delimiter_score(rows: list[list[str]]) -> tuple[int, int]:
    """(rows agreeing with the header's width, header width): more of both is likelier."""
    if not rows or len(rows[0]) < 2:
        return (0, len(rows[0]) if rows else 0)
    width = len(rows[0])
    agreeing = sum(1 for row in rows[1:] if len(row) in (width, width + 1))
    return (agreeing + 1, width)


def delimiter_detect(sample_text: str) -> str:
    """The delimiter of a CSV sample: csv.Sniffer first, checked against the rows; otherwise
    the candidate that splits the header widest and the rows most consistently."""
    lines = sample_text.splitlines(keepends=True)
    if len(lines) > 1 and not sample_text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample's last line is probably cut short
    while lines and not lines[0].strip():
        lines.pop(0)  # blank lines above the header
    block = "".join(lines[:200])
    if not block.strip():
        return ","
    scored = {delimiter: _delimiter_score(_split(block, delimiter)) for delimiter in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(block, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scored:
        agreeing, width = scored[sniffed]
        best_agreeing = max(score[0] for score in scored.values())
        if width > 1 and agreeing >= best_agreeing:
            return sniffed
    best = max(DELIMITERS, key=lambda d: (scored[d], -DELIMITERS.index(d)))
    return best if scored[best][1] > 1 else ","


# -------------------------------------------------------------------------------------------------
# Inspect and read


def file_inspect(path: str | os.PathLike) -> FileInfo:
    """Kind, encoding, delimiter, header and a few sample rows of the file at ``path``."""
    path = Path(path)
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileFormatError(_("The file is empty."))
    if sample.startswith(_SPREADSHEET_MAGIC):
        info = FileInfo(kind="spreadsheet")
    elif _looks_binary(sample) and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileFormatError(
            _("This file is neither a CSV file nor a spreadsheet (XLSX). Export it again as CSV.")
        )
    else:
        encoding = encoding_detect(sample)
        decoded = sample.decode(encoding, errors="replace")
        info = FileInfo(kind="csv", encoding=encoding, delimiter=delimiter_detect(decoded))
    header_seen = False
    for row in _rows_all(path, info):
        if not header_seen:
            if not any(cell.strip() for cell in row.cells):
                continue  # blank lines above the header
            info.header, info.header_line, header_seen = row.cells, row.line, True
            continue
        info.samples.append(row.cells)
        if len(info.samples) >= SAMPLE_ROWS:
            break
    if not header_seen:
        raise FileFormatError(_("The file has no header row."))
    info.header = [_header_clean(cell) for cell in info.header]
    while info.header and not info.header[-1]:
        info.header.pop()  # a trailing delimiter on the header line
    if not info.header:
        raise FileFormatError(_("The file has no header row."))
    return info


def _header_clean(cell: str) -> str:
    return cell.replace("\ufeff", "").strip().strip("\"'").strip()


def rows_read(path: str | os.PathLike, info: FileInfo) -> Iterator[SourceRow]:
    """The data rows (after the header), blank rows skipped, each with its line number."""
    for row in _rows_all(Path(path), info):
        if row.line <= info.header_line:
            continue
        if not row.problem and not any(cell.strip() for cell in row.cells):
            continue
        yield row


def _rows_all(path: Path, info: FileInfo) -> Iterator[SourceRow]:
    if info.kind == "spreadsheet":
        yield from _spreadsheet_rows(path)
    else:
        yield from _csv_rows(path, info)


def _csv_rows(path: Path, info: FileInfo) -> Iterator[SourceRow]:
    with _text_open(path, info.encoding) as handle:
        reader = csv.reader(handle, delimiter=info.delimiter, quotechar='"', doublequote=True)
        consumed = 0  # physical lines read so far
        while True:
            start = consumed + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                consumed = reader.line_num
                yield SourceRow(
                    start,
                    [],
                    problem=_("This line could not be read as CSV (%(error)s).") % {"error": error},
                )
                continue
            consumed = reader.line_num
            yield SourceRow(start, cells)


def _cell_text(value) -> str:
    """A spreadsheet value as the text a CSV would hold."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return str(value)


def _spreadsheet_rows(path: Path) -> Iterator[SourceRow]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except (CalamineError, ValueError, OSError) as error:
        raise FileFormatError(
            _("This spreadsheet could not be opened (%(error)s).") % {"error": error}
        ) from None
    except Exception as error:  # calamine raises its own classes for zip and XML faults
        raise FileFormatError(
            _("This spreadsheet could not be opened (%(error)s).") % {"error": error}
        ) from None
    # iter_rows starts at the sheet's first row (A1), so the index is the sheet's row number.
    for index, values in enumerate(rows, start=1):
        yield SourceRow(index, [_cell_text(value) for value in values])
