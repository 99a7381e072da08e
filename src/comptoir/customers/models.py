"""The customer record and what hangs off it: titles, addresses, tags, group memberships and
the append-only history of marketing consents. Stored figures (orders, sales, visits) are columns
kept up to date by the order and visit services, never aggregated at read time.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from comptoir.core.models import Authored


class Language(models.TextChoices):
    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    NEUTRAL = "neutral", _("Neutral")


class Title(models.Model):
    """A social title (M., Mme, ...); the list is configured by the shop."""

    name_fr = models.CharField(_("name (French)"), max_length=32)
    name_en = models.CharField(_("name (English)"), max_length=32)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("title")
        verbose_name_plural = _("titles")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "fr").startswith("en") else self.name_fr


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64)
    name_key = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    """The marketing channels a customer consents to."""

    NEWSLETTER = "newsletter", _("Newsletter")
    PARTNER_OFFERS = "partner_offers", _("Partner offers")
    SMS = "sms", _("SMS")


class OptInLevel(models.TextChoices):
    SINGLE = "single", _("Single opt-in")
    CONFIRMED = "confirmed", _("Confirmed opt-in")
    UNKNOWN = "unknown", _("Unknown")


# What the list's summary cards read of each customer (see the "customer_summary" index).
SUMMARY_COLUMNS = ["id", "deleted_at", "anonymised_at", "created_at", "newsletter", "total_spent"]


class Customer(models.Model):
    # Identity
    # No index of its own for either key: the list's sort indexes (title_id, id) and
    # (default_group_id, id) serve their lookups, and each index costs every insert.
    title = models.ForeignKey(
        Title,
        verbose_name=_("title"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
    )
    first_name = models.CharField(_("first name"), max_length=255)
    last_name = models.CharField(_("last name"), max_length=255)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    email_key = models.CharField(max_length=254, blank=True, editable=False, db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164"))
    phone_input = models.CharField(_("phone as entered"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=20, blank=True)
    mobile_input = models.CharField(_("mobile phone as entered"), max_length=40, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.FRENCH
    )
    company = models.CharField(_("company"), max_length=255, blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    ape_code = models.CharField(_("APE/NAF code"), max_length=6, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)
    website = models.URLField(_("website"), blank=True)
    social_accounts = models.JSONField(_("social accounts"), default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=64, blank=True, db_index=True)
    # Country of the default billing address, copied here by the address services so the list can
    # filter and sort on it without a join.
    country = CountryField(_("country"), blank=True, default="", db_default="")

    # Account state
    is_guest = models.BooleanField(_("guest"), default=False)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    is_blocked = models.BooleanField(_("blocked from ordering"), default=False)
    blocked_reason = models.TextField(_("reason for blocking"), blank=True)
    blocked_at = models.DateTimeField(_("blocked on"), null=True, blank=True)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("blocked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_tax_exempt = models.BooleanField(_("tax exempt"), default=False)
    tax_exemption_ref = models.CharField(_("tax exemption reference"), max_length=64, blank=True)
    deleted_at = models.DateTimeField(_("deleted on"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo customer"), default=False)
    password = models.CharField(max_length=128, blank=True, editable=False)
    must_reset_password = models.BooleanField(default=False, editable=False)

    # Groups: the default group's price rules apply; it is always one of the groups.
    default_group = models.ForeignKey(
        "groups.Group",
        verbose_name=_("default group"),
        on_delete=models.PROTECT,
        related_name="default_for",
        db_index=False,
    )
    groups = models.ManyToManyField(
        "groups.Group", through="Membership", verbose_name=_("groups"), related_name="customers"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    # The tag names, sorted and joined, kept by the tag services: what the list shows and sorts on.
    tags_text = models.CharField(_("tags"), max_length=1000, blank=True, default="", db_default="")

    # Current consent state; the history is in ConsentRecord.
    newsletter = models.BooleanField(_("newsletter"), default=False)
    newsletter_at = models.DateTimeField(_("newsletter consent changed"), null=True, blank=True)
    partner_offers = models.BooleanField(_("partner offers"), default=False)
    partner_offers_at = models.DateTimeField(_("partner offers changed"), null=True, blank=True)
    sms = models.BooleanField(_("SMS"), default=False)
    sms_at = models.DateTimeField(_("SMS consent changed"), null=True, blank=True)

    note = models.TextField(_("private note"), blank=True)

    # Stored figures (valid orders only count towards sales).
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    invalid_orders_count = models.PositiveIntegerField(_("invalid orders"), default=0)
    total_spent = models.DecimalField(
        _("sales"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)

    created_at = models.DateTimeField(_("registration"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # Bumped by every update, for optimistic locking of concurrent edits.
    version = models.PositiveIntegerField(default=1, editable=False)
    # Accent-folded names, e-mail, phones, company, cities and postcodes, for the search index.
    search_text = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["email_key"],
                condition=Q(is_guest=False) & ~Q(email_key=""),
                name="customer_email_unique_registered",
                violation_error_message=_("A customer with this e-mail address already exists."),
            ),
            models.CheckConstraint(
                condition=Q(is_guest=True) | ~Q(email_key="") | Q(anonymised_at__isnull=False),
                name="customer_registered_has_email",
            ),
            models.CheckConstraint(
                condition=Q(is_blocked=False) | ~Q(blocked_reason=""),
                name="customer_blocked_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(total_spent__gte=0), name="customer_total_spent_not_negative"
            ),
        ]
        # One (column, id) index per sort the list offers: id breaks ties, so every sort is stable
        # and can seek. Read backwards, each also serves the descending sort.
        indexes = [
            models.Index(fields=[field, "id"], name=f"customer_sort_{field}")
            for field in (
                "title",
                "first_name",
                "last_name",
                "email",
                "default_group",
                "company",
                "total_spent",
                "orders_count",
                "is_enabled",
                "newsletter",
                "partner_offers",
                "created_at",
                "last_visit_at",
                "country",
                "tags_text",
            )
        ] + [
            # Every page asks whether the demo customer still exists: a tiny partial index
            # answers without reading a million rows (PostgreSQL scanned the table: 170 ms).
            models.Index(fields=["id"], condition=Q(is_demo=True), name="customer_demo"),
            # The summary cards of a search read each match's liveness, registration date,
            # newsletter consent and sales: from this narrow index rather than the wide rows,
            # a search matching 50,000 customers costs half as much (80 -> 47 ms on SQLite).
            models.Index(fields=SUMMARY_COLUMNS, name="customer_summary"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def average_order(self) -> Decimal:
        if not self.orders_count:
            return Decimal("0")
        return (self.total_spent / self.orders_count).quantize(Decimal("0.01"))

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Membership(models.Model):
    # No index of their own: membership_unique starts with the customer, membership_group with
    # the group (decision 0021).
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    group = models.ForeignKey(
        "groups.Group", on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "group"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["group", "customer"], name="membership_group")]


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    alias = models.CharField(_("alias"), max_length=32, blank=True)
    first_name = models.CharField(_("first name"), max_length=255)
    last_name = models.CharField(_("last name"), max_length=255)
    company = models.CharField(_("company"), max_length=255, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)
    address1 = models.CharField(_("address"), max_length=255)
    address2 = models.CharField(_("address (2)"), max_length=255, blank=True)
    postcode = models.CharField(_("postcode"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=128)
    state = models.CharField(_("state/province"), max_length=64, blank=True)
    country = CountryField(_("country"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_default_shipping = models.BooleanField(_("default shipping address"), default=False)
    is_default_billing = models.BooleanField(_("default billing address"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default_shipping=True),
                name="address_one_default_shipping",
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default_billing=True),
                name="address_one_default_billing",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(p for p in [self.address1, self.postcode, self.city] if p)


class ConsentRecord(Authored):
    """One change of a marketing consent. Append-only: rows are never updated."""

    # No index of its own: consent_history starts with it (decision 0021).
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    granted = models.BooleanField(_("given"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    opt_in_level = models.CharField(
        _("opt-in level"), max_length=10, choices=OptInLevel.choices, default=OptInLevel.UNKNOWN
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [
            models.Index(fields=["customer", "channel", "-created_at"], name="consent_history")
        ]


class DeleteMode(models.TextChoices):
    """How a customer is deleted (PRODUCT §3): the choice is made each time, with a default."""

    ALLOW_REREGISTRATION = "allow", _("Delete, allow re-registration")
    DENY_REREGISTRATION = "deny", _("Delete, deny re-registration")
    ANONYMISE = "anonymise", _("Anonymise (keep orders and statistics)")


class BulkAction(models.TextChoices):
    """What staff can do at once to the customers selected in the list."""

    ENABLE = "enable", _("Enable")
    DISABLE = "disable", _("Disable")
    NEWSLETTER_ON = "newsletter_on", _("Subscribe to the newsletter")
    NEWSLETTER_OFF = "newsletter_off", _("Unsubscribe from the newsletter")
    PARTNER_OFFERS_ON = "partner_offers_on", _("Opt in to partner offers")
    PARTNER_OFFERS_OFF = "partner_offers_off", _("Opt out of partner offers")
    ADD_GROUP = "add_group", _("Add to a group")
    REMOVE_GROUP = "remove_group", _("Remove from a group")
    RESET_GROUPS = "reset_groups", _("Keep only the default group")
    TAX_EXEMPT_ON = "tax_exempt_on", _("Make tax exempt")
    TAX_EXEMPT_OFF = "tax_exempt_off", _("Remove tax exemption")
    BLOCK = "block", _("Block from ordering")
    UNBLOCK = "unblock", _("Unblock")
    ADD_TAG = "add_tag", _("Add a tag")
    REMOVE_TAG = "remove_tag", _("Remove a tag")
    DELETE = "delete", _("Delete")


class ListPreference(models.Model):
    """How a staff member last arranged the customers list: which columns, in which order, and
    how many rows a page. The URL can still say otherwise; this is what a bare /customers/ shows.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="customer_list_preference",
    )
    columns = models.JSONField(_("columns"), default=list, blank=True)
    per_page = models.PositiveSmallIntegerField(_("rows per page"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer list preference")
        verbose_name_plural = _("customer list preferences")


class SavedView(models.Model):
    """A named state of the customers list (search, filters, sort, columns, page size), kept as
    the query string of the list page so that opening it is a redirect."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="customer_saved_views",
    )
    name = models.CharField(_("name"), max_length=100)
    query = models.TextField(_("query string"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class RequirableField(models.TextChoices):
    """Optional parts of a customer that the shop can make required when staff create one."""

    TITLE = "title", _("Title")
    BIRTHDAY = "birthday", _("Birthday")
    PHONE = "phone", _("Phone")
    MOBILE = "mobile", _("Mobile phone")
    COMPANY = "company", _("Company")
    SIRET = "siret", _("SIRET")
    VAT_NUMBER = "vat_number", _("VAT number")
    ADDRESS = "address", _("At least one address")
    NEWSLETTER = "newsletter", _("Newsletter choice")
    PARTNER_OFFERS = "partner_offers", _("Partner offers choice")
    SMS = "sms", _("SMS choice")


class CustomerSettings(models.Model):
    """The shop's settings for customers, one row (id 1): what staff must fill in when they
    create a customer, and the delete mode offered first. The titles list is ``Title``."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    required_fields = models.JSONField(_("required on creation"), default=list, blank=True)
    # Blank until someone chooses: then the server's COMPTOIR_DELETE_MODE applies.
    delete_mode = models.CharField(
        _("default delete mode"), max_length=16, choices=DeleteMode.choices, blank=True
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("customer settings")
        verbose_name_plural = _("customer settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="customer_settings_singleton"),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    def requires(self, field: str) -> bool:
        return field in (self.required_fields or [])
