"""Template filters of the webhooks screens: a topic's name, a failed try explained."""

from django import template
from django.utils.translation import gettext as _

from comptoir.webhooks.sending import problem_message
from comptoir.webhooks.topics import TEST, TOPIC_LABELS

register = template.Library()


@register.filter
def topic_label(topic: str) -> str:
    if topic == TEST:
        return _("Test")
    label = TOPIC_LABELS.get(topic)
    return str(label) if label else topic


@register.filter
def error_message(obj) -> str:
    """Why a delivery's latest try (or one attempt) failed, in the reader's language."""
    return problem_message(obj.problem, status=obj.response_status, detail=obj.error)
