"""Writes to webhooks: create, update, switch on/off, delete, send a test, retry or send a
delivery again; each writes its event with the staff member who asked.

Every service validates all its fields first and raises one ``ValidationError`` keyed by field.
The secret is never written into an event: only that it changed.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import changes_between, event_record
from comptoir.core.models import Event
from comptoir.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from comptoir.webhooks.runner import (
    ACTIVE_CACHE_SECONDS,
    PRUNE_BATCH,
    dispatch_enqueue,
    webhooks_active_forget,
)
from comptoir.webhooks.sending import LEASE, deliveries_send
from comptoir.webhooks.topics import TEST, TOPICS

NAME_MAX_LENGTH = Webhook._meta.get_field("name").max_length
URL_MAX_LENGTH = Webhook._meta.get_field("url").max_length
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = Webhook._meta.get_field("secret").max_length
# The fields an event lists when they change (the secret is only said to have changed).
TRACKED_FIELDS = ("name", "url", "topics", "is_active")


def secret_generate() -> str:
    return secrets.token_hex(32)


def _url_clean(url: str) -> str:
    """An http(s) URL that can be reached: not another scheme, not the link-local or
    unspecified addresses (a cloud's metadata service lives at 169.254.169.254)."""
    url = (url or "").strip()
    if not url:
        raise ValidationError(_("This field is required."), code="required")
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(
            _("Use at most %(max)d characters.") % {"max": URL_MAX_LENGTH}, code="max_length"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(_("Use an address starting with http:// or https://."), code="scheme")
    try:
        URLValidator(schemes=["http", "https"])(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except (ValidationError, ValueError):
        raise ValidationError(_("Enter a valid web address."), code="invalid") from None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None and (
        address.is_link_local or address.is_unspecified or address.is_multicast
    ):
        raise ValidationError(
            _("This address cannot receive webhooks: use the receiver's own address."),
            code="reserved",
        )
    return url


def _secret_clean(secret: str) -> str:
    secret = (secret or "").strip()
    if not secret:
        return secret_generate()
    if not (SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH) or not all(
        "!" <= character <= "~" for character in secret
    ):
        raise ValidationError(
            _(
                "Use between %(min)d and %(max)d letters, digits or punctuation marks, "
                "without spaces, or leave it empty to have one made."
            )
            % {"min": SECRET_MIN_LENGTH, "max": SECRET_MAX_LENGTH},
            code="secret",
        )
    return secret


def _fields_clean(*, name: str, url: str, topics: Iterable[str]) -> dict:
    errors: dict[str, ValidationError] = {}
    cleaned = {"name": (name or "").strip()}
    if not cleaned["name"]:
        errors["name"] = ValidationError(_("This field is required."), code="required")
    elif len(cleaned["name"]) > NAME_MAX_LENGTH:
        errors["name"] = ValidationError(
            _("Use at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}, code="max_length"
        )
    try:
        cleaned["url"] = _url_clean(url)
    except ValidationError as error:
        errors["url"] = error
    chosen = set(topics or ())
    unknown = chosen - set(TOPICS)
    if unknown:
        errors["topics"] = ValidationError(
            _("Unknown topic: %(topic)s.") % {"topic": sorted(unknown)[0]}, code="invalid"
        )
    elif not chosen:
        errors["topics"] = ValidationError(_("Choose at least one topic."), code="required")
    cleaned["topics"] = [topic for topic in TOPICS if topic in chosen]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _start_at(webhook: Webhook, event: Event) -> None:
    """Send the webhook the events after ``event`` (the one that created it or switched it on).

    Its id, not the highest id seen: ids that no visible event holds (rolled back, or a fresh
    sequence on PostgreSQL) would otherwise look to the dispatcher like events still to come."""
    webhook.since_event_id = event.pk
    Webhook.objects.filter(pk=webhook.pk).update(since_event_id=event.pk)


def _catch_up_later() -> None:
    """Other processes may take ``ACTIVE_CACHE_SECONDS`` to see that a webhook listens; the
    events they write meanwhile are dispatched by this run (or by any earlier one)."""
    run_after = timezone.now() + datetime.timedelta(seconds=ACTIVE_CACHE_SECONDS + 1)
    transaction.on_commit(lambda: dispatch_enqueue(run_after=run_after), robust=True)


@transaction.atomic
def webhook_create(
    *,
    actor: Actor,
    name: str,
    url: str,
    topics: Iterable[str],
    secret: str = "",
    is_active: bool = True,
) -> Webhook:
    """Register a URL for the given topics. Without a secret, a random one is made. Only the
    changes after it is created are sent to it."""
    errors = {}
    try:
        cleaned = _fields_clean(name=name, url=url, topics=topics)
    except ValidationError as error:
        errors.update(error.error_dict)
    try:
        secret = _secret_clean(secret)
    except ValidationError as error:
        errors["secret"] = [error]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    webhook = Webhook.objects.create(
        **cleaned,
        secret=secret,
        is_active=bool(is_active),
        created_by=actor.user,
        created_at=now,
        updated_at=now,
    )
    created = event_record(
        kind="webhook_created",
        actor=actor,
        object_type="webhook",
        object_id=webhook.pk,
        data={field: getattr(webhook, field) for field in TRACKED_FIELDS},
    )
    _start_at(webhook, created)
    webhooks_active_forget()
    if webhook.is_active:
        _catch_up_later()
    return webhook


@transaction.atomic
def webhook_update(
    *,
    webhook: Webhook,
    actor: Actor,
    name: str,
    url: str,
    topics: Iterable[str],
    is_active: bool,
    secret: str = "",
    secret_regenerate: bool = False,
) -> Webhook:
    """Change a webhook. ``secret``: a new secret (empty keeps the current one);
    ``secret_regenerate`` makes a new random one. Switched back on, it is sent the changes from
    then on, not those made while it was off."""
    current = Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
    if current is None:
        raise ValidationError(_("This webhook no longer exists."), code="gone")
    errors = {}
    try:
        cleaned = _fields_clean(name=name, url=url, topics=topics)
    except ValidationError as error:
        errors.update(error.error_dict)
    new_secret = current.secret
    if secret_regenerate:
        new_secret = secret_generate()
    elif (secret or "").strip():
        try:
            new_secret = _secret_clean(secret)
        except ValidationError as error:
            errors["secret"] = [error]
    if errors:
        raise ValidationError(errors)
    cleaned["is_active"] = bool(is_active)
    before = {field: getattr(current, field) for field in TRACKED_FIELDS}
    changes = changes_between(before, cleaned)
    secret_changed = new_secret != current.secret
    if not changes and not secret_changed:
        return current
    fields = {**cleaned, "secret": new_secret, "updated_at": timezone.now()}
    switched_on = cleaned["is_active"] and not current.is_active
    for field, value in fields.items():
        setattr(current, field, value)
    current.save(update_fields=list(fields))
    if secret_changed:
        changes["secret"] = {"changed": True}
    updated = event_record(
        kind="webhook_updated",
        actor=actor,
        object_type="webhook",
        object_id=current.pk,
        data={"changes": changes},
    )
    if switched_on:
        _start_at(current, updated)
    webhooks_active_forget()
    if switched_on:
        _catch_up_later()
    return current


@transaction.atomic
def webhook_active_set(*, webhook: Webhook, actor: Actor, is_active: bool) -> Webhook:
    """Switch a webhook off (nothing is sent to it, its waiting deliveries fail unsent) or back
    on (it is sent the changes from then on)."""
    current = Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
    if current is None:
        raise ValidationError(_("This webhook no longer exists."), code="gone")
    is_active = bool(is_active)
    if current.is_active == is_active:
        return current
    current.is_active, current.updated_at = is_active, timezone.now()
    current.save(update_fields=["is_active", "updated_at"])
    switched = event_record(
        kind="webhook_updated",
        actor=actor,
        object_type="webhook",
        object_id=current.pk,
        data={"changes": {"is_active": {"before": not is_active, "after": is_active}}},
    )
    if is_active:
        _start_at(current, switched)
    webhooks_active_forget()
    if is_active:
        _catch_up_later()
    return current


@transaction.atomic
def webhook_delete(*, webhook: Webhook, actor: Actor) -> None:
    """Delete a webhook with its deliveries' log; nothing more is sent to it."""
    current = Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
    if current is None:
        return
    data = {"name": current.name, "url": current.url, "topics": current.topics}
    # The log goes first, a batch at a time: a cascade from the webhook would load every
    # delivery (a month of changes) into memory at once.
    deliveries = WebhookDelivery.objects.filter(webhook_id=current.pk)
    while ids := list(deliveries.values_list("id", flat=True)[:PRUNE_BATCH]):
        WebhookDelivery.objects.filter(id__in=ids).delete()
    current.delete()
    event_record(
        kind="webhook_deleted",
        actor=actor,
        object_type="webhook",
        object_id=webhook.pk,
        data=data,
    )
    webhooks_active_forget()


def _send_now(delivery: WebhookDelivery) -> WebhookDelivery:
    """Try a delivery now, in this request (a test or a delivery retried by staff: they wait
    for the answer, at most the timeout). A failed one waits for its retries as any other,
    with a sender queued for them."""
    from comptoir.webhooks.runner import send_enqueue

    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery.pk)
    deliveries_send([delivery], by_hand=True)
    if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at:
        send_enqueue(run_after=delivery.next_attempt_at)
    return delivery


def webhook_test_send(*, webhook: Webhook, actor: Actor) -> WebhookDelivery:
    """Send a test delivery (topic ``webhook.test``) now, even to a switched-off webhook; it is
    tried once, not retried. The event says who sent it and what the receiver answered."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        topic=TEST,
        object_type="webhook",
        object_id=webhook.pk,
        payload={
            "id": webhook.pk,
            "name": webhook.name,
            "topics": webhook.topics,
            "sent_by": str(actor.user) if actor.user else "",
        },
        is_test=True,
        status=DeliveryStatus.PENDING,
        # Leased: a sender running meanwhile leaves it to this request.
        next_attempt_at=now + LEASE,
        created_at=now,
    )
    delivery = _send_now(delivery)
    event_record(
        kind="webhook_tested",
        actor=actor,
        object_type="webhook",
        object_id=webhook.pk,
        data={
            "delivery": str(delivery.uuid),
            "delivered": delivery.status == DeliveryStatus.DELIVERED,
            "response_status": delivery.response_status,
        },
    )
    return delivery


def delivery_redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Try a delivery now, with the same id and body; its earlier tries stay in its log.

    One still waiting for a retry is retried now: that try counts among its attempts and the
    schedule goes on from there. One delivered or failed is sent again as a new one would be:
    its attempts start again from nought, with the whole retry schedule."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery.pk)
            .values("status", "attempts", "webhook_id", "uuid", "topic")
            .first()
        )
        if current is None:
            raise ValidationError(_("This delivery no longer exists."), code="gone")
        retry = current["status"] == DeliveryStatus.PENDING
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING,
            attempts=current["attempts"] if retry else 0,
            # Leased: a sender running meanwhile leaves it to this request.
            next_attempt_at=now + LEASE,
            delivered_at=None,
        )
        event_record(
            kind="webhook_delivery_retried" if retry else "webhook_delivery_resent",
            actor=actor,
            object_type="webhook",
            object_id=current["webhook_id"],
            data={"delivery": str(current["uuid"]), "topic": current["topic"]},
        )
    return _send_now(delivery)
