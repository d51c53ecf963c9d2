"""Writes of orders: create (from a hold, or seats in one step), cancel, pay, expire.

Every lock is taken through seats/locks.py, in its one order: the buyer (creating an order), the
hold or order row, then its showtime seats by primary key. Rules: docs/api.md "Orders", domain.md
invariants 1–4.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import events
from core.errors import ApplicationError
from seats.audit import Change
from seats.locks import (
    RetryTransaction,
    lock_buyer,
    lock_first,
    lock_one,
    lock_showtime_seats,
    run_in_transaction,
)
from seats.models import Hold, SeatClaim, SeatStatus
from seats.rawsql import update
from seats.services import (
    buyer_limits_check,
    claims_end,
    claims_mark,
    claims_take,
    expire_due,
    hold_end,
    live_claims,
    publish_hold,
    resolve_seats,
    run_counting_conflicts,
    seats_per_request_check,
    seats_write,
    showtime_for_sale,
)
from seats.services.statuses import hold_status_message
from seats.services.waiting import queue_gate

from . import emails
from .models import CheckInScan, Order, Payment, PaymentEvent, Ticket
from .payments import get_provider
from .selectors import order_brief

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .idempotency import KeyInTransaction

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class OrderResult:
    """What an order service did: the ``order`` row as written and, when the service read them,
    its ``claims`` (with ``showtime_seat__seat``), so the answer
    (:func:`orders.selectors.order_detail`) reads nothing again; ``None``: read them."""

    order: Order
    claims: list[SeatClaim] | None = None


def _log(message: str, order: Order, **extra: Any) -> None:
    """Log an order event with its number (structured logs carry ``order_number``)."""
    logger.info(
        message, extra={"order_number": order.number, "order_status": order.status, **extra}
    )


def _keyed(txn: Callable[[], T], idempotency: KeyInTransaction | None) -> Callable[[], T]:
    """``txn`` with the ``Idempotency-Key`` claimed first and its answer stored last, in the same
    transaction, so a crash never commits an order without the key's answer (docs/api.md
    "Orders"; orders/idempotency.py). ``txn`` itself when there is no key."""
    if idempotency is None:
        return txn

    def keyed() -> T:
        idempotency.claim()
        result = txn()
        idempotency.store(result)
        return result

    return keyed


def _buyer_language() -> str:
    """The language the buyer is answered in right now (``ticketing/i18n.py`` activated it: saved
    preference, ``?lang=``/cookie, ``Accept-Language``) as one of ``settings.LANGUAGES``; ``""``
    when none is active (a command, the worker)."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or "")
    except LookupError:
        return ""


def _convert(
    hold: Hold,
    *,
    customer: dict[str, str],
    payment_method: str,
    now: datetime,
    claims: list[SeatClaim] | None = None,
    locked: bool = False,
) -> OrderResult:
    """Turn a locked hold's seats into a pending order; seats become ``reserved``.

    The order keeps the buyer's active language (:func:`_buyer_language`): its e-mails and
    tickets are in it.

    Precondition: inside a transaction holding the lock of ``hold``, which is active (or was made
    converted in this transaction by :func:`order_create_for_seats`). ``claims``: the hold's live
    claims when the caller has them (else read); ``locked``: their seats are already locked in
    this transaction and ``claims[i].showtime_seat`` are those locked rows. Returns the order
    with its claims.

    Raises:
        ApplicationError: 409 ``hold_not_active`` when the hold has no seats.
    """
    claims = live_claims(hold=hold) if claims is None else claims
    if not claims:
        raise ApplicationError("hold_not_active", _("This hold has no seats."))
    showtime = hold.showtime
    order = Order.objects.create(
        user_id=hold.user_id,
        showtime=showtime,
        hold=hold,
        status=Order.Status.PENDING,
        total=sum((c.price for c in claims), Decimal("0.00")),
        currency=showtime.currency,
        payment_method=payment_method,
        customer_name=customer.get("name", ""),
        customer_email=customer.get("email", ""),
        customer_phone=customer.get("phone", "") or "",
        language=_buyer_language(),
        expires_at=now + timedelta(seconds=settings.PAYMENT_WINDOW_SECONDS),
    )
    order.number = f"ORD-{order.created_at:%Y%m%d}-{order.pk:06d}"
    update(Order, [order.pk], {"number": order.number})
    rows = (
        [c.showtime_seat for c in claims]
        if locked
        else lock_showtime_seats(showtime.pk, [c.showtime_seat_id for c in claims])
    )
    claims_mark(claims, order_id=order.pk)
    states = seats_write(
        rows,
        status=SeatStatus.RESERVED,
        expires_at=order.expires_at,
        now=now,
        change=Change.buyer("reserved", hold.user_id, hold_id=hold.pk, order_id=order.pk),
    )
    if hold.status != Hold.Status.CONVERTED:  # a one-step order's hold is made converted
        hold.status, hold.ended_at = Hold.Status.CONVERTED, now
        update(Hold, [hold.pk], {"status": hold.status, "ended_at": now})
    _log("order created", order, seats=len(claims), total=str(order.total))
    events.seats_changed(showtime.pk, "reserved", states)
    publish_hold(hold, claims)
    events.order_updated(hold.user_id, order.showtime_id, order_brief(order))
    return OrderResult(order, claims)


