"""Seat inventory: venues, seating plans, shows, showtimes, showtime seats, holds and seat claims.

Terms follow shared/spec/domain.md. The "no double sale" invariant (domain.md, invariant 1) is
enforced by the services' row locks *and* by the database: :class:`SeatClaim` has a partial unique
index, so at most one live claim (an active hold's seat or a live order's seat) can exist per
showtime seat, whatever code writes the rows.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .lapse import Lapsing, LapsingQuerySet


class Venue(models.Model):
    """A place with one or more seating plans (hall, stadium, theatre, bus)."""

    name = models.CharField(max_length=200, unique=True, verbose_name=_("name"))

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self):
        return self.name


class SeatingPlan(models.Model):
    """The physical layout of a venue: zones → rows → seats, imported from pretix JSON.

    ``width``/``height`` are the canvas size in plan pixels (y grows downwards).
    ``layout_version`` names the plan's current layout (:mod:`seats.layout`, the geometry seat maps
    download once per version): computed on first use, emptied by any change of the geometry.
    """

    venue = models.ForeignKey(
        Venue, on_delete=models.PROTECT, related_name="plans", verbose_name=_("venue")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    width = models.PositiveIntegerField(default=0, verbose_name=_("width"))
    height = models.PositiveIntegerField(default=0, verbose_name=_("height"))
    focus_x = models.FloatField(
        null=True,
        blank=True,
        help_text=_(
            "The focal point (stage, ring, screen) in plan pixels; best available prefers seats near "
            "it. Empty: the centre of the seats."
        ),
        verbose_name=_("focus x"),
    )
    focus_y = models.FloatField(null=True, blank=True, verbose_name=_("focus y"))
    layout_version = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        verbose_name=_("layout version"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("seating plan")
        verbose_name_plural = _("seating plans")
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="plan_unique_name_per_venue")
        ]

    def __str__(self):
        return f"{self.venue} – {self.name}"


class PlanCategory(models.Model):
    """A price category of a seating plan ("Ringside", "Kategorie I"), with its display colour."""

    plan = models.ForeignKey(
        SeatingPlan, on_delete=models.CASCADE, related_name="categories", verbose_name=_("plan")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    color = models.CharField(max_length=20, blank=True, default="", verbose_name=_("color"))
    rank = models.PositiveIntegerField(
        default=0, help_text=_("Order in the plan file (0 first)."), verbose_name=_("rank")
    )

    class Meta:
        ordering = ["plan", "rank"]
        verbose_name = _("plan category")
        verbose_name_plural = _("plan categories")
        constraints = [
            models.UniqueConstraint(fields=["plan", "name"], name="category_unique_name_per_plan")
        ]

    def __str__(self):
        return self.name


class GeneralAdmissionArea(models.Model):
    """A zone sold by quantity, not by seat (domain.md "general admission (GA) zone"), with a
    ``capacity``. Its places are pre-created as :class:`Seat` rows (``ga_area`` set), so a GA place
    is held, ordered, ticketed and expired exactly like a seat, and capacity can never be exceeded:
    there are only ``capacity`` places to claim."""

    plan = models.ForeignKey(
        SeatingPlan, on_delete=models.CASCADE, related_name="ga_areas", verbose_name=_("plan")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    capacity = models.PositiveIntegerField(verbose_name=_("capacity"))
    category = models.ForeignKey(
        PlanCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("category")
    )
    x = models.FloatField(default=0, verbose_name=_("x"))
    y = models.FloatField(default=0, verbose_name=_("y"))

    class Meta:
        verbose_name = _("general-admission area")
        verbose_name_plural = _("general-admission areas")
        constraints = [
            models.UniqueConstraint(fields=["plan", "name"], name="ga_area_unique_name_per_plan")
        ]

    def __str__(self):
        return f"{self.name} ({self.capacity})"


class Seat(models.Model):
    """A seat of a seating plan. ``guid`` is the plan file's stable ``seat_guid``.

    ``x``/``y`` are absolute plan coordinates in pixels (zone + row + seat positions).
    ``segment`` numbers the aisle-separated clusters of a row (0 when the plan has no aisle data).
    """

    plan = models.ForeignKey(
        SeatingPlan, on_delete=models.CASCADE, related_name="seats", verbose_name=_("plan")
    )
    guid = models.UUIDField(verbose_name=_("guid"))
    label = models.CharField(max_length=100, verbose_name=_("label"))
    zone = models.CharField(max_length=100, verbose_name=_("zone"))
    row = models.CharField(max_length=50, verbose_name=_("row"))
    number = models.CharField(max_length=20, verbose_name=_("number"))
    category = models.ForeignKey(
        PlanCategory, on_delete=models.PROTECT, related_name="seats", verbose_name=_("category")
    )
    x = models.FloatField(verbose_name=_("x"))
    y = models.FloatField(verbose_name=_("y"))
    segment = models.PositiveIntegerField(default=0, verbose_name=_("segment"))
    wheelchair = models.BooleanField(default=False, verbose_name=_("wheelchair"))
    ga_area = models.ForeignKey(
        GeneralAdmissionArea,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="places",
        help_text=_("Set for the places of a general-admission area."),
        verbose_name=_("general-admission area"),
    )

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        constraints = [
            models.UniqueConstraint(fields=["plan", "guid"], name="seat_unique_guid_per_plan")
        ]

    def __str__(self):
        return self.label


class Show(models.Model):
    """What is sold: a concert, a fight night, a film, a route."""

    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, default="", verbose_name=_("description"))

    class Meta:
        verbose_name = _("show")
        verbose_name_plural = _("shows")

    def __str__(self):
        return self.title


def default_hold_ttl() -> int:
    """The ``hold_ttl`` of a new showtime: ``settings.HOLD_TTL_SECONDS`` (seconds, default 300),
    read when the showtime is made (domain.md "showtime")."""
    return settings.HOLD_TTL_SECONDS


def default_max_seats_per_order() -> int:
    """The ``max_seats_per_order`` of a new showtime: ``settings.MAX_SEATS_PER_ORDER`` (default
    10), read when the showtime is made (domain.md "showtime")."""
    return settings.MAX_SEATS_PER_ORDER


class Showtime(models.Model):
    """One dated performance of a show on one seating plan (domain.md).

    ``hold_ttl`` is in seconds; prices per plan category are :class:`ShowtimePrice` rows in
    ``currency`` (ISO 4217). Creating a showtime through ``seats.services.showtime_create`` also
    creates its inventory: one :class:`ShowtimeSeat` per plan seat. A new showtime takes its
    ``hold_ttl`` and ``max_seats_per_order`` from the settings ``HOLD_TTL_SECONDS`` and
    ``MAX_SEATS_PER_ORDER`` unless given.

    ``max_seats_per_buyer`` caps the seats one buyer may have held or in pending orders of this
    showtime together (api.md "Holds", 409 ``buyer_limit``); empty means "the same as
    ``max_seats_per_order``", so it follows that field when staff change it
    (:attr:`seats_per_buyer`).
    """

    class Status(models.TextChoices):
        ON_SALE = "on_sale", _("On sale")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", pgettext_lazy("showtime status", "Cancelled")

    show = models.ForeignKey(
        Show, on_delete=models.PROTECT, related_name="showtimes", verbose_name=_("show")
    )
    plan = models.ForeignKey(
        SeatingPlan, on_delete=models.PROTECT, related_name="showtimes", verbose_name=_("plan")
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ON_SALE, verbose_name=_("status")
    )
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    hold_ttl = models.PositiveIntegerField(
        default=default_hold_ttl,
        validators=[MinValueValidator(1)],
        help_text=_("Seconds a hold lasts (new showtimes: the HOLD_TTL_SECONDS setting)."),
        verbose_name=_("hold time"),
    )
    max_seats_per_order = models.PositiveIntegerField(
        default=default_max_seats_per_order,
        validators=[MinValueValidator(1)],
        help_text=_("Seats in one hold or order (new showtimes: the MAX_SEATS_PER_ORDER setting)."),
        verbose_name=_("max seats per order"),
    )
    max_seats_per_buyer = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Seats one buyer may have held or in unpaid orders of this showtime together. "
            "Empty: the same as max seats per order."
        ),
        verbose_name=_("max seats per buyer"),
    )
    forbid_single_seats = models.BooleanField(
        default=False,
        help_text=_(
            "Refuse a hold that would leave a single free seat alone between taken seats in a row."
        ),
        verbose_name=_("forbid single seats"),
    )
    sales_start = models.DateTimeField(null=True, blank=True, verbose_name=_("sales start"))
    sales_end = models.DateTimeField(null=True, blank=True, verbose_name=_("sales end"))
    abandon_grace_seconds = models.PositiveIntegerField(
        default=60,
        help_text=_(
            "Seconds after a buyer's last seat map closes before their hold is released as "
            "abandoned, unless they come back. 0: holds keep their full time."
        ),
        verbose_name=_("abandon grace seconds"),
    )
    max_hold_extensions = models.PositiveIntegerField(
        default=2,
        help_text=_("How many times a buyer may extend a hold (0: never)."),
        verbose_name=_("max hold extensions"),
    )
    max_hold_seconds = models.PositiveIntegerField(
        default=900,
        validators=[MinValueValidator(1)],
        help_text=_("Extensions never take a hold past this many seconds after it was made."),
        verbose_name=_("max hold seconds"),
    )
    # The waiting room (docs/waiting-room.md). Off: nothing about buying changes.
    queue_enabled = models.BooleanField(
        default=False,
        help_text=_("Buyers join a waiting room and may hold or order seats only once admitted."),
        verbose_name=_("waiting room on"),
    )
    onsale_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "Buyers who join before this time get a random place at this time; later ones are "
            "served in order of arrival. Empty: everyone in order of arrival."
        ),
        verbose_name=_("on-sale time"),
    )
    target_active_buyers = models.PositiveIntegerField(
        default=500,
        validators=[MinValueValidator(1)],
        help_text=_("How many admitted buyers may be choosing seats at once."),
        verbose_name=_("target active buyers"),
    )
    admission_rate_per_minute = models.PositiveIntegerField(
        default=1000,
        validators=[MinValueValidator(1)],
        help_text=_("At most this many buyers are admitted per minute."),
        verbose_name=_("admission rate per minute"),
    )
    admission_window_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Seconds an admitted buyer has to make a first hold before their turn passes to the "
            "next in line."
        ),
        verbose_name=_("admission window seconds"),
    )

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("showtime")
        verbose_name_plural = _("showtimes")

    def __str__(self):
        return f"{self.show} – {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def seats_per_buyer(self) -> int:
        """The per-buyer seat cap in force: ``max_seats_per_buyer``, or ``max_seats_per_order``
        when it is empty."""
        return self.max_seats_per_buyer or self.max_seats_per_order

    def clean(self):
        """A buyer must be able to fill at least one order: ``max_seats_per_buyer``, when set, is
        not below ``max_seats_per_order``."""
        if (
            self.max_seats_per_buyer is not None
            and self.max_seats_per_order is not None
            and self.max_seats_per_buyer < self.max_seats_per_order
        ):
            raise ValidationError(
                {
                    "max_seats_per_buyer": gettext(
                        "At least max seats per order, or empty (the same as max seats per order)."
                    )
                }
            )


class ShowtimePrice(models.Model):
    """The price of one plan category at one showtime, in the showtime's currency."""

    showtime = models.ForeignKey(
        Showtime, on_delete=models.CASCADE, related_name="prices", verbose_name=_("showtime")
    )
    category = models.ForeignKey(
        PlanCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("category")
    )
    price = models.DecimalField(max_digits=10, decimal_places=2, verbose_name=_("price"))

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(
                fields=["showtime", "category"], name="price_unique_category_per_showtime"
            )
        ]


