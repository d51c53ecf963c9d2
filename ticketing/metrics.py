"""Prometheus metrics at ``/metrics`` (api.md "Operations").

django-prometheus measures requests (latency by view and method, status codes) and database
queries; this collector adds the booking figures, read at scrape time: active holds and held seats,
orders by status, prevented duplicates (seat conflicts, idempotent replays: the deployment's totals
of ``core.counters``, whose per-process rates are ``seatline_events_total{name}``), payments
flagged for refund, the waiting rooms' figures per showtime whose queue is on
(``seatline_queue_*{showtime}``, docs/waiting-room.md "Staff"), and this process's WebSocket
connections, dropped frames and failed publishes.
"""

from __future__ import annotations

import logging

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY

logger = logging.getLogger(__name__)
_registered = False


class BookingCollector:
    """Reads the booking figures from the database when Prometheus scrapes."""

    def describe(self):
        """The metric names, without touching the database (used at registration)."""
        yield GaugeMetricFamily("seatline_websocket_connections", "")
        yield CounterMetricFamily("seatline_websocket_frames_dropped", "")
        yield CounterMetricFamily("seatline_publish_failures", "")
        yield CounterMetricFamily("seatline_frames_reordered", "")
        yield CounterMetricFamily("seatline_frames_given_up", "")
        yield CounterMetricFamily("seatline_redis_outages_recovered", "")
        yield GaugeMetricFamily("seatline_redis_breaker_open", "")
        yield GaugeMetricFamily("seatline_holds_active", "")
        yield GaugeMetricFamily("seatline_seats_held", "")
        yield GaugeMetricFamily("seatline_orders", "", labels=["status"])
        yield CounterMetricFamily("seatline_prevented_duplicates", "", labels=["kind"])
        yield GaugeMetricFamily("seatline_payments_needing_refund", "")
        for family, name, _help in QUEUE_METRICS.values():
            yield family(name, "", labels=["showtime"])

    def collect(self):
        from django.utils import timezone

        from core import counters
        from realtime import consumers, events

        from .ops import booking_figures

        ws = GaugeMetricFamily(
            "seatline_websocket_connections", "Open seat map WebSocket connections in this process."
        )
        ws.add_metric([], consumers.connections)
        yield ws
        dropped = CounterMetricFamily(
            "seatline_websocket_frames_dropped",
            "Frames not sent to a socket of this process that had 100 waiting already (its "
            "client resyncs on the seq gap).",
        )
        dropped.add_metric([], consumers.frames_dropped)
        yield dropped
        failures = CounterMetricFamily(
            "seatline_publish_failures", "Real-time publishes that failed in this process."
        )
        failures.add_metric([], events.publish_failures)
        yield failures
        yield from _live_map_metrics()
        prevented = CounterMetricFamily(
            "seatline_prevented_duplicates",
            "Double sales refused (seat_conflicts) and idempotent replays, the deployment's "
            "totals (core.counters).",
            labels=["kind"],
        )
        for kind, count in counters.totals().items():
            prevented.add_metric([kind], count)
        yield prevented
        try:
            figures = booking_figures(timezone.now())
            holds = GaugeMetricFamily("seatline_holds_active", "Active, unexpired holds.")
            holds.add_metric([], figures["holds_active"])
            yield holds
            seats = GaugeMetricFamily("seatline_seats_held", "Seats in active, unexpired holds.")
            seats.add_metric([], figures["seats_held"])
            yield seats
            orders = GaugeMetricFamily(
                "seatline_orders",
                "Orders by status (a pending order past its deadline counts as expired).",
                labels=["status"],
            )
            for status, n in figures["orders"].items():
                orders.add_metric([status], n)
            yield orders
            refunds = GaugeMetricFamily(
                "seatline_payments_needing_refund", "Payments recorded but flagged for refund."
            )
            refunds.add_metric([], figures["needs_refund"])
            yield refunds
        except Exception:  # a scrape must not fail because the database is down
            logger.warning("metrics: database figures unavailable", exc_info=True)
        try:
            queues = _queue_metrics()
        except Exception:
            logger.warning("metrics: waiting-room figures unavailable", exc_info=True)
        else:
            yield from queues


