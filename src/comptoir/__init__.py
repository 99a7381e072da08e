"""Comptoir: the customer accounts back-office of an online shop."""
