"""The event log (every change, with its author, in the same transaction as the change) and
the outbox (messages to customers, stored instead of sent)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
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
        db_index=False,  # event_customer_timeline (customer, -created_at, -id) serves it
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


class OutboxMessage(models.Model):
    """A message that would go to a customer (e-mail), kept here instead of being sent: the shop
    needs no mail server, staff can read what was said, and a sender can deliver the unsent ones
    later (``sent_at`` null)."""

    kind = models.CharField(_("kind"), max_length=40)
    to = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("message"))
    language = models.CharField(_("language"), max_length=8)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # The message goes with the customer it was written to: it holds their address and name.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbox_messages",
    )

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [models.Index(fields=["-created_at", "-id"], name="outbox_recent")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
