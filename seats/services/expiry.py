"""The cleanup's loops: record the expiry of lapsed holds or orders, and release abandoned holds,
each exactly once."""

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
    transaction, with ``end(row, now)``; return the rows expired. ``related``: foreign keys read
    with each row (``select_related``, not locked) for ``end`` (a hold's showtime). See
    :func:`end_due`."""
    objects = cast(Any, model).objects  # LapsingQuerySet.as_manager(): not known on type[M]
    return end_due(
        lambda at: objects.lapsed(at).select_related(*related),
        "expires_at",
        end=end,
        limit=limit,
        now=now,
    )


def end_due(
    due: Callable[[datetime], Any],  # → a QuerySet of M (Lapsing models: not known to be Models)
    order_by: str,
    *,
    end: Callable[[M, datetime], object],
    limit: int,
    now: datetime | None = None,
) -> list[M]:
    """Call ``end(row, at)`` on each row of ``due(now)`` (at most ``limit``, in ``order_by``
    order), each in its own short transaction; return the rows ended.

    A row locked by another process is skipped (``SKIP LOCKED`` on PostgreSQL) and read again
    under its lock through ``due(now)``, so several copies of the loop (the cleanup worker, the
    server processes) can run at once and each row is ended, and broadcast, exactly once.
    """
    now = now or timezone.now()
    pks = list(due(now).order_by(order_by).values_list("pk", flat=True)[:limit])
    done: list[M] = []
    for pk in pks:

        def txn(pk: Any = pk) -> M | None:
            row = lock_first(due(now).filter(pk=pk), skip_locked=True)
            if row is not None:
                end(row, timezone.now())
            return row

        row = run_in_transaction(txn)
        if row is not None:
            done.append(row)
    return done
