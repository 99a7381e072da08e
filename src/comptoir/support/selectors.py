"""Reads of support conversations: one customer's threads, with their messages' count and the
latest message, for the customer page."""

from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Substr

from comptoir.support.models import Message, Thread

EXCERPT_LENGTH = 160


def customer_threads(*, customer_id) -> QuerySet[Thread]:
    """The customer's support threads, the most recently active first (the
    ``thread_customer_recent`` index). ``customer_id`` may be an ``OuterRef``."""
    return Thread.objects.filter(customer_id=customer_id).order_by("-updated_at", "-id")


def customer_threads_with_last_message(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    """``threads`` annotated with ``messages_count`` and the latest message's beginning
    (``last_message_excerpt``).

    Correlated subqueries rather than a join and GROUP BY: they run for the page's rows only.
    """
    messages = Message.objects.filter(thread_id=OuterRef("pk"))
    latest = messages.order_by("-created_at", "-id")
    counted = messages.order_by().values("thread_id").annotate(count=Count("id"))
    return threads.annotate(
        messages_count=Coalesce(Subquery(counted.values("count")[:1]), 0),
        last_message_excerpt=Subquery(
            latest.annotate(excerpt=Substr("body", 1, EXCERPT_LENGTH)).values("excerpt")[:1]
        ),
    )
