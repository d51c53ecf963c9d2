"""Shows, and showtimes with their prices, in the admin; a new showtime is created by
:func:`seats.services.showtime_create`."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ForeignKey, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import count_column, count_of, name_list
from core.errors import ApplicationError
from seats import services
from seats.models import (
    PlanCategory,
    QueueEntry,
    SeatStatus,
    Show,
    Showtime,
    ShowtimePrice,
    ShowtimeSeat,
    Venue,
)
from seats.selectors import showtime_counts
from seats.services import waiting

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin):
    """What is sold; its showtimes are managed under Showtimes."""

    list_display = ("title", "showtime_count")
    search_fields = ("title",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(showtimes_n=count_of(Showtime.objects.all(), "show"))
        )

    showtime_count = count_column("showtimes_n", _("showtimes"))


class ShowtimePriceFormSet(BaseInlineFormSet):
    """Prices of a showtime, one row per category of its plan.

    The formset checks what the rows say: each category once (the formset's own unique check of
    the ``price_unique_category_per_showtime`` constraint) and only categories of the showtime's
    plan (the choices list those of every plan on add). The price rules themselves are
    :func:`seats.services.showtime_prices_check`'s, whose refusal becomes the formset's error.
    """

    def add_fields(self, form, index):
        """On an existing showtime the plan is fixed: offer only its categories."""
        super().add_fields(form, index)
        if self.instance.pk and "category" in form.fields:
            form.fields["category"].queryset = form.fields["category"].queryset.filter(
                plan_id=self.instance.plan_id
            )

    def _rows(self) -> list[dict[str, Any]]:
        """The cleaned rows that are filled in and not marked for deletion."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def prices(self) -> dict[str, Decimal]:
        """The valid formset's prices as the service takes them: category name → price."""
        return {row["category"].name: row["price"] for row in self._rows()}

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.plan_id is None:
            return  # an invalid plan field shows its own error
        foreign = [
            row["category"]
            for row in self._rows()
            if row["category"].plan_id != self.instance.plan_id
        ]
        if foreign:
            raise ValidationError(
                gettext("These categories belong to another seating plan: %(categories)s.")
                % {"categories": name_list([f"{c.name} ({c.plan})" for c in foreign])}
            )
        try:
            services.showtime_prices_check(plan=self.instance.plan, prices=self.prices())
        except ApplicationError as err:
            raise ValidationError(err.details.get("prices") or err.message) from err


