"""Reads of groups."""

from comptoir.groups.models import Group


def group_default() -> Group:
    """The default group; there is always exactly one (the demo or the first migration makes it)."""
    return Group.objects.get(is_default=True)