def order_create(
    *,
    user: User,
    hold_id: uuid.UUID,
    customer: dict[str, str],
    payment_method: str,
    idempotency: KeyInTransaction | None = None,
    queue_pass: str | None = None,
) -> OrderResult:
    """Convert the buyer's active hold into a pending order (api.md ``POST orders/``).

    The seats become ``reserved`` until the payment deadline (``PAYMENT_WINDOW_SECONDS`` from now).
    The new order counts against the buyer's cap of pending orders on the showtime; the hold's
    seats were counted when they were held and are not counted again
    (:func:`seats.services.buyer_limits_check`). Locks: the buyer, then the hold row only (its
    showtime is read, not locked: a locked showtime row would make every other buyer's hold of
    that showtime wait), then the seats.
    ``idempotency``: the request's key, claimed and answered in the order's transaction.

    Raises:
        ApplicationError: 404 ``not_found`` (another buyer's hold too); 409 ``hold_expired`` (the
            expiry is recorded and broadcast first); 409 ``hold_not_active``; 409 ``buyer_limit``
            (``max_pending_orders_per_buyer``); 403 ``queue_required`` (the showtime's waiting
            room is on and ``queue_pass`` does not admit the buyer: ``seats.services.queue_gate``).
    """

    def txn() -> OrderResult | Hold:
        now = timezone.now()
        lock_buyer(user.pk)
        hold = lock_first(Hold.objects.select_related("showtime").filter(pk=hold_id, user=user))
        if hold is None:
            raise ApplicationError("not_found", _("No such hold."), status=404)
        queue_gate(hold.showtime, user, queue_pass)
        if hold.status != Hold.Status.ACTIVE:
            code = "hold_expired" if hold.status == Hold.Status.EXPIRED else "hold_not_active"
            raise ApplicationError(code, hold_status_message(hold.status))
        if hold.is_lapsed(now):
            hold_end(hold, status=Hold.Status.EXPIRED, now=now)
            return hold  # committed, then answered 409 below
        buyer_limits_check(user_id=user.pk, showtime=hold.showtime, now=now, orders=1)
        return _convert(hold, customer=customer, payment_method=payment_method, now=now)

    result = run_in_transaction(_keyed(txn, idempotency))
    if isinstance(result, Hold):
        raise ApplicationError("hold_expired", _("The hold expired; its seats were released."))
    return result


