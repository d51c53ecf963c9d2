"""The staff side of seat inventory in the Django admin ("Seatline box office").

Admin code here only validates input, calls one service and reports what it did; the rules live
in :mod:`seats.importer` (plan import), :mod:`seats.services` (inventory, blocks, holds) and
:mod:`orders.services`. Every seat change therefore takes the same locks, writes the same audit
trail (``SeatEvent``) and publishes the same ``seats.changed`` frames after commit as the API.

What staff can do here:

- **Catalogue**: venues; seating plans, added by uploading a pretix seating-plan JSON file and
  read-only afterwards (the seats come from the file); shows; showtimes with their prices. Adding
  a showtime creates its inventory (one ``ShowtimeSeat`` per plan seat).
- **Seats of a showtime**: block selected seats, their whole rows or whole zones (with a reason),
  unblock them. Seats that are held, reserved, sold or already blocked are skipped and listed.
- **Holds**: force-release a buyer's active hold.
- **Audit trail**: ``SeatEvent`` rows, view only, also shown on the seat and linked from the
  showtime.

Actions that change state go through a confirmation page (:func:`confirmation_page`) that posts
the selection back to the changelist, like Django's own delete confirmation; the helpers here are
shared with ``orders/admin.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ticketing.errors import ApplicationError

from .importer import PlanError, plan_import
from .lapse import Lapsing
from .models import (
    Hold,
    PlanCategory,
    Seat,
    SeatClaim,
    SeatEvent,
    SeatingPlan,
    SeatStatus,
    Show,
    Showtime,
    ShowtimePrice,
    ShowtimeSeat,
    Venue,
)
from .selectors import effective_state, showtime_counts
from .services import hold_force_release, inventory_create, seats_block, seats_unblock

admin.site.site_header = "Seatline box office"
admin.site.site_title = "Seatline box office"
admin.site.index_title = "Venues, showtimes, seats and orders"


# --- Shared helpers (also used by orders/admin.py) ------------------------------------------------

#: How many objects a confirmation page or a message lists by name before "… and N more".
LIST_LIMIT = 50


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 seat"``, ``"3 seats"``."""
    return f"{n} {singular if n == 1 else plural_form or singular + 's'}"


def name_list(names: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """``"a, b, c"``; past ``limit`` names: ``"a, b, … and 7 more"``."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", … and {len(names) - limit} more"


def count_of(queryset: QuerySet, fk: str, field: str = "pk") -> Coalesce:
    """A correlated ``COUNT(DISTINCT field)`` of ``queryset`` rows whose ``fk`` is the outer row.

    Used to annotate changelists without joining (and multiplying) several related tables:
    one subquery per column, no query per row.
    """
    counted = (
        queryset.filter(**{fk: OuterRef("pk")}).order_by().values(fk)
        .annotate(n=Count(field, distinct=True)).values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class StatusNowFilter(admin.SimpleListFilter):
    """"By status" of holds or orders as they read now, lapse rule applied (:mod:`seats.lapse`):
    ``expired`` includes the lapsed holds/orders not yet recorded by the cleanup, and
    ``active``/``pending`` excludes them. It keeps the ``status__exact`` parameter of the plain
    field filter it replaces."""

    title = "status"
    parameter_name = "status__exact"

    def lookups(self, request, model_admin):
        return model_admin.model.Status.choices

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter_effective_status(value)


def status_now(obj: Lapsing, now: datetime | None = None) -> str:
    """A hold's or order's status for staff pages, lapse rule applied (:mod:`seats.lapse`): a
    lapsed one reads ``expired`` and says that the cleanup has not recorded it yet."""
    if obj.is_lapsed(now):
        return f"{obj.LAPSED_STATUS} (lapsed, not yet recorded)"
    return obj.status


def titled(filter_class: type[admin.FieldListFilter], title: str) -> type[admin.FieldListFilter]:
    """``filter_class`` with another title ("By category" instead of the field's "By name")."""

    class Titled(filter_class):  # type: ignore[valid-type,misc]  # a subclass of the argument
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


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
        [f"admin/{opts.app_label}/{opts.model_name}/action_confirmation.html",
         "admin/action_confirmation.html"],
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
    call services), never add, change or delete them here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SeatEventInline(ReadOnlyInline):
    """The audit trail of one showtime seat, oldest first (shown on the seat's page)."""

    model = SeatEvent
    fk_name = "showtime_seat"
    fields: ClassVar[tuple[str, ...]] = ("at", "from_status", "to_status", "reason", "actor_kind", "actor", "hold", "order",
              "note")
    verbose_name = "audit trail entry"
    verbose_name_plural = "audit trail"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "order", "hold")


