"""Staff accounts, login, roles and API credentials."""
