"""``manage.py generate_arena [--seats N] [--seed S] [--out FILE]``: write the Seatline Arena
plan (``seats/arena_plan.py``: a bowl of sections around a standing floor, exactly N seats) as
pretix seating-plan JSON, to FILE or to stdout; ``import_seating_plan`` reads it."""

import json

from django.core.management.base import BaseCommand, CommandError

from seats.arena_plan import build_arena_plan


class Command(BaseCommand):
    help = "Write a generated arena seating plan (pretix JSON) to a file or to stdout."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seats", type=int, default=20_000, help="Seated places (default 20000)."
        )
        parser.add_argument(
            "--seed", type=int, default=18, help="Seed of the seat guids (default 18)."
        )
        parser.add_argument("--out", help="File to write (default: stdout).")

    def handle(self, *args, seats, seed, out=None, **options):
        try:
            plan = build_arena_plan(seats_target=seats, seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        text = json.dumps(plan)
        if out is None:
            self.stdout.write(text)
            return
        try:
            with open(out, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror}.") from exc
        zones = plan["zones"]
        seated = sum(len(row["seats"]) for zone in zones for row in zone["rows"])
        standing = sum(area["capacity"] for area in plan["general_admission"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {plan['name']!r} to {out}: {seated} seats in {len(zones)} sections, "
                f"{standing} standing places."
            )
        )
