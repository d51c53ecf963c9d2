"""Operations endpoints: ``GET health/`` and ``GET stats/`` (shared/spec/api.md "Operations")."""

from __future__ import annotations

import logging
import statistics
import uuid
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import counters, redisguard
from core.schema import AUTH, errors
from orders.models import Payment
from orders.selectors import orders_by_status
from realtime import consumers
from seats.models import Hold, SeatStatus, ShowtimeSeat

logger = logging.getLogger(__name__)

# How many of the latest ended holds the median hold time is computed over.
MEDIAN_SAMPLE = 10_000


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_channel_layer() -> str:
    """The in-memory layer (embedded mode) through its own API; with ``REDIS_URL`` the Redis
    behind the layer, the seq counters and the cache: a ``PING`` within the Redis timeout, through
    the circuit breaker (``core.redisguard``), so a hung Redis answers within 1 s."""
    if settings.REDIS_URL:
        redisguard.client().ping()
        return "ok"
    layer = get_channel_layer()
    group = f"health-{uuid.uuid4().hex}"
    async_to_sync(layer.group_send)(group, {"type": "health.check"})
    return "ok"


HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded"]),
        "database": serializers.CharField(help_text='"ok" or "error: <kind>"'),
        "channel_layer": serializers.CharField(
            help_text='"ok" or "error: <kind>"; with Redis, the Redis of the channel layer, the seq '
            "counters and the rate limits"
        ),
        "redis": serializers.CharField(
            required=False,
            help_text='With REDIS_URL only: "ok", or "error: <kind>" (e.g. "error: RedisUnavailable" '
            'while the circuit breaker is open, "error: TimeoutError" for a hung Redis)',
        ),
        "time": serializers.DateTimeField(),
    },
)


class HealthView(APIView):
    """``GET health/`` (no auth): 200 ``{"status": "ok", "database", "channel_layer", "time"}``
    (plus ``"redis"`` with ``REDIS_URL``), or 503 with ``"status": "degraded"`` and the failing
    part's error kind. Answers within about a second even with a hung Redis (issue #13)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: HEALTH, 503: HEALTH})
    def get(self, request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok"}
        for name, check in (("database", _check_database), ("channel_layer", _check_channel_layer)):
            try:
                body[name] = check()
            except Exception as exc:  # any failure of a dependency is "degraded", never a 500
                logger.warning("health: %s failed: %s", name, exc)
                body[name] = f"error: {type(exc).__name__}"
                body["status"] = "degraded"
        if settings.REDIS_URL:  # named, so an operator sees which dependency failed
            body["redis"] = body["channel_layer"]
        body["time"] = timezone.now()
        return Response(body, status=200 if body["status"] == "ok" else 503)


def booking_figures(now: datetime) -> dict[str, Any]:
    """The booking figures that ``GET stats/`` and ``/metrics`` share, at ``now``, under the
    lapse rule (domain.md, invariant 4): ``{"holds_active": int, "seats_held": int, "orders":
    {status: int}, "needs_refund": int}``. Four queries."""
    return {
        "holds_active": Hold.objects.live(now).count(),
        "seats_held": ShowtimeSeat.objects.filter_effective_status(SeatStatus.HELD, now).count(),
        "orders": orders_by_status(now),
        "needs_refund": Payment.objects.filter(needs_refund=True).count(),
    }


def stats_snapshot() -> dict:
    """The figures of ``GET stats/``.

    - ``holds``: active unexpired holds and the seats they hold; ``abandoned``: holds released
      because their buyer left the seat map (docs/realtime.md "Presence"), and
      ``abandoned_release_median_seconds``: the median seconds from the buyer's last socket
      closing to the release (the grace plus the sweep's delay; over the latest 10,000 such
      holds; ``null`` before the first);
    - ``orders``: orders by status, a pending order past its deadline counted as ``expired``;
    - ``prevented_duplicates``: 409 ``seat_unavailable`` answers (``seat_conflicts``) and
      idempotent replays (``idempotent_replays``), the deployment's totals of
      :func:`core.counters.totals` (since Redis last lost its data; without Redis, since this
      process started);
    - ``conversion``: the share of ended holds that became orders, and the median seconds a hold
      lasted (over the latest 10,000 ended holds);
    - ``realtime.connections``: open WebSocket connections of this server process;
    - ``payments.needs_refund``: payments recorded but flagged for refund (an addition to api.md).
    """
    now = timezone.now()
    figures = booking_figures(now)
    ended = Hold.objects.exclude(status=Hold.Status.ACTIVE).exclude(ended_at=None)
    by_status = dict(ended.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    lapsed_holds = Hold.objects.lapsed(now).count()
    total_ended = sum(by_status.values()) + lapsed_holds
    durations = [
        (end - start).total_seconds()
        for start, end in ended.order_by("-ended_at").values_list("created_at", "ended_at")[
            :MEDIAN_SAMPLE
        ]
        if end is not None  # excluded above; for the type checker
    ]
    abandoned = Hold.objects.filter(abandoned=True)
    abandon_delays = [
        (end - left).total_seconds()
        for left, end in abandoned.exclude(left_at=None)
        .order_by("-ended_at")
        .values_list("left_at", "ended_at")[:MEDIAN_SAMPLE]
        if end is not None and left is not None  # for the type checker
    ]
    return {
        "holds": {
            "active": figures["holds_active"],
            "seats_held": figures["seats_held"],
            "abandoned": abandoned.count(),
            "abandoned_release_median_seconds": round(statistics.median(abandon_delays), 3)
            if abandon_delays
            else None,
        },
        "orders": figures["orders"],
        "prevented_duplicates": counters.totals(),
        "conversion": {
            "holds_converted_ratio": round(by_status.get("converted", 0) / total_ended, 4)
            if total_ended
            else None,
            "median_hold_seconds": round(statistics.median(durations), 3) if durations else None,
        },
        "realtime": {"connections": consumers.connections},
        "payments": {"needs_refund": figures["needs_refund"]},
    }


class StatsView(APIView):
    """``GET stats/`` (staff only; 403 ``permission_denied`` otherwise): see
    :func:`stats_snapshot`."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Stats",
                {
                    "holds": serializers.DictField(
                        child=serializers.FloatField(allow_null=True),
                        help_text="active, seats_held, abandoned (counts); "
                        "abandoned_release_median_seconds (seconds, null before the first).",
                    ),
                    "orders": serializers.DictField(child=serializers.IntegerField()),
                    "prevented_duplicates": serializers.DictField(child=serializers.IntegerField()),
                    "conversion": serializers.DictField(
                        child=serializers.FloatField(allow_null=True)
                    ),
                    "realtime": serializers.DictField(child=serializers.IntegerField()),
                    "payments": serializers.DictField(child=serializers.IntegerField()),
                },
            ),
            **errors(AUTH, (403, "permission_denied")),
        }
    )
    def get(self, request):
        return Response(stats_snapshot())


