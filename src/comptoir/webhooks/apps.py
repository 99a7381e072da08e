from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "comptoir.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from comptoir.core.events import events_committed_connect
        from comptoir.webhooks.runner import webhooks_events_committed

        # After each transaction that wrote events: start the dispatcher if a webhook listens.
        events_committed_connect(webhooks_events_committed)
