"""The admin toolkit every app's ``admin.py`` shares; it registers nothing.

Admin code only validates input, calls one service and reports what it did. Actions that change
state go through a confirmation page (:func:`confirmation_page`) that posts the selection back to
the changelist, like Django's own delete confirmation; records written only by services are shown
with :class:`ViewOnlyAdmin` and :class:`ReadOnlyInline`; holds and orders read with the lapse rule
applied through :class:`StatusNowFilter` and :func:`status_now`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

#: How many objects a confirmation page or a message lists by name before "… and N more".
LIST_LIMIT = 50


def name_list(names: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """``"a, b, c"``; past ``limit`` names: ``"a, b, … and 7 more"`` (in the active language)."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    more = len(names) - limit
    return ngettext("%(names)s, … and %(n)s more", "%(names)s, … and %(n)s more", more) % {
        "names": ", ".join(names[:limit]),
        "n": more,
    }


def count_of(queryset: QuerySet, fk: str, field: str = "pk") -> Coalesce:
    """A correlated ``COUNT(DISTINCT field)`` of ``queryset`` rows whose ``fk`` is the outer row.

    Used to annotate changelists without joining (and multiplying) several related tables:
    one subquery per column, no query per row.
    """
    counted = (
        queryset.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count(field, distinct=True))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def count_column(annotation: str, description: Any) -> Callable[[Any, Any], int]:
    """A changelist column (a method of the admin) showing the count that the admin's
    ``get_queryset`` annotated as ``annotation`` (with :func:`count_of`), sortable by it.
    ``description`` is the column's header, a lazy translation (``gettext_lazy``)."""

    @admin.display(description=description, ordering=annotation)
    def column(_model_admin: Any, obj: Any) -> int:
        return getattr(obj, annotation)

    return column


def may_change(model_admin: admin.ModelAdmin, request: HttpRequest) -> bool:
    """Whether the user holds the change permission on ``model_admin``'s model: what the actions of
    a :class:`ViewOnlyAdmin` (whose own ``has_change_permission`` is always false) require."""
    opts = model_admin.opts
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")


class Lapsing(Protocol):
    """A hold or an order as :func:`status_now` reads it (the models mix in ``seats.lapse``).

    ``LAPSED_STATUS`` is read-only here: the models set it as a class attribute, a member of their
    ``Status`` choices (a ``str``)."""

    @property
    def LAPSED_STATUS(self) -> str: ...

    status: str

    def get_status_display(self) -> str: ...

    def is_lapsed(self, now: datetime | None = None) -> bool: ...


class StatusNowFilter(admin.SimpleListFilter):
    """ "By status" of holds or orders as they read now, lapse rule applied: ``expired`` includes
    the lapsed holds/orders not yet recorded by the cleanup, and ``active``/``pending`` excludes
    them. It keeps the ``status__exact`` parameter of the plain field filter it replaces; the
    model's queryset provides ``filter_effective_status``."""

    title = _("status")
    parameter_name = "status__exact"

    def lookups(self, request, model_admin):
        return model_admin.model.Status.choices

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter_effective_status(value)


def status_label(model: type[Model], status: str) -> str:
    """The label of ``status`` (a value of ``model.Status``) in the active language; the value
    itself if it is not one."""
    return str(dict(model.Status.choices).get(status, status))  # type: ignore[attr-defined]


def status_now(obj: Lapsing, now: datetime | None = None) -> str:
    """A hold's or order's status for staff pages (its label in the active language), lapse rule
    applied: a lapsed one reads ``expired`` and says that the cleanup has not recorded it yet."""
    if obj.is_lapsed(now):
        return gettext("%(status)s (lapsed, not yet recorded)") % {
            "status": status_label(type(obj), obj.LAPSED_STATUS)  # type: ignore[arg-type]
        }
    return obj.get_status_display()


_Filter = TypeVar("_Filter", bound=admin.ListFilter)


def titled(filter_class: type[_Filter], title: Any) -> type[_Filter]:
    """``filter_class`` with another title ("By category" instead of the field's "By name");
    ``title`` is a lazy translation."""

    def __init__(self: _Filter, *args: Any, **kwargs: Any) -> None:
        super(titled_class, self).__init__(*args, **kwargs)
        self.title = title

    # Made with type(): a class statement cannot take a variable as its base for mypy.
    titled_class = cast("type[_Filter]", type("Titled", (filter_class,), {"__init__": __init__}))
    return titled_class


def is_confirmed(request: HttpRequest) -> bool:
    """True for the POST from a confirmation page (its "Yes" button sends ``post=yes``)."""
    return request.method == "POST" and request.POST.get("post") == "yes"


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    intro: str,
    items: Sequence[str],
    submit_label: str,
    form: forms.Form | None = None,
    note: str = "",
) -> TemplateResponse:
    """The intermediate page of an admin action: what will be changed, an optional form, and a
    "Yes" button that posts the same selection back to the changelist with ``post=yes``.

    The selection is posted back as received (``_selected_action`` ids and ``select_across``) to
    the same URL (which keeps the changelist's filters), so "select all N" works without listing
    every id in the page. ``items`` are shown up to :data:`LIST_LIMIT`.
    """
    opts = modeladmin.model._meta
    media = modeladmin.media + form.media if form is not None else modeladmin.media
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "app_label": opts.app_label,
        "intro": intro,
        "note": note,
        "items": list(items)[:LIST_LIMIT],
        "more": max(0, len(items) - LIST_LIMIT),
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "submit_label": submit_label,
        "media": media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        [
            f"admin/{opts.app_label}/{opts.model_name}/action_confirmation.html",
            "admin/action_confirmation.html",
        ],
        context,
    )


class ReadOnlyInline(admin.TabularInline):
    """An inline that only shows rows: no add, change or delete; every field read-only."""

    extra = 0
    can_delete = False
    show_change_link = False
    template = "admin/edit_inline/tabular_plain.html"

    def get_readonly_fields(self, request, obj=None):
        return self.fields or ()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records written only by the services: staff may look (and run the admin's actions, which
    call services and check :func:`may_change`), never add, change or delete them here."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
