"""Import jobs: the uploaded file, how to read it, the options chosen, where the run stands
(its checkpoint), what each committed batch did (for undo) and every rejected row.

An import goes through: uploaded (format detected, mapping proposed) -> analysing/analysed (the
dry run) -> queued/running (batches committed one by one, each recording its checkpoint) ->
done; then possibly undoing -> undone. A failure leaves the job ``failed`` with the message.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.customers.models import OptInLevel


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting for its mapping and options")
    ANALYSING = "analysing", _("Dry run in progress")
    ANALYSED = "analysed", _("Dry run done, ready to import")
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")
    UNDOING = "undoing", _("Being undone")
    UNDONE = "undone", _("Undone")


class ImportMode(models.TextChoices):
    UPSERT = "upsert", _("Create new customers and update existing ones")
    CREATE = "create", _("Only create new customers")
    UPDATE = "update", _("Only update existing customers")


class MatchKey(models.TextChoices):
    EMAIL = "email", _("E-mail address")
    EXTERNAL_ID = "external_id", _("External id (the other platform's id)")
    ID = "id", _("Comptoir id")


class EmptyCells(models.TextChoices):
    KEEP = "keep", _("Keep the stored value")
    CLEAR = "clear", _("Clear the stored value")


class PasswordPolicy(models.TextChoices):
    RESET = "reset", _("Ignore them: customers will choose a new password")
    HASH = "hash", _("Hash them (Argon2; slow: about ten per second)")


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    # The interface language of whoever started it: background work reports in it.
    language = models.CharField(_("language"), max_length=8, default="fr")

    # The file, stored under COMPTOIR_IMPORT_DIR, and how to read it.
    file_name = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500, editable=False)
    file_size = models.BigIntegerField(_("size"), default=0)
    file_info = models.JSONField(default=dict, editable=False)
    platform = models.CharField(_("format"), max_length=40, blank=True)
    variant = models.CharField(_("variant"), max_length=64, blank=True)
    mapping = models.JSONField(_("mapping"), default=list)

    # Options
    mode = models.CharField(
        _("what to do"), max_length=8, choices=ImportMode.choices, default=ImportMode.UPSERT
    )
    match = models.CharField(
        _("match customers on"), max_length=12, choices=MatchKey.choices, default=MatchKey.EMAIL
    )
    empty_cells = models.CharField(
        _("empty cells"), max_length=8, choices=EmptyCells.choices, default=EmptyCells.KEEP
    )
    default_group = models.ForeignKey(
        "groups.Group",
        verbose_name=_("default group of new customers"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    consent_note = models.CharField(_("where the consents were collected"), max_length=255)
    opt_in_level = models.CharField(
        _("opt-in level of the consents"),
        max_length=10,
        choices=OptInLevel.choices,
        default=OptInLevel.UNKNOWN,
    )
    passwords = models.CharField(
        _("passwords in the file"),
        max_length=8,
        choices=PasswordPolicy.choices,
        default=PasswordPolicy.RESET,
    )

    state = models.CharField(
        _("state"), max_length=10, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    error = models.TextField(_("error"), blank=True)

    # The dry run's figures.
    analysed_at = models.DateTimeField(_("dry run"), null=True, blank=True)
    dry_rows = models.PositiveIntegerField(default=0)
    dry_created = models.PositiveIntegerField(default=0)
    dry_updated = models.PositiveIntegerField(default=0)
    dry_unchanged = models.PositiveIntegerField(default=0)
    dry_rejected = models.PositiveIntegerField(default=0)

    # The run: figures so far and the checkpoint (the last line of the last committed batch).
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    last_line = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # When the current run (or resumption) began, and how many rows were done then: the rate.
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_rows = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The lease of the worker running it: renewed by every batch; a run whose heartbeat is old
    # is taken over by another worker, and the token fences the old one out.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    run_token = models.CharField(max_length=32, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # A large import into a (nearly) empty table drops the customers' sort indexes and the
    # events' indexes for the run: the statements that build them again, until they are built.
    deferred_indexes = models.JSONField(default=list, blank=True, editable=False)

    # Undo
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    reverted = models.PositiveIntegerField(_("reverted"), default=0)
    skipped = models.PositiveIntegerField(_("changed since, left alone"), default=0)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["-created_at", "-id"], name="import_recent")]

    def __str__(self) -> str:
        return self.file_name


class ImportBatch(models.Model):
    """One committed batch of a run: its lines, its figures, and what undo needs (the range of
    ids of the customers it created, the ids of those it updated)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    first_line = models.PositiveIntegerField()
    last_line = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    created_from = models.BigIntegerField(null=True, blank=True)
    created_to = models.BigIntegerField(null=True, blank=True)
    updated_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="import_batch_unique"),
        ]


class ImportRejection(models.Model):
    """A row that was not imported: its line, the column at fault ("" for the whole row) and
    the reason, in the language of whoever started the import."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    dry_run = models.BooleanField(default=False)
    line = models.PositiveIntegerField(_("line"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    reason = models.TextField(_("reason"))

    class Meta:
        indexes = [models.Index(fields=["job", "dry_run", "line"], name="import_rejection_line")]
