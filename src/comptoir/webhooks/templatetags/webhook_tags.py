"""Template filters of the webhooks screens: a topic's name."""

from django import template
from django.utils.translation import gettext as _

from comptoir.webhooks.topics import TEST, TOPIC_LABELS

register = template.Library()


@register.filter
def topic_label(topic: str) -> str:
    if topic == TEST:
        return _("Test")
    label = TOPIC_LABELS.get(topic)
    return str(label) if label else topic
