"""Views of the back-office shell: the home dashboard and the outbox."""

from django.views.generic import ListView, TemplateView

from comptoir.core.models import OutboxMessage
from comptoir.customers.selectors import customer_summary


class HomeView(TemplateView):
    """The back-office home: the shop's customer figures at a glance."""

    template_name = "core/home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(summary=customer_summary(), **kwargs)


class OutboxView(ListView):
    """The messages written to customers and kept instead of sent, newest first. Staff only,
    like every back-office page (the middleware)."""

    template_name = "core/outbox.html"
    context_object_name = "outbox_messages"
    paginate_by = 50
    queryset = OutboxMessage.objects.select_related("customer").order_by("-created_at", "-id")

    def paginate_queryset(self, queryset, page_size):
        # A page number out of range shows the nearest page instead of a 404.
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get("page"))
        return paginator, page, page.object_list, page.has_other_pages()