class SeatStatus(models.TextChoices):
    """Seat status in a showtime (domain.md, "Seat status in a showtime")."""

    AVAILABLE = "available", _("available")
    HELD = "held", _("held")
    RESERVED = "reserved", _("reserved")
    SOLD = "sold", _("sold")
    BLOCKED = "blocked", _("blocked")


# Seat statuses that end at ``ShowtimeSeat.expires_at`` (the deadline of the hold or order).
EXPIRING_STATUSES = (SeatStatus.HELD, SeatStatus.RESERVED)


def seat_lapsed_q(now: datetime, prefix: str = "") -> Q:
    """The seat-level lapse rule in SQL (domain.md, invariant 4; its Python twin:
    ``seats.selectors.effective_state``): a ``held``/``reserved`` seat whose ``expires_at`` is at
    or before ``now`` reads ``available``. ``prefix`` reaches the seat through a relation
    (``"showtime_seat__"``)."""
    return Q(**{f"{prefix}status__in": EXPIRING_STATUSES, f"{prefix}expires_at__lte": now})


def seat_status_q(status: str, now: datetime) -> Q:
    """Seats whose status at ``now`` is ``status`` (a :class:`SeatStatus`): ``available`` includes
    the lapsed ones, ``held``/``reserved`` exclude them, the others are read as stored."""
    if status == SeatStatus.AVAILABLE:
        return Q(status=status) | seat_lapsed_q(now)
    if status in EXPIRING_STATUSES:
        return Q(status=status) & ~seat_lapsed_q(now)
    return Q(status=status)


