"""Helpers shared by the import tests: write a file in a platform's shape, upload it, run it."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from comptoir.transfer.services.importing import import_dry_run, import_job_create, import_run


def csv_bytes(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    line_end: str = "\r\n",
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def upload(data: bytes, *, actor, name: str = "customers.csv", language: str = "en"):
    return import_job_create(
        source=io.BytesIO(data), file_name=name, actor=actor, language=language
    )


def dry_then_run(job, *, actor):
    job = import_dry_run(job=job, actor=actor)
    return import_run(job=job, actor=actor)