def order_create_for_seats(
    *,
    user: User,
    showtime_id: int,
    seat_ids: Sequence[str],
    customer: dict[str, str],
    payment_method: str,
    idempotency: KeyInTransaction | None = None,
    queue_pass: str | None = None,
) -> OrderResult:
    """Hold seats and order them in one atomic step (api.md ``POST orders/`` with ``seats``).

    Independent of the buyer's active hold on the showtime, if any: it is left as it is, and its
    seats count with the new ones against the buyer's caps (:func:`seats.services.
    buyer_limits_check`: the seats and one more pending order).
    ``idempotency``: the request's key, claimed and answered in the order's transaction.

    Raises:
        ApplicationError: as :func:`seats.services.hold_create` (404, 400 ``unknown_seats``,
            ``too_many_seats``, ``validation_error`` for a seat listed twice in any spelling,
            409 ``sales_closed``, ``buyer_limit``, ``seat_unavailable``, ``busy``; 403
            ``queue_required``).
    """
    showtime = showtime_for_sale(showtime_id)
    queue_gate(showtime, user, queue_pass)
    wanted = resolve_seats(showtime, seat_ids)
    seats_per_request_check(showtime, len(wanted))

    def txn() -> OrderResult:
        now = timezone.now()
        lock_buyer(user.pk)
        buyer_limits_check(user_id=user.pk, showtime=showtime, now=now, seats=len(wanted), orders=1)
        hold = Hold.objects.create(
            user=user,
            showtime=showtime,
            status=Hold.Status.CONVERTED,
            ended_at=now,
            expires_at=now + timedelta(seconds=showtime.hold_ttl),
        )
        # One frame for the whole step: the "reserved" one that _convert publishes.
        _, claims = claims_take(showtime=showtime, hold=hold, seat_ids=wanted, now=now)
        return _convert(
            hold,
            customer=customer,
            payment_method=payment_method,
            now=now,
            claims=claims,
            locked=True,
        )

    return run_counting_conflicts(_keyed(txn, idempotency))


def _locked_order(user: User | None, order_id: int) -> Order:
    """The order ``order_id`` (of ``user`` unless None), locked ``FOR UPDATE``
    (:func:`seats.locks.lock_one`). Raises ApplicationError 404 ``not_found``."""
    where = {"pk": order_id}
    if user is not None:
        where["user_id"] = user.pk
    order = lock_one(Order, where)
    if order is None:
        raise ApplicationError("not_found", _("No such order."), status=404)
    return order


def order_end(
    order: Order, *, status: str, now: datetime, reason: str, staff: User | None = None
) -> None:
    """End a live order (``cancelled``/``expired``/``refunded``), free its seats and publish it.

    Refunding voids the order's tickets. The audit trail names ``staff`` when given, the system
    for an expiry, else the buyer. Precondition: inside a transaction holding the lock of
    ``order``.
    """
    if staff is not None:
        change = Change.staff(reason, staff.pk, order_id=order.pk, hold_id=order.hold_id)
    elif status == Order.Status.EXPIRED:
        change = Change.system(reason, order_id=order.pk, hold_id=order.hold_id)
    else:
        change = Change.buyer(reason, order.user_id, order_id=order.pk, hold_id=order.hold_id)
    states = claims_end(live_claims(order=order), now=now, change=change)
    if status == Order.Status.REFUNDED:
        Ticket.objects.filter(order=order).update(status=Ticket.Status.VOID)
    order.status, order.ended_at = status, now
    update(Order, [order.pk], {"status": status, "ended_at": now})
    emails.enqueue(order, status, now=now)
    _log(f"order {status}", order, by_staff=staff is not None)
    events.seats_changed(order.showtime_id, reason, states)
    events.order_updated(order.user_id, order.showtime_id, order_brief(order))


def order_status_message(status: str, *, cancel: bool = False) -> str:
    """The sentence of a 409 for an order that cannot be paid (or, with ``cancel``, cancelled)
    in its ``status``, in the request's language: one whole sentence per status, so that the
    translation says the status in its own words (the code stays in ``details.status``)."""
    messages: dict[str, str]
    if cancel:
        messages = {
            Order.Status.PAID: _("This order is paid; only pending orders can be cancelled."),
            Order.Status.CANCELLED: _(
                "This order is cancelled; only pending orders can be cancelled."
            ),
            Order.Status.EXPIRED: _("This order is expired; only pending orders can be cancelled."),
            Order.Status.REFUNDED: _(
                "This order is refunded; only pending orders can be cancelled."
            ),
        }
        fallback = _("This order is %(status)s; only pending orders can be cancelled.")
    else:
        messages = {
            Order.Status.PAID: _("This order is paid."),
            Order.Status.CANCELLED: _("This order is cancelled."),
            Order.Status.EXPIRED: _("This order is expired."),
            Order.Status.REFUNDED: _("This order is refunded."),
        }
        fallback = _("This order is %(status)s.")
    return messages.get(status) or fallback % {"status": status}


