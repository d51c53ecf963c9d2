"""``manage.py admit [--loop SECONDS]``: one step of the waiting-room admitter for every showtime
whose queue is on (``seats.services.waiting.queue_admit``; docs/waiting-room.md).

Each step locks the showtime's queue row with ``SKIP LOCKED``: a second admitter process (a
second machine, a deploy overlap) does nothing for a showtime another one is admitting, so
running several is safe; nothing is admitted twice nor above the target. Each step that changed
something sends one ``queue.progress`` frame to the showtime's watchers
(``seats.services.waiting.queue_tick``).
"""

import time

from django.core.management.base import BaseCommand

from seats.services.waiting import queue_tick_all


class Command(BaseCommand):
    help = "Admit the next buyers of every waiting room (once, or every SECONDS with --loop)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Repeat every SECONDS until stopped (Ctrl-C); 1 is the intended pace.",
        )

    def handle(self, *args, loop=None, **options):
        due = time.monotonic()
        while True:
            # with its queue.progress broadcasts; one pace with the other admitters (--loop)
            admitted, finished = queue_tick_all(loop or 0.0)
            if not loop or admitted or finished:
                self.stdout.write(f"admit: {admitted} admitted, {finished} finished")
            if not loop:
                return
            due = max(due + loop, time.monotonic())  # on a schedule, as the server loop's
            try:
                time.sleep(due - time.monotonic())
            except KeyboardInterrupt:
                return
