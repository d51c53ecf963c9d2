"""Reads of orders and tickets, in the shapes of shared/spec/api.md "Orders"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from seats.models import Hold, SeatClaim, SeatStatus, Showtime, ShowtimeSeat, ShowtimeSeatQuerySet
from seats.selectors import claim_lines, showtime_prices

from .models import Order, Ticket


def order_detail(
    order: Order, claims: Iterable[SeatClaim] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """An order as the API shows it: ``{"id", "number", "status", "showtime", "tickets": [{"seat":
    {"id","label"}, "category", "price"}], "total", "currency", "payment_method", "customer":
    {"name","email","phone"}, "expires_at", "created_at", "paid_at"}``. Money as decimal strings.

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
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "expires_at": order.expires_at.isoformat(),
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
    }


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
    "seats_held", "conversion": {"holds_converted_ratio", "holds_ended"}}``; money as decimal
    strings; ``revenue`` counts paid orders only (refunded ones are excluded).
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
    }
