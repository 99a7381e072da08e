from comptoir.customers.selectors import demo_customer_exists


def backoffice(request):
    """What every back-office page needs: the demo-customer warning."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"demo_customer_exists": demo_customer_exists}