def order_cancel(*, user: User, order_id: int) -> Order:
    """Cancel a pending order (api.md ``POST orders/{id}/cancel/``): its seats become available.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``order_not_cancellable`` when it is not pending
            (an order past its payment deadline is recorded as expired first).
    """

    def txn() -> tuple[Order, bool]:
        now = timezone.now()
        order = _locked_order(user, order_id)
        if order.is_lapsed(now):
            order_end(order, status=Order.Status.EXPIRED, now=now, reason="expired")
        elif order.status == Order.Status.PENDING:
            order_end(order, status=Order.Status.CANCELLED, now=now, reason="cancelled")
            return order, True
        return order, False

    order, cancelled = run_in_transaction(txn)
    if not cancelled:
        raise ApplicationError(
            "order_not_cancellable",
            order_status_message(order.status, cancel=True),
            details={"status": order.status},
        )
    return order


def order_pay(*, user: User, order_id: int) -> OrderResult:
    """Pay a pending order with the configured provider (api.md ``POST orders/{id}/pay/``).

    With the ``demo`` provider the payment is captured at once: the order becomes ``paid``, its
    seats ``sold``, and one ticket with an unguessable code is issued per seat. With ``webhook`` the
    order stays ``pending`` until :func:`payment_confirm`. Paying an order that is already paid
    returns it unchanged.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``order_expired`` past the payment deadline (the
            expiry is recorded and broadcast first); 409 ``order_not_payable`` when cancelled,
            expired or refunded.
    """
    provider = get_provider()

    def txn() -> OrderResult:
        now = timezone.now()
        order = _locked_order(user, order_id)
        if order.is_lapsed(now):
            order_end(order, status=Order.Status.EXPIRED, now=now, reason="expired")
            return OrderResult(order)
        if order.status != Order.Status.PENDING:
            return OrderResult(order)
        result = provider.start(
            order_number=order.number, amount=order.total, currency=order.currency
        )
        if not result.captured:  # stays pending until the provider's webhook confirms
            return OrderResult(order)
        Payment.objects.create(
            order=order,
            provider=provider.name,
            payment_id=result.payment_id,
            amount=result.amount,
            currency=result.currency,
            status=Payment.Status.SUCCEEDED,
        )
        return OrderResult(order, order_mark_paid(order, now=now))

    paid = run_in_transaction(txn)
    order = paid.order
    if order.status == Order.Status.EXPIRED:
        raise ApplicationError(
            "order_expired",
            _("The payment deadline passed; the seats were released."),
            details={"status": order.status},
        )
    if order.status not in (Order.Status.PAID, Order.Status.PENDING):
        raise ApplicationError(
            "order_not_payable",
            order_status_message(order.status),
            details={"status": order.status},
        )
    return paid


def order_mark_paid(order: Order, *, now: datetime, staff: User | None = None) -> list[SeatClaim]:
    """Mark a locked pending order paid: seats ``sold``, tickets issued, events published.
    Returns the order's claims (with ``showtime_seat__seat``).

    Precondition: inside a transaction holding the lock of ``order``; the order is pending.
    """
    claims = live_claims(order=order)
    rows = lock_showtime_seats(order.showtime_id, [c.showtime_seat_id for c in claims])
    refs = {"order_id": order.pk, "hold_id": order.hold_id}
    change = (
        Change.staff("sold", staff.pk, **refs)
        if staff is not None
        else Change.buyer("sold", order.user_id, **refs)
    )
    states = seats_write(rows, status=SeatStatus.SOLD, expires_at=None, now=now, change=change)
    Ticket.objects.bulk_create(
        [Ticket(order=order, claim=c, code=secrets.token_urlsafe(18)) for c in claims]
    )
    order.status, order.paid_at = Order.Status.PAID, now
    update(Order, [order.pk], {"status": order.status, "paid_at": now})
    emails.enqueue(order, "paid", now=now)
    _log("order paid", order, by_staff=staff is not None)
    events.seats_changed(order.showtime_id, "sold", states)
    events.order_updated(order.user_id, order.showtime_id, order_brief(order))
    return claims


# --- Staff actions ----------------------------------------------------------------------------------


