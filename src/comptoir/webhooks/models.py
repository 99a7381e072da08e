"""Webhooks: the URLs staff register, each delivery made to them with its attempts, and the
dispatcher's checkpoint in the event log.

A delivery is one POST of one change (a topic about one customer or group) to one webhook; it is
the queue itself: the sender picks the pending ones that are due, and each try is kept as a
``WebhookAttempt`` (status code, response time, error) for the back-office's log.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Webhook(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=2000)
    # Kept as it is (not hashed): every delivery is signed with it. Shown to staff, who give it
    # to the receiver so it can check the signature.
    secret = models.CharField(_("secret"), max_length=128)
    topics = models.JSONField(_("topics"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    # Events up to this id happened before the webhook was created or switched on: it is not
    # sent them.
    since_event_id = models.BigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    # Sent as the body's "id" and the X-Comptoir-Delivery header; the same on every try, so a
    # receiver can tell a retry from a new change.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.CharField(_("topic"), max_length=40)
    object_type = models.CharField(max_length=20, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    # The newest event the delivery stands for (no constraint: the event log is append-only and
    # outlives nothing here); null for a test.
    event_id = models.BigIntegerField(_("event"), null=True, blank=True)
    # The body's "data": the customer or group as it was when the change was dispatched.
    payload = models.JSONField(_("data"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    # Why the latest try failed: a code (``sending.Problem``) and its detail, turned into a
    # sentence in the reader's language (``sending.problem_message``).
    problem = models.CharField(_("problem"), max_length=20, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    is_test = models.BooleanField(_("test"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            # What the sender asks: the pending deliveries that are due, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["webhook", "-id"], name="webhook_delivery_log"),
            models.Index(fields=["object_type", "object_id"], name="webhook_delivery_object"),
            # The pruning of old deliveries (``runner.deliveries_prune``).
            models.Index(fields=["created_at"], name="webhook_delivery_created"),
        ]
        constraints = [
            # One delivery per webhook, event and object: a dispatcher that runs twice over the
            # same events adds nothing.
            models.UniqueConstraint(
                fields=["webhook", "event_id", "topic", "object_id"],
                condition=Q(event_id__isnull=False),
                name="webhook_delivery_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.webhook_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery, successful or not."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(_("when"), default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    problem = models.CharField(_("problem"), max_length=20, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    succeeded = models.BooleanField(_("delivered"), default=False)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        indexes = [models.Index(fields=["delivery", "-id"], name="webhook_attempt_delivery")]


class WebhookDispatchState(models.Model):
    """One row: how far the dispatcher has read the event log.

    ``checkpoint`` is the highest event id handled. ``gaps`` are ids below it that were not
    visible when it moved past them ([first, last, seen at (epoch seconds)] ranges): on
    PostgreSQL a transaction still running when a later one commits has taken lower ids; they
    are looked at again on each run until they appear or are old enough to be ids of rolled-back
    transactions. ``sender_wakeup_at`` is when a sender is already queued to retry deliveries,
    so one wake-up is queued, not one per run.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    checkpoint = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=list, blank=True)
    sender_wakeup_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook dispatch state")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="webhook_state_single_row")]
