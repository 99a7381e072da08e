"""Models of the transfer app (none yet)."""
