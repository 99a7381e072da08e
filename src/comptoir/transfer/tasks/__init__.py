"""Background tasks of the transfer app: ``importing`` (import jobs) and ``exporting``.

Tasks are found by their dotted path (``comptoir.transfer.tasks.importing.import_run_task``).
"""
