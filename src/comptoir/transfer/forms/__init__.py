"""Forms of the transfer screens: ``importing`` (the import wizard) and ``exporting``."""
