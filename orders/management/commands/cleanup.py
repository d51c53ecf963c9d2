"""``manage.py cleanup [--loop SECONDS]``: release expired holds and abandoned holds, expire unpaid
orders, send the outbox's e-mails.

A thin wrapper over ``seats.services.hold_expire_due`` and ``orders.services.order_expire_due``,
which write the change, then broadcast ``seats.changed`` (reason ``expired``) and the owner's
``hold.expired`` / ``order.updated``; over ``seats.services.hold_abandon_due``, which releases the
holds whose buyer left the seat map (docs/realtime.md "Presence"; the server processes do it too,
whichever comes first); and over ``orders.emails.send_due``, which sends the due
e-mails of the outbox (the expiry e-mails just written included) with retries. Safe to run from
several processes at once. Also purges idempotency keys older than 24 h.
"""

import time

from django.core.management.base import BaseCommand

from orders.emails import send_due
from orders.idempotency import idempotency_keys_purge
from orders.services import order_expire_due
from seats.services import hold_abandon_due, hold_expire_due


class Command(BaseCommand):
    help = (
        "Release expired holds, expire unpaid orders past their payment deadline and send "
        "the due e-mails of the outbox."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Repeat every SECONDS until stopped (Ctrl-C).",
        )

    def handle(self, *args, loop=None, **options):
        while True:
            holds = hold_expire_due()
            abandoned = hold_abandon_due()
            orders = order_expire_due()
            keys = idempotency_keys_purge()
            mails = send_due()
            self.stdout.write(
                f"cleanup: {len(holds)} holds expired, {len(orders)} orders expired, "
                f"{len(abandoned)} abandoned holds released, "
                f"{keys} idempotency keys purged, e-mails: {mails['sent']} sent, "
                f"{mails['failed']} failed, {mails['dead']} dead"
            )
            if not loop:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
