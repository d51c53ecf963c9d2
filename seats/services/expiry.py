"""The cleanup's loop: record the expiry of lapsed holds or orders, each exactly once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from django.utils import timezone

from ..lapse import Lapsing
from ..locks import lock_first, run_in_transaction

M = TypeVar("M", bound=Lapsing)


def expire_due(
    model: type[M],
    *,
    end: Callable[[M, datetime], object],
    limit: int,
    now: datetime | None = None,
    related: Sequence[str] = (),
) -> list[M]:
    """Record the expiry of the lapsed rows of ``model`` (holds or orders: ``model.objects.lapsed``,
    :mod:`seats.lapse`), at most ``limit``, oldest deadline first, each in its own short
    transaction, with ``end(row, now)``; return the rows expired.

    A row locked by another process is skipped (``SKIP LOCKED`` on PostgreSQL) and its status is
    checked again under the lock, so several copies of the cleanup can run at once and each row is
    expired, and broadcast, exactly once. ``related``: foreign keys read with each row
    (``select_related``, not locked) for ``end`` (a hold's showtime).
    """
    now = now or timezone.now()
    objects = cast(Any, model).objects  # LapsingQuerySet.as_manager(): not known on type[M]
    due = list(objects.lapsed(now).order_by("expires_at").values_list("pk", flat=True)[:limit])
    done: list[M] = []
    for pk in due:

        def txn(pk: Any = pk) -> M | None:
            row = lock_first(
                objects.lapsed(now).select_related(*related).filter(pk=pk), skip_locked=True
            )
            if row is not None:
                end(row, timezone.now())
            return row

        row = run_in_transaction(txn)
        if row is not None:
            done.append(row)
    return done
