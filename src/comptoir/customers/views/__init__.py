"""Pages of the customers section, one module per screen family:

- ``listing``: the list, its row toggles, bulk actions and saved views;
- ``detail``: the customer page, its blocks reloaded alone (htmx) and the private note;
- ``edit``: the create and edit pages, and the customers settings page (with the titles);
- ``lifecycle``: the confirmation screens of delete, block, login, guest conversion, merge and
  the personal data export.
"""
