"""The seats of showtimes (the inventory rows) in the admin: view only; staff block seats, whole
rows or whole zones with a reason, and unblock them, through
:func:`seats.services.seats_block` and :func:`~seats.services.seats_unblock`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import (
    ViewOnlyAdmin,
    confirmation_page,
    is_confirmed,
    may_change,
    name_list,
    titled,
)
from core.errors import ApplicationError
from seats import services
from seats.models import SeatStatus, Showtime, ShowtimeSeat
from seats.selectors import effective_state

from .audit import SeatEventInline


class BlockReasonForm(forms.Form):
    """Why staff block seats; kept on the seats (``block_reason``) and in the audit trail."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("E.g. “camera platform”, “broken seat”, “held back for the artist”."),
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


def _is_free(row: ShowtimeSeat, now: datetime) -> bool:
    """Whether the seat reads ``available`` at ``now`` (lapse rule applied)."""
    status, _version = effective_state(row.status, row.version, row.expires_at, now)
    return status == SeatStatus.AVAILABLE


def _status_now(row: ShowtimeSeat, now: datetime) -> str:
    """The seat's status at ``now`` for staff, in the active language: ``held``, or ``available
    (the held seat lapsed)``."""
    status, _version = effective_state(row.status, row.version, row.expires_at, now)
    if status == row.status:
        return str(SeatStatus(status).label)
    return gettext("%(status)s (the %(stored)s seat lapsed)") % {
        "status": SeatStatus(status).label,
        "stored": SeatStatus(row.status).label,
    }


