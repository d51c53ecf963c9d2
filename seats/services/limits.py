"""The booking caps of a showtime: seats per hold or order, and the per-buyer caps.

api.md "Holds" and "Orders" (400 ``too_many_seats``, 409 ``buyer_limit``). Each cap is checked in
one function; the services call it once per request, under the locks that make the count exact.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import ApplicationError

from ..models import Showtime
from ..selectors import buyer_usage


def seats_per_request_check(showtime: Showtime, count: int) -> None:
    """Refuse a hold or order of more than ``showtime.max_seats_per_order`` seats (``count``: the
    seats it would have in total, a hold's own seats included).

    Raises:
        ApplicationError: 400 ``too_many_seats``, details ``{"max_seats_per_order": n}``.
    """
    limit = showtime.max_seats_per_order
    if count > limit:
        raise ApplicationError(
            "too_many_seats",
            _("At most %(limit)s seats can be bought at once.") % {"limit": limit},
            details={"max_seats_per_order": limit},
            status=400,
        )


def buyer_limits_check(
    *, user_id: int, showtime: Showtime, now: datetime, seats: int = 0, orders: int = 0
) -> None:
    """Refuse a write that would take a buyer past a per-buyer cap of the showtime (api.md
    "Holds" and "Orders": one account must not hoard the house).

    ``seats``: seats the write adds to what the buyer has held or in pending orders (a hold, an
    addition to a hold, a one-step order; 0 when a hold becomes an order: its seats are already
    counted); ``orders``: pending orders it adds (1 for an order, 0 for a hold). The caps:
    ``showtime.seats_per_buyer`` seats (``max_seats_per_buyer``, else ``max_seats_per_order``),
    and ``settings.MAX_PENDING_ORDERS_PER_BUYER`` pending orders, both counted at ``now`` by
    :func:`seats.selectors.buyer_usage` (lapsed holds and orders do not count, paid ones neither).
    One statement. Precondition: the caller holds :func:`seats.locks.lock_buyer` for the buyer,
    so two requests of one buyer cannot both pass.

    Raises:
        ApplicationError: 409 ``buyer_limit``, details ``{"cap": "max_seats_per_buyer" |
            "max_pending_orders_per_buyer", "limit", "current", "requested"}`` (counts).
    """
    usage = buyer_usage(user_id, showtime.pk, now)
    caps = (
        (
            "max_seats_per_buyer",
            showtime.seats_per_buyer,
            usage.seats,
            seats,
            _(
                "One buyer can have at most %(limit)s seats held or in unpaid orders for this "
                "showtime; you have %(current)s. Pay or cancel an order, or release seats, first."
            ),
        ),
        (
            "max_pending_orders_per_buyer",
            settings.MAX_PENDING_ORDERS_PER_BUYER,
            usage.pending_orders,
            orders,
            _(
                "One buyer can have at most %(limit)s unpaid orders for this showtime; you have "
                "%(current)s. Pay or cancel an order, or release seats, first."
            ),
        ),
    )
    for cap, limit, current, requested, message in caps:
        if requested and current + requested > limit:
            raise ApplicationError(
                "buyer_limit",
                message % {"limit": limit, "current": current},
                details={"cap": cap, "limit": limit, "current": current, "requested": requested},
            )
