"""The audit trail in the admin: ``SeatEvent`` rows, append-only and view only, listed here and
shown on the page of each showtime seat (:class:`SeatEventInline`)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyInline, ViewOnlyAdmin
from seats.models import SeatEvent


class SeatEventInline(ReadOnlyInline):
    """The audit trail of one showtime seat, oldest first (shown on the seat's page)."""

    model = SeatEvent
    fk_name = "showtime_seat"
    fields = (
        "at",
        "from_status",
        "to_status",
        "reason",
        "actor_kind",
        "actor",
        "hold",
        "order",
        "note",
    )
    verbose_name = _("audit trail entry")
    verbose_name_plural = _("audit trail")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "order", "hold")


@admin.register(SeatEvent)
class SeatEventAdmin(ViewOnlyAdmin):
    """The append-only audit trail of seat changes: view only (no add, change or delete)."""

    list_display = (
        "at",
        "showtime",
        "seat_label",
        "transition",
        "reason",
        "actor_kind",
        "actor",
        "hold",
        "order",
    )
    list_filter = ("reason", "actor_kind", "showtime")
    list_select_related = ("showtime__show", "showtime_seat__seat", "actor", "hold", "order")
    search_fields = ("showtime_seat__seat__label", "order__number")
    ordering = ("-at", "-id")
    fields = (
        "at",
        "showtime",
        "showtime_seat",
        "seat_label",
        "from_status",
        "to_status",
        "reason",
        "actor_kind",
        "actor",
        "hold",
        "order",
        "note",
    )
    readonly_fields = fields

    @admin.display(description=_("seat"), ordering="showtime_seat__seat__label")
    def seat_label(self, obj: SeatEvent) -> str:
        return obj.showtime_seat.seat.label

    @admin.display(description=_("change"))
    def transition(self, obj: SeatEvent) -> str:
        return f"{obj.get_from_status_display()} → {obj.get_to_status_display()}"