@admin.register(ShowtimeSeat)
class ShowtimeSeatAdmin(ViewOnlyAdmin):
    """The inventory rows of showtimes: view only, changed only through the actions.

    Actions: block the selected seats, their whole rows or their whole zones (asking for a reason
    on a confirmation page), unblock them. Each calls :func:`seats.services.seats_block` /
    :func:`~seats.services.seats_unblock` once per showtime; seats that are held, reserved, sold or
    already blocked are skipped by the service and listed by label in the message. The service
    publishes ``seats.changed`` after commit and writes the audit trail (actor: the staff user).
    """

    list_display = (
        "label",
        "zone",
        "row",
        "category",
        "status_now",
        "version",
        "block_reason",
        "showtime",
    )
    list_filter = (
        "status",
        ("seat__zone", titled(admin.AllValuesFieldListFilter, _("zone"))),
        ("seat__category__name", titled(admin.AllValuesFieldListFilter, _("category"))),
        "showtime",
    )
    list_select_related = ("seat__category", "showtime__show")
    search_fields = ("seat__label",)
    ordering = ("showtime_id", "seat_id")
    fields = (
        "showtime",
        "label",
        "zone",
        "row",
        "category",
        "status_now",
        "version",
        "expires_at",
        "block_reason",
    )
    readonly_fields = fields
    inlines = (SeatEventInline,)
    actions = ("block_seats", "block_rows", "block_zones", "unblock_seats")

    def has_block_permission(self, request: HttpRequest) -> bool:
        """Blocking and unblocking need the change permission on showtime seats."""
        return may_change(self, request)

    @admin.display(description=_("label"), ordering="seat__label")
    def label(self, obj: ShowtimeSeat) -> str:
        return obj.seat.label

    @admin.display(description=_("zone"), ordering="seat__zone")
    def zone(self, obj: ShowtimeSeat) -> str:
        return obj.seat.zone

    @admin.display(description=_("row"), ordering="seat__row")
    def row(self, obj: ShowtimeSeat) -> str:
        return obj.seat.row

    @admin.display(description=_("category"), ordering="seat__category__name")
    def category(self, obj: ShowtimeSeat) -> str:
        return obj.seat.category.name

    @admin.display(description=_("status"), ordering="status")
    def status_now(self, obj: ShowtimeSeat) -> str:
        return _status_now(obj, timezone.now())

    # Actions ------------------------------------------------------------------------------------

    @admin.action(description=_("Block selected seats"), permissions=["block"])
    def block_seats(self, request, queryset):
        return self._block(request, queryset, scope="seat", action="block_seats")

    @admin.action(
        description=_("Block the whole row(s) of the selected seats"), permissions=["block"]
    )
    def block_rows(self, request, queryset):
        return self._block(request, queryset, scope="row", action="block_rows")

    @admin.action(
        description=_("Block the whole zone(s) of the selected seats"), permissions=["block"]
    )
    def block_zones(self, request, queryset):
        return self._block(request, queryset, scope="zone", action="block_zones")

    @admin.action(description=_("Unblock selected seats"), permissions=["block"])
    def unblock_seats(self, request, queryset):
        """Unblock the selected seats (no confirmation: it only makes seats sellable again)."""
        results = self._per_showtime(
            request,
            queryset,
            gettext("%(showtime)s: no seats were unblocked: %(error)s"),
            services.seats_unblock,
        )
        self._report(
            request,
            results,
            done=lambda n: ngettext("Unblocked %(n)s seat.", "Unblocked %(n)s seats.", n),
            skipped=lambda n: ngettext(
                "Skipped %(n)s seat that is not blocked: %(seats)s",
                "Skipped %(n)s seats that are not blocked: %(seats)s",
                n,
            ),
        )

    def _block(
        self, request: HttpRequest, queryset: QuerySet[ShowtimeSeat], *, scope: str, action: str
    ) -> TemplateResponse | None:
        """Ask for the reason (confirmation page), then block the seats of ``scope`` around the
        selection: ``seat`` (the selection itself), ``row`` or ``zone``."""
        targets = queryset if scope == "seat" else seats_around(queryset, scope)
        form = BlockReasonForm(request.POST if is_confirmed(request) else None)
        if is_confirmed(request) and form.is_valid():
            results = self._per_showtime(
                request,
                targets,
                gettext("%(showtime)s: no seats were blocked: %(error)s"),
                services.seats_block,
                reason=form.cleaned_data["reason"],
            )
            self._report(
                request,
                results,
                done=lambda n: ngettext("Blocked %(n)s seat.", "Blocked %(n)s seats.", n),
                skipped=lambda n: ngettext(
                    "Skipped %(n)s seat that is held, reserved, sold or already blocked: %(seats)s",
                    "Skipped %(n)s seats that are held, reserved, sold or already blocked: "
                    "%(seats)s",
                    n,
                ),
            )
            return None
        rows = list(
            targets.select_related("seat", "showtime__show").order_by("showtime_id", "seat_id")
        )
        n = len(rows)
        title, intro = {
            "seat": (
                gettext("Block the selected seats"),
                ngettext(
                    "Block the selected seats: %(n)s seat.",
                    "Block the selected seats: %(n)s seats.",
                    n,
                ),
            ),
            "row": (
                gettext("Block the whole row(s) of the selected seats"),
                ngettext(
                    "Block the whole row(s) of the selected seats: %(n)s seat.",
                    "Block the whole row(s) of the selected seats: %(n)s seats.",
                    n,
                ),
            ),
            "zone": (
                gettext("Block the whole zone(s) of the selected seats"),
                ngettext(
                    "Block the whole zone(s) of the selected seats: %(n)s seat.",
                    "Block the whole zone(s) of the selected seats: %(n)s seats.",
                    n,
                ),
            ),
        }[scope]
        skipped_note = gettext(
            "Seats that are held, reserved, sold or already blocked will be skipped and listed."
        )
        return confirmation_page(
            self,
            request,
            action=action,
            form=form,
            title=title,
            intro=f"{intro % {'n': n}} {skipped_note}",
            items=self._describe(rows, scope),
            submit_label=ngettext("Block %(n)s seat", "Block %(n)s seats", n) % {"n": n},
        )

    @staticmethod
    def _describe(rows: list[ShowtimeSeat], scope: str) -> list[str]:
        """Lines of the confirmation page: one per seat, or one per row/zone with its counts."""
        now = timezone.now()
        several = len({r.showtime_id for r in rows}) > 1
        if scope == "seat":
            return [
                f"{r.seat.label} — {_status_now(r, now)}" + (f" — {r.showtime}" if several else "")
                for r in rows
            ]
        groups: dict[tuple, list[ShowtimeSeat]] = defaultdict(list)
        for r in rows:
            key = (r.showtime, r.seat.zone) + ((r.seat.row,) if scope == "row" else ())
            groups[key].append(r)
        lines = []
        for key, seats in groups.items():
            free = sum(1 for r in seats if _is_free(r, now))
            if scope == "row":
                where = gettext("%(zone)s, row %(row)s") % {"zone": key[1], "row": key[2]}
            else:
                where = gettext("zone %(zone)s") % {"zone": key[1]}
            counts = ngettext(
                "%(n)s seat, %(free)s available now",
                "%(n)s seats, %(free)s available now",
                len(seats),
            ) % {"n": len(seats), "free": free}
            lines.append(f"{where} — {counts}" + (f" — {key[0]}" if several else ""))
        return lines

    @staticmethod
    def _by_showtime(queryset: QuerySet) -> list[tuple[int, list[int]]]:
        """``[(showtime_id, [showtime seat pks])]``: the services work on one showtime at a time."""
        grouped: dict[int, list[int]] = defaultdict(list)
        for pk, showtime_id in queryset.order_by("pk").values_list("pk", "showtime_id"):
            grouped[showtime_id].append(pk)
        return sorted(grouped.items())

    def _per_showtime(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        failure: str,
        service: Callable[..., Any],
        **kwargs: Any,
    ) -> list[tuple[int, list[str], list[str]]]:
        """Call ``service`` (block or unblock) once per showtime of the selection, as the staff
        user: ``[(showtime_id, changed labels, skipped labels)]``. A showtime whose call fails (a
        lost race, say) is reported as an error message (``failure``, translated, with
        ``%(showtime)s`` and ``%(error)s``) and left out."""
        results = []
        for showtime_id, pks in self._by_showtime(queryset):
            try:
                changed, skipped = service(
                    showtime_id=showtime_id, seat_pks=pks, staff=request.user, **kwargs
                )
            except ApplicationError as err:
                showtime = Showtime.objects.select_related("show").filter(pk=showtime_id).first()
                self.message_user(
                    request, failure % {"showtime": showtime, "error": err.message}, messages.ERROR
                )
                continue
            results.append((showtime_id, changed, skipped))
        return results

    def _report(
        self,
        request: HttpRequest,
        results: Iterable[tuple[int, list[str], list[str]]],
        *,
        done: Callable[[int], str],
        skipped: Callable[[int], str],
    ) -> None:
        """One message for the seats changed, one listing the skipped seats by label (grouped by
        showtime when the selection spans several). ``done(n)`` and ``skipped(n)`` give the
        translated messages for ``n`` seats (``%(n)s``; ``skipped``'s also ``%(seats)s``)."""
        results = list(results)
        changed_n = sum(len(changed) for _, changed, _ in results)
        self.message_user(
            request,
            done(changed_n) % {"n": changed_n},
            messages.SUCCESS if changed_n else messages.WARNING,
        )
        left = [(showtime_id, labels) for showtime_id, _, labels in results if labels]
        if not left:
            return
        count = sum(len(labels) for _, labels in left)
        if len(left) == 1:
            listing = name_list(left[0][1])
        else:
            names = Showtime.objects.select_related("show").in_bulk([s for s, _ in left])
            listing = "; ".join(f"{names[s]}: {name_list(labels)}" for s, labels in left)
        self.message_user(
            request, skipped(count) % {"n": count, "seats": listing}, messages.WARNING
        )
