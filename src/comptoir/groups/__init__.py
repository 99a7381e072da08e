"""Customer groups: discounts, price display and the default group."""
