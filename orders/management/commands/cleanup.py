"""``manage.py cleanup [--loop SECONDS]``: release expired holds and expire unpaid orders.

A thin wrapper over ``seats.services.hold_expire_due`` and ``orders.services.order_expire_due``,
which write the change, then broadcast ``seats.changed`` (reason ``expired``) and the owner's
``hold.expired`` / ``order.updated``. Safe to run from several processes at once. Also purges
idempotency keys older than 24 h.
"""

import time

from django.core.management.base import BaseCommand

from orders.idempotency import idempotency_keys_purge
from orders.services import order_expire_due
from seats.services import hold_expire_due


class Command(BaseCommand):
    help = "Release expired holds and expire unpaid orders past their payment deadline."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS",
                            help="Repeat every SECONDS until stopped (Ctrl-C).")

    def handle(self, *args, loop=None, **options):
        while True:
            holds = hold_expire_due()
            orders = order_expire_due()
            keys = idempotency_keys_purge()
            self.stdout.write(
                f"cleanup: {len(holds)} holds expired, {len(orders)} orders expired, "
                f"{keys} idempotency keys purged"
            )
            if not loop:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
