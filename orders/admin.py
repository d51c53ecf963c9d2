"""Orders for the box office in the Django admin.

Orders are view only here; staff change them only through three actions, each with a
confirmation page listing the orders and then one :func:`orders.services.order_staff_action`
call per order (which locks, writes the audit trail and publishes after commit):

- **Mark paid (cash at the box office)**: a pending order becomes paid, its seats sold, tickets
  issued; a ``box_office`` payment is recorded.
- **Cancel**: a pending order is cancelled; its seats become available.
- **Refund**: a paid order is refunded; its seats become available, its tickets void.

Orders whose status does not allow the action are left unchanged and reported with their status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import (
    ReadOnlyInline,
    StatusNowFilter,
    ViewOnlyAdmin,
    confirmation_page,
    is_confirmed,
    may_change,
    name_list,
    status_now,
)
from core.errors import ApplicationError
from seats.lapse import LapsingQuerySet
from seats.models import SeatClaim, SeatEvent

from . import emails
from .models import CheckInScan, Order, OutboxEmail, Payment, PaymentEvent, Ticket
from .services import order_staff_action

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class TicketInline(ReadOnlyInline):
    """The order's tickets: code, seat, status, check-in."""

    model = Ticket
    fields = ("code", "seat_label", "status", "issued_at", "checked_in_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("claim__showtime_seat__seat")

    @admin.display(description=_("seat"))
    def seat_label(self, obj: Ticket) -> str:
        return obj.claim.showtime_seat.seat.label


class PaymentInline(ReadOnlyInline):
    """Payments and payment attempts of the order."""

    model = Payment
    fields = (
        "provider",
        "payment_id",
        "amount",
        "currency",
        "status",
        "needs_refund",
        "created_at",
    )


class PaymentEventInline(ReadOnlyInline):
    """The payment log of the order: every webhook received for it, with its result."""

    model = PaymentEvent
    fk_name = "order"
    fields = ("received_at", "event", "payment_id", "amount", "currency", "outcome", "note")
    verbose_name = _("payment log entry")
    verbose_name_plural = _("payment log")


class PaymentLogInline(PaymentEventInline):
    """The webhooks received for one payment (``payment_id``), with their results."""

    fk_name = "payment_record"


class OrderSeatEventInline(ReadOnlyInline):
    """The audit trail of the order's seats (``order.seat_events``), oldest first."""

    model = SeatEvent
    fk_name = "order"
    fields: ClassVar[tuple[str, ...]] = (
        "at",
        "seat_label",
        "from_status",
        "to_status",
        "reason",
        "actor_kind",
        "actor",
        "note",
    )
    verbose_name = _("audit trail entry")
    verbose_name_plural = _("audit trail")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "showtime_seat__seat")

    @admin.display(description=_("seat"))
    def seat_label(self, obj: SeatEvent) -> str:
        return obj.showtime_seat.seat.label


def _orders(n: int) -> dict[str, int]:
    return {"n": n}


@dataclass(frozen=True)
class StaffAction:
    """How one box-office action is called and reported. The texts are translated when shown:
    ``title`` is lazy, the others are functions of the number of orders ``n`` returning the
    ``ngettext`` message (placeholders ``%(n)s``; ``done`` and ``skipped`` also ``%(orders)s``)."""

    service: str  # the ``action`` of order_staff_action
    title: Any  # the confirmation page's title (lazy)
    applies_to: str  # the order status the service accepts
    intro: Callable[[int], str]  # "… 2 orders selected. Only pending orders can be marked paid …"
    done: Callable[[int], str]  # the success message: "Marked 2 orders paid: %(orders)s."
    button: Callable[[int], str]  # the confirmation button: "Yes, mark 2 orders paid"
    skipped: Callable[[int], str]  # "Skipped 1 order (only pending orders can be …): %(orders)s."


