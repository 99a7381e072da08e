"""The groups screens: the list, create, edit, and delete with its confirmation (where the
members go).

Views only read the request, call one selector or service and render; a service's refusal comes
back as a form error next to its field, on a normal page.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from comptoir.core.actors import actor_from_request
from comptoir.groups.forms import GroupDeleteForm, GroupForm
from comptoir.groups.models import Group
from comptoir.groups.selectors import group_membership, group_page
from comptoir.groups.services import group_create, group_delete, group_update


def _form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """A service's errors onto the form: next to their field, else at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    page, rows = group_page(page=request.GET.get("page"))
    return render(request, "groups/list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
def group_create_view(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            group = group_create(actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            messages.success(request, _("Group “%(name)s” created.") % {"name": group.name})
            return redirect("groups:list")
    return render(request, "groups/form.html", {"form": form, "group": None})


@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=pk)
    form = GroupForm.for_group(group, request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            group_update(group=group, actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            messages.success(request, _("Group “%(name)s” saved.") % {"name": group.name})
            return redirect("groups:list")
    return render(request, "groups/form.html", {"form": form, "group": group})


@require_http_methods(["GET", "POST"])
def group_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what deleting the group would do, and where its members go. POST: do it."""
    group = get_object_or_404(Group, pk=pk)
    form = GroupDeleteForm(request.POST if request.method == "POST" else None, group=group)
    if request.method == "POST" and not group.is_default and form.is_valid():
        name = group.name
        try:
            deletion = group_delete(
                group=group, move_to=form.cleaned_data["move_to"], actor=actor_from_request(request)
            )
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            messages.success(request, _deleted_message(name, deletion.members, form))
            return redirect("groups:list")
    return render(
        request,
        "groups/delete.html",
        {"group": group, "form": form, "membership": group_membership(group=group)},
    )


def _deleted_message(name: str, members: int, form: GroupDeleteForm) -> str:
    if not members:
        return _("Group “%(name)s” deleted.") % {"name": name}
    return ngettext(
        "Group “%(name)s” deleted; its %(count)s customer moved to “%(target)s”.",
        "Group “%(name)s” deleted; its %(count)s customers moved to “%(target)s”.",
        members,
    ) % {"name": name, "count": members, "target": form.cleaned_data["move_to"].name}
