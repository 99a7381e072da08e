"""The peer: a plain Django admin changelist over the same customers, with the same search fields
and filters as our list page, as a Django developer would write it."""

from django.contrib import admin

from comptoir.customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "first_name",
        "last_name",
        "email",
        "company",
        "total_spent",
        "orders_count",
        "is_enabled",
        "newsletter",
        "partner_offers",
        "created_at",
        "last_visit_at",
        "country",
    )
    search_fields = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "addresses__city",
        "addresses__postcode",
    )
    list_filter = (
        "is_enabled",
        "newsletter",
        "partner_offers",
        "sms",
        "is_tax_exempt",
        "is_blocked",
        "is_guest",
        "language",
        "country",
        "groups",
        "created_at",
        "last_visit_at",
    )
    list_select_related = ("title",)
    list_per_page = 50
    show_full_result_count = True