def seat_free_q(now: datetime) -> Q:
    """Seats that read ``available`` at ``now``: stored so, or lapsed (:func:`seat_lapsed_q`)."""
    return seat_status_q(SeatStatus.AVAILABLE, now)


class ShowtimeSeatQuerySet(models.QuerySet):
    """Inventory rows read under the seat-level lapse rule (:func:`seat_lapsed_q`). Every count
    of seats by status (seat map counts, general-admission areas, the sales overview, the admin,
    ``GET stats/``, ``/metrics``) goes through :meth:`count_expressions`."""

    def free(self, now: datetime) -> "ShowtimeSeatQuerySet":
        """Seats that read ``available`` at ``now`` (:func:`seat_free_q`)."""
        return self.filter(seat_free_q(now))

    def filter_effective_status(self, status: str, now: datetime) -> "ShowtimeSeatQuerySet":
        """Seats whose status at ``now`` is ``status`` (:func:`seat_status_q`)."""
        return self.filter(seat_status_q(status, now))

    @staticmethod
    def count_expressions(now: datetime) -> dict[str, models.Count]:
        """``{status: Count}`` for every :class:`SeatStatus`, by status at ``now``: for
        ``aggregate()`` (one showtime) or ``annotate()`` after ``values()`` (per category)."""
        return {
            status: models.Count("pk", filter=seat_status_q(status, now))
            for status in SeatStatus.values
        }

    def counts_by_status(self, now: datetime) -> dict[str, int]:
        """``{"available", "held", "reserved", "sold", "blocked"}``: seat counts at ``now``.
        One query."""
        return self.aggregate(**self.count_expressions(now))


