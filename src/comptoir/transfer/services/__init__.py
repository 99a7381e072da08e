"""Writes of the transfer app.

- ``importing``: import jobs (upload, configure, dry run, run, recovery), over
  ``import_clean`` (cleaning the rows read), ``import_plan`` (matching them against the stored
  customers), ``import_write`` (the set-based writes of a batch) and ``import_undo``;
- ``exporting``: export jobs.
"""