STAFF_ACTIONS = {
    "mark_paid": StaffAction(
        "mark_paid",
        _("Mark paid (cash taken at the box office)"),
        "pending",
        intro=lambda n: ngettext(
            "Mark paid (cash taken at the box office): %(n)s order selected. Only pending orders "
            "can be marked paid; the others will be skipped and listed.",
            "Mark paid (cash taken at the box office): %(n)s orders selected. Only pending "
            "orders can be marked paid; the others will be skipped and listed.",
            n,
        ),
        done=lambda n: ngettext("Marked %(n)s order paid", "Marked %(n)s orders paid", n),
        button=lambda n: ngettext("Yes, mark %(n)s order paid", "Yes, mark %(n)s orders paid", n),
        skipped=lambda n: ngettext(
            "Skipped %(n)s order (only pending orders can be marked paid): %(orders)s.",
            "Skipped %(n)s orders (only pending orders can be marked paid): %(orders)s.",
            n,
        ),
    ),
    "cancel_orders": StaffAction(
        "cancel",
        _("Cancel orders"),
        "pending",
        intro=lambda n: ngettext(
            "Cancel orders: %(n)s order selected. Only pending orders can be cancelled; the "
            "others will be skipped and listed.",
            "Cancel orders: %(n)s orders selected. Only pending orders can be cancelled; the "
            "others will be skipped and listed.",
            n,
        ),
        done=lambda n: ngettext("Cancelled %(n)s order", "Cancelled %(n)s orders", n),
        button=lambda n: ngettext("Yes, cancel %(n)s order", "Yes, cancel %(n)s orders", n),
        skipped=lambda n: ngettext(
            "Skipped %(n)s order (only pending orders can be cancelled): %(orders)s.",
            "Skipped %(n)s orders (only pending orders can be cancelled): %(orders)s.",
            n,
        ),
    ),
    "refund_orders": StaffAction(
        "refund",
        _("Refund orders"),
        "paid",
        intro=lambda n: ngettext(
            "Refund orders: %(n)s order selected. Only paid orders can be refunded; the others "
            "will be skipped and listed.",
            "Refund orders: %(n)s orders selected. Only paid orders can be refunded; the "
            "others will be skipped and listed.",
            n,
        ),
        done=lambda n: ngettext("Refunded %(n)s order", "Refunded %(n)s orders", n),
        button=lambda n: ngettext("Yes, refund %(n)s order", "Yes, refund %(n)s orders", n),
        skipped=lambda n: ngettext(
            "Skipped %(n)s order (only paid orders can be refunded): %(orders)s.",
            "Skipped %(n)s orders (only paid orders can be refunded): %(orders)s.",
            n,
        ),
    ),
}


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin):
    """Orders: view only; changed through the box-office actions (see the module docstring).

    Search finds an order by number, customer e-mail, phone or the label of one of its seats
    ("Hall A-1"); Django de-duplicates the rows that the seat join spawns.
    """

    list_display = (
        "number",
        "status_now",
        "customer_name",
        "customer_email",
        "showtime",
        "total_with_currency",
        "created_at",
        "paid_at",
    )
    list_filter = (StatusNowFilter, "showtime", "payment_method")
    list_select_related = ("showtime__show",)
    search_fields = (
        "number",
        "customer_email",
        "customer_phone",
        "claims__showtime_seat__seat__label",
    )
    date_hierarchy = "created_at"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "status_now",
                    "showtime",
                    "seats",
                    "total_with_currency",
                    "payment_method",
                )
            },
        ),
        (_("Customer"), {"fields": ("user", "customer_name", "customer_email", "customer_phone")}),
        (_("Dates"), {"fields": ("created_at", "expires_at", "paid_at", "ended_at")}),
        (_("Origin"), {"fields": ("hold",)}),
    )
    readonly_fields = (
        "number",
        "status_now",
        "showtime",
        "seats",
        "total_with_currency",
        "payment_method",
        "user",
        "customer_name",
        "customer_email",
        "customer_phone",
        "created_at",
        "expires_at",
        "paid_at",
        "ended_at",
        "hold",
    )
    inlines = (TicketInline, PaymentInline, PaymentEventInline, OrderSeatEventInline)
    actions = tuple(STAFF_ACTIONS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        # Order.objects is LapsingQuerySet.as_manager(), which the stubs type as a plain QuerySet.
        return cast(LapsingQuerySet, super().get_queryset(request)).with_effective_status()

    def has_box_office_permission(self, request: HttpRequest) -> bool:
        """The box-office actions need the change permission on orders."""
        return may_change(self, request)

    @admin.display(description=_("status"), ordering="effective_status")
    def status_now(self, obj: Order) -> str:
        """The status as it reads now: a pending order past its deadline is expired (domain.md,
        invariant 4), even before the cleanup records it."""
        return status_now(obj)

    @admin.display(description=_("total"), ordering="total")
    def total_with_currency(self, obj: Order) -> str:
        return f"{obj.total} {obj.currency}"

    @admin.display(description=_("seats"))
    def seats(self, obj: Order) -> str:
        labels = (
            SeatClaim.objects.filter(order=obj)
            .order_by("showtime_seat_id")
            .values_list("showtime_seat__seat__label", flat=True)
        )
        return ", ".join(labels) or "—"

    # Actions ------------------------------------------------------------------------------------

    @admin.action(description=_("Mark paid (cash at the box office)"), permissions=["box_office"])
    def mark_paid(self, request, queryset):
        return self._staff_action(request, queryset, "mark_paid")

    @admin.action(description=_("Cancel selected orders"), permissions=["box_office"])
    def cancel_orders(self, request, queryset):
        return self._staff_action(request, queryset, "cancel_orders")

    @admin.action(description=_("Refund selected orders"), permissions=["box_office"])
    def refund_orders(self, request, queryset):
        return self._staff_action(request, queryset, "refund_orders")

    def _staff_action(
        self, request: HttpRequest, queryset: QuerySet[Order], name: str
    ) -> HttpResponse | None:
        """Confirmation page listing the orders; on "Yes", one service call per order, then one
        message for the orders done and one for those skipped (with their status) or failed."""
        spec = STAFF_ACTIONS[name]
        orders = list(queryset.select_related("showtime__show").order_by("pk"))
        if not is_confirmed(request):
            now = timezone.now()
            ready = sum(1 for o in orders if o.status_at(now) == spec.applies_to)
            if spec.applies_to == Order.Status.PAID:
                note = ngettext("%(n)s of them is paid now.", "%(n)s of them are paid now.", ready)
            else:
                note = ngettext(
                    "%(n)s of them is pending now.", "%(n)s of them are pending now.", ready
                )
            return confirmation_page(
                self,
                request,
                action=name,
                title=str(spec.title),
                intro=spec.intro(len(orders)) % _orders(len(orders)),
                note=note % {"n": ready},
                items=[
                    f"{o} — {status_now(o, now)} — {o.customer_name} <{o.customer_email}> — "
                    f"{o.total} {o.currency} — {o.showtime}"
                    for o in orders
                ],
                submit_label=spec.button(len(orders)) % _orders(len(orders)),
            )
        done: list[Order] = []
        skipped: list[Order] = []
        failed: list[str] = []
        for order in orders:
            try:
                # The admin's views are for signed-in staff only.
                after, ok = order_staff_action(
                    order_id=order.pk, action=spec.service, staff=cast("User", request.user)
                )
            except ApplicationError as err:
                failed.append(f"{order} ({err.message})")
                continue
            (done if ok else skipped).append(after)
        finished = spec.done(len(done)) % _orders(len(done))
        self.message_user(
            request,
            gettext("%(done)s: %(orders)s.")
            % {"done": finished, "orders": name_list([str(o) for o in done])}
            if done
            else gettext("%(done)s.") % {"done": finished},
            messages.SUCCESS if done else messages.WARNING,
        )
        if skipped:
            listing = name_list([f"{o} ({o.get_status_display()})" for o in skipped])
            self.message_user(
                request,
                spec.skipped(len(skipped)) % {"n": len(skipped), "orders": listing},
                messages.WARNING,
            )
        if failed:
            self.message_user(
                request,
                gettext("Failed: %(orders)s. Please try again.") % {"orders": name_list(failed)},
                messages.ERROR,
            )
        return None


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    """Payments as providers reported them. Filter "needs refund: yes" for the money that arrived
    for an order that could not take it (late, cancelled, paid twice, wrong amount)."""

    list_display = (
        "created_at",
        "order",
        "provider",
        "payment_id",
        "amount",
        "currency",
        "status",
        "needs_refund",
        "note",
    )
    list_filter = ("needs_refund", "status", "provider")
    search_fields = ("payment_id", "order__number")
    list_select_related = ("order",)
    inlines = (PaymentLogInline,)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ViewOnlyAdmin):
    """The payment log: every signed webhook received, oldest last, with what it did
    (``paid``, ``failed``, ``flagged``, ``replayed``, ``ignored``, ``unknown_order``)."""

    list_display = (
        "received_at",
        "event",
        "outcome",
        "payment_id",
        "order_number",
        "amount",
        "currency",
        "provider",
        "note",
    )
    list_filter = ("outcome", "event", "provider")
    search_fields = ("payment_id", "order_number")
    ordering = ("-received_at", "-id")


