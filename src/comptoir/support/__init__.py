"""Support threads and their messages."""
