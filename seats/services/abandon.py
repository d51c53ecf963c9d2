"""Holds that follow the buyer: presence leases on holds, and the early release of abandoned holds
(issue #16; docs/api.md "Holds", docs/realtime.md "Presence").

The socket side (who is on which seat map, across server processes) is ``realtime.presence``; this
module keeps the database side, which survives any process:

- while a seat map socket of the buyer is open on a showtime, their active hold there carries
  ``abandon_at = now + lease + showtime.abandon_grace_seconds`` (``left_at`` empty), moved forward
  by :func:`hold_presence_arrive` when a socket opens and by :func:`hold_presence_refresh` every
  few seconds while one stays open;
- when the buyer's last socket closes, :func:`hold_presence_left` sets ``left_at = now`` and
  ``abandon_at = now + grace``;
- :func:`hold_abandon_due` releases the active holds whose ``abandon_at`` has passed (seat reason
  ``abandoned``). A server process that dies stops moving its buyers' ``abandon_at``, so their
  holds are released one lease plus the grace after its last refresh at the latest, unless the
  buyer comes back through another process first.

A hold whose buyer never opened a socket (an API-only client) has no ``abandon_at`` and keeps its
full ``expires_at``. ``abandon_grace_seconds = 0`` turns the feature off for a showtime (no
``abandon_at`` is written, and one already written is cleared at the next refresh or arrival).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from ..lapse import LapsingQuerySet
from ..locks import lock_first, run_in_transaction
from ..models import Hold, Showtime
from .expiry import end_due
from .holds import hold_end

logger = logging.getLogger(__name__)

# User ids per UPDATE of a refresh (keeps statements and their parameter lists small).
REFRESH_CHUNK = 500


def _grace(showtime_id: int) -> int | None:
    """The showtime's ``abandon_grace_seconds`` (``None``: no such showtime)."""
    return (
        Showtime.objects.filter(pk=showtime_id)
        .values_list("abandon_grace_seconds", flat=True)
        .first()
    )


def _present_until(now: datetime, lease: float, grace: int) -> datetime | None:
    return now + timedelta(seconds=lease + grace) if grace else None


def hold_presence_arrive(
    *, user_id: int, showtime_id: int, lease: float, now: datetime | None = None
) -> Hold | None:
    """A seat map socket of the buyer opened on the showtime: their live hold there (if any) gets
    ``abandon_at = now + lease + grace`` (seconds; none with grace 0) and ``left_at`` cleared.
    Returns that hold (the consumer schedules ``hold.expiring`` from it), else ``None``.

    Call after the socket is counted in the presence store, so a concurrent
    :func:`hold_presence_left` either sees it or runs before this write (which then wins).
    Two queries (the hold with its showtime's grace, one ``UPDATE``).
    """
    now = now or timezone.now()
    hold = (
        Hold.objects.live(now)
        .filter(user_id=user_id, showtime_id=showtime_id)
        .select_related("showtime")
        .only(
            "id",
            "user_id",
            "showtime_id",
            "expires_at",
            "status",
            "showtime__abandon_grace_seconds",
        )
        .first()
    )
    if hold is None:
        return None
    abandon_at = _present_until(now, lease, hold.showtime.abandon_grace_seconds)
    try:
        Hold.objects.filter(pk=hold.pk, status=Hold.Status.ACTIVE).update(
            abandon_at=abandon_at, left_at=None
        )
    except DatabaseError:  # e.g. a lock wait past DB_LOCK_TIMEOUT_MS: the next renewal writes it
        logger.warning("presence of hold %s not written", hold.pk, exc_info=True)
    return hold


def hold_presence_refresh(
    *,
    showtime_id: int,
    user_ids: Iterable[int],
    lease: float,
    seen_at: datetime,
    now: datetime | None = None,
) -> int:
    """Buyers ``user_ids`` had a seat map socket open on the showtime (in this process) at
    ``seen_at``: move ``abandon_at`` of their live holds there to ``now + lease + grace`` and
    clear a ``left_at`` older than ``seen_at`` (they came back; this also repairs an arrival
    whose write failed). A hold whose buyer left after ``seen_at`` is not touched. Returns the
    holds updated. One query for the grace, then one ``UPDATE`` per ``REFRESH_CHUNK`` buyers."""
    now = now or timezone.now()
    users = sorted(set(user_ids))
    grace = _grace(showtime_id)
    if grace is None or not users:
        return 0
    abandon_at = _present_until(now, lease, grace)
    updated = 0
    for i in range(0, len(users), REFRESH_CHUNK):
        updated += (
            Hold.objects.live(now)
            .filter(Q(left_at=None) | Q(left_at__lt=seen_at))
            .filter(showtime_id=showtime_id, user_id__in=users[i : i + REFRESH_CHUNK])
            .update(abandon_at=abandon_at, left_at=None)
        )
    return updated


def hold_presence_left(
    *,
    user_id: int,
    showtime_id: int,
    still_present: Callable[[], bool],
    now: datetime | None = None,
) -> Hold | None:
    """The buyer's last seat map socket of the showtime closed (as far as this process knows):
    under the lock of their active hold there, ask ``still_present()`` (the presence store: a
    socket of another process, or one that reopened), and if not, set ``left_at = now`` and
    ``abandon_at = now + grace`` (none with grace 0). Returns the hold so marked, else ``None``
    (no live hold, or the buyer is back).

    ``still_present`` runs under the hold's row lock: a socket that opens concurrently is either
    seen by it or writes its own ``abandon_at`` after this transaction (see
    :func:`hold_presence_arrive`), so a buyer who is back never keeps a stale deadline.
    """

    def txn() -> Hold | None:
        at = now or timezone.now()
        hold = lock_first(
            Hold.objects.live(at)
            .filter(user_id=user_id, showtime_id=showtime_id)
            .select_related("showtime")
        )
        if hold is None or still_present():
            return None
        abandon_at = _present_until(at, 0, hold.showtime.abandon_grace_seconds)
        Hold.objects.filter(pk=hold.pk).update(left_at=at, abandon_at=abandon_at)
        hold.left_at, hold.abandon_at = at, abandon_at
        return hold

    return run_in_transaction(txn)


def _abandoned_due(now: datetime) -> LapsingQuerySet:
    """Live holds whose ``abandon_at`` is at or before ``now`` (the partial index
    ``hold_abandon_idx``), with their showtime (read, not locked: ``hold_end`` needs it)."""
    return Hold.objects.live(now).filter(Q(abandon_at__lte=now)).select_related("showtime")


def hold_abandon_due(*, limit: int = 500, now: datetime | None = None) -> list[Hold]:
    """Release the live holds whose buyer left the seat map more than the showtime's grace ago
    (``abandon_at`` passed): status ``released``, ``abandoned`` set, seats back to sale with one
    ``seats.changed`` frame of reason ``abandoned``, ``hold.updated`` to the owner. At most
    ``limit``, oldest deadline first, each in its own transaction, exactly once across processes
    (:func:`~seats.services.expiry.end_due`). A lapsed hold is left to the expiry
    (``hold_expire_due``). Runs in the server processes (``realtime.presence``) and in
    ``manage.py cleanup``."""
    return end_due(
        _abandoned_due,
        "abandon_at",
        end=lambda hold, at: hold_end(hold, status=Hold.Status.RELEASED, now=at, abandoned=True),
        limit=limit,
        now=now,
    )