class SalesView(APIView):
    """``GET showtimes/{id}/sales/`` (staff): the sales overview of one showtime; see
    :func:`orders.selectors.sales_overview`. 404 for an unknown showtime."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={
            200: inline_serializer(
                "SalesOverview",
                {
                    "showtime": serializers.IntegerField(),
                    "categories": serializers.ListField(),
                    "totals": serializers.DictField(),
                    "holds_active": serializers.IntegerField(),
                    "queue": inline_serializer(
                        "SalesQueueFigures",
                        {
                            "waiting": serializers.IntegerField(
                                help_text="Queued, not admitted, not finished (early pool included)."
                            ),
                            "early": serializers.IntegerField(
                                help_text="Of those waiting, without a place yet (before the "
                                "on-sale's draw, or joined within the last second)."
                            ),
                            "admitted_total": serializers.IntegerField(help_text="Ever admitted."),
                            "active": serializers.IntegerField(
                                help_text="Admitted and not finished."
                            ),
                            "finished": serializers.IntegerField(
                                help_text="Turns ended (paid, lapsed, window)."
                            ),
                            "target": serializers.IntegerField(
                                help_text="Active buyers at most (target_active_buyers)."
                            ),
                            "rate_per_minute": serializers.IntegerField(
                                help_text="Admissions a minute at most."
                            ),
                            "admitting_per_minute": serializers.IntegerField(
                                help_text="The pace: the cap below the target; at the target, "
                                "admissions in the last minute (never above the cap)."
                            ),
                            "paused": serializers.BooleanField(),
                            "admitted_up_to": serializers.IntegerField(
                                help_text="Highest place the admitter admitted."
                            ),
                            "estimated_clear_seconds": serializers.IntegerField(
                                help_text="ceil(waiting × 60 / admitting_per_minute), seconds; "
                                "0 with nobody waiting."
                            ),
                        },
                        allow_null=True,
                        help_text="The waiting room's figures; null when the showtime has none.",
                    ),
                },
            ),
            **errors(AUTH, (403, "permission_denied"), 404),
        }
    )
    def get(self, request: Request, showtime_id: int) -> Response:
        from django.http import Http404

        from orders.selectors import sales_overview
        from seats.models import Showtime

        if not Showtime.objects.filter(pk=showtime_id).exists():
            raise Http404
        return Response(sales_overview(showtime_id))