@admin.register(CheckInScan)
class CheckInScanAdmin(ViewOnlyAdmin):
    """Every scan at the door, with its result and the scanning staff member."""

    list_display = ("at", "code", "result", "ticket", "staff")
    list_filter = ("result",)
    search_fields = ("code",)
    list_select_related = ("ticket", "staff")


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    """The e-mail outbox (:mod:`orders.emails`): every e-mail to a customer, filtered by status —
    ``pending`` and ``failed`` ones wait for the worker (``failed``: retried at "next attempt"),
    ``dead`` ones gave up after ``EMAIL_MAX_ATTEMPTS`` attempts and wait for staff. Read only;
    the action "Retry dead e-mails" makes the selected dead ones due again with fresh attempts
    (the worker sends them within its next round, 15 s)."""

    list_display = (
        "created_at",
        "order",
        "kind",
        "to",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "kind")
    search_fields = ("to", "order__number")
    list_select_related = ("order",)
    readonly_fields = [f.name for f in OutboxEmail._meta.fields]
    actions = ("retry_dead",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxEmail | None = None) -> bool:
        return False

    @admin.action(description=_("Retry dead e-mails"), permissions=["change"])
    def retry_dead(self, request: HttpRequest, queryset: QuerySet[OutboxEmail]) -> None:
        """Make the selected dead e-mails due again (others are left as they are)."""
        count = emails.retry(queryset)
        self.message_user(
            request,
            ngettext(
                "%(n)s dead e-mail will be sent again by the worker.",
                "%(n)s dead e-mails will be sent again by the worker.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )
