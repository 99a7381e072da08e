"""The file formats of other platforms (and Comptoir's own), one small module per platform.

``comptoir`` defines Comptoir's own columns (shared by export and import); each other module
declares how a platform's header maps onto Comptoir's fields. ``registry`` lists them for
detection.
"""
