from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WooCommerceConfig(AppConfig):
    name = "comptoir.woocommerce"
    label = "woocommerce"
    verbose_name = _("WooCommerce compatibility")
