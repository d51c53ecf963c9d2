"""Prometheus metrics at ``/metrics`` (api.md "Operations").

django-prometheus measures requests (latency by view and method, status codes) and database
queries; this collector adds the booking figures, read at scrape time: active holds and held seats,
orders by status, prevented duplicates (seat conflicts, idempotent replays: the deployment's totals
of ``core.counters``, whose per-process rates are ``seatline_events_total{name}``), payments
flagged for refund, and this process's WebSocket connections, dropped frames and failed publishes.
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
