"""WooCommerce REST API v3 compatibility: the customers endpoints under /wp-json/wc/v3/ and the
consumer key pairs that authenticate them (see docs/decisions/0011-woocommerce-compatibility.md).
"""