# The waiting room's figures (seats.services.waiting.queue_figures) exported per showtime whose
# queue is on: figure → (family, metric name, help). The two that only grow are counters
# (exposed with ``_total``: ``seatline_queue_admitted_total``, ``seatline_queue_finished_total``).
QUEUE_METRICS: dict[str, tuple[type[GaugeMetricFamily | CounterMetricFamily], str, str]] = {
    "waiting": (
        GaugeMetricFamily,
        "seatline_queue_waiting",
        "Buyers in the waiting room, not admitted yet (the early pool included).",
    ),
    "early": (
        GaugeMetricFamily,
        "seatline_queue_early",
        "Buyers waiting without a place yet (before the on-sale).",
    ),
    "active": (
        GaugeMetricFamily,
        "seatline_queue_active",
        "Admitted buyers whose turn has not ended.",
    ),
    "admitted_total": (
        CounterMetricFamily,
        "seatline_queue_admitted",
        "Buyers ever admitted (by the admitter or by staff).",
    ),
    "finished": (
        CounterMetricFamily,
        "seatline_queue_finished",
        "Admitted buyers whose turn ended (paid, lapsed, window).",
    ),
    "target": (
        GaugeMetricFamily,
        "seatline_queue_target",
        "Admitted buyers who may be active at once.",
    ),
    "rate_per_minute": (
        GaugeMetricFamily,
        "seatline_queue_rate_per_minute",
        "Admissions a minute at most.",
    ),
    "admitting_per_minute": (
        GaugeMetricFamily,
        "seatline_queue_admitting_per_minute",
        "The pace: the cap below the target; at it, admissions in the last minute.",
    ),
    "paused": (GaugeMetricFamily, "seatline_queue_paused", "1 while admission is paused."),
    "admitted_up_to": (
        GaugeMetricFamily,
        "seatline_queue_admitted_up_to",
        "Highest place the admitter admitted.",
    ),
    "estimated_clear_seconds": (
        GaugeMetricFamily,
        "seatline_queue_estimated_clear_seconds",
        "Seconds to admit everyone waiting at the current pace: "
        "ceil(waiting * 60 / admitting_per_minute).",
    ),
}


def _queue_metrics() -> list[GaugeMetricFamily | CounterMetricFamily]:
    """One family per figure of :data:`QUEUE_METRICS`, a sample per showtime whose waiting room
    is on (label ``showtime``: its id). Read whole before anything is yielded, so a database error
    drops these metrics only, never half of them."""
    from seats.models import Showtime
    from seats.services.waiting import queue_figures

    families = {
        key: family(name, text, labels=["showtime"])
        for key, (family, name, text) in QUEUE_METRICS.items()
    }
    for showtime in Showtime.objects.filter(queue_enabled=True).order_by("pk"):
        figures = queue_figures(showtime)
        for key, family in families.items():
            family.add_metric([str(showtime.pk)], float(figures[key]))
    return list(families.values())


def _live_map_metrics():
    """This process's ordering and fault figures (docs/realtime.md "Ordering and faults")."""
    from core import redisguard
    from realtime.hub import all_hubs

    hubs = all_hubs()
    orders = [sub.order for hub in hubs for sub in hub.subscriptions.values()]
    reordered = CounterMetricFamily(
        "seatline_frames_reordered",
        "seats.changed frames that arrived ahead of a missing seq and waited for it (this "
        "process, live subscriptions).",
    )
    reordered.add_metric([], sum(o.reordered for o in orders))
    yield reordered
    given_up = CounterMetricFamily(
        "seatline_frames_given_up",
        "Missing seqs not waited for any longer (their sockets got a fresh snapshot).",
    )
    given_up.add_metric([], sum(o.skipped for o in orders))
    yield given_up
    recovered = CounterMetricFamily(
        "seatline_redis_outages_recovered",
        "Redis outages this process saw end (each refreshed its sockets' snapshots).",
    )
    recovered.add_metric([], sum(h.recoveries for h in hubs))
    yield recovered
    breaker = GaugeMetricFamily(
        "seatline_redis_breaker_open", "1 while the Redis circuit breaker stops Redis calls."
    )
    breaker.add_metric([], 1 if redisguard.is_open() else 0)
    yield breaker


def register() -> None:
    """Register :class:`BookingCollector` once per process."""
    global _registered
    if not _registered:
        REGISTRY.register(BookingCollector())
        _registered = True
