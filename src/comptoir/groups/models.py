"""Customer groups: price rules (discount, tax display) and the default group."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class PriceDisplay(models.TextChoices):
    TAX_INCLUDED = "tax_incl", _("Tax included")
    TAX_EXCLUDED = "tax_excl", _("Tax excluded")


class Group(models.Model):
    name_fr = models.CharField(_("name (French)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)
    description = models.TextField(_("description"), blank=True)
    discount = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    price_display = models.CharField(
        _("price display"),
        max_length=8,
        choices=PriceDisplay.choices,
        default=PriceDisplay.TAX_INCLUDED,
    )
    show_prices = models.BooleanField(_("show prices"), default=True)
    css_class = models.CharField(_("storefront CSS class"), max_length=64, blank=True)
    is_default = models.BooleanField(_("default group"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=100),
                name="group_discount_between_0_and_100",
                violation_error_message=_("The discount must be between 0 and 100 %."),
            ),
            # At most one default; the services keep "at least one" (the default group can be
            # replaced but never removed).
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="group_single_default",
                violation_error_message=_("There is already a default group."),
            ),
            models.CheckConstraint(
                condition=~Q(name_fr="") & ~Q(name_en=""),
                name="group_names_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "fr").startswith("en") else self.name_fr
