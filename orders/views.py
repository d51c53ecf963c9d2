"""Ticket pages: the QR image of a ticket code."""

import segno
from django.http import Http404, HttpResponse

from .models import Ticket


def ticket_qr(request, code: str):
    """``/tickets/{code}/qr.svg``: the ticket's QR code (SVG) encoding its code.

    The code is unguessable (``secrets.token_urlsafe``), so knowing it is the permission, as with a
    paper ticket.
    """
    if not Ticket.objects.filter(code=code).exists():
        raise Http404("No such ticket.")
    qr = segno.make(code, error="m")
    return HttpResponse(qr.svg_inline(scale=4), content_type="image/svg+xml")
