"""What caused a seat change, for the audit trail (``seats.models.SeatEvent``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .models import SeatEvent, ShowtimeSeat


@dataclass(frozen=True)
class Change:
    """Who and what changed seats: ``reason`` is the ``seats.changed`` reason (``held``,
    ``released``, ``expired``, ``reserved``, ``sold``, ``cancelled``, ``refunded``, ``blocked``,
    ``unblocked``); ``actor_kind`` is ``buyer``, ``staff`` or ``system``."""

    reason: str
    actor_kind: str = SeatEvent.Actor.SYSTEM
    actor_id: int | None = None
    hold_id: uuid.UUID | None = None
    order_id: int | None = None
    note: str = ""

    @classmethod
    def buyer(cls, reason: str, user_id: int, **refs: Any) -> Change:
        return cls(reason, SeatEvent.Actor.BUYER, user_id, **refs)

    @classmethod
    def staff(cls, reason: str, user_id: int | None, **refs: Any) -> Change:
        return cls(reason, SeatEvent.Actor.STAFF, user_id, **refs)

    @classmethod
    def system(cls, reason: str, **refs: Any) -> Change:
        return cls(reason, SeatEvent.Actor.SYSTEM, None, **refs)

    @staticmethod
    def record(events: list[SeatEvent]) -> None:
        """Append ``events`` (built by :meth:`event`) to the audit trail: the one writer of
        ``SeatEvent``. One statement."""
        SeatEvent.objects.bulk_create(events)

    def event(self, row: ShowtimeSeat, from_status: str, to_status: str, at: datetime) -> SeatEvent:
        return SeatEvent(
            showtime_id=row.showtime_id,
            showtime_seat_id=row.pk,
            from_status=from_status,
            to_status=to_status,
            reason=self.reason,
            actor_kind=self.actor_kind,
            actor_id=self.actor_id,
            hold_id=self.hold_id,
            order_id=self.order_id,
            note=self.note,
            at=at,
        )
