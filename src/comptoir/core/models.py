"""The event log: every change, with its author, in the same transaction as the change."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Where a change came from."""

    BACKOFFICE = "backoffice", _("Back-office")
    STOREFRONT = "storefront", _("Storefront")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("System")
    DEMO = "demo", _("Demo data")


class Authored(models.Model):
    """Who made a record: where it came from, the staff member if any, the IP when a person
    acted. Shared by events and consent history (see ``core.actors.Actor``)."""

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        abstract = True


class Event(Authored):
    """One change to a customer (the timeline) or to another object (the audit trail).

    ``customer`` has no database constraint on purpose: the audit row outlives a customer deleted
    with "allow re-registration", and still names which id it was about.
    """

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("what"), max_length=40)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="events",
    )
    object_type = models.CharField(max_length=20, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="event_customer_timeline"),
            models.Index(fields=["object_type", "object_id"], name="event_object"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
