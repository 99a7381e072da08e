"""Shared machinery only: actors and events, text folding, normalisers, bulk writes."""
