"""``manage.py import_seating_plan PATH --venue NAME [--name PLAN]``: import a pretix plan."""

from django.core.management.base import BaseCommand, CommandError

from seats.importer import PlanError, plan_import


class Command(BaseCommand):
    help = "Import a pretix seating-plan JSON file as a seating plan of a venue (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Path of the pretix seating-plan JSON file.")
        parser.add_argument("--venue", required=True, help="Venue name (created if new).")
        parser.add_argument("--name", help="Plan name (default: the file's 'name').")

    def handle(self, *args, path, venue, name=None, **options):
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            plan = plan_import(raw=raw, venue_name=venue, plan_name=name)
        except PlanError as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.") from exc
        seats = plan.seats.filter(ga_area=None)
        zones = seats.values("zone").distinct().count()
        areas = "".join(
            f", plus general admission {a.name!r} ({a.capacity} places)"
            for a in plan.ga_areas.all()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {seats.count()} seats in {zones} zones and "
                f"{plan.categories.count()} categories{areas} as plan {plan.name!r} (id {plan.pk}) "
                f"of venue {plan.venue.name!r}."
            )
        )
