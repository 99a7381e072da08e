"""Background tasks of imports: the dry run, the run, the undo, and the watch that takes over
a job whose worker died. Thin: each calls one service (``services.importing``)."""

from __future__ import annotations

from django_tasks import task

from comptoir.core.actors import Actor
from comptoir.transfer.models import ImportJob


def _actor(job: ImportJob, user_id: int | None) -> Actor:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else job.created_by
    return Actor.importer(user=user)


@task()
def import_dry_run_task(job_id: int, user_id: int | None = None) -> dict:
    from comptoir.transfer.services.importing import import_dry_run

    job = ImportJob.objects.get(pk=job_id)
    job = import_dry_run(job=job, actor=_actor(job, user_id))
    return {"state": job.state, "rejected": job.dry_rejected}


@task()
def import_run_task(job_id: int, user_id: int | None = None) -> dict:
    from comptoir.transfer.services.importing import import_run

    job = ImportJob.objects.get(pk=job_id)
    job = import_run(job=job, actor=_actor(job, user_id))
    return {"state": job.state, "created": job.created, "updated": job.updated}


@task()
def import_undo_task(job_id: int, user_id: int | None = None) -> dict:
    from comptoir.transfer.services.import_undo import import_undo

    job = ImportJob.objects.get(pk=job_id)
    job = import_undo(job=job, actor=_actor(job, user_id))
    return {"state": job.state, "reverted": job.reverted, "skipped": job.skipped}


@task()
def import_watch_task(job_id: int) -> str:
    from comptoir.transfer.services.importing import import_job_watch

    job = ImportJob.objects.filter(pk=job_id).first()
    return import_job_watch(job=job) if job else "gone"