def order_staff_action(*, order_id: int, action: str, staff: User | None) -> tuple[Order, bool]:
    """Apply a box-office action to one order; return ``(order, done)``.

    ``action`` is ``mark_paid`` (cash taken at the box office: a pending order becomes paid,
    tickets issued), ``cancel`` (a pending order is cancelled) or ``refund`` (a paid order is
    refunded: seats released and broadcast as ``refunded``, tickets voided). ``done`` is false when
    the order's status does not allow the action (it is then left unchanged; a pending order past
    its deadline is recorded as expired).
    """

    def txn() -> tuple[Order, bool]:
        now = timezone.now()
        order = _locked_order(None, order_id)
        if order.is_lapsed(now):
            order_end(order, status=Order.Status.EXPIRED, now=now, reason="expired")
            return order, False
        if action == "mark_paid" and order.status == Order.Status.PENDING:
            Payment.objects.create(
                order=order,
                provider="box_office",
                payment_id=f"box-office-{order.pk}-{secrets.token_hex(4)}",
                amount=order.total,
                currency=order.currency,
                status=Payment.Status.SUCCEEDED,
            )
            order_mark_paid(order, now=now, staff=staff)
            return order, True
        if action == "cancel" and order.status == Order.Status.PENDING:
            order_end(
                order, status=Order.Status.CANCELLED, now=now, reason="cancelled", staff=staff
            )
            return order, True
        if action == "refund" and order.status == Order.Status.PAID:
            order_end(order, status=Order.Status.REFUNDED, now=now, reason="refunded", staff=staff)
            return order, True
        return order, False

    if action not in ("mark_paid", "cancel", "refund"):
        raise ValueError(f"unknown action {action!r}")
    return run_in_transaction(txn)


def order_expire_due(*, limit: int = 500, now: datetime | None = None) -> list[Order]:
    """Expire pending orders past their payment deadline (the cleanup command); see
    :func:`seats.services.expire_due`."""
    return expire_due(
        Order,
        limit=limit,
        now=now,
        end=lambda order, at: order_end(
            order, status=Order.Status.EXPIRED, now=at, reason="expired"
        ),
    )


def order_detail_for(user: User, order_id: int) -> Order:
    """The buyer's own order, or 404 ``not_found`` (also for another buyer's order)."""
    order = Order.objects.filter(pk=order_id, user=user).first()
    if order is None:
        raise ApplicationError("not_found", _("No such order."), status=404)
    return order


# --- Payment confirmations (webhook) ----------------------------------------------------------------


def payment_confirm(
    *,
    event: str,
    payment_id: str,
    order_number: str,
    amount: Decimal,
    currency: str,
    provider: str = "webhook",
) -> tuple[Payment, str]:
    """Apply a provider's webhook (api.md ``POST payments/webhook/``); return ``(payment,
    result)``. ``amount`` is in ``currency`` (ISO 4217); ``event`` is ``payment.succeeded`` or
    ``payment.failed``.

    Idempotent per ``(provider, payment_id)``, by the state of its :class:`Payment` row, so that
    a payment is never silently dropped (api.md "Payments and check-in"):

    ==================  ======================  ============================================
    event               the payment row         ``result``
    ==================  ======================  ============================================
    succeeded           none, or ``failed``     ``paid`` (the pending order is paid now) or
                                                ``flagged`` (money the order cannot take: it
                                                expired or was cancelled, it was already paid,
                                                or amount/currency differ — ``needs_refund``,
                                                the order and its seats untouched, so seats
                                                bought by someone else since are never
                                                resurrected)
    succeeded           ``succeeded``           ``replayed``: nothing changes
    failed              none                    ``failed``: recorded, the order stays pending
    failed              ``failed``              ``replayed``: nothing changes
    failed              ``succeeded``           ``ignored``: the success stands
    ==================  ======================  ============================================

    Every call is kept in the payment log (:class:`PaymentEvent`, one row with the event and its
    result) in the same transaction; an unknown order number too, before the 404. Webhooks for
    one order are serialised by the order's row lock.

    Raises:
        ApplicationError: 404 ``not_found`` for an unknown order number (logged first).
    """

    def txn() -> tuple[Payment | None, str]:
        now = timezone.now()
        log = {
            "received_at": now,
            "provider": provider,
            "event": event,
            "payment_id": payment_id,
            "order_number": order_number[:32],
            "amount": amount,
            "currency": currency,
        }
        order = lock_first(Order.objects.filter(number=order_number))
        if order is None:
            PaymentEvent.objects.create(outcome=PaymentEvent.Outcome.UNKNOWN_ORDER, **log)
            return None, PaymentEvent.Outcome.UNKNOWN_ORDER
        payment, result = _payment_apply(
            order,
            event=event,
            provider=provider,
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            now=now,
        )
        PaymentEvent.objects.create(
            order=order,
            payment_record=payment,
            outcome=result,
            note=payment.note if result == "flagged" else "",
            **log,
        )
        return payment, result

    payment, result = run_in_transaction(txn)
    if payment is None:
        raise ApplicationError(
            "not_found",
            _("No order with this number."),
            status=404,
            details={"order_number": order_number},
        )
    return payment, result


