"""The webhooks screens: the list, create, a webhook's page (its secret, a test, switch off/on,
its deliveries log with "retry now"), edit, delete, and one delivery with its tries and a
button to retry it or send it again.

Views only read the request, call one selector or service and render; a service's refusal comes
back as a form error next to its field.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.core.actors import actor_from_request
from comptoir.webhooks.forms import WebhookForm
from comptoir.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from comptoir.webhooks.selectors import (
    delivery_attempts,
    delivery_get,
    webhook_deliveries,
    webhook_get,
    webhooks_list,
)
from comptoir.webhooks.sending import MAX_ATTEMPTS, delivery_body, problem_message
from comptoir.webhooks.services import (
    delivery_redeliver,
    webhook_active_set,
    webhook_create,
    webhook_delete,
    webhook_test_send,
    webhook_update,
)
from comptoir.webhooks.topics import TOPIC_LABELS


def _form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """A service's errors onto the form: next to their field, else at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _webhook(pk: int) -> Webhook:
    webhook = webhook_get(pk=pk)
    if webhook is None:
        raise Http404
    return webhook


def _delivery(pk: int) -> WebhookDelivery:
    delivery = delivery_get(pk=pk)
    if delivery is None:
        raise Http404
    return delivery


def _outcome_message(request: HttpRequest, delivery: WebhookDelivery) -> None:
    if delivery.status == DeliveryStatus.DELIVERED:
        messages.success(
            request,
            _("Delivered: the receiver answered %(status)s in %(ms)s ms.")
            % {"status": delivery.response_status, "ms": delivery.response_ms},
        )
    else:
        error = problem_message(
            delivery.problem, status=delivery.response_status, detail=delivery.error
        )
        messages.error(request, _("Not delivered: %(error)s") % {"error": error or "?"})


@require_GET
def webhook_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "webhooks/list.html",
        {"webhooks": list(webhooks_list()), "topic_labels": TOPIC_LABELS},
    )


@require_http_methods(["GET", "POST"])
def webhook_create_view(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            webhook = webhook_create(actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            messages.success(
                request,
                _("Webhook “%(name)s” created. Give its secret to the receiver.")
                % {"name": webhook.name},
            )
            return redirect("webhooks:detail", pk=webhook.pk)
    return render(request, "webhooks/form.html", {"form": form, "webhook": None})


# The page shows the secret: no cache along the way may keep it.
@never_cache
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    webhook = _webhook(pk)
    log = webhook_deliveries(
        webhook=webhook, status=request.GET.get("status", ""), page=request.GET.get("page")
    )
    return render(
        request,
        "webhooks/detail.html",
        {
            "webhook": webhook,
            "log": log,
            "topic_labels": TOPIC_LABELS,
            "statuses": DeliveryStatus.choices,
        },
    )


@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    webhook = _webhook(pk)
    form = WebhookForm.for_webhook(webhook, request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            webhook_update(webhook=webhook, actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            messages.success(
                request, _("Webhook “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("webhooks:detail", pk=webhook.pk)
    return render(request, "webhooks/form.html", {"form": form, "webhook": webhook})


@require_http_methods(["GET", "POST"])
def webhook_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what deleting does. POST: do it."""
    webhook = _webhook(pk)
    if request.method == "POST":
        webhook_delete(webhook=webhook, actor=actor_from_request(request))
        messages.success(request, _("Webhook “%(name)s” deleted.") % {"name": webhook.name})
        return redirect("webhooks:list")
    return render(request, "webhooks/delete.html", {"webhook": webhook})


@require_POST
def webhook_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a webhook off (``is_active=0``) or back on (``is_active=1``)."""
    webhook = _webhook(pk)
    is_active = request.POST.get("is_active") == "1"
    try:
        webhook = webhook_active_set(
            webhook=webhook, actor=actor_from_request(request), is_active=is_active
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("webhooks:list")
    if webhook.is_active:
        message = _("Webhook “%(name)s” switched on: changes from now on are sent to it.")
    else:
        message = _("Webhook “%(name)s” switched off: nothing is sent to it until it is back on.")
    messages.success(request, message % {"name": webhook.name})
    return redirect("webhooks:detail", pk=webhook.pk)


@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test delivery now and say how the receiver answered."""
    webhook = _webhook(pk)
    delivery = webhook_test_send(webhook=webhook, actor=actor_from_request(request))
    _outcome_message(request, delivery)
    return redirect("webhooks:detail", pk=webhook.pk)


@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery(pk)
    body = json.loads(delivery_body(delivery))
    return render(
        request,
        "webhooks/delivery.html",
        {
            "delivery": delivery,
            "webhook": delivery.webhook,
            "attempts": delivery_attempts(delivery=delivery),
            "body": json.dumps(body, indent=2, ensure_ascii=False),
            "topic_labels": TOPIC_LABELS,
            "max_attempts": 1 if delivery.is_test else MAX_ATTEMPTS,
        },
    )


@require_POST
def delivery_redeliver_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _delivery(pk)
    try:
        delivery = delivery_redeliver(delivery=delivery, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("webhooks:list")
    _outcome_message(request, delivery)
    # "Retry now" in a webhook's log comes back to the log; the delivery's page to itself.
    if request.POST.get("back") == "log":
        return redirect("webhooks:detail", pk=delivery.webhook_id)
    return redirect("webhooks:delivery", pk=delivery.pk)
