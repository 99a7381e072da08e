"""Orders, carts, vouchers and visits: the commerce facts shown beside a customer.

An order keeps a snapshot of its customer's name and e-mail, so it stays readable after the
customer is deleted or anonymised.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Payment accepted")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")
    PAYMENT_ERROR = "payment_error", _("Payment error")


# Statuses that count as a sale (PrestaShop's "valid" order states).
VALID_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


class Order(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    customer_first_name = models.CharField(_("first name"), max_length=255, blank=True)
    customer_last_name = models.CharField(_("last name"), max_length=255, blank=True)
    customer_email = models.CharField(_("e-mail"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    is_valid = models.BooleanField(_("valid"), default=False)
    total_products = models.DecimalField(
        _("products"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    discount_percent = models.DecimalField(
        _("group discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    discount_amount = models.DecimalField(
        _("discount"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    payment_method = models.CharField(_("payment method"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="order_discount_between_0_and_100",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="order_customer_recent"),
            # The customer page lists valid and invalid orders apart, newest first, and counts
            # and sums each: one range of this index per list. ``total`` comes last only so the
            # sums read the index alone (a covering index on SQLite and PostgreSQL alike).
            models.Index(
                fields=["customer", "is_valid", "-created_at", "-id", "total"],
                name="order_customer_split",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product_reference = models.CharField(_("product reference"), max_length=64, blank=True)
    product_name = models.CharField(_("product"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_line_price_positive"
            ),
        ]


class CartStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ABANDONED = "abandoned", _("Abandoned")
    CONVERTED = "converted", _("Converted")


class Cart(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CartStatus.choices, default=CartStatus.OPEN
    )
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="cart"
    )
    items_count = models.PositiveIntegerField(_("items"), default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(order__isnull=False),
                name="cart_converted_has_order",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="cart_customer_recent"),
            # The customer page counts a customer's carts by status from this index alone.
            models.Index(fields=["customer", "status"], name="cart_customer_status"),
        ]


class Voucher(models.Model):
    """A discount code reserved to one customer."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="vouchers"
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    percent = models.DecimalField(
        _("percent"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_used = models.BooleanField(_("used"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100),
                name="voucher_percent_between_0_and_100",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="voucher_amount_not_negative"),
        ]


class Visit(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="visits"
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    referrer = models.CharField(_("referrer"), max_length=512, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [models.Index(fields=["customer", "-created_at"], name="visit_customer_recent")]