# --- Catalogue ------------------------------------------------------------------------------------


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    """Venues; add one here before uploading its seating plans."""

    list_display = ("name", "plan_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            plans_n=count_of(SeatingPlan.objects.all(), "venue"))

    @admin.display(description="seating plans", ordering="plans_n")
    def plan_count(self, obj: Venue) -> int:
        return obj.plans_n  # type: ignore[attr-defined]  # annotated by get_queryset


class SeatingPlanImportForm(forms.ModelForm):
    """Add a seating plan by uploading a pretix seating-plan JSON file (like the
    ``import_seating_plan`` command).

    Validation *is* the import: :func:`seats.importer.plan_import` checks the whole file before it
    writes anything and stores venue, plan, categories and seats in one transaction; a
    :class:`~seats.importer.PlanError` becomes an error on the file field, naming the problem
    (e.g. ``zones[0].rows[1].seats[3]: missing key 'seat_guid'.``), and nothing is written.
    """

    venue = forms.ModelChoiceField(queryset=Venue.objects.order_by("name"))
    name = forms.CharField(
        max_length=200, required=False, label="Plan name",
        help_text="Leave empty to use the name in the file.",
    )
    plan_file = forms.FileField(
        label="Seating plan (pretix JSON)",
        help_text="A pretix seating-plan export: zones → rows → seats with seat_guid and category.",
    )

    class Meta:
        model = SeatingPlan
        fields: list[str] = []

    imported: SeatingPlan | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean() returns cleaned_data
        if self.errors:
            return cleaned
        upload = cleaned["plan_file"]
        raw = b"".join(upload.chunks())
        try:
            self.imported = plan_import(raw=raw, venue_name=cleaned["venue"].name,
                                        plan_name=cleaned.get("name") or None)
        except PlanError as exc:
            raise ValidationError(
                {"plan_file": f"{upload.name}: {exc} Nothing was imported."}) from exc
        return cleaned

    def _post_clean(self) -> None:
        """Skip the model instance's validation: the form does not fill an instance (the import
        creates the plan) and the import has already validated everything."""

    def save(self, commit: bool = True) -> SeatingPlan:
        """Return the plan stored by :meth:`clean` (there is nothing left to save)."""
        assert self.imported is not None  # stored by clean()
        self.instance = self.imported
        return self.imported

    def save_m2m(self) -> None:
        """No many-to-many fields; present because the admin calls it after :meth:`save`."""


class PlanCategoryInline(ReadOnlyInline):
    """The price categories of a plan, with their seat counts (read-only: from the file)."""

    model = PlanCategory
    fields = ("rank", "name", "color", "seat_count")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(seats_n=count_of(Seat.objects.all(),
                                                                       "category"))

    @admin.display(description="seats")
    def seat_count(self, obj: PlanCategory) -> int:
        return obj.seats_n  # type: ignore[attr-defined]  # annotated by get_queryset


@admin.register(SeatingPlan)
class SeatingPlanAdmin(admin.ModelAdmin):
    """Seating plans: added by upload (:class:`SeatingPlanImportForm`), read-only afterwards.

    The changelist counts seats, zones, categories and showtimes per plan with correlated
    subqueries (:func:`count_of`): the same number of queries for any number of plans.
    """

    list_display = ("name", "venue", "seat_count", "zone_count", "category_count",
                    "showtime_count", "created_at")
    list_filter = ("venue",)
    list_select_related = ("venue",)
    search_fields = ("name", "venue__name")
    inlines = (PlanCategoryInline,)
    readonly_fields = ("venue", "name", "width", "height", "created_at", "seat_count",
                       "zone_count", "category_count", "new_showtime_link")

    def get_queryset(self, request):
        seats = Seat.objects.all()
        return super().get_queryset(request).annotate(
            seats_n=count_of(seats, "plan"),
            zones_n=count_of(seats, "plan", "zone"),
            categories_n=count_of(PlanCategory.objects.all(), "plan"),
            showtimes_n=count_of(Showtime.objects.all(), "plan"),
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return SeatingPlanImportForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["venue", "name", "plan_file"]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return False  # the seats come from the file: import a new plan instead

    def save_model(self, request, obj, form, change):
        """Nothing to do: the upload form's validation already imported the plan."""

    def response_add(self, request, obj, post_url_continue=None):
        """Say what the upload imported, then continue as usual (to the plan's page)."""
        zones = obj.seats.values("zone").distinct().count()
        self.message_user(
            request,
            f"Imported {plural(obj.seats.count(), 'seat')} in {plural(zones, 'zone')} and "
            f"{plural(obj.categories.count(), 'category', 'categories')} "
            f"as plan “{obj.name}” of {obj.venue}.",
            messages.SUCCESS,
        )
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="seats", ordering="seats_n")
    def seat_count(self, obj: SeatingPlan) -> int:
        return obj.seats_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="zones", ordering="zones_n")
    def zone_count(self, obj: SeatingPlan) -> int:
        return obj.zones_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="categories", ordering="categories_n")
    def category_count(self, obj: SeatingPlan) -> int:
        return obj.categories_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="showtimes", ordering="showtimes_n")
    def showtime_count(self, obj: SeatingPlan) -> int:
        return obj.showtimes_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="new showtime")
    def new_showtime_link(self, obj: SeatingPlan) -> str:
        url = reverse("admin:seats_showtime_add") + f"?plan={obj.pk}"
        return format_html('<a href="{}">Add a showtime on this plan (prices pre-filled)</a>', url)


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin):
    """What is sold; its showtimes are managed under Showtimes."""

    list_display = ("title", "showtime_count")
    search_fields = ("title",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            showtimes_n=count_of(Showtime.objects.all(), "show"))

    @admin.display(description="showtimes", ordering="showtimes_n")
    def showtime_count(self, obj: Show) -> int:
        return obj.showtimes_n  # type: ignore[attr-defined]  # annotated by get_queryset


