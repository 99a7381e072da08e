"""Customers: the customer record, addresses, consents, tags, notes and the timeline."""
