"""Buyers' holds in the admin: view only, lapse rule applied; staff force-release active ones."""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import (
    StatusNowFilter,
    ViewOnlyAdmin,
    confirmation_page,
    count_column,
    count_of,
    is_confirmed,
    may_change,
    name_list,
    status_label,
    status_now,
)
from core.errors import ApplicationError
from seats import services
from seats.lapse import LapsingQuerySet
from seats.models import Hold, SeatClaim


@admin.register(Hold)
class HoldAdmin(ViewOnlyAdmin):
    """Buyers' holds: view only; staff can force-release active ones (confirmation page, then
    :func:`seats.services.hold_force_release` per hold, which frees and broadcasts the seats)."""

    list_display = (
        "id",
        "user",
        "showtime",
        "status_now",
        "seat_count",
        "expires_at",
        "created_at",
    )
    list_filter = (StatusNowFilter,)
    list_select_related = ("user", "showtime__show")
    search_fields = ("id", "user__username", "user__email")
    fields = (
        "id",
        "user",
        "showtime",
        "status_now",
        "seats",
        "expires_at",
        "created_at",
        "ended_at",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = ("force_release",)

    def get_queryset(self, request: HttpRequest) -> LapsingQuerySet:
        # Hold.objects is LapsingQuerySet.as_manager(), which the stubs type as a plain QuerySet.
        holds = cast(LapsingQuerySet, super().get_queryset(request))
        return holds.with_effective_status().annotate(
            seats_n=count_of(SeatClaim.objects.filter(is_live=True), "hold")
        )

    def has_release_permission(self, request: HttpRequest) -> bool:
        """Force-releasing needs the change permission on holds."""
        return may_change(self, request)

    @admin.display(description=_("status"), ordering="effective_status")
    def status_now(self, obj: Hold) -> str:
        return status_now(obj)

    seat_count = count_column("seats_n", _("live seats"))

    @admin.display(description=_("seats"))
    def seats(self, obj: Hold) -> str:
        labels = (
            SeatClaim.objects.filter(hold=obj, is_live=True)
            .order_by("showtime_seat_id")
            .values_list("showtime_seat__seat__label", flat=True)
        )
        return ", ".join(labels) or "—"

    @admin.action(description=_("Force-release selected holds"), permissions=["release"])
    def force_release(self, request, queryset):
        holds = list(queryset.select_related("user", "showtime__show").order_by("created_at"))
        n = len(holds)
        if not is_confirmed(request):
            return confirmation_page(
                self,
                request,
                action="force_release",
                title=gettext("Force-release holds"),
                intro=ngettext(
                    "Release %(n)s hold on the buyer's behalf; its seats become available at "
                    "once. Holds that are no longer active are skipped.",
                    "Release %(n)s holds on the buyers' behalf; their seats become available at "
                    "once. Holds that are no longer active are skipped.",
                    n,
                )
                % {"n": n},
                items=[
                    f"{h.pk} — {h.user} — {h.showtime} — {self.status_now(h)}, "
                    + ngettext("%(n)s live seat", "%(n)s live seats", h.seats_n) % {"n": h.seats_n}
                    for h in holds
                ],
                submit_label=ngettext("Release %(n)s hold", "Release %(n)s holds", n) % {"n": n},
            )
        released, expired, skipped = [], [], []
        for hold in holds:
            try:
                after = services.hold_force_release(hold_id=hold.pk, staff=request.user)
            except ApplicationError as err:
                skipped.append(f"{hold.pk} ({err.message})")
                continue
            was_active = hold.status == Hold.Status.ACTIVE
            if was_active and after.status == Hold.Status.RELEASED:
                released.append(str(hold.pk))
            elif was_active and after.status == Hold.Status.EXPIRED:
                expired.append(str(hold.pk))
            else:
                skipped.append(f"{hold.pk} ({status_label(Hold, after.status)})")
        self.message_user(
            request,
            ngettext("Released %(n)s hold.", "Released %(n)s holds.", len(released))
            % {"n": len(released)},
            messages.SUCCESS if released else messages.WARNING,
        )
        if expired:
            self.message_user(
                request,
                ngettext(
                    "%(n)s hold had already run out and was recorded as expired: %(holds)s.",
                    "%(n)s holds had already run out and were recorded as expired: %(holds)s.",
                    len(expired),
                )
                % {"n": len(expired), "holds": name_list(expired)},
                messages.INFO,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %(n)s hold that is no longer active: %(holds)s.",
                    "Skipped %(n)s holds that are no longer active: %(holds)s.",
                    len(skipped),
                )
                % {"n": len(skipped), "holds": name_list(skipped)},
                messages.WARNING,
            )
        return None
