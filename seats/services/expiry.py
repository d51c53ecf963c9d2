"""The cleanup's loop: record the expiry of lapsed holds or orders, each exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..locks import lock_first, run_in_transaction


def expire_due(model, *, end: Callable[[Any, datetime], None], limit: int,
               now: datetime | None = None) -> list:
    """Record the expiry of the lapsed rows of ``model`` (holds or orders: ``model.objects.lapsed``,
    :mod:`seats.lapse`), at most ``limit``, oldest deadline first, each in its own short
    transaction, with ``end(row, now)``; return the rows expired.

    A row locked by another process is skipped (``SKIP LOCKED`` on PostgreSQL) and its status is
    checked again under the lock, so several copies of the cleanup can run at once and each row is
    expired, and broadcast, exactly once.
    """
    now = now or timezone.now()
    due = list(
        model.objects.lapsed(now).order_by("expires_at").values_list("pk", flat=True)[:limit]
    )
    done = []
    for pk in due:

        def txn(pk=pk):
            row = lock_first(model.objects.lapsed(now).filter(pk=pk), skip_locked=True)
            if row is not None:
                end(row, timezone.now())
            return row

        row = run_in_transaction(txn)
        if row is not None:
            done.append(row)
    return done
