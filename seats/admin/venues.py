"""Venues and seating plans in the admin. A plan is added by uploading a pretix seating-plan JSON
file (:class:`SeatingPlanImportForm`, like the ``import_seating_plan`` command) and is read-only
afterwards: its seats come from the file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyInline, count_column, count_of
from seats.importer import PlanError, plan_import
from seats.models import PlanCategory, Seat, SeatingPlan, Showtime, Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    """Venues; add one here before uploading its seating plans."""

    list_display = ("name", "plan_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(plans_n=count_of(SeatingPlan.objects.all(), "venue"))
        )

    plan_count = count_column("plans_n", _("seating plans"))


class SeatingPlanImportForm(forms.ModelForm):
    """Add a seating plan by uploading a pretix seating-plan JSON file (like the
    ``import_seating_plan`` command).

    Validation *is* the import: :func:`seats.importer.plan_import` checks the whole file before it
    writes anything and stores venue, plan, categories and seats in one transaction; a
    :class:`~seats.importer.PlanError` becomes an error on the file field, naming the problem
    (e.g. ``zones[0].rows[1].seats[3]: missing key 'seat_guid'.``), and nothing is written.
    """

    venue = forms.ModelChoiceField(queryset=Venue.objects.order_by("name"), label=_("Venue"))
    name = forms.CharField(
        max_length=200,
        required=False,
        label=_("Plan name"),
        help_text=_("Leave empty to use the name in the file."),
    )
    plan_file = forms.FileField(
        label=_("Seating plan (pretix JSON)"),
        help_text=_(
            "A pretix seating-plan export: zones → rows → seats with seat_guid and category."
        ),
    )

    class Meta:
        model = SeatingPlan
        fields: list[str] = []

    imported: SeatingPlan | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean returns cleaned_data
        if self.errors:
            return cleaned
        upload = cleaned["plan_file"]
        raw = b"".join(upload.chunks())
        try:
            self.imported = plan_import(
                raw=raw, venue_name=cleaned["venue"].name, plan_name=cleaned.get("name") or None
            )
        except PlanError as exc:
            message = gettext("%(file)s: %(error)s Nothing was imported.")
            raise ValidationError(
                {"plan_file": message % {"file": upload.name, "error": exc}}
            ) from exc
        return cleaned

    def _post_clean(self) -> None:
        """Skip the model instance's validation: the form does not fill an instance (the import
        creates the plan) and the import has already validated everything."""

    def save(self, commit: bool = True) -> SeatingPlan:
        """Return the plan stored by :meth:`clean` (there is nothing left to save)."""
        assert self.imported is not None  # the admin saves only a valid form: clean() imported
        self.instance = self.imported
        return self.imported

    def save_m2m(self) -> None:
        """No many-to-many fields; present because the admin calls it after :meth:`save`."""


class PlanCategoryInline(ReadOnlyInline):
    """The price categories of a plan, with their seat counts (read-only: from the file)."""

    model = PlanCategory
    fields = ("rank", "name", "color", "seat_count")

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(seats_n=count_of(Seat.objects.all(), "category"))
        )

    seat_count = count_column("seats_n", _("seats"))


@admin.register(SeatingPlan)
class SeatingPlanAdmin(admin.ModelAdmin):
    """Seating plans: added by upload (:class:`SeatingPlanImportForm`), read-only afterwards.

    The changelist counts seats, zones, categories and showtimes per plan with correlated
    subqueries (:func:`count_of`): the same number of queries for any number of plans.
    """

    list_display = (
        "name",
        "venue",
        "seat_count",
        "zone_count",
        "category_count",
        "showtime_count",
        "created_at",
    )
    list_filter = ("venue",)
    list_select_related = ("venue",)
    search_fields = ("name", "venue__name")
    inlines = (PlanCategoryInline,)
    readonly_fields = (
        "venue",
        "name",
        "width",
        "height",
        "created_at",
        "seat_count",
        "zone_count",
        "category_count",
        "new_showtime_link",
    )

    def get_queryset(self, request):
        seats = Seat.objects.all()
        return (
            super()
            .get_queryset(request)
            .annotate(
                seats_n=count_of(seats, "plan"),
                zones_n=count_of(seats, "plan", "zone"),
                categories_n=count_of(PlanCategory.objects.all(), "plan"),
                showtimes_n=count_of(Showtime.objects.all(), "plan"),
            )
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
        seats, categories = obj.seats.count(), obj.categories.count()
        # One sentence from three counted phrases: each phrase is translated whole (with its own
        # plural), the sentence around them too.
        self.message_user(
            request,
            gettext(
                "Imported %(seats)s in %(zones)s and %(categories)s as plan “%(plan)s” of "
                "%(venue)s."
            )
            % {
                "seats": ngettext("%(n)s seat", "%(n)s seats", seats) % {"n": seats},
                "zones": ngettext("%(n)s zone", "%(n)s zones", zones) % {"n": zones},
                "categories": ngettext("%(n)s category", "%(n)s categories", categories)
                % {"n": categories},
                "plan": obj.name,
                "venue": obj.venue,
            },
            messages.SUCCESS,
        )
        return super().response_add(request, obj, post_url_continue)

    seat_count = count_column("seats_n", _("seats"))
    zone_count = count_column("zones_n", _("zones"))
    category_count = count_column("categories_n", _("categories"))
    showtime_count = count_column("showtimes_n", _("showtimes"))

    @admin.display(description=_("new showtime"))
    def new_showtime_link(self, obj: SeatingPlan) -> str:
        url = reverse("admin:seats_showtime_add") + f"?plan={obj.pk}"
        text = gettext("Add a showtime on this plan (prices pre-filled)")
        return format_html('<a href="{}">{}</a>', url, text)
