"""Ticket pages: the printable ticket, its QR image, and the staff check-in page."""

import segno
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from .models import Ticket


def _ticket(code: str) -> Ticket:
    ticket = (
        Ticket.objects.filter(code=code)
        .select_related(
            "order__showtime__show", "order__showtime__plan__venue", "claim__showtime_seat__seat"
        )
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def _qr(code: str) -> segno.QRCode:
    # The QR payload is the ticket code itself: the check-in scanner sends it to POST checkin/.
    return segno.make(code, error="m")


def ticket_qr(request: HttpRequest, code: str) -> HttpResponse:
    """``/tickets/{code}/qr.svg``: the ticket's QR code (SVG) encoding its code.

    The code is unguessable (``secrets.token_urlsafe``), so knowing it is the permission, as with a
    paper ticket.
    """
    _ticket(code)
    return HttpResponse(_qr(code).svg_inline(scale=4), content_type="image/svg+xml")


def ticket_page(request: HttpRequest, code: str) -> HttpResponse:
    """``/tickets/{code}/``: the printable ticket (show, showtime, venue, seat, category, price,
    order number, QR)."""
    ticket = _ticket(code)
    return render(
        request,
        "orders/ticket.html",
        {
            "ticket": ticket,
            "order": ticket.order,
            "showtime": ticket.order.showtime,
            "seat": ticket.claim.showtime_seat.seat,
            "claim": ticket.claim,
            "qr_svg": mark_safe(_qr(code).svg_inline(scale=5)),  # segno's own SVG markup
        },
    )


@staff_member_required
def checkin_page(request):
    """``/staff/checkin/``: type or scan a ticket code; the page posts it to ``POST checkin/``."""
    return render(request, "orders/checkin.html")


@staff_member_required
def sales_page(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """``/staff/showtimes/{id}/sales/``: the live sales overview (seats by status and category,
    revenue, holds, conversion), refreshed on every ``seats.changed`` of the showtime."""
    from django.shortcuts import get_object_or_404

    from seats.models import Showtime

    showtime = get_object_or_404(
        Showtime.objects.select_related("show", "plan__venue"), pk=showtime_id
    )
    return render(request, "orders/sales.html", {"showtime": showtime})
