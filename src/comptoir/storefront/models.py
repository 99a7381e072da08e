"""Models of the storefront app (none yet)."""
