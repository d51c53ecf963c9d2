"""The publisher interface: how the domain apps announce committed changes (realtime.md).

``seats`` and ``orders`` call the functions below; they do not know who listens. The ``realtime``
app installs itself as the publisher when Django starts (``RealtimeConfig.ready``), so every call
becomes a WebSocket frame after the transaction commits. Without it (an app set without
``realtime``) the calls do nothing. A publisher never raises into the caller: a lost broadcast
loses no data (shared/spec/domain.md, invariant 5), the snapshot on reconnect repairs it.

Shapes (all ids as the API shows them):

- ``seats``: ``[{"id": "<seat guid>", "status": str, "version": int}]`` as committed; a
  general-admission place carries ``"ga_area": <area id>`` instead of a seat map entry;
- ``hold``: the hold as the API shows it (``seats.selectors.hold_detail``);
- ``order``: ``{"id", "number", "status"}`` (``orders.selectors.order_brief``);
- ``progress``: the waiting room's ``{"admitted_up_to", "rate_per_minute", "active", "target",
  "paused"}`` (``seats.services.waiting.queue_tick``; docs/waiting-room.md).
"""

from __future__ import annotations

from typing import Any, Protocol


class Publisher(Protocol):
    """What a publisher implements; each call is sent after the current transaction commits."""

    def seats_changed(self, showtime_id: int, reason: str, seats: list[dict[str, Any]]) -> None:
        """``seats.changed`` to everyone watching ``showtime_id``; ``reason`` is the change's
        (``held``, ``released``, ``expired``, ``reserved``, ``sold``, ``cancelled``,
        ``refunded``, ``blocked``, ``unblocked``)."""

    def hold_updated(self, user_id: int, hold: dict[str, Any]) -> None:
        """``hold.updated`` to the hold's owner."""

    def hold_expired(
        self, user_id: int, showtime_id: int, hold_id: Any, expires_at: str | None = None
    ) -> None:
        """``hold.expired`` to the hold's owner; ``expires_at``: the deadline it passed (ISO)."""

    def order_updated(self, user_id: int, showtime_id: int, order: dict[str, Any]) -> None:
        """``order.updated`` to the order's owner."""

    def queue_progress(self, showtime_id: int, progress: dict[str, Any]) -> None:
        """``queue.progress`` to everyone watching ``showtime_id`` (one frame per admitter
        step, whatever the queue's length)."""


class _Silent:
    """The publisher until one is installed: every announcement is dropped."""

    def seats_changed(self, showtime_id: int, reason: str, seats: list[dict[str, Any]]) -> None:
        pass

    def hold_updated(self, user_id: int, hold: dict[str, Any]) -> None:
        pass

    def hold_expired(
        self, user_id: int, showtime_id: int, hold_id: Any, expires_at: str | None = None
    ) -> None:
        pass

    def order_updated(self, user_id: int, showtime_id: int, order: dict[str, Any]) -> None:
        pass

    def queue_progress(self, showtime_id: int, progress: dict[str, Any]) -> None:
        pass


_publisher: Publisher = _Silent()


def publisher_set(publisher: Publisher) -> None:
    """Install ``publisher`` for every later announcement (called once, from an ``AppConfig``)."""
    global _publisher
    _publisher = publisher


def seats_changed(showtime_id: int, reason: str, seats: list[dict[str, Any]]) -> None:
    """Announce committed seat changes of one showtime (see :class:`Publisher`)."""
    _publisher.seats_changed(showtime_id, reason, seats)


def hold_updated(user_id: int, hold: dict[str, Any]) -> None:
    """Announce a hold's new state to its owner (see :class:`Publisher`)."""
    _publisher.hold_updated(user_id, hold)


def hold_expired(
    user_id: int, showtime_id: int, hold_id: Any, expires_at: str | None = None
) -> None:
    """Announce a hold's expiry to its owner (see :class:`Publisher`)."""
    _publisher.hold_expired(user_id, showtime_id, hold_id, expires_at)


def order_updated(user_id: int, showtime_id: int, order: dict[str, Any]) -> None:
    """Announce an order's new state to its owner (see :class:`Publisher`)."""
    _publisher.order_updated(user_id, showtime_id, order)


def queue_progress(showtime_id: int, progress: dict[str, Any]) -> None:
    """Announce a waiting room's progress to everyone watching the showtime (see
    :class:`Publisher`)."""
    _publisher.queue_progress(showtime_id, progress)