def _payment_apply(
    order: Order,
    *,
    event: str,
    provider: str,
    payment_id: str,
    amount: Decimal,
    currency: str,
    now: datetime,
) -> tuple[Payment, str]:
    """The effect of one webhook on the payment row ``(provider, payment_id)`` and ``order``
    (the table of :func:`payment_confirm`); return ``(payment row, result)``.

    Precondition: inside a transaction holding the lock of ``order``.
    """
    seen = lock_first(Payment.objects.filter(provider=provider, payment_id=payment_id))
    if event == "payment.failed":
        if seen is None:
            try:
                with transaction.atomic():  # same payment_id, another order, at the same moment
                    return Payment.objects.create(
                        order=order,
                        provider=provider,
                        payment_id=payment_id,
                        amount=amount,
                        currency=currency,
                        status=Payment.Status.FAILED,
                    ), "failed"
            except IntegrityError as exc:
                raise RetryTransaction from exc
        return seen, ("replayed" if seen.status == Payment.Status.FAILED else "ignored")
    if seen is not None and seen.status == Payment.Status.SUCCEEDED:
        return seen, "replayed"
    if order.is_lapsed(now):
        order_end(order, status=Order.Status.EXPIRED, now=now, reason="expired")
    problem = None
    if amount != order.total or currency != order.currency:
        problem = f"amount {amount} {currency} does not match {order.total} {order.currency}"
    elif order.status != Order.Status.PENDING:
        problem = f"order is {order.status}"
    values = {
        "order": order,
        "amount": amount,
        "currency": currency,
        "status": Payment.Status.SUCCEEDED,
        "needs_refund": problem is not None,
        "note": problem or "",
    }
    if seen is None:
        try:
            with transaction.atomic():
                payment = Payment.objects.create(provider=provider, payment_id=payment_id, **values)
        except IntegrityError as exc:
            raise RetryTransaction from exc
    else:  # a success after a failure of the same payment: the money arrived after all
        for name, value in values.items():
            setattr(seen, name, value)
        seen.save(update_fields=list(values))
        payment = seen
    if problem:
        logger.warning(
            "payment flagged for refund: %s",
            problem,
            extra={"order_number": order.number, "payment_id": payment_id},
        )
        return payment, "flagged"
    order_mark_paid(order, now=now)
    return payment, "paid"


def ticket_check_in(*, code: str, staff: User | None) -> tuple[str, Ticket | None, datetime | None]:
    """Admit a ticket at the door (api.md ``POST checkin/``); return ``(result, ticket,
    checked_in_at)``.

    ``result`` is ``ok`` (admitted now), ``already_used`` (admitted before, at ``checked_in_at``),
    ``void`` (refunded) or ``unknown``. Admission is one conditional UPDATE (``status = valid``), so
    two scanners sending the same code at once get one ``ok`` and one ``already_used``. Every scan
    is logged (``CheckInScan``).
    """
    now = timezone.now()
    admitted = Ticket.objects.filter(code=code, status=Ticket.Status.VALID).update(
        status=Ticket.Status.USED, checked_in_at=now
    )
    ticket = (
        Ticket.objects.filter(code=code)
        .select_related("order", "claim__showtime_seat__seat")
        .first()
    )
    if admitted:
        result = CheckInScan.Result.OK
    elif ticket is None:
        result = CheckInScan.Result.UNKNOWN
    elif ticket.status == Ticket.Status.USED:
        result = CheckInScan.Result.ALREADY_USED
    else:
        result = CheckInScan.Result.VOID
    CheckInScan.objects.create(code=code[:100], ticket=ticket, result=result, staff=staff, at=now)
    return result, ticket, ticket.checked_in_at if ticket else None
