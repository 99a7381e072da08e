"""Import and export of customer files."""
