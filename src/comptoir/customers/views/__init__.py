"""Pages of the customers section, one module per screen family:

- ``listing``: the list, its row toggles, bulk actions and saved views.
"""
