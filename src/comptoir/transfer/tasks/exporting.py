"""The background export: writes the file of an export recorded by ``export_job_create``."""

from django_tasks import task

from comptoir.transfer.services.exporting import export_job_run


@task()
def export_file_task(job_id: str) -> int:
    """Write export ``job_id``'s file; returns how many customers it holds."""
    return export_job_run(job_id=job_id)["rows"]
