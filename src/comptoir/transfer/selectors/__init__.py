"""Reads of the transfer app: ``importing`` (import jobs) and ``exporting`` (export jobs)."""
