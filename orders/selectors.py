"""Reads of orders and tickets, in the shapes of shared/spec/api.md "Orders"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Prefetch, Sum
from django.urls import reverse
from django.utils import timezone

from seats.lapse import LapsingQuerySet
from seats.models import Hold, SeatClaim, SeatStatus, Showtime, ShowtimeSeat, ShowtimeSeatQuerySet
from seats.selectors import claim_lines, showtime_prices
from seats.services.waiting import queue_figures

from .models import Order, Ticket

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def order_detail(
    order: Order, claims: Iterable[SeatClaim] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """An order as the API shows it: ``{"id", "number", "status", "showtime", "tickets": [{"seat":
    {"id","label"}, "category", "price"}], "total", "currency", "payment_method", "language", "customer":
    {"name","email","phone"}, "expires_at", "created_at", "paid_at"}``. Money as decimal strings;
    ``language``: the buyer's language when they ordered (its e-mails and tickets are in it).

    ``status`` is the order's status at ``now`` (default: ``timezone.now()``) under the lapse rule
    (domain.md, invariant 4; :mod:`seats.lapse`): a pending order past its payment deadline
    ``expires_at`` reads ``expired`` before the cleanup records it; a paid order never lapses.
    ``tickets`` lists the order's seats (its claims, live or ended), one line per seat, so an
    expired order, lapsed or recorded, still lists the seats it had.
    ``claims``: those claims with ``showtime_seat__seat``, when the caller has them (a service
    that just wrote the order); else they are read (one query).
    """
    if claims is None:
        claims = SeatClaim.objects.filter(order=order).select_related("showtime_seat__seat")
    claims = sorted(claims, key=lambda c: c.showtime_seat_id)
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status_at(now),
        "showtime": order.showtime_id,
        "tickets": [
            {
                "seat": {"id": line["id"], "label": line["label"]},
                "category": line["category"],
                "price": line["price"],
            }
            for line in claim_lines(claims)
        ],
        "total": str(order.total),
        "currency": order.currency,
        "payment_method": order.payment_method,
        "language": order.language or settings.LANGUAGE_CODE,
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "expires_at": order.expires_at.isoformat(),
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
    }


def buyer_orders(user: User) -> LapsingQuerySet:
    """The buyer's own orders, newest first (``-created_at``, ``-id``), with everything the order
    list shows loaded in a constant number of queries however many orders are read: the
    showtime, its show and venue (joined), and the claims (one prefetch query per evaluation)
    ordered by showtime seat, each with its seat and its ticket (none until paid).

    ``order.claims.all()`` then reads the prefetched claims (:func:`buyer_order_view`, or
    :func:`order_detail` given them). Slice it (a page) before evaluating.
    """
    claims = SeatClaim.objects.select_related("showtime_seat__seat", "ticket").order_by(
        "showtime_seat_id"
    )
    return (
        Order.objects.filter(user=user)
        .select_related("showtime__show", "showtime__plan__venue")
        .prefetch_related(Prefetch("claims", queryset=claims))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class SeatLine:
    """One seat of an order: its ``label``, price ``category`` and ``price`` (in the order's
    currency), fixed when the seat was held."""

    label: str
    category: str
    price: Decimal


@dataclass(frozen=True)
class TicketLine:
    """One ticket of a paid order: its ``code`` (the QR payload), the ``seat`` label and its
    ``status`` (``valid``/``used``/``void``)."""

    code: str
    seat: str
    status: str


@dataclass(frozen=True)
class BuyerOrderView:
    """An order as the buyer's page "My orders and tickets" shows it (``/account/orders/``).

    ``status`` is the order's status at the time of reading under the lapse rule (a pending order
    past ``expires_at`` reads ``expired``); ``payment_deadline`` is ``expires_at`` while the order
    is pending (not lapsed), else ``None``; ``tickets`` is empty until the order is paid.
    """

    order: Order
    status: str
    seats: list[SeatLine]
    tickets: list[TicketLine]
    payment_deadline: datetime | None

    @property
    def cancellable(self) -> bool:
        """True while the buyer may cancel it: pending and not lapsed (``order_cancel``)."""
        return self.status == Order.Status.PENDING


def buyer_order_view(order: Order, now: datetime | None = None) -> BuyerOrderView:
    """One order of :func:`buyer_orders` for the page, with its status at ``now`` (default:
    ``timezone.now()``). Reads nothing from the database for an order of :func:`buyer_orders`
    (its claims, seats and tickets are loaded); any other order reads them, row by row."""
    status = order.status_at(now)
    claims = list(order.claims.all())
    tickets = []
    for claim in claims:
        # The reverse one-to-one: missing until the order is paid (RelatedObjectDoesNotExist is
        # an AttributeError). A refunded order keeps its tickets, void.
        ticket = getattr(claim, "ticket", None)
        if ticket is not None:
            tickets.append(TicketLine(ticket.code, claim.showtime_seat.seat.label, ticket.status))
    return BuyerOrderView(
        order=order,
        status=status,
        seats=[SeatLine(c.showtime_seat.seat.label, c.category, c.price) for c in claims],
        tickets=tickets,
        payment_deadline=order.expires_at if status == Order.Status.PENDING else None,
    )


def order_brief(order: Order) -> dict[str, Any]:
    """``{"id", "number", "status", "expires_at"}``: the body of ``order.updated`` frames
    (docs/realtime.md); ``expires_at`` is the payment deadline (ISO 8601), which a pending order
    lapses at."""
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "expires_at": order.expires_at.isoformat(),
    }


def order_tickets(order: Order) -> list[dict[str, Any]]:
    """``[{"code", "seat": {"id","label"}, "category", "price", "status", "qr_svg_url"}]``.

    ``status`` is the ticket's (``valid``/``used``/``void``), not the order's: tickets exist only
    once an order is paid, and a paid order never lapses, so the lapse rule has nothing to change
    here (an unpaid order, lapsed or not, has none)."""
    tickets = (
        Ticket.objects.filter(order=order)
        .select_related("claim__showtime_seat__seat")
        .order_by("claim__showtime_seat_id")
    )
    return [
        {
            "code": t.code,
            "seat": {
                "id": str(t.claim.showtime_seat.seat.guid),
                "label": t.claim.showtime_seat.seat.label,
            },
            "category": t.claim.category,
            "price": str(t.claim.price),
            "status": t.status,
            "qr_svg_url": reverse("ticket-qr", kwargs={"code": t.code}),
        }
        for t in tickets
    ]


def orders_by_status(now: datetime) -> dict[str, int]:
    """``{status: count}`` of all orders for every ``Order.Status``, by status at ``now`` (the
    lapse rule: a pending order past its deadline counts as ``expired``). One query."""
    counts = dict(
        Order.objects.with_effective_status(now)
        .order_by()
        .values_list("effective_status")
        .annotate(n=Count("pk"))
    )
    return {status: counts.get(status, 0) for status in Order.Status.values}


def sales_overview(showtime_id: int) -> dict[str, Any]:
    """The staff sales overview of one showtime (a constant number of queries):

    ``{"showtime", "as_of", "categories": [{"name", "price", "available", "held", "reserved",
    "sold", "blocked", "revenue"}], "totals": {same keys}, "currency", "holds_active",
    "seats_held", "conversion": {"holds_converted_ratio", "holds_ended"}, "queue"}``; money as
    decimal strings; ``revenue`` counts paid orders only (refunded ones are excluded); ``queue``:
    the waiting room's figures (:func:`seats.services.waiting.queue_figures`) while the showtime's
    queue is on, else ``null``.
    """
    now = timezone.now()
    showtime = Showtime.objects.select_related("show", "plan").get(pk=showtime_id)
    # Values rows with one count per status too (keys from ``count_expressions``).
    rows: Iterable[Mapping[str, Any]] = (
        ShowtimeSeat.objects.filter(showtime_id=showtime_id)
        .values("seat__category_id", "seat__category__name", "seat__category__rank")
        .annotate(**ShowtimeSeatQuerySet.count_expressions(now))
        .order_by("seat__category__rank")
    )
    revenue = dict(
        SeatClaim.objects.filter(
            showtime_seat__showtime_id=showtime_id, is_live=True, order__status=Order.Status.PAID
        )
        .values_list("category")
        .annotate(total=Sum("price"))
    )
    prices = showtime_prices(showtime_id)
    keys = tuple(SeatStatus.values)
    categories, totals = [], dict.fromkeys(keys, 0)
    total_revenue = Decimal("0.00")
    for row in rows:
        money = revenue.get(row["seat__category__name"]) or Decimal("0.00")
        total_revenue += money
        categories.append(
            {
                "name": row["seat__category__name"],
                "price": str(prices.get(row["seat__category_id"], "")),
                **{k: row[k] for k in keys},
                "revenue": f"{money:.2f}",
            }
        )
        for k in keys:
            totals[k] += row[k]
    holds = Hold.objects.filter(showtime_id=showtime_id)
    ended = dict(
        holds.exclude(status=Hold.Status.ACTIVE).values_list("status").annotate(n=Count("pk"))
    )
    ended_count = sum(ended.values()) + holds.lapsed(now).count()
    return {
        "showtime": showtime_id,
        "title": showtime.show.title,
        "starts_at": showtime.starts_at,
        "as_of": now,
        "currency": showtime.currency,
        "categories": categories,
        "totals": {**totals, "revenue": f"{total_revenue:.2f}"},
        "holds_active": holds.live(now).count(),
        "seats_held": totals["held"],
        "conversion": {
            "holds_ended": ended_count,
            "holds_converted_ratio": round(ended.get("converted", 0) / ended_count, 4)
            if ended_count
            else None,
        },
        "queue": queue_figures(showtime) if showtime.queue_enabled else None,
    }
