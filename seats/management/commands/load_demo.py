"""``manage.py load_demo``: demo data, idempotent (api.md "Operations").

Creates the Harbour Arena venue from the project's own plan (``seats/demo_plan.py``), the show
"Harbour Fight Night" with two showtimes and prices, a staff user ``staff`` and a buyer ``demo``.
Running it again changes nothing but the two passwords, which it sets anew and prints.
"""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from seats.demo_plan import build_demo_plan
from seats.importer import plan_import
from seats.models import SeatingPlan, Show, Showtime
from seats.services import showtime_create

VENUE = "Harbour Arena"
SHOW = "Harbour Fight Night"
PRICES = {"Ringside": Decimal("250.00"), "Club": Decimal("120.00"), "Stadium": Decimal("45.00")}


class Command(BaseCommand):
    help = "Load demo data (venue, plan, show, two showtimes, staff and buyer users). Idempotent."

    def handle(self, *args, **options):
        plan_data = build_demo_plan()
        with transaction.atomic():
            plan = SeatingPlan.objects.filter(venue__name=VENUE, name=plan_data["name"]).first()
            if plan is None:
                plan = plan_import(raw=plan_data, venue_name=VENUE)
            show, _ = Show.objects.get_or_create(
                title=SHOW,
                defaults={"description": "Eight bouts, one title fight. Ringside to the rafters."},
            )
            missing = 2 - Showtime.objects.filter(show=show).count()
            first = (timezone.now() + timedelta(days=14)).replace(
                hour=19, minute=30, second=0, microsecond=0
            )
            for i in range(max(0, missing)):
                showtime_create(
                    show=show,
                    plan=plan,
                    starts_at=first + timedelta(days=7 * i),
                    prices=PRICES,
                    currency="EUR",
                )
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
        showtimes = list(Showtime.objects.filter(show=show).order_by("starts_at"))
        self.stdout.write(
            f"Demo data ready: {plan.seats.count()} seats in plan {plan.name!r} of {VENUE}, "
            f"{len(showtimes)} showtimes of {SHOW!r} (ids {', '.join(str(s.pk) for s in showtimes)})."
        )
        self.stdout.write(f"Staff user:  staff / {passwords['staff']}   (admin at /admin/)")
        self.stdout.write(f"Buyer user:  demo / {passwords['demo']}")
