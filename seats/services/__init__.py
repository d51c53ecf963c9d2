"""Writes of seat inventory, one module per job; the public names are re-exported here, so
callers write ``from seats.services import hold_create`` (or ``services.hold_create``).

=====================  ==============================================================
module                 job
=====================  ==============================================================
``claims``             the claim primitives (seat status and claims; orders uses them)
``holds``              make, add to, release, extend, end and expire holds
``inventory``          showtimes, their inventory, on-sale check, staff blocks
``picks``              general-admission places, best available, the single-seat rule
``limits``             seats per hold or order, the per-buyer caps
``ids``                seat ids of a request to showtime seats
``expiry``             the cleanup's loops over lapsed holds or orders, abandoned holds
``abandon``            presence leases on holds, the release of abandoned holds
``waiting``            the waiting room: joins, the shuffle, the admitter, the pass
=====================  ==============================================================
"""

from .abandon import (
    hold_abandon_due,
    hold_presence_arrive,
    hold_presence_left,
    hold_presence_refresh,
)
from .claims import (
    claims_end,
    claims_end_lapsed,
    claims_mark,
    claims_take,
    live_claims,
    run_counting_conflicts,
    seats_write,
)
from .expiry import end_due, expire_due
from .holds import (
    HoldResult,
    hold_best,
    hold_create,
    hold_end,
    hold_expire_due,
    hold_extend,
    hold_force_release,
    hold_release,
    publish_hold,
)
from .ids import resolve_seats, seat_ids_parse
from .inventory import (
    inventory_create,
    seats_block,
    seats_unblock,
    showtime_create,
    showtime_for_sale,
    showtime_prices_check,
)
from .limits import buyer_limits_check, seats_per_request_check

__all__ = [
    "HoldResult",
    "buyer_limits_check",
    "claims_end",
    "claims_end_lapsed",
    "claims_mark",
    "claims_take",
    "end_due",
    "expire_due",
    "hold_abandon_due",
    "hold_best",
    "hold_create",
    "hold_end",
    "hold_expire_due",
    "hold_extend",
    "hold_force_release",
    "hold_presence_arrive",
    "hold_presence_left",
    "hold_presence_refresh",
    "hold_release",
    "inventory_create",
    "live_claims",
    "publish_hold",
    "resolve_seats",
    "run_counting_conflicts",
    "seat_ids_parse",
    "seats_block",
    "seats_per_request_check",
    "seats_unblock",
    "seats_write",
    "showtime_create",
    "showtime_for_sale",
    "showtime_prices_check",
]
