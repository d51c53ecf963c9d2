"""Order e-mails through Django's e-mail framework (console backend by default, SMTP by settings),
always sent after the transaction that changed the order commits."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Order, Ticket

logger = logging.getLogger(__name__)

SUBJECTS = {
    "paid": "Your tickets for {show} — order {number}",
    "expired": "Order {number} expired: the seats were released",
    "cancelled": "Order {number} was cancelled",
    "refunded": "Order {number} was refunded",
}


def on_commit_send(order: Order, kind: str, tickets: Sequence[Ticket] | None = None) -> None:
    """After commit, e-mail the order's customer about ``kind`` (``paid``, ``expired``,
    ``cancelled``, ``refunded``). ``tickets``: the order's tickets in seat order, each with
    ``claim.showtime_seat.seat`` loaded, when the caller has just made them (else read). A failed
    send is logged, never raised."""
    if kind in SUBJECTS and order.customer_email:
        transaction.on_commit(lambda: send_order_mail(order.pk, kind, tickets))


def send_order_mail(order_id: int, kind: str, tickets: Sequence[Ticket] | None = None) -> None:
    """Render ``templates/emails/order_<kind>.txt`` and send it to the customer. ``tickets`` as
    in :func:`on_commit_send`: given, they are not read again (a third of the statements of a
    payment, bench/README.md)."""
    try:
        order = Order.objects.select_related("showtime__show", "showtime__plan__venue").get(
            pk=order_id)
        if tickets is None:
            tickets = list(Ticket.objects.filter(order=order)
                           .select_related("claim__showtime_seat__seat")
                           .order_by("claim__showtime_seat_id"))
        context = {
            "order": order, "showtime": order.showtime, "site_url": settings.SITE_URL,
            "tickets": [{"label": t.claim.showtime_seat.seat.label, "code": t.code,
                         "url": settings.SITE_URL + reverse("ticket-page",
                                                            kwargs={"code": t.code})}
                        for t in tickets],
        }
        subject = SUBJECTS[kind].format(show=order.showtime.show.title, number=order.number)
        body = render_to_string(f"emails/order_{kind}.txt", context)
        send_mail(subject, body, None, [order.customer_email])
    except Exception:
        logger.exception("sending the %s e-mail of order %s failed", kind, order_id)
