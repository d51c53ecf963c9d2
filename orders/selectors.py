"""Reads of orders and tickets, in the shapes of shared/spec/api.md "Orders"."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from seats.models import SeatClaim
from seats.selectors import claim_lines

from .models import Order, Ticket


def order_detail(order: Order) -> dict[str, Any]:
    """An order as the API shows it: ``{"id", "number", "status", "showtime", "tickets": [{"seat":
    {"id","label"}, "category", "price"}], "total", "currency", "payment_method", "customer":
    {"name","email","phone"}, "expires_at", "created_at", "paid_at"}``. Money as decimal strings.

    ``tickets`` lists the order's seats (its claims, live or ended), one line per seat.
    """
    claims = (
        SeatClaim.objects.filter(order=order)
        .select_related("showtime_seat__seat")
        .order_by("showtime_seat_id")
    )
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "showtime": order.showtime_id,
        "tickets": [
            {"seat": {"id": line["id"], "label": line["label"]}, "category": line["category"],
             "price": line["price"]}
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
    """``{"id", "number", "status"}``: the body of ``order.updated`` frames (realtime.md)."""
    return {"id": order.pk, "number": order.number, "status": order.status}


def order_tickets(order: Order) -> list[dict[str, Any]]:
    """``[{"code", "seat": {"id","label"}, "category", "price", "status", "qr_svg_url"}]``."""
    tickets = (
        Ticket.objects.filter(order=order)
        .select_related("claim__showtime_seat__seat")
        .order_by("claim__showtime_seat_id")
    )
    return [
        {
            "code": t.code,
            "seat": {"id": str(t.claim.showtime_seat.seat.guid),
                     "label": t.claim.showtime_seat.seat.label},
            "category": t.claim.category,
            "price": str(t.claim.price),
            "status": t.status,
            "qr_svg_url": reverse("ticket-qr", kwargs={"code": t.code}),
        }
        for t in tickets
    ]
