"""Views of the back-office shell: the home dashboard."""

from django.views.generic import TemplateView

from comptoir.customers.selectors import customer_summary


class HomeView(TemplateView):
    """The back-office home: the shop's customer figures at a glance."""

    template_name = "core/home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(summary=customer_summary(), **kwargs)
