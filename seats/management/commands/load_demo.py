"""``manage.py load_demo``: demo data, idempotent (api.md "Operations").

Creates the Harbour Arena venue from the project's own plan (``seats/demo_plan.py``), the show
"Harbour Fight Night" with two showtimes and prices in EUR; a Thai venue, the Muay Thai stadium
"สนามมวยเวทีนครหลวง" (``seats/demo_plan_th.py``: categories, zones and seat labels in Thai), with
the show "ศึกมวยไทยวันศุกร์" on two Fridays, prices in THB (issue #17); a staff user ``staff`` and
a buyer ``demo``. With ``--arena`` also the 20,000-seat "Seatline Arena" (``seats/arena_plan.py``,
issue #18) and the show "Arena Tour 2027" on one evening, prices in EUR. Running it again changes
nothing but the two passwords, which it sets anew and prints.
"""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from seats.arena_plan import build_arena_plan
from seats.demo_plan import build_demo_plan
from seats.demo_plan_th import build_thai_demo_plan
from seats.importer import plan_import
from seats.models import SeatingPlan, Show, Showtime
from seats.services import showtime_create

VENUE = "Harbour Arena"
SHOW = "Harbour Fight Night"
PRICES = {"Ringside": Decimal("250.00"), "Club": Decimal("120.00"), "Stadium": Decimal("45.00")}
ARENA_VENUE = "Seatline Arena"
ARENA_SHOW = "Arena Tour 2027"
ARENA_PRICES = {
    "Premium": Decimal("149.00"),
    "Lower Bowl": Decimal("99.00"),
    "Upper Bowl": Decimal("69.00"),
    "Upper End": Decimal("49.00"),
    "Standing Floor": Decimal("79.00"),
}
THAI_VENUE = "สนามมวยเวทีนครหลวง"
THAI_SHOW = "ศึกมวยไทยวันศุกร์"
THAI_DESCRIPTION = "มวยไทยอาชีพทุกคืนวันศุกร์ 10 คู่ ชิงแชมป์รุ่นฟลายเวต ที่นั่งริงไซด์ติดขอบเวที"
THAI_PRICES = {"ริงไซด์": Decimal("3000.00"), "ชั้น 2": Decimal("1500.00"), "ชั้น 3": Decimal("800.00")}


def _venue_showtimes(
    *,
    plan_data: dict,
    venue: str,
    title: str,
    description: str,
    first: datetime,
    prices: dict[str, Decimal],
    currency: str,
    showtimes: int = 2,
) -> tuple[SeatingPlan, list[Showtime]]:
    """The venue's plan (imported once, its focal point the centre of its seats: the ring) and
    the show's ``showtimes`` weekly showtimes (made when missing), in one transaction."""
    with transaction.atomic():
        plan = SeatingPlan.objects.filter(venue__name=venue, name=plan_data["name"]).first()
        if plan is None:
            plan = plan_import(raw=plan_data, venue_name=venue)
            box = plan.seats.aggregate(Min("x"), Max("x"), Min("y"), Max("y"))
            plan.focus_x = (box["x__min"] + box["x__max"]) / 2
            plan.focus_y = (box["y__min"] + box["y__max"]) / 2
            plan.save(update_fields=["focus_x", "focus_y"])
        show, _ = Show.objects.get_or_create(title=title, defaults={"description": description})
        missing = showtimes - Showtime.objects.filter(show=show).count()
        for i in range(max(0, missing)):
            showtime_create(
                show=show,
                plan=plan,
                starts_at=first + timedelta(days=7 * i),
                prices=prices,
                currency=currency,
            )
    return plan, list(Showtime.objects.filter(show=show).order_by("starts_at"))


class Command(BaseCommand):
    help = "Load demo data (venue, plan, show, two showtimes, staff and buyer users). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--arena",
            action="store_true",
            help="Also the 20,000-seat Seatline Arena with one showtime of 'Arena Tour 2027'.",
        )

    def handle(self, *args, arena=False, **options):
        evening = (timezone.now() + timedelta(days=14)).replace(
            hour=19, minute=30, second=0, microsecond=0
        )
        plan, showtimes = _venue_showtimes(
            plan_data=build_demo_plan(),
            venue=VENUE,
            title=SHOW,
            description="Eight bouts, one title fight. Ringside to the rafters.",
            first=evening,
            prices=PRICES,
            currency="EUR",
        )
        friday = evening + timedelta(days=(4 - evening.weekday()) % 7)
        thai_plan, thai_showtimes = _venue_showtimes(
            plan_data=build_thai_demo_plan(),
            venue=THAI_VENUE,
            title=THAI_SHOW,
            description=THAI_DESCRIPTION,
            first=friday.replace(hour=11, minute=0),  # 18:00 in Bangkok (UTC+7)
            prices=THAI_PRICES,
            currency="THB",
        )
        venues = [
            (plan, VENUE, SHOW, showtimes),
            (thai_plan, THAI_VENUE, THAI_SHOW, thai_showtimes),
        ]
        if arena:
            arena_plan, arena_showtimes = _venue_showtimes(
                plan_data=build_arena_plan(),
                venue=ARENA_VENUE,
                title=ARENA_SHOW,
                description="In the round: a stage in the middle of the floor, 20,000 seats.",
                first=evening + timedelta(days=1),
                prices=ARENA_PRICES,
                currency="EUR",
                showtimes=1,
            )
            venues.append((arena_plan, ARENA_VENUE, ARENA_SHOW, arena_showtimes))
        User = get_user_model()
        passwords = {}
        for username, staff in (("staff", True), ("demo", False)):
            user, _ = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            passwords[username] = secrets.token_urlsafe(9)
            user.set_password(passwords[username])
            user.is_staff = user.is_superuser = staff
            user.save()
        for p, venue, title, times in venues:
            self.stdout.write(
                f"Demo data ready: {p.seats.count()} seats in plan {p.name!r} of {venue}, "
                f"{len(times)} showtimes of {title!r} (ids {', '.join(str(s.pk) for s in times)})."
            )
        self.stdout.write(f"Staff user:  staff / {passwords['staff']}   (admin at /admin/)")
        self.stdout.write(f"Buyer user:  demo / {passwords['demo']}")
