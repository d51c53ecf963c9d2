"""Order and ticket pages: the buyer's orders and tickets (with cancel), the printable ticket, its
QR image, and the staff check-in page."""

import io
from typing import TYPE_CHECKING, cast

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from seats.selectors import hold_details, holds_live_of

from . import services
from .models import Ticket
from .selectors import buyer_order_view, buyer_orders

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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

    A standalone SVG document (with the SVG namespace, unlike the markup inlined in the ticket
    page), so that ``<img src>`` renders it. The code is unguessable (``secrets.token_urlsafe``),
    so knowing it is the permission, as with a paper ticket.
    """
    _ticket(code)
    svg = io.BytesIO()
    _qr(code).save(svg, kind="svg", scale=4, xmldecl=False, nl=False)
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")


def _chosen_language(request: HttpRequest) -> str | None:
    """The language the viewer chose on the site (``?lang=`` or the switcher's cookie), or
    ``None``: the request's language then comes only from the browser or the default."""
    for code in (request.GET.get("lang"), request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)):
        try:
            return translation.get_supported_language_variant(code or "")
        except LookupError:
            continue
    return None


def ticket_page(request: HttpRequest, code: str) -> HttpResponse:
    """``/tickets/{code}/``: the printable ticket (show, showtime, venue, seat, category, price,
    order number, QR), in the order's language (the buyer's when they ordered, docs/i18n.md)
    unless the viewer chose one (``?lang=``, the language switcher): the link in the e-mail opens
    in the buyer's language whichever browser follows it."""
    ticket = _ticket(code)
    order = ticket.order
    language = (
        translation.get_language()
        if _chosen_language(request)
        else order.language or settings.LANGUAGE_CODE
    )
    with translation.override(language):
        response = render(
            request,
            "orders/ticket.html",
            {
                "ticket": ticket,
                "order": order,
                "showtime": order.showtime,
                "seat": ticket.claim.showtime_seat.seat,
                "claim": ticket.claim,
                "qr_svg": mark_safe(_qr(code).svg_inline(scale=5)),  # segno's own SVG markup
            },
        )
    response.headers["Content-Language"] = language
    return response


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


ORDERS_PER_PAGE = 20


@login_required
def account_orders(request: HttpRequest) -> HttpResponse:
    """``/account/orders/``: the signed-in buyer's live holds (seats, time left, a link back to
    the seat map to check out), then their orders and tickets, newest first,
    ``ORDERS_PER_PAGE`` a page (``?page=``; a page that is not a number reads as the first, one
    past the end as the last). Each order with its status now (the lapse rule), seats, payment
    deadline while pending (with a cancel button) and, once paid, its tickets with their printable
    page and QR image. A constant number of queries per page (:func:`buyer_orders`)."""
    buyer = cast("User", request.user)  # login_required
    page = Paginator(buyer_orders(buyer), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    holds = list(
        holds_live_of(buyer, now).select_related("showtime__show", "showtime__plan__venue")
    )
    return render(
        request,
        "orders/account_orders.html",
        {
            "page": page,
            "orders": [buyer_order_view(o, now) for o in page.object_list],
            # The buyer's live holds (GET holds/), with a way back to each seat map.
            "holds": [
                (hold, detail, -(-detail["expires_in"] // 60))  # whole minutes left, rounded up
                for hold, detail in zip(holds, hold_details(holds, now), strict=True)
            ],
        },
    )


@require_POST
def account_order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    """``POST /account/orders/{id}/cancel/``: cancel the buyer's pending order
    (:func:`orders.services.order_cancel`), then back to the list (the page posted from, form field
    ``page``) with a message saying what happened.

    A refusal (409 ``order_not_cancellable``, ``busy``) is shown as an error message, never a 500;
    another buyer's order (or none) is the 404 page. Any other method: 405. Signed out (a session
    that ended): to the sign-in page, and from there back to the list, not to this URL.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("account-orders"))
    try:
        order = services.order_cancel(user=request.user, order_id=order_id)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("Order %(number)s is cancelled; its seats are free again.")
            % {"number": order.number},
        )
    url = reverse("account-orders")
    page = request.POST.get("page", "")
    if page.isascii() and page.isdigit() and page != "1":
        url += f"?page={page}"
    return redirect(url)
