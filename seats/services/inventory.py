"""Showtimes and their inventory: creation, whether tickets are on sale, staff blocks.

Rules: shared/spec/domain.md, docs/api.md ("Showtimes"), the admin's block/unblock actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import events
from core.errors import ApplicationError

from ..audit import Change
from ..locks import lock_showtime_seats, run_in_transaction
from ..models import (
    PlanCategory,
    SeatingPlan,
    SeatStatus,
    Show,
    Showtime,
    ShowtimePrice,
    ShowtimeSeat,
)
from ..rawsql import fetch_one
from ..selectors import effective_state
from .claims import claims_end_lapsed, seats_write

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def showtime_create(
    *,
    show: Show,
    plan: SeatingPlan,
    starts_at: datetime,
    prices: dict[str, Decimal],
    currency: str = "EUR",
    hold_ttl: int | None = None,
    max_seats_per_order: int | None = None,
    max_seats_per_buyer: int | None = None,
    status: str = Showtime.Status.ON_SALE,
    forbid_single_seats: bool = False,
    sales_start: datetime | None = None,
    sales_end: datetime | None = None,
    abandon_grace_seconds: int | None = None,
    max_hold_extensions: int | None = None,
    max_hold_seconds: int | None = None,
    queue_enabled: bool = False,
    onsale_at: datetime | None = None,
    target_active_buyers: int | None = None,
    admission_rate_per_minute: int | None = None,
    admission_window_seconds: int | None = None,
) -> Showtime:
    """Create a showtime with its prices and its inventory (one ``ShowtimeSeat`` per plan seat).

    The one way a showtime is made (the admin, ``load_demo``, tests and benchmarks call it).

    Args:
        prices: plan category name → price in ``currency``; see :func:`showtime_prices_check`.
        hold_ttl: seconds a hold lasts; ``None``: ``settings.HOLD_TTL_SECONDS`` (the field's
            default).
        max_seats_per_order: seats in one hold or order; ``None``:
            ``settings.MAX_SEATS_PER_ORDER``.
        max_seats_per_buyer: the per-buyer cap (held and pending seats together); ``None``: the
            same as ``max_seats_per_order``, whatever it becomes (``Showtime.seats_per_buyer``).
        abandon_grace_seconds, max_hold_extensions, max_hold_seconds: how holds follow the
            buyer (``Showtime``); ``None``: the field's default (60, 2, 900).
        queue_enabled, onsale_at, target_active_buyers, admission_rate_per_minute,
            admission_window_seconds: the waiting room (docs/waiting-room.md); ``None``: the
            field's default (500, 1000, 300).

    Raises:
        ApplicationError: 400 ``validation_error`` when the prices break
            :func:`showtime_prices_check`, or a field breaks the model's validation
            (``Showtime.full_clean``: e.g. ``hold_ttl`` below 1, ``max_seats_per_buyer`` below
            ``max_seats_per_order``); ``details`` maps the field names to their problems.
    """
    price_rows = showtime_prices_check(plan=plan, prices=prices)
    given = {
        "hold_ttl": hold_ttl,
        "max_seats_per_order": max_seats_per_order,
        "abandon_grace_seconds": abandon_grace_seconds,
        "max_hold_extensions": max_hold_extensions,
        "max_hold_seconds": max_hold_seconds,
        "target_active_buyers": target_active_buyers,
        "admission_rate_per_minute": admission_rate_per_minute,
        "admission_window_seconds": admission_window_seconds,
    }
    showtime = Showtime(
        show=show,
        plan=plan,
        starts_at=starts_at,
        currency=currency,
        status=status,
        max_seats_per_buyer=max_seats_per_buyer,
        forbid_single_seats=forbid_single_seats,
        sales_start=sales_start,
        sales_end=sales_end,
        queue_enabled=queue_enabled,
        onsale_at=onsale_at,
        **{name: value for name, value in given.items() if value is not None},
    )
    try:
        showtime.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            "validation_error", _("Invalid showtime."), details=exc.message_dict, status=400
        ) from exc
    with transaction.atomic():
        showtime.save()
        for row in price_rows:
            row.showtime = showtime
        ShowtimePrice.objects.bulk_create(price_rows)
        inventory_create(showtime)
    return showtime


def showtime_prices_check(*, plan: SeatingPlan, prices: dict[str, Decimal]) -> list[ShowtimePrice]:
    """The price rows of a showtime on ``plan`` (not yet saved, no showtime set), checked: every
    category of the plan has exactly one price (``prices`` maps category names to prices), and
    no price is below zero.

    Raises:
        ApplicationError: 400 ``validation_error``; ``details["prices"]`` names the problems
            (categories without a price, names that are no category of the plan, negative prices).
    """
    categories = {c.name: c for c in PlanCategory.objects.filter(plan=plan)}
    missing = sorted(set(categories) - set(prices))
    unknown = sorted(set(prices) - set(categories))
    negative = sorted(name for name, price in prices.items() if Decimal(price) < 0)
    problems = [
        message % {"names": ", ".join(names)}
        for message, names in [
            (_("No price for: %(names)s."), missing),
            (_("Not a category of this seating plan: %(names)s."), unknown),
            (_("Prices cannot be negative: %(names)s."), negative),
        ]
        if names
    ]
    if problems:
        raise ApplicationError(
            "validation_error",
            _("Every category of the seating plan needs exactly one price, not below zero."),
            details={"prices": problems},
            status=400,
        )
    return [
        ShowtimePrice(category=categories[name], price=Decimal(price))
        for name, price in prices.items()
    ]


def inventory_create(showtime: Showtime) -> int:
    """Create the missing ``ShowtimeSeat`` rows of a showtime (one per plan seat); return how many.

    Idempotent: seats that already have an inventory row are left alone.
    """
    existing = set(ShowtimeSeat.objects.filter(showtime=showtime).values_list("seat_id", flat=True))
    rows = [
        ShowtimeSeat(showtime=showtime, seat_id=seat_id)
        for seat_id in showtime.plan.seats.order_by("pk").values_list("pk", flat=True)
        if seat_id not in existing
    ]
    ShowtimeSeat.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def showtime_for_sale(showtime_id: int) -> Showtime:
    """Return the showtime if tickets can be bought for it now.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``sales_closed`` when the showtime is not on sale
            or outside its sales window.
    """
    showtime = fetch_one(Showtime, {"id": showtime_id})
    if showtime is None:
        raise ApplicationError("not_found", _("No such showtime."), status=404)
    now = timezone.now()
    if (
        showtime.status != Showtime.Status.ON_SALE
        or (showtime.sales_start and now < showtime.sales_start)
        or (showtime.sales_end and now >= showtime.sales_end)
    ):
        raise ApplicationError(
            "sales_closed", _("Tickets for this showtime are not on sale."), status=409
        )
    return showtime


# --- Staff blocks ---------------------------------------------------------------------------------


def seats_block(
    *, showtime_id: int, seat_pks: Sequence[int], reason: str = "", staff: User | None = None
) -> tuple[list[str], list[str]]:
    """Block available seats of a showtime (staff); blocked seats cannot be held or ordered.

    Returns ``(blocked, skipped)`` seat labels: seats that are held, reserved, sold or already
    blocked are skipped and reported, never taken silently. Publishes ``seats.changed``
    (``blocked``) and records the audit trail with ``reason``.
    """

    def txn() -> tuple[list[str], list[str]]:
        now = timezone.now()
        rows = lock_showtime_seats(showtime_id, seat_pks)
        free: list[ShowtimeSeat] = []
        skipped: list[ShowtimeSeat] = []
        for row in rows:
            status = effective_state(row.status, row.version, row.expires_at, now)[0]
            (free if status == SeatStatus.AVAILABLE else skipped).append(row)
        claims_end_lapsed(free, now)
        change = Change.staff("blocked", getattr(staff, "pk", None), note=reason[:200])
        states = seats_write(
            free,
            status=SeatStatus.BLOCKED,
            expires_at=None,
            now=now,
            takeover=True,
            change=change,
            block_reason=reason,
        )
        events.seats_changed(showtime_id, "blocked", states)
        return [r.seat.label for r in free], [r.seat.label for r in skipped]

    return run_in_transaction(txn)


def seats_unblock(
    *, showtime_id: int, seat_pks: Sequence[int], staff: User | None = None
) -> tuple[list[str], list[str]]:
    """Unblock blocked seats of a showtime (staff). Returns ``(unblocked, skipped)`` labels;
    publishes ``seats.changed`` (``unblocked``)."""

    def txn() -> tuple[list[str], list[str]]:
        now = timezone.now()
        rows = lock_showtime_seats(showtime_id, seat_pks)
        blocked = [r for r in rows if r.status == SeatStatus.BLOCKED]
        states = seats_write(
            blocked,
            status=SeatStatus.AVAILABLE,
            expires_at=None,
            now=now,
            change=Change.staff("unblocked", getattr(staff, "pk", None)),
        )
        events.seats_changed(showtime_id, "unblocked", states)
        return [r.seat.label for r in blocked], [r.seat.label for r in rows if r not in blocked]

    return run_in_transaction(txn)
