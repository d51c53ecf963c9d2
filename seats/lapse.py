"""The lapse rule of holds and orders, in one place (shared/spec/domain.md, invariant 4).

An active hold, or a pending order, whose ``expires_at`` is at or before *now* has lapsed: it counts
as ``expired`` at read time and at write time, whether or not the cleanup command has recorded the
expiry yet. ``paid``, ``converted``, ``released``, ``cancelled``, ``refunded`` and a recorded
``expired`` never lapse: they are reported as stored.

The rule for holds and orders is written here twice, once per side of the database, and nowhere
else:

- :class:`LapsingQuerySet` states it in SQL (``lapsed()``, ``live()``, ``with_effective_status()``)
  for lists, filters, counts and the cleanup's selection;
- :class:`Lapsing` states it for one loaded row (``is_lapsed()``, ``status_at()``) for details and
  for the services' checks under a row lock.

``test_the_lapse_rule_reads_the_same_in_sql_and_in_python`` keeps the two in step. The seat-level
counterpart (a ``held``/``reserved`` seat past its ``expires_at`` reads ``available``) is
``seats.models.seat_lapsed_q`` (and ``ShowtimeSeatQuerySet``) in SQL and
:func:`seats.selectors.effective_state`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone


def _now(now: datetime | None) -> datetime:
    return timezone.now() if now is None else now


class LapsingQuerySet(models.QuerySet):
    """Holds or orders (a model mixing in :class:`Lapsing`), with the lapse rule in SQL."""

    model: Any  # a model class that mixes in Lapsing (LIVE_STATUS, LAPSED_STATUS, live_q)

    def _lapsed_q(self, now: datetime | None) -> Q:
        return Q(status=self.model.LIVE_STATUS, expires_at__lte=_now(now))

    def lapsed(self, now: datetime | None = None) -> LapsingQuerySet:
        """Rows still stored as live (``active``/``pending``) whose deadline is at or before
        ``now`` (default: ``timezone.now()``): they count as expired; the cleanup records them."""
        return self.filter(self._lapsed_q(now))

    def live(self, now: datetime | None = None) -> LapsingQuerySet:
        """Rows live at ``now``: stored ``active``/``pending`` with a deadline after ``now``."""
        return self.filter(self.model.live_q(now))

    def with_effective_status(self, now: datetime | None = None) -> LapsingQuerySet:
        """Annotate ``effective_status``: ``expired`` for a lapsed row, else the stored status
        (a string of the model's ``Status``), for ordering and filtering lists in SQL."""
        return self.annotate(
            effective_status=Case(
                When(self._lapsed_q(now), then=Value(self.model.LAPSED_STATUS)),
                default=F("status"),
                output_field=models.CharField(),
            )
        )

    def filter_effective_status(self, status: str, now: datetime | None = None) -> LapsingQuerySet:
        """Rows whose status at ``now`` is ``status``: ``expired`` includes the lapsed rows and
        the live status excludes them."""
        if status == self.model.LIVE_STATUS:
            return self.live(now)
        if status == self.model.LAPSED_STATUS:
            return self.filter(Q(status=status) | self._lapsed_q(now))
        return self.filter(status=status)


class Lapsing:
    """The lapse rule for one loaded hold or order. A model mixes this in before
    ``models.Model``, names its ``LIVE_STATUS`` (the status that lapses) and ``LAPSED_STATUS``
    (what it lapses to), and uses ``LapsingQuerySet.as_manager()`` as ``objects``."""

    LIVE_STATUS: ClassVar[str]
    LAPSED_STATUS: ClassVar[str]
    status: str
    expires_at: datetime

    @classmethod
    def live_q(cls, now: datetime | None = None, prefix: str = "") -> Q:
        """The condition "live at ``now``" (stored live status, deadline after ``now``) on this
        model's fields, or through a relation when ``prefix`` names it (``"hold__"``), for
        queries of other models (e.g. the seats a buyer has held or in pending orders)."""
        return Q(**{f"{prefix}status": cls.LIVE_STATUS, f"{prefix}expires_at__gt": _now(now)})

    def is_lapsed(self, now: datetime | None = None) -> bool:
        """True if the row is stored as live but its ``expires_at`` is at or before ``now``
        (default: ``timezone.now()``)."""
        return self.status == self.LIVE_STATUS and self.expires_at <= _now(now)

    def status_at(self, now: datetime | None = None) -> str:
        """The status every read reports at ``now``: ``expired`` once lapsed, else as stored."""
        return self.LAPSED_STATUS if self.is_lapsed(now) else self.status