class QueueAdmitForm(forms.Form):
    """Staff admit a named buyer from the waiting room: their username, or their e-mail address
    when one account has it. ``cleaned_data["buyer"]`` is the :class:`User`."""

    buyer = forms.CharField(
        label=_("Buyer (username or e-mail address)"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_buyer(self) -> User:
        text = self.cleaned_data["buyer"].strip()
        users = get_user_model().objects
        found = users.filter(username=text).first()
        if found is not None:
            return found
        by_email = list(users.filter(email__iexact=text)[:2])
        if len(by_email) > 1:
            raise ValidationError(
                gettext("Several accounts have this e-mail address: give the username.")
            )
        if not by_email:
            raise ValidationError(gettext("No account has this username or e-mail address."))
        return by_email[0]


def clear_time_text(seconds: int) -> str:
    """The estimated time to clear a queue, for people: "nothing to clear", "less than a
    minute", "about N minutes" (whole minutes, rounded up)."""
    if seconds <= 0:
        return gettext("nothing to clear")
    if seconds < 60:
        return gettext("less than a minute")
    minutes = math.ceil(seconds / 60)
    return ngettext("about %(n)s minute", "about %(n)s minutes", minutes) % {"n": minutes}


def queue_figures_html(showtime: Showtime, figures: dict[str, Any] | None = None) -> str:
    """The waiting room's figures (``figures``, else read with
    :func:`seats.services.waiting.queue_figures`) as a list for the admin (the change page and
    the waiting-room page), or a sentence when the showtime has no waiting room."""
    if not showtime.queue_enabled:
        return gettext("This showtime has no waiting room.")
    f = figures or waiting.queue_figures(showtime)
    lines = [
        gettext("In line: %(waiting)s (of whom %(early)s without a place yet)") % f,
        gettext("Active now: %(active)s (target %(target)s)") % f,
        gettext("Admitted so far: %(admitted_total)s (places up to %(admitted_up_to)s)") % f,
        gettext("Finished: %(finished)s") % f,
        ngettext(
            "Rate: at most %(n)s admission a minute",
            "Rate: at most %(n)s admissions a minute",
            f["rate_per_minute"],
        )
        % {"n": f["rate_per_minute"]},
        gettext("Estimated time to clear the line: %(time)s")
        % {"time": clear_time_text(f["estimated_clear_seconds"])},
        gettext("Paused: nobody is admitted") if f["paused"] else gettext("Admitting"),
    ]
    return format_html(
        '<ul class="queue-figures">{}</ul>',
        format_html_join("", "<li>{}</li>", ((t,) for t in lines)),
    )


class PlanCategoryChoiceField(forms.ModelChoiceField):
    """A price category named with its plan: the same name may be in several plans."""

    def label_from_instance(self, obj: PlanCategory) -> str:
        return f"{obj.name} ({obj.plan})"


class ShowtimePriceInline(admin.TabularInline):
    """The price per plan category, in the showtime's currency."""

    model = ShowtimePrice
    formset = ShowtimePriceFormSet
    fields = ("category", "price")
    min_num = 1
    verbose_name = _("price")
    template = "admin/edit_inline/tabular_plain.html"

    def get_extra(self, request, obj=None, **kwargs):
        if obj is not None:
            return 0
        plan_id = request.GET.get("plan")
        if plan_id and plan_id.isdigit():
            return max(0, PlanCategory.objects.filter(plan_id=plan_id).count() - self.min_num)
        return 3

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "category":
            kwargs["form_class"] = PlanCategoryChoiceField
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "category":
            assert field is not None and field.queryset is not None  # a ForeignKey's form field
            field.queryset = field.queryset.select_related("plan__venue").order_by(
                "plan__venue__name", "plan__name", "rank"
            )
        return field


@admin.register(Showtime)
class ShowtimeAdmin(admin.ModelAdmin):
    """Showtimes with their prices.

    Adding one calls :func:`seats.services.showtime_create`, which writes the showtime, its prices
    and its inventory (:meth:`save_related`); the form and the price formset validate with the
    same rules first (the model's validation, :func:`seats.services.showtime_prices_check`), so a
    refusal is a form error. Changing one saves the fields that may change after creation (all
    but the plan) and the prices, under the same rules.

    Staff set the sales rules per showtime: ``hold_ttl``, ``max_seats_per_order`` and the
    per-buyer seat cap ``max_seats_per_buyer`` (empty: the same as ``max_seats_per_order``); a new
    showtime starts from the settings ``HOLD_TTL_SECONDS`` and ``MAX_SEATS_PER_ORDER`` (the
    model's field defaults).

    The changelist counts sold, held and available seats per showtime with correlated subqueries
    that apply the lazy expiry of :func:`seats.selectors.effective_state` (a lapsed hold or
    unpaid order counts as available).
    """

    list_display = (
        "show",
        "venue",
        "starts_at",
        "status",
        "sold_count",
        "held_count",
        "available_count",
        "queue_column",
    )
    list_display_links = ("show", "starts_at")
    list_filter = ("status", "show", "plan__venue")
    list_select_related = ("show", "plan__venue")
    search_fields = ("show__title", "plan__name", "plan__venue__name")
    date_hierarchy = "starts_at"
    inlines = (ShowtimePriceInline,)
    actions = ("queue_pause", "queue_resume")
    fieldsets = (
        (None, {"fields": ("show", "plan", "starts_at", "status")}),
        (
            _("Sales"),
            {
                "fields": (
                    "currency",
                    "hold_ttl",
                    "max_seats_per_order",
                    "max_seats_per_buyer",
                    "forbid_single_seats",
                    "sales_start",
                    "sales_end",
                )
            },
        ),
        (
            _("Holds"),
            {"fields": ("abandon_grace_seconds", "max_hold_extensions", "max_hold_seconds")},
        ),
        (
            _("Waiting room"),
            {
                "fields": (
                    "queue_enabled",
                    "onsale_at",
                    "target_active_buyers",
                    "admission_rate_per_minute",
                    "admission_window_seconds",
                )
            },
        ),
    )
    change_fieldsets = (
        (_("Seats"), {"fields": ("seat_counts", "seats_link", "audit_trail_link", "sales_link")}),
        (_("Waiting room now"), {"fields": ("queue_now", "queue_link")}),
    )

    def get_queryset(self, request):
        now = timezone.now()
        seats = ShowtimeSeat.objects.all()
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"{status}_n": count_of(seats.filter_effective_status(status, now), "showtime")
                    for status in (SeatStatus.SOLD, SeatStatus.HELD, SeatStatus.AVAILABLE)
                },
                queue_waiting_n=count_of(QueueEntry.objects.filter(waiting.IN_LINE), "showtime"),
                queue_active_n=count_of(QueueEntry.objects.filter(waiting.ACTIVE), "showtime"),
            )
        )

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets + (self.change_fieldsets if obj is not None else ())

    # Waiting-room numbers a form may leave out: the field's default then applies (a form that
    # predates the waiting room, or a script, still adds a showtime).
    _OPTIONAL_NUMBERS = (
        "target_active_buyers",
        "admission_rate_per_minute",
        "admission_window_seconds",
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in self._OPTIONAL_NUMBERS:
            field.required = False
        return field

    def has_delete_permission(self, request, obj=None):
        """Showtimes are closed or cancelled (status), never deleted: their seats, holds and
        audit trail would go with them."""
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "plan",
            "seat_counts",
            "seats_link",
            "audit_trail_link",
            "sales_link",
            "queue_now",
            "queue_link",
        )

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """On "add a showtime on this plan" (``?plan=<id>``): one price row per plan category."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        plan_id = request.GET.get("plan", "")
        if (
            isinstance(inline, ShowtimePriceInline)
            and request.method == "GET"
            and obj.pk is None
            and plan_id.isdigit()
        ):
            kwargs["initial"] = [
                {"category": pk}
                for pk in PlanCategory.objects.filter(plan_id=plan_id).values_list("pk", flat=True)
            ]
        return kwargs

    def save_model(self, request, obj, form, change):
        """Save a changed showtime; a new one is created with its prices by :meth:`save_related`."""
        if change:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        """Save a changed showtime's prices; create a new showtime through the service.

        The form's fields are the service's arguments. Validation has applied the service's
        rules already, so it does not refuse here; if the rules ever parted, the admin's
        transaction would roll back (an error page, never a half-made showtime). The admin then
        logs and redirects to the object it validated (``form.instance``), which therefore
        becomes the row just written.
        """
        if change:
            super().save_related(request, form, formsets, change)
            return
        (prices,) = (f for f in formsets if isinstance(f, ShowtimePriceFormSet))
        showtime = services.showtime_create(prices=prices.prices(), **form.cleaned_data)
        form.instance.pk = showtime.pk
        form.instance._state.adding = False
        seats = ShowtimeSeat.objects.filter(showtime=showtime).count()
        self.message_user(
            request,
            ngettext(
                "Created the inventory: %(n)s seat.", "Created the inventory: %(n)s seats.", seats
            )
            % {"n": seats},
            messages.SUCCESS,
        )

    def construct_change_message(self, request, form, formsets, add=False):
        """A new showtime's prices were written by the service, not by the formset: its log entry
        says "added" alone."""
        return super().construct_change_message(request, form, () if add else formsets, add)

    def _queue_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Showtime],
        act: Callable[[int], None],
        done: str,
    ) -> None:
        """Run ``act(showtime_id)`` on the selected showtimes whose waiting room is on."""
        ids = list(queryset.filter(queue_enabled=True).values_list("pk", flat=True))
        for showtime_id in ids:
            act(showtime_id)
        skipped = queryset.count() - len(ids)
        self.message_user(request, done % {"n": len(ids)}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)s showtime has no waiting room.",
                    "%(n)s showtimes have no waiting room.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Pause the waiting room (admit nobody)"))
    def queue_pause(self, request, queryset):
        self._queue_action(
            request, queryset, waiting.queue_pause, gettext("Waiting rooms paused: %(n)s.")
        )

    @admin.action(description=_("Resume the waiting room"))
    def queue_resume(self, request, queryset):
        self._queue_action(
            request, queryset, waiting.queue_resume, gettext("Waiting rooms resumed: %(n)s.")
        )

    @admin.display(description=_("venue"), ordering="plan__venue__name")
    def venue(self, obj: Showtime) -> Venue:
        return obj.plan.venue

    sold_count = count_column("sold_n", _("sold"))
    held_count = count_column("held_n", _("held"))
    available_count = count_column("available_n", _("available"))

    @admin.display(description=_("seats now"))
    def seat_counts(self, obj: Showtime) -> str:
        counts = showtime_counts(obj.pk)
        return ", ".join(f"{SeatStatus(status).label}: {n}" for status, n in counts.items())

    @admin.display(description=_("seat list"))
    def seats_link(self, obj: Showtime) -> str:
        url = reverse("admin:seats_showtimeseat_changelist") + f"?showtime__id__exact={obj.pk}"
        return format_html(
            '<a href="{}">{}</a>', url, gettext("Seats of this showtime (block, unblock)")
        )

    @admin.display(description=_("audit trail"))
    def audit_trail_link(self, obj: Showtime) -> str:
        url = reverse("admin:seats_seatevent_changelist") + f"?showtime__id__exact={obj.pk}"
        text = gettext("Audit trail (%(n)s)") % {"n": obj.seat_events.count()}
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description=_("sales"))
    def sales_link(self, obj: Showtime) -> str:
        url = reverse("sales-page", kwargs={"showtime_id": obj.pk})
        return format_html('<a href="{}">{}</a>', url, gettext("Live sales overview"))

    @admin.display(description=_("waiting room"), ordering="queue_waiting_n")
    def queue_column(self, obj: Showtime) -> str:
        """In line and active buyers ("—" without a waiting room), from :meth:`get_queryset`'s
        counts."""
        if not obj.queue_enabled:
            return "—"
        return gettext("%(waiting)s in line, %(active)s active") % {
            "waiting": obj.queue_waiting_n,  # type: ignore[attr-defined]
            "active": obj.queue_active_n,  # type: ignore[attr-defined]
        }

    @admin.display(description=_("figures"))
    def queue_now(self, obj: Showtime) -> str:
        return queue_figures_html(obj)

    @admin.display(description=_("staff"))
    def queue_link(self, obj: Showtime) -> str:
        url = reverse("admin:seats_showtime_queue", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a>', url, gettext("Pause, resume, admit a named buyer")
        )

    # --- The waiting-room page: the figures, pause or resume, admit a named buyer --------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/queue/",
                self.admin_site.admin_view(self.queue_view),
                name="seats_showtime_queue",
            ),
            *super().get_urls(),
        ]

    def queue_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """``<id>/queue/``: the waiting room of a showtime for staff with the change permission on
        showtimes (the admin's login, staff check and CSRF protection through ``admin_view``).

        ``POST action=pause|resume`` pauses or resumes admission; ``POST action=admit`` with
        ``buyer`` (username or e-mail address) admits that buyer now
        (:func:`seats.services.waiting.queue_admit_user`); each is logged in the showtime's
        history and answered with a redirect to the page. An unknown buyer is a form error; a
        showtime without a waiting room says so and changes nothing.
        """
        showtime = self.get_object(request, unquote(object_id))
        if showtime is None:
            raise Http404
        if not self.has_change_permission(request, showtime):
            raise PermissionDenied
        form = QueueAdmitForm()
        if request.method == "POST":
            action = request.POST.get("action", "")
            if not showtime.queue_enabled:
                self.message_user(
                    request, gettext("This showtime has no waiting room."), messages.ERROR
                )
                return HttpResponseRedirect(request.path)
            if action in ("pause", "resume"):
                act, done = {
                    "pause": (
                        waiting.queue_pause,
                        gettext("Waiting room paused: nobody is admitted."),
                    ),
                    "resume": (waiting.queue_resume, gettext("Waiting room resumed.")),
                }[action]
                act(showtime.pk)
                self.log_change(request, showtime, done)
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(request.path)
            if action == "admit":
                form = QueueAdmitForm(request.POST)
                if form.is_valid():
                    buyer: User = form.cleaned_data["buyer"]
                    try:
                        waiting.queue_admit_user(showtime.pk, buyer)
                    except ApplicationError as err:  # the queue was turned off meanwhile
                        form.add_error(None, err.message)
                    else:
                        done = gettext(
                            "Admitted %(buyer)s from the waiting room: they may choose seats now."
                        ) % {"buyer": buyer.get_username()}
                        self.log_change(request, showtime, done)
                        self.message_user(request, done, messages.SUCCESS)
                        return HttpResponseRedirect(request.path)
        figures = waiting.queue_figures(showtime) if showtime.queue_enabled else None
        opts = self.opts
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Waiting room: %(showtime)s") % {"showtime": showtime},
            "opts": opts,
            "app_label": opts.app_label,
            "original": showtime,
            "figures": queue_figures_html(showtime, figures),
            "queue_enabled": showtime.queue_enabled,
            "paused": bool(figures and figures["paused"]),
            "form": form,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/seats/showtime/queue.html", context)
