"""Background tasks of webhooks (Django Tasks; thin): the dispatcher, queued after each commit
that wrote events while a webhook is active, and the sender, queued by the dispatcher and by
itself for the next retry."""

from django_tasks import task


@task()
def webhooks_dispatch_task() -> int:
    """Make the deliveries for the new events, then queue the sender; returns how many."""
    from comptoir.webhooks.runner import webhooks_dispatch_and_send

    return webhooks_dispatch_and_send()


@task()
def webhooks_send_task() -> dict:
    """Send the due deliveries; returns how many were sent, delivered and pruned."""
    from comptoir.webhooks.runner import webhooks_send

    return webhooks_send()