class ShowtimeSeat(models.Model):
    """The inventory row: one per plan seat per showtime; this is the row that gets locked.

    ``status`` and ``expires_at`` mirror the seat's live claim (``expires_at`` is the deadline of the
    active hold or pending order, ``None`` otherwise), so a seat map is read from this table alone.
    A ``held``/``reserved`` seat whose ``expires_at`` has passed reads as ``available`` with
    ``version + 1`` (domain.md, invariant 4): releasing it in the database bumps ``version`` by
    exactly one, so the lazy reading and the later write agree.
    """

    showtime = models.ForeignKey(
        Showtime, on_delete=models.CASCADE, related_name="seats", verbose_name=_("showtime")
    )
    seat = models.ForeignKey(
        Seat, on_delete=models.PROTECT, related_name="+", verbose_name=_("seat")
    )
    status = models.CharField(
        max_length=10,
        choices=SeatStatus.choices,
        default=SeatStatus.AVAILABLE,
        verbose_name=_("status"),
    )
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    block_reason = models.CharField(
        max_length=200, blank=True, default="", verbose_name=_("block reason")
    )

    objects = ShowtimeSeatQuerySet.as_manager()

    # Not a column: set only on the rows of ``seats.locks.lock_showtime_seats(with_price=True)``
    # (the seat's category price at the showtime, ``None`` if unpriced).
    price: Decimal | None

    class Meta:
        verbose_name = _("showtime seat")
        verbose_name_plural = _("showtime seats")
        constraints = [
            models.UniqueConstraint(fields=["showtime", "seat"], name="one_inventory_row_per_seat"),
        ]
        indexes = [models.Index(fields=["showtime", "status"], name="showtimeseat_status_idx")]

    def __str__(self):
        return f"{self.seat.label} @ {self.showtime_id}"