class ShowtimePriceFormSet(BaseInlineFormSet):
    """Prices of a showtime: every category of its plan exactly once, none of another plan.

    A category given twice is refused by the formset's own unique check (the model's
    ``price_unique_category_per_showtime`` constraint) before :meth:`clean` runs.
    """

    def add_fields(self, form, index):
        """On an existing showtime the plan is fixed: offer only its categories."""
        super().add_fields(form, index)
        if self.instance.pk and "category" in form.fields:
            form.fields["category"].queryset = form.fields["category"].queryset.filter(
                plan_id=self.instance.plan_id)

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        plan_id = self.instance.plan_id
        if plan_id is None:
            return  # the plan field itself is invalid; its error is shown there
        chosen = [
            form.cleaned_data for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = []
        foreign = [c["category"] for c in chosen if c["category"].plan_id != plan_id]
        if foreign:
            problems.append(
                "These categories belong to another seating plan: "
                + name_list([f"{c.name} ({c.plan})" for c in foreign]) + "."
            )
        names = [c["category"].name for c in chosen if c["category"].plan_id == plan_id]
        negative = [c["category"].name for c in chosen if c["price"] < 0]
        if negative:
            problems.append(f"Prices cannot be negative: {name_list(negative)}.")
        missing = list(
            PlanCategory.objects.filter(plan_id=plan_id).exclude(name__in=names)
            .values_list("name", flat=True)
        )
        if missing:
            problems.append(
                f"Every category of the seating plan needs exactly one price; missing: "
                f"{name_list(missing)}."
            )
        if problems:
            raise ValidationError(problems)


class ShowtimePriceInline(admin.TabularInline):
    """The price per plan category, in the showtime's currency."""

    model = ShowtimePrice
    formset = ShowtimePriceFormSet
    fields = ("category", "price")
    min_num = 1
    verbose_name = "price"
    template = "admin/edit_inline/tabular_plain.html"

    def get_extra(self, request, obj=None, **kwargs):
        if obj is not None:
            return 0
        plan_id = request.GET.get("plan")
        if plan_id and plan_id.isdigit():
            return max(0, PlanCategory.objects.filter(plan_id=plan_id).count() - self.min_num)
        return 3

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "category":
            assert isinstance(field, forms.ModelChoiceField) and field.queryset is not None
            field.queryset = field.queryset.select_related("plan__venue").order_by(
                "plan__venue__name", "plan__name", "rank")
            field.label_from_instance = lambda c: f"{c.name} ({c.plan})"  # type: ignore[method-assign,assignment]  # Django's documented way
        return field


@admin.register(Showtime)
class ShowtimeAdmin(admin.ModelAdmin):
    """Showtimes with their prices. Adding one creates its inventory.

    Staff set the sales rules per showtime: ``hold_ttl``, ``max_seats_per_order`` and the
    per-buyer seat cap ``max_seats_per_buyer`` (empty: the same as ``max_seats_per_order``); a new
    showtime starts from the settings ``HOLD_TTL_SECONDS`` and ``MAX_SEATS_PER_ORDER``.

    The changelist counts sold, held and available seats per showtime with correlated subqueries
    that apply the lazy expiry of :func:`seats.selectors.effective_state` (a lapsed hold or
    unpaid order counts as available).
    """

    list_display = ("show", "venue", "starts_at", "status", "sold_count", "held_count",
                    "available_count")
    list_display_links = ("show", "starts_at")
    list_filter = ("status", "show", "plan__venue")
    list_select_related = ("show", "plan__venue")
    search_fields = ("show__title", "plan__name", "plan__venue__name")
    date_hierarchy = "starts_at"
    inlines = (ShowtimePriceInline,)
    fieldsets = (
        (None, {"fields": ("show", "plan", "starts_at", "status")}),
        ("Sales", {"fields": ("currency", "hold_ttl", "max_seats_per_order",
                              "max_seats_per_buyer", "sales_start", "sales_end")}),
    )
    change_fieldsets = (
        ("Seats", {"fields": ("seat_counts", "seats_link", "audit_trail_link", "sales_link")}),
    )

    def get_queryset(self, request):
        now = timezone.now()
        seats = ShowtimeSeat.objects.all()
        lapsed = Q(status__in=(SeatStatus.HELD, SeatStatus.RESERVED), expires_at__lte=now)
        return super().get_queryset(request).annotate(
            sold_n=count_of(seats.filter(status=SeatStatus.SOLD), "showtime"),
            held_n=count_of(seats.filter(Q(status=SeatStatus.HELD) & ~lapsed), "showtime"),
            available_n=count_of(seats.filter(Q(status=SeatStatus.AVAILABLE) | lapsed),
                                 "showtime"),
        )

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets + (self.change_fieldsets if obj is not None else ())

    def has_delete_permission(self, request, obj=None):
        """Showtimes are closed or cancelled (status), never deleted: their seats, holds and
        audit trail would go with them."""
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("plan", "seat_counts", "seats_link", "audit_trail_link", "sales_link")

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """On "add a showtime on this plan" (``?plan=<id>``): one price row per plan category."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        plan_id = request.GET.get("plan", "")
        if (isinstance(inline, ShowtimePriceInline) and request.method == "GET"
                and obj.pk is None and plan_id.isdigit()):
            kwargs["initial"] = [
                {"category": pk} for pk in
                PlanCategory.objects.filter(plan_id=plan_id).values_list("pk", flat=True)
            ]
        return kwargs

    def save_related(self, request, form, formsets, change):
        """Save the prices, then (on add) create the inventory: one seat per plan seat.

        Runs inside the admin's transaction, so showtime, prices and seats appear together.
        """
        super().save_related(request, form, formsets, change)
        if not change:
            created = inventory_create(form.instance)
            self.message_user(request, f"Created the inventory: {plural(created, 'seat')}.",
                              messages.SUCCESS)

    @admin.display(description="venue", ordering="plan__venue__name")
    def venue(self, obj: Showtime) -> Venue:
        return obj.plan.venue

    @admin.display(description="sold", ordering="sold_n")
    def sold_count(self, obj: Showtime) -> int:
        return obj.sold_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="held", ordering="held_n")
    def held_count(self, obj: Showtime) -> int:
        return obj.held_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="available", ordering="available_n")
    def available_count(self, obj: Showtime) -> int:
        return obj.available_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="seats now")
    def seat_counts(self, obj: Showtime) -> str:
        counts = showtime_counts(obj.pk)
        return ", ".join(f"{status}: {n}" for status, n in counts.items())

    @admin.display(description="seat list")
    def seats_link(self, obj: Showtime) -> str:
        url = reverse("admin:seats_showtimeseat_changelist") + f"?showtime__id__exact={obj.pk}"
        return format_html('<a href="{}">Seats of this showtime (block, unblock)</a>', url)

    @admin.display(description="audit trail")
    def audit_trail_link(self, obj: Showtime) -> str:
        url = reverse("admin:seats_seatevent_changelist") + f"?showtime__id__exact={obj.pk}"
        return format_html('<a href="{}">Audit trail ({})</a>', url, obj.seat_events.count())

    @admin.display(description="sales")
    def sales_link(self, obj: Showtime) -> str:
        url = reverse("sales-page", kwargs={"showtime_id": obj.pk})
        return format_html('<a href="{}">Live sales overview</a>', url)


# --- Seats of a showtime --------------------------------------------------------------------------


class BlockReasonForm(forms.Form):
    """Why staff block seats; kept on the seats (``block_reason``) and in the audit trail."""

    reason = forms.CharField(
        max_length=200,
        help_text="E.g. “camera platform”, “broken seat”, “held back for the artist”.",
        widget=forms.TextInput(attrs={"size": 60, "autofocus": True}),
    )


def seats_around(queryset: QuerySet, scope: str) -> QuerySet:
    """All seats of the same showtime and zone (``scope="zone"``) or showtime, zone and row
    (``scope="row"``) as the seats in ``queryset``."""
    keys = ["showtime_id", "seat__zone"] + (["seat__row"] if scope == "row" else [])
    match = Q(pk__in=[])
    for values in queryset.order_by().values_list(*keys).distinct():
        match |= Q(**dict(zip(keys, values, strict=True)))
    return ShowtimeSeat.objects.filter(match)


def _status_now(row: ShowtimeSeat, now: datetime) -> str:
    status, _ = effective_state(row.status, row.version, row.expires_at, now)
    return status if status == row.status else f"{status} (the {row.status} seat lapsed)"


@admin.register(ShowtimeSeat)
class ShowtimeSeatAdmin(ViewOnlyAdmin):
    """The inventory rows of showtimes: view only, changed only through the actions.

    Actions: block the selected seats, their whole rows or their whole zones (asking for a reason
    on a confirmation page), unblock them. Each calls :func:`seats.services.seats_block` /
    :func:`~seats.services.seats_unblock` once per showtime; seats that are held, reserved, sold or
    already blocked are skipped by the service and listed by label in the message. The service
    publishes ``seats.changed`` after commit and writes the audit trail (actor: the staff user).
    """

    list_display = ("label", "zone", "row", "category", "status_now", "version", "block_reason",
                    "showtime")
    list_filter = (
        "status",
        ("seat__zone", titled(admin.AllValuesFieldListFilter, "zone")),
        ("seat__category__name", titled(admin.AllValuesFieldListFilter, "category")),
        "showtime",
    )
    list_select_related = ("seat__category", "showtime__show")
    search_fields = ("seat__label",)
    ordering = ("showtime_id", "seat_id")
    fields = ("showtime", "label", "zone", "row", "category", "status_now", "version",
              "expires_at", "block_reason")
    readonly_fields = fields
    inlines = (SeatEventInline,)
    actions = ("block_seats", "block_rows", "block_zones", "unblock_seats")


    def has_block_permission(self, request: HttpRequest) -> bool:
        """Blocking and unblocking need the change permission on showtime seats."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.display(description="label", ordering="seat__label")
    def label(self, obj: ShowtimeSeat) -> str:
        return obj.seat.label

    @admin.display(description="zone", ordering="seat__zone")
    def zone(self, obj: ShowtimeSeat) -> str:
        return obj.seat.zone

    @admin.display(description="row", ordering="seat__row")
    def row(self, obj: ShowtimeSeat) -> str:
        return obj.seat.row

    @admin.display(description="category", ordering="seat__category__name")
    def category(self, obj: ShowtimeSeat) -> str:
        return obj.seat.category.name

    @admin.display(description="status", ordering="status")
    def status_now(self, obj: ShowtimeSeat) -> str:
        return _status_now(obj, timezone.now())

    # Actions ------------------------------------------------------------------------------------

    @admin.action(description="Block selected seats", permissions=["block"])
    def block_seats(self, request, queryset):
        return self._block(request, queryset, scope="seat", action="block_seats")

    @admin.action(description="Block the whole row(s) of the selected seats",
                  permissions=["block"])
    def block_rows(self, request, queryset):
        return self._block(request, queryset, scope="row", action="block_rows")

    @admin.action(description="Block the whole zone(s) of the selected seats",
                  permissions=["block"])
    def block_zones(self, request, queryset):
        return self._block(request, queryset, scope="zone", action="block_zones")

    @admin.action(description="Unblock selected seats", permissions=["block"])
    def unblock_seats(self, request, queryset):
        """Unblock the selected seats (no confirmation: it only makes seats sellable again)."""
        results = []
        for showtime_id, pks in self._by_showtime(queryset):
            try:
                results.append((showtime_id, *seats_unblock(showtime_id=showtime_id,
                                                            seat_pks=pks, staff=request.user)))
            except ApplicationError as err:
                self._report_failure(request, showtime_id, "unblocked", err)
        self._report(request, results, verb="Unblocked",
                     skipped_why="that {are} not blocked")

    def _block(self, request: HttpRequest, queryset: QuerySet[ShowtimeSeat], *, scope: str,
               action: str) -> TemplateResponse | None:
        """Ask for the reason (confirmation page), then block the seats of ``scope`` around the
        selection: ``seat`` (the selection itself), ``row`` or ``zone``."""
        targets = queryset if scope == "seat" else seats_around(queryset, scope)
        form = BlockReasonForm(request.POST if is_confirmed(request) else None)
        if is_confirmed(request) and form.is_valid():
            reason = form.cleaned_data["reason"]
            results = []
            for showtime_id, pks in self._by_showtime(targets):
                try:
                    results.append((showtime_id, *seats_block(
                        showtime_id=showtime_id, seat_pks=pks, reason=reason, staff=request.user)))  # type: ignore[arg-type]  # staff only
                except ApplicationError as err:
                    self._report_failure(request, showtime_id, "blocked", err)
            self._report(request, results, verb="Blocked",
                         skipped_why="that {are} held, reserved, sold or already blocked")
            return None
        rows = list(targets.select_related("seat", "showtime__show").order_by("showtime_id",
                                                                               "seat_id"))
        what = {"seat": "the selected seats", "row": "the whole row(s) of the selected seats",
                "zone": "the whole zone(s) of the selected seats"}[scope]
        return confirmation_page(
            self, request, action=action, form=form,
            title=f"Block {what}",
            intro=f"Block {what}: {plural(len(rows), 'seat')}. Seats that are held, reserved, "
                  f"sold or already blocked will be skipped and listed.",
            items=self._describe(rows, scope),
            submit_label=f"Block {plural(len(rows), 'seat')}",
        )

    @staticmethod
    def _describe(rows: list[ShowtimeSeat], scope: str) -> list[str]:
        """Lines of the confirmation page: one per seat, or one per row/zone with its counts."""
        now = timezone.now()
        several = len({r.showtime_id for r in rows}) > 1
        if scope == "seat":
            return [f"{r.seat.label} — {_status_now(r, now)}" + (f" — {r.showtime}" if several
                                                                   else "") for r in rows]
        groups: dict[tuple, list[ShowtimeSeat]] = defaultdict(list)
        for r in rows:
            key = (r.showtime, r.seat.zone) + ((r.seat.row,) if scope == "row" else ())
            groups[key].append(r)
        lines = []
        for key, seats in groups.items():
            free = sum(1 for r in seats if _status_now(r, now).startswith(SeatStatus.AVAILABLE))
            where = f"{key[1]}, row {key[2]}" if scope == "row" else f"zone {key[1]}"
            lines.append(f"{where} — {plural(len(seats), 'seat')}, {free} available now"
                         + (f" — {key[0]}" if several else ""))
        return lines

    @staticmethod
    def _by_showtime(queryset: QuerySet) -> list[tuple[int, list[int]]]:
        """``[(showtime_id, [showtime seat pks])]``: the services work on one showtime at a time."""
        grouped: dict[int, list[int]] = defaultdict(list)
        for pk, showtime_id in queryset.order_by("pk").values_list("pk", "showtime_id"):
            grouped[showtime_id].append(pk)
        return sorted(grouped.items())

    def _report_failure(self, request: HttpRequest, showtime_id: int, verb: str,
                        err: ApplicationError) -> None:
        showtime = Showtime.objects.select_related("show").filter(pk=showtime_id).first()
        self.message_user(request, f"{showtime}: no seats were {verb}: {err.message}",
                          messages.ERROR)

    def _report(self, request: HttpRequest, results: Iterable[tuple[int, list[str], list[str]]], *,
                verb: str, skipped_why: str) -> None:
        """One message for the seats changed, one listing the skipped seats by label (grouped by
        showtime when the selection spans several)."""
        results = list(results)
        done = sum(len(changed) for _, changed, _ in results)
        self.message_user(request, f"{verb} {plural(done, 'seat')}.",
                          messages.SUCCESS if done else messages.WARNING)
        skipped = [(showtime_id, labels) for showtime_id, _, labels in results if labels]
        if not skipped:
            return
        count = sum(len(labels) for _, labels in skipped)
        if len(skipped) == 1:
            listing = name_list(skipped[0][1])
        else:
            names = Showtime.objects.select_related("show").in_bulk([s for s, _ in skipped])
            listing = "; ".join(f"{names[s]}: {name_list(labels)}" for s, labels in skipped)
        why = skipped_why.format(are="is" if count == 1 else "are")
        self.message_user(request, f"Skipped {plural(count, 'seat')} {why}: {listing}",
                          messages.WARNING)


# --- Holds ----------------------------------------------------------------------------------------


@admin.register(Hold)
class HoldAdmin(ViewOnlyAdmin):
    """Buyers' holds: view only; staff can force-release active ones (confirmation page, then
    :func:`seats.services.hold_force_release` per hold, which frees and broadcasts the seats)."""

    list_display = ("id", "user", "showtime", "status_now", "seat_count", "expires_at",
                    "created_at")
    list_filter = (StatusNowFilter,)
    list_select_related = ("user", "showtime__show")
    search_fields = ("id", "user__username", "user__email")
    fields = ("id", "user", "showtime", "status_now", "seats", "expires_at", "created_at",
              "ended_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = ("force_release",)

    def get_queryset(self, request):
        return super().get_queryset(request).with_effective_status().annotate(  # type: ignore[attr-defined]  # Hold's manager is a LapsingQuerySet's
            seats_n=count_of(SeatClaim.objects.filter(is_live=True), "hold"))


    def has_release_permission(self, request: HttpRequest) -> bool:
        """Force-releasing needs the change permission on holds."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(description="status", ordering="effective_status")
    def status_now(self, obj: Hold) -> str:
        return status_now(obj)

    @admin.display(description="live seats", ordering="seats_n")
    def seat_count(self, obj: Hold) -> int:
        return obj.seats_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="seats")
    def seats(self, obj: Hold) -> str:
        labels = SeatClaim.objects.filter(hold=obj, is_live=True).order_by(
            "showtime_seat_id").values_list("showtime_seat__seat__label", flat=True)
        return ", ".join(labels) or "—"

    @admin.action(description="Force-release selected holds", permissions=["release"])
    def force_release(self, request, queryset):
        holds = list(queryset.select_related("user", "showtime__show").order_by("created_at"))
        if not is_confirmed(request):
            return confirmation_page(
                self, request, action="force_release",
                title="Force-release holds",
                intro=f"Release {plural(len(holds), 'hold')} on the buyers' behalf; their seats "
                      f"become available at once. Holds that are no longer active are skipped.",
                items=[f"{h.pk} — {h.user} — {h.showtime} — {self.status_now(h)}, "
                       f"{plural(h.seats_n, 'live seat')}" for h in holds],
                submit_label=f"Release {plural(len(holds), 'hold')}",
            )
        released, expired, skipped = [], [], []
        for hold in holds:
            try:
                after = hold_force_release(hold_id=hold.pk, staff=request.user)
            except ApplicationError as err:
                skipped.append(f"{hold.pk} ({err.message})")
                continue
            was_active = hold.status == Hold.Status.ACTIVE
            if was_active and after.status == Hold.Status.RELEASED:
                released.append(str(hold.pk))
            elif was_active and after.status == Hold.Status.EXPIRED:
                expired.append(str(hold.pk))
            else:
                skipped.append(f"{hold.pk} ({after.status})")
        self.message_user(request, f"Released {plural(len(released), 'hold')}.",
                          messages.SUCCESS if released else messages.WARNING)
        if expired:
            self.message_user(request, f"{plural(len(expired), 'hold')} had already run out and "
                              f"{'was' if len(expired) == 1 else 'were'} recorded as expired: "
                              f"{name_list(expired)}.", messages.INFO)
        if skipped:
            self.message_user(request, f"Skipped {plural(len(skipped), 'hold')} that "
                              f"{'is' if len(skipped) == 1 else 'are'} no longer active: "
                              f"{name_list(skipped)}.", messages.WARNING)
        return None


# --- Audit trail ----------------------------------------------------------------------------------


@admin.register(SeatEvent)
class SeatEventAdmin(ViewOnlyAdmin):
    """The append-only audit trail of seat changes: view only (no add, change or delete)."""

    list_display = ("at", "showtime", "seat_label", "transition", "reason", "actor_kind", "actor",
                    "hold", "order")
    list_filter = ("reason", "actor_kind", "showtime")
    list_select_related = ("showtime__show", "showtime_seat__seat", "actor", "hold", "order")
    search_fields = ("showtime_seat__seat__label", "order__number")
    ordering = ("-at", "-id")
    fields = ("at", "showtime", "showtime_seat", "seat_label", "from_status", "to_status",
              "reason", "actor_kind", "actor", "hold", "order", "note")
    readonly_fields = fields


    @admin.display(description="seat", ordering="showtime_seat__seat__label")
    def seat_label(self, obj: SeatEvent) -> str:
        return obj.showtime_seat.seat.label

    @admin.display(description="change")
    def transition(self, obj: SeatEvent) -> str:
        return f"{obj.from_status} → {obj.to_status}"
