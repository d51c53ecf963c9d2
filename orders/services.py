"""Writes of orders: create (from a hold, or seats in one step), cancel, pay, expire.

Lock order as everywhere (seats/locks.py): the hold or order row first, then its showtime seats by
primary key. Rules: shared/spec/api.md "Orders", domain.md invariants 1–4.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Sequence

from django.conf import settings
from django.utils import timezone

from realtime import events
from seats.locks import lock_showtime_seats, run_in_transaction
from seats.models import Hold, SeatClaim, SeatStatus
from seats.selectors import hold_detail
from seats.services import (
    claims_end,
    claims_take,
    hold_end,
    resolve_seats,
    run_counting_conflicts,
    seats_write,
    showtime_for_sale,
)
from ticketing.errors import ApplicationError

from .models import Order, Payment, Ticket
from .payments import get_provider
from .selectors import order_brief


def _live_claims(**filters) -> list[SeatClaim]:
    return list(
        SeatClaim.objects.filter(is_live=True, **filters)
        .select_related("showtime_seat__seat")
        .order_by("showtime_seat_id")
    )


def _convert(hold: Hold, *, customer: dict[str, str], payment_method: str, now: datetime) -> Order:
    """Turn a locked hold's seats into a pending order; seats become ``reserved``.

    Precondition: inside a transaction holding the lock of ``hold``, which is active (or was made
    converted in this transaction by :func:`order_create_for_seats`).

    Raises:
        ApplicationError: 409 ``hold_not_active`` when the hold has no seats.
    """
    claims = _live_claims(hold=hold)
    if not claims:
        raise ApplicationError("hold_not_active", "This hold has no seats.")
    showtime = hold.showtime
    order = Order.objects.create(
        user_id=hold.user_id, showtime=showtime, hold=hold, status=Order.Status.PENDING,
        total=sum((c.price for c in claims), Decimal("0.00")), currency=showtime.currency,
        payment_method=payment_method, customer_name=customer.get("name", ""),
        customer_email=customer.get("email", ""), customer_phone=customer.get("phone", "") or "",
        expires_at=now + timedelta(seconds=settings.PAYMENT_WINDOW_SECONDS),
    )
    order.number = f"ORD-{order.created_at:%Y%m%d}-{order.pk:06d}"
    order.save(update_fields=["number"])
    rows = lock_showtime_seats(showtime.pk, [c.showtime_seat_id for c in claims])
    SeatClaim.objects.filter(pk__in=[c.pk for c in claims]).update(order=order)
    states = seats_write(rows, status=SeatStatus.RESERVED, expires_at=order.expires_at, now=now)
    hold.status, hold.ended_at = Hold.Status.CONVERTED, now
    hold.save(update_fields=["status", "ended_at"])
    events.seats_changed(showtime.pk, "reserved", states)
    events.hold_updated(hold.user_id, hold_detail(hold))
    events.order_updated(hold.user_id, order_brief(order))
    return order


def order_create(
    *, user, hold_id: str, customer: dict[str, str], payment_method: str
) -> Order:
    """Convert the buyer's active hold into a pending order (api.md ``POST orders/``).

    The seats become ``reserved`` until the payment deadline (``PAYMENT_WINDOW_SECONDS`` from now).

    Raises:
        ApplicationError: 404 ``not_found`` (another buyer's hold too); 409 ``hold_expired`` (the
            expiry is recorded and broadcast first); 409 ``hold_not_active``.
    """
    def txn() -> Order | Hold:
        now = timezone.now()
        hold = Hold.objects.select_for_update().select_related("showtime").filter(
            pk=hold_id, user=user).first()
        if hold is None:
            raise ApplicationError("not_found", "No such hold.", status=404)
        if hold.status != Hold.Status.ACTIVE:
            code = "hold_expired" if hold.status == Hold.Status.EXPIRED else "hold_not_active"
            raise ApplicationError(code, f"This hold is {hold.status}.")
        if hold.expires_at <= now:
            hold_end(hold, status=Hold.Status.EXPIRED, now=now)
            return hold  # committed, then answered 409 below
        return _convert(hold, customer=customer, payment_method=payment_method, now=now)

    result = run_in_transaction(txn)
    if isinstance(result, Hold):
        raise ApplicationError("hold_expired", "The hold expired; its seats were released.")
    return result


def order_create_for_seats(
    *, user, showtime_id: int, seat_ids: Sequence[str], customer: dict[str, str],
    payment_method: str,
) -> Order:
    """Hold seats and order them in one atomic step (api.md ``POST orders/`` with ``seats``).

    Independent of the buyer's active hold on the showtime, if any: it is left as it is.

    Raises:
        ApplicationError: as :func:`seats.services.hold_create` (404, 400 ``unknown_seats``,
            ``too_many_seats``, 409 ``sales_closed``, ``seat_unavailable``, ``busy``).
    """
    showtime = showtime_for_sale(showtime_id)
    wanted = resolve_seats(showtime, seat_ids)

    def txn() -> Order:
        now = timezone.now()
        hold = Hold.objects.create(
            user=user, showtime=showtime, status=Hold.Status.CONVERTED, ended_at=now,
            expires_at=now + timedelta(seconds=showtime.hold_ttl),
        )
        # One frame for the whole step: the "reserved" one that _convert publishes.
        claims_take(showtime=showtime, hold=hold, seat_ids=wanted, now=now)
        return _convert(hold, customer=customer, payment_method=payment_method, now=now)

    return run_counting_conflicts(txn)


def _locked_order(user, order_id) -> Order:
    query = Order.objects.select_for_update().filter(pk=order_id)
    if user is not None:
        query = query.filter(user=user)
    order = query.first() if str(order_id).isdigit() else None
    if order is None:
        raise ApplicationError("not_found", "No such order.", status=404)
    return order


def order_end(order: Order, *, status: str, now: datetime, reason: str) -> None:
    """End a pending order (``cancelled``/``expired``) and free its seats; publish it.

    Precondition: inside a transaction holding the lock of ``order``.
    """
    states = claims_end(_live_claims(order=order), now=now)
    order.status, order.ended_at = status, now
    order.save(update_fields=["status", "ended_at"])
    events.seats_changed(order.showtime_id, reason, states)
    events.order_updated(order.user_id, order_brief(order))


def _is_lapsed(order: Order, now: datetime) -> bool:
    return order.status == Order.Status.PENDING and order.expires_at <= now


def order_cancel(*, user, order_id) -> Order:
    """Cancel a pending order (api.md ``POST orders/{id}/cancel/``): its seats become available.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``order_not_cancellable`` when it is not pending
            (an order past its payment deadline is recorded as expired first).
    """
    def txn() -> tuple[Order, bool]:
        now = timezone.now()
        order = _locked_order(user, order_id)
        if _is_lapsed(order, now):
            order_end(order, status=Order.Status.EXPIRED, now=now, reason="expired")
        elif order.status == Order.Status.PENDING:
            order_end(order, status=Order.Status.CANCELLED, now=now, reason="cancelled")
            return order, True
        return order, False

    order, cancelled = run_in_transaction(txn)
    if not cancelled:
        raise ApplicationError(
            "order_not_cancellable", f"This order is {order.status}; only pending orders can be "
            "cancelled.", details={"status": order.status},
        )
    return order


def order_pay(*, user, order_id) -> Order:
    """Pay a pending order with the configured provider (api.md ``POST orders/{id}/pay/``).

    With the ``demo`` provider the payment is captured at once: the order becomes ``paid``, its
    seats ``sold``, and one ticket with an unguessable code is issued per seat. Paying an order that
    is already paid returns it unchanged.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``order_expired`` past the payment deadline (the
            expiry is recorded and broadcast first); 409 ``order_not_payable`` when cancelled,
            expired or refunded.
    """
    provider = get_provider()

    def txn() -> Order:
        now = timezone.now()
        order = _locked_order(user, order_id)
        if _is_lapsed(order, now):
            order_end(order, status=Order.Status.EXPIRED, now=now, reason="expired")
            return order
        if order.status != Order.Status.PENDING:
            return order
        result = provider.start(order_number=order.number, amount=order.total,
                                currency=order.currency)
        Payment.objects.create(
            order=order, provider=provider.name, payment_id=result.payment_id,
            amount=result.amount, currency=result.currency,
            status=Payment.Status.SUCCEEDED if result.captured else Payment.Status.FAILED,
        )
        if result.captured:
            order_mark_paid(order, now=now)
        return order

    order = run_in_transaction(txn)
    if order.status == Order.Status.EXPIRED:
        raise ApplicationError("order_expired", "The payment deadline passed; the seats were "
                               "released.", details={"status": order.status})
    if order.status not in (Order.Status.PAID, Order.Status.PENDING):
        raise ApplicationError("order_not_payable", f"This order is {order.status}.",
                               details={"status": order.status})
    return order


def order_mark_paid(order: Order, *, now: datetime) -> None:
    """Mark a locked pending order paid: seats ``sold``, tickets issued, events published.

    Precondition: inside a transaction holding the lock of ``order``; the order is pending.
    """
    claims = _live_claims(order=order)
    rows = lock_showtime_seats(order.showtime_id, [c.showtime_seat_id for c in claims])
    states = seats_write(rows, status=SeatStatus.SOLD, expires_at=None, now=now)
    Ticket.objects.bulk_create(
        Ticket(order=order, claim=c, code=secrets.token_urlsafe(18)) for c in claims
    )
    order.status, order.paid_at = Order.Status.PAID, now
    order.save(update_fields=["status", "paid_at"])
    events.seats_changed(order.showtime_id, "sold", states)
    events.order_updated(order.user_id, order_brief(order))


def order_expire_due(*, limit: int = 500, now: datetime | None = None) -> list[Order]:
    """Expire pending orders past their payment deadline (the cleanup command). Returns them.

    One short transaction per order; orders locked elsewhere are skipped (``SKIP LOCKED`` on
    PostgreSQL), so concurrent runs expire and broadcast each order exactly once.
    """
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status=Order.Status.PENDING, expires_at__lte=now)
        .order_by("expires_at").values_list("pk", flat=True)[:limit]
    )
    done = []
    for pk in due:

        def txn(pk=pk) -> Order | None:
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Order.Status.PENDING, expires_at__lte=now).first()
            )
            if order is not None:
                order_end(order, status=Order.Status.EXPIRED, now=timezone.now(), reason="expired")
            return order

        order = run_in_transaction(txn)
        if order is not None:
            done.append(order)
    return done


def order_detail_for(user, order_id) -> Order:
    """The buyer's own order, or 404 ``not_found`` (also for another buyer's order)."""
    order = Order.objects.filter(pk=order_id, user=user).first() if str(order_id).isdigit() else None
    if order is None:
        raise ApplicationError("not_found", "No such order.", status=404)
    return order


__all__: list[Any] = [
    "order_create", "order_create_for_seats", "order_cancel", "order_pay", "order_mark_paid",
    "order_expire_due", "order_end", "order_detail_for",
]