class Hold(Lapsing, models.Model):
    """Seats reserved for one buyer for a short time (domain.md); ``expires_at`` is absolute.

    A buyer has at most one active hold per showtime (a partial unique index). An active hold past
    ``expires_at`` has lapsed and reads as ``expired`` before the cleanup records it
    (:mod:`seats.lapse`: ``hold.status_at()``, ``Hold.objects.live()``/``lapsed()``).

    Presence (:mod:`realtime.presence`): while a seat map socket of the buyer is open on the
    showtime, ``abandon_at`` is kept a lease ahead of now; when the last one closes it becomes
    ``left_at + showtime.abandon_grace_seconds``, and from then on the hold is released with
    reason ``abandoned`` (``abandoned`` set) unless the buyer comes back first. A hold whose buyer
    never opened a socket has no ``abandon_at`` and keeps its full ``expires_at``.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CONVERTED = "converted", _("converted")
        RELEASED = "released", _("released")
        EXPIRED = "expired", _("expired")

    LIVE_STATUS = Status.ACTIVE
    LAPSED_STATUS = Status.EXPIRED

    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="holds",
        verbose_name=_("user"),
    )
    showtime = models.ForeignKey(
        Showtime, on_delete=models.CASCADE, related_name="holds", verbose_name=_("showtime")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    extensions = models.PositiveIntegerField(
        default=0,
        help_text=_("Times the buyer extended the hold (POST holds/{id}/extend/)."),
        verbose_name=_("extensions"),
    )
    left_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the buyer's last seat map socket of the showtime closed; empty while "
            "one is open, or if none ever was."
        ),
        verbose_name=_("left at"),
    )
    abandon_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the hold is released as abandoned unless its buyer comes back to the "
            "seat map; empty: it keeps its full time."
        ),
        verbose_name=_("abandon at"),
    )
    abandoned = models.BooleanField(
        default=False,
        help_text=_("Released because its buyer left the seat map."),
        verbose_name=_("abandoned"),
    )

    objects = LapsingQuerySet.as_manager()

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "showtime"],
                condition=Q(status="active"),
                name="one_active_hold_per_buyer_and_showtime",
            )
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="hold_status_expiry_idx"),
            models.Index(
                fields=["abandon_at"], condition=Q(status="active"), name="hold_abandon_idx"
            ),
        ]

    def __str__(self):
        return str(self.id)


class SeatClaimQuerySet(models.QuerySet):
    """Seat claims with the lapse rule: a claim is *current* until it is ended (``is_live``), and
    *live* while it is current and its hold is active or its order pending (both not lapsed) or
    paid. Its seat mirrors that deadline (``ShowtimeSeat.expires_at``), so a current claim has
    lapsed exactly when its seat reads ``available`` by :func:`seat_lapsed_q`."""

    def current(self) -> "SeatClaimQuerySet":
        """Claims not ended yet (``is_live``), lapsed ones included: what the unique index
        ``one_live_claim_per_seat`` counts, and what a write ends."""
        return self.filter(is_live=True)

    def live(self, now: datetime) -> "SeatClaimQuerySet":
        """Current claims whose hold or order has not lapsed at ``now``."""
        return self.current().exclude(seat_lapsed_q(now, "showtime_seat__"))

    def lapsed(self, now: datetime) -> "SeatClaimQuerySet":
        """Current claims whose hold or order has lapsed at ``now`` (the cleanup ends them)."""
        return self.current().filter(seat_lapsed_q(now, "showtime_seat__"))


class SeatClaim(models.Model):
    """One seat of a hold and, once the hold is converted, of an order.

    ``is_live`` is true while the hold is active or the order is pending or paid. The partial unique
    index ``one_live_claim_per_seat`` is the database's own guard for invariant 1 of domain.md.
    ``price`` (in the showtime's currency) and ``category`` are fixed when the seat is held.
    """

    showtime_seat = models.ForeignKey(
        ShowtimeSeat,
        on_delete=models.CASCADE,
        related_name="claims",
        verbose_name=_("showtime seat"),
    )
    hold = models.ForeignKey(
        Hold, on_delete=models.CASCADE, related_name="claims", verbose_name=_("hold")
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="claims",
        verbose_name=_("order"),
    )
    price = models.DecimalField(max_digits=10, decimal_places=2, verbose_name=_("price"))
    category = models.CharField(max_length=100, verbose_name=_("category"))
    is_live = models.BooleanField(default=True, verbose_name=_("is live"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))

    objects = SeatClaimQuerySet.as_manager()

    class Meta:
        verbose_name = _("seat claim")
        verbose_name_plural = _("seat claims")
        constraints = [
            models.UniqueConstraint(
                fields=["showtime_seat"], condition=Q(is_live=True), name="one_live_claim_per_seat"
            )
        ]


class SeatEvent(models.Model):
    """The audit trail: one row per change of a showtime seat's status, append-only.

    ``actor_kind`` says who caused it: the ``buyer`` (``actor`` is the buyer), ``staff`` (``actor``
    is the staff user) or the ``system`` (expiry). ``reason`` is the ``seats.changed`` reason
    (:class:`Reason`; its labels are for staff pages). ``hold``/``order`` name what the seat
    belonged to. Rows are never updated or deleted by the application; ``save()`` refuses updates.
    """

    class Actor(models.TextChoices):
        BUYER = "buyer", _("buyer")
        STAFF = "staff", _("staff")
        SYSTEM = "system", _("system")

    class Reason(models.TextChoices):
        """The reasons of ``seats.changed`` (realtime.md), as ``seats.audit.Change`` writes them."""

        HELD = "held", _("held")
        RELEASED = "released", _("released")
        ABANDONED = "abandoned", _("abandoned")
        EXPIRED = "expired", _("expired")
        RESERVED = "reserved", _("reserved")
        SOLD = "sold", _("sold")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")
        BLOCKED = "blocked", _("blocked")
        UNBLOCKED = "unblocked", _("unblocked")

    showtime = models.ForeignKey(
        Showtime, on_delete=models.CASCADE, related_name="seat_events", verbose_name=_("showtime")
    )
    showtime_seat = models.ForeignKey(
        ShowtimeSeat,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("showtime seat"),
    )
    from_status = models.CharField(
        max_length=10, choices=SeatStatus.choices, verbose_name=_("from status")
    )
    to_status = models.CharField(
        max_length=10, choices=SeatStatus.choices, verbose_name=_("to status")
    )
    reason = models.CharField(max_length=20, choices=Reason.choices, verbose_name=_("reason"))
    actor_kind = models.CharField(
        max_length=10, choices=Actor.choices, verbose_name=_("actor kind")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    hold = models.ForeignKey(
        Hold,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="seat_events",
        verbose_name=_("hold"),
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="seat_events",
        verbose_name=_("order"),
    )
    note = models.CharField(max_length=200, blank=True, default="", verbose_name=_("note"))
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("seat event")
        verbose_name_plural = _("seat events")
        indexes = [models.Index(fields=["showtime", "at"], name="seatevent_showtime_at_idx")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Seat events are append-only.")
        super().save(*args, **kwargs)  # type: ignore[unreachable]  # pk is None until saved; the stubs say int


class QueueState(models.Model):
    """The waiting room of one showtime (docs/waiting-room.md): one row, locked by the admitter
    and the staff's changes (``seats.locks.lock_queue_state``); joins do not touch it.

    ``next_position`` is the next place the admitter hands out; ``admitted_up_to`` the
    highest place the admitter has let in (buyers admitted by staff out of turn do not move it);
    ``tokens``/``tokens_at`` the token bucket of the admission rate cap; ``progress``/
    ``progress_at`` the figures of the last ``queue.progress`` frame and when it was sent.
    """

    showtime = models.OneToOneField(
        Showtime,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="queue_state",
        verbose_name=_("showtime"),
    )
    shuffled = models.BooleanField(default=False, verbose_name=_("shuffled"))
    next_position = models.PositiveIntegerField(default=1, verbose_name=_("next position"))
    admitted_up_to = models.PositiveIntegerField(default=0, verbose_name=_("admitted up to"))
    paused = models.BooleanField(default=False, verbose_name=_("paused"))
    tokens = models.FloatField(default=0.0, verbose_name=_("tokens"))
    tokens_at = models.DateTimeField(null=True, blank=True, verbose_name=_("tokens at"))
    # The figures of the last queue.progress frame and when it went out, whichever process sent
    # it (seats.services.waiting.queue_admit decides under this row's lock: one frame per step).
    progress = models.JSONField(default=dict, blank=True, verbose_name=_("last progress"))
    progress_at = models.DateTimeField(null=True, blank=True, verbose_name=_("progress at"))
    # When the last admitter step ran, whichever process ran it (the loops of several processes
    # keep one pace: seats.services.waiting.queue_tick_all).
    stepped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("stepped at"))

    class Meta:
        verbose_name = _("waiting room")
        verbose_name_plural = _("waiting rooms")


class QueueEntry(models.Model):
    """One buyer's place in the waiting room of one showtime (one per buyer and showtime).

    ``position`` is empty in the early pool (joined before ``onsale_at``, not yet shuffled).
    ``admitted_at``/``pass_expires_at`` are set on admission; ``finished_at``/``finish_reason``
    when the buyer stops counting as active.
    """

    class Finish(models.TextChoices):
        PAID = "paid", _("paid")
        LAPSED = "lapsed", _("hold or order ended")
        WINDOW = "window", _("no hold in time")

    showtime = models.ForeignKey(
        Showtime, on_delete=models.CASCADE, related_name="queue_entries", verbose_name=_("showtime")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="queue_entries",
        verbose_name=_("user"),
    )
    joined_at = models.DateTimeField(verbose_name=_("joined at"))
    position = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("position"))
    admitted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("admitted at"))
    pass_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("pass expires at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    finish_reason = models.CharField(
        max_length=10, blank=True, default="", choices=Finish.choices, verbose_name=_("reason")
    )

    class Meta:
        ordering = ["showtime", "position", "id"]
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        constraints = [
            models.UniqueConstraint(fields=["showtime", "user"], name="queue_one_place_per_buyer"),
            models.UniqueConstraint(fields=["showtime", "position"], name="queue_unique_position"),
        ]
        indexes = [
            models.Index(fields=["showtime", "admitted_at"], name="queue_admitted_idx"),
        ]

    def __str__(self):
        return f"{self.user_id} @ {self.showtime_id}: {self.position}"
