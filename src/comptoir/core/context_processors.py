"""Template context every back-office page gets."""

from comptoir.customers.selectors import demo_customer_exists


def backoffice(request):
    """What every back-office page needs: the demo-customer warning.

    The selector is passed uncalled: templates call it where the banner is drawn, so its one
    query runs only on pages that show the banner, never for redirects, JSON or partials.
    """
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"demo_customer_exists": demo_customer_exists}
