"""Catalog and hold endpoints (shared/spec/api.md "Catalog", "Holds"). Views stay thin: validate,
call one service or selector, render."""

import re
from datetime import UTC
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.pagination import BIGINT_MAX, BIGINT_MIN, ListPagination
from core.ratelimits import limited
from core.schema import (
    AUTH,
    BAD_TOKEN,
    CSRF,
    CSRF_QUEUE,
    QUEUE_PASS,
    errors,
    path_id,
    retry_after,
)

from . import selectors, services
from .layout import plan_layout
from .models import Hold, SeatingPlan, Show, Showtime
from .serializers import (
    BestAvailableSerializer,
    HoldRequestSerializer,
    HoldSerializer,
    LayoutSerializer,
    LiveSnapshotSerializer,
    QueueStatusSerializer,
    SeatReleaseSerializer,
    ShowSerializer,
    ShowtimeSerializer,
    SnapshotSerializer,
)
from .services import waiting
from .services.waiting import PASS_HEADER

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _buyer(request: Request) -> "User":
    """The signed-in user of a hold view (authentication required: ``IsAuthenticated``)."""
    return cast("User", request.user)


SHOW_ID = path_id(OpenApiTypes.INT64, "The show's id.")
SHOWTIME_ID = path_id(OpenApiTypes.INT64, "The showtime's id.")
HOLD_ID = path_id(OpenApiTypes.UUID, "The hold's id.")


def showtime_detail(showtime: Showtime) -> dict:
    """The api.md showtime shape (two queries beyond the showtime row and its joins, and the
    plan's layout when this process has not built its current version yet), with the
    per-buyer caps in force (``max_seats_per_buyer``: the showtime's, else its
    ``max_seats_per_order``; ``max_pending_orders_per_buyer``: the setting) and the hold rules
    (``abandon_grace_seconds``, ``max_hold_extensions``, ``max_hold_seconds``: seconds)."""
    return {
        "id": showtime.pk,
        "show": {"id": showtime.show_id, "title": showtime.show.title},
        "venue": {"id": showtime.plan.venue_id, "name": showtime.plan.venue.name},
        "starts_at": showtime.starts_at,
        "status": showtime.status,
        "currency": showtime.currency,
        "hold_ttl_seconds": showtime.hold_ttl,
        "max_seats_per_order": showtime.max_seats_per_order,
        "max_seats_per_buyer": showtime.seats_per_buyer,
        "max_pending_orders_per_buyer": settings.MAX_PENDING_ORDERS_PER_BUYER,
        "abandon_grace_seconds": showtime.abandon_grace_seconds,
        "max_hold_extensions": showtime.max_hold_extensions,
        "max_hold_seconds": showtime.max_hold_seconds,
        "categories": selectors.showtime_categories(showtime),
        "counts": selectors.showtime_counts(showtime.pk),
        "layout": plan_layout(showtime.plan_id, showtime.plan.layout_version).ref(),
    }


@extend_schema_view(
    list=extend_schema(responses={200: ShowSerializer(many=True), **errors(BAD_TOKEN)}),
    retrieve=extend_schema(
        parameters=[SHOW_ID], responses={200: ShowSerializer, **errors(BAD_TOKEN, 404)}
    ),
)
class ShowViewSet(viewsets.ReadOnlyModelViewSet):
    """``GET shows/`` and ``GET shows/{id}/``: what is on sale. No authentication needed."""

    queryset = Show.objects.order_by("title", "id")
    serializer_class = ShowSerializer
    permission_classes = [AllowAny]
    pagination_class = ListPagination
    lookup_value_converter = "id64"  # ticketing/urls.py: a malformed id is a 404 there


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "show", OpenApiTypes.INT64, description="Only showtimes of this show."
            ),
            OpenApiParameter(
                "starts_after", OpenApiTypes.DATETIME, description="ISO 8601 time (inclusive)."
            ),
            OpenApiParameter(
                "starts_before", OpenApiTypes.DATETIME, description="ISO 8601 time (exclusive)."
            ),
        ],
        responses={
            200: ShowtimeSerializer(many=True),
            **errors((400, "validation_error"), BAD_TOKEN),
        },
    ),
    retrieve=extend_schema(
        parameters=[SHOWTIME_ID], responses={200: ShowtimeSerializer, **errors(BAD_TOKEN, 404)}
    ),
)
class ShowtimeViewSet(viewsets.ReadOnlyModelViewSet):
    """``GET showtimes/``, ``GET showtimes/{id}/`` and ``GET showtimes/{id}/seats/``."""

    permission_classes = [AllowAny]
    serializer_class = ShowtimeSerializer
    pagination_class = ListPagination
    lookup_value_converter = "id64"

    def get_queryset(self):
        query = Showtime.objects.select_related("show", "plan__venue")
        if self.action in ("list", "retrieve"):  # showtime_detail lists the categories
            query = query.prefetch_related("plan__categories")
        params = self.request.query_params
        filters = Q()
        current = "show"  # the parameter being read, named in the 400 answer
        try:
            if params.get("show"):
                show_id = int(params["show"])
                if not BIGINT_MIN <= show_id <= BIGINT_MAX:
                    raise ValueError("show: out of range")
                filters &= Q(show_id=show_id)
            for name, lookup in (
                ("starts_after", "starts_at__gte"),
                ("starts_before", "starts_at__lt"),
            ):
                current = name
                if params.get(name):
                    when = parse_datetime(params[name])
                    if when is None:
                        raise ValueError(name)
                    # In UTC (a time without offset is UTC): PostgreSQL refuses offsets past
                    # ±15:59, which ISO 8601 and Python allow.
                    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
                    filters &= Q(**{lookup: when})
        except (ValueError, OverflowError) as exc:  # OverflowError: out of years 1–9999 in UTC
            raise ApplicationError(
                "validation_error",
                gettext("Bad filter value."),
                details={"filter": [gettext("%(name)s: not a valid value.") % {"name": current}]},
                status=400,
            ) from exc
        return query.filter(filters).order_by("starts_at", "id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # pagination_class is set
        return self.get_paginated_response([showtime_detail(s) for s in page])

    def retrieve(self, request, *args, **kwargs):
        return Response(showtime_detail(self.get_object()))

    @extend_schema(
        parameters=[SHOWTIME_ID], responses={200: SnapshotSerializer, **errors(BAD_TOKEN, 404)}
    )
    @action(detail=True, methods=["get"])
    def seats(self, request, pk=None):
        """The seat map snapshot: every seat with its status and version (api.md)."""
        showtime = self.get_object()
        return Response(selectors.seat_snapshot(showtime.pk))

    @extend_schema(
        parameters=[SHOWTIME_ID],
        responses={200: LiveSnapshotSerializer, **errors(BAD_TOKEN, 404)},
        description='Every seat\'s status and version in the live form (api.md "Live form"), '
        "aligned with the plan's layout (`layout.url`, fetched once per version).",
    )
    @action(detail=True, methods=["get"])
    def live(self, request, pk=None):
        """The seat map's states in the live form, with the layout they are aligned with."""
        showtime = self.get_object()
        seats = selectors.seat_live(
            showtime.pk, plan=(showtime.plan_id, showtime.plan.layout_version)
        )
        return Response(
            {
                "showtime": showtime.pk,
                "as_of": seats.as_of,
                "layout": seats.layout.ref(),
                "live": seats.live,
                "ga": selectors.ga_availability(showtime.pk),
            }
        )


# A layout never changes under its URL (a new geometry has a new version): cache it for good.
LAYOUT_CACHE_CONTROL = "public, max-age=31536000, immutable"
# The Accept-Encoding test of Django's GZipMiddleware (a "gzip" token).
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def _etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison: RFC 9110 §13.1.2;
    ``W/`` because Django's GZipMiddleware weakens the ETag of what it compresses)."""
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


class LayoutView(APIView):
    """``GET plans/{plan_id}/layouts/{version}/``: the plan's layout, the geometry of its seat
    map (api.md "Plan layout"). Immutable under its URL: ``Cache-Control: public,
    max-age=31536000, immutable`` and ``ETag: "<version>"`` (304 to a matching
    ``If-None-Match``). A version that is not the plan's current one answers 404 ``not_found``:
    the current URL is in the showtime (``layout.url``). No authentication needed."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "plan_id",
                OpenApiTypes.INT64,
                OpenApiParameter.PATH,
                description="The seating plan's id.",
            ),
            OpenApiParameter(
                "version",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The layout version (`layout.version` of a showtime).",
            ),
        ],
        responses={
            200: OpenApiResponse(
                LayoutSerializer,
                description='The layout. `ETag: "<version>"` (`W/"<version>"` when gzipped); '
                "`Cache-Control: public, max-age=31536000, immutable`.",
            ),
            304: OpenApiResponse(description="`If-None-Match` names this version: not modified."),
            **errors(BAD_TOKEN, 404),
        },
    )
    def get(self, request: Request, plan_id: int, version: str) -> HttpResponseBase:
        try:
            layout = plan_layout(plan_id)
        except SeatingPlan.DoesNotExist:
            raise ApplicationError("not_found", gettext("Not found."), status=404) from None
        if version != layout.version:
            raise ApplicationError(
                "not_found",
                gettext(
                    "No such layout: the plan has another version now (see the showtime's "
                    "layout.url)."
                ),
                status=404,
            )
        # Gzipped here, once per process and version (Layout.gzipped), when the client takes
        # gzip: GZipMiddleware leaves an answer with a Content-Encoding alone. The gzipped
        # representation has its own, weak, ETag, as GZipMiddleware would give it.
        gzipped = bool(ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))
        etag = f'W/"{layout.version}"' if gzipped else f'"{layout.version}"'
        if _etag_matches(request.headers.get("If-None-Match", ""), f'"{layout.version}"'):
            response = HttpResponse(status=304)
        elif gzipped:
            response = HttpResponse(layout.gzipped, content_type="application/json")
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(layout.body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = LAYOUT_CACHE_CONTROL
        patch_vary_headers(response, ["Accept-Encoding"])
        return response


class HoldCreateView(APIView):
    """``POST showtimes/{id}/holds/ {"seats": [...], "ga": [{"zone", "quantity"}]}`` → 201 (new) /
    200 (extended) hold. ``ga`` (places of general-admission zones) is an addition to api.md.

    Errors: 400 ``unknown_seats``/``too_many_seats``/``validation_error`` (also a seat listed
    twice, in any spelling), 404, 409 ``buyer_limit``/``seat_unavailable``/``orphan_seat``/
    ``sales_closed``/``busy``, 429.
    """

    @extend_schema(
        request=HoldRequestSerializer,
        responses={
            200: OpenApiResponse(HoldSerializer, description="Seats added to the active hold."),
            201: OpenApiResponse(HoldSerializer, description="A new hold."),
            **errors(
                (400, "validation_error", "unknown_seats", "too_many_seats", "malformed_json"),
                AUTH,
                CSRF_QUEUE,
                404,
                (409, "buyer_limit", "seat_unavailable", "orphan_seat", "sales_closed", "busy"),
                413,
                415,
                429,
            ),
        },
        parameters=[retry_after(409, 429), QUEUE_PASS],
    )
    @limited("RATELIMIT_HOLDS", "holds")
    def post(self, request: Request, showtime_id: int) -> Response:
        data = HoldRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.hold_create(
            user=_buyer(request),
            showtime_id=showtime_id,
            seat_ids=data.validated_data.get("seats", []),
            ga=data.validated_data.get("ga", []),
            queue_pass=request.headers.get(PASS_HEADER),
        )
        return Response(result.detail, status=status.HTTP_201_CREATED if result.created else 200)


class BestAvailableView(APIView):
    """``POST showtimes/{id}/holds/best/ {"quantity": n, "category"?, "zone"?}``: hold the best n
    seats side by side in one row (quality order: ``seats.selection``). An ordinary hold, 201/200.

    Errors: 400 ``validation_error``/``too_many_seats``, 404, 409 ``buyer_limit``,
    ``seat_unavailable`` with ``details.suggestion`` (``max_together``, ``available``),
    ``sales_closed``, ``busy``, 429.
    """

    @extend_schema(
        request=BestAvailableSerializer,
        responses={
            200: OpenApiResponse(HoldSerializer, description="Seats added to the active hold."),
            201: OpenApiResponse(HoldSerializer, description="A new hold."),
            **errors(
                (400, "validation_error", "too_many_seats", "malformed_json"),
                AUTH,
                CSRF_QUEUE,
                404,
                (409, "buyer_limit", "seat_unavailable", "sales_closed", "busy"),
                413,
                415,
                429,
            ),
        },
        parameters=[retry_after(409, 429), QUEUE_PASS],
    )
    @limited("RATELIMIT_HOLDS", "holds")
    def post(self, request: Request, showtime_id: int) -> Response:
        data = BestAvailableSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.hold_best(
            user=_buyer(request),
            showtime_id=showtime_id,
            queue_pass=request.headers.get(PASS_HEADER),
            **data.validated_data,
        )
        return Response(result.detail, status=status.HTTP_201_CREATED if result.created else 200)


class QueueView(APIView):
    """``POST showtimes/{id}/queue/`` (join, idempotent) and ``GET`` (status) of a showtime's
    waiting room (docs/waiting-room.md, api.md "Waiting room"). 404 when it has no queue."""

    @extend_schema(
        request=None,
        responses={200: QueueStatusSerializer, **errors(AUTH, 404)},
        description="The buyer's place in the waiting room (404 when not queued or no queue).",
    )
    def get(self, request: Request, showtime_id: int) -> Response:
        showtime = waiting.queued_showtime(showtime_id)
        entry = waiting.QueueEntry.objects.filter(
            showtime_id=showtime_id, user_id=_buyer(request).pk
        ).first()
        if entry is None:
            raise ApplicationError("not_found", gettext("You are not in this queue."), status=404)
        return Response(QueueStatusSerializer(waiting.queue_status(entry, showtime)).data)

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(QueueStatusSerializer, description="The buyer's place."),
            **errors(AUTH, CSRF, 404, 429),
        },
        parameters=[retry_after(429)],
        description="Join the waiting room once; joining again keeps the place.",
    )
    @limited("RATELIMIT_QUEUE", "queue", key="ip")
    def post(self, request: Request, showtime_id: int) -> Response:
        entry = waiting.queue_join(_buyer(request), showtime_id)
        showtime = waiting.queued_showtime(showtime_id)
        return Response(QueueStatusSerializer(waiting.queue_status(entry, showtime)).data)


@extend_schema_view(
    list=extend_schema(
        responses={200: HoldSerializer(many=True), **errors(AUTH)},
        description="The buyer's live holds (active and before their `expires_at`: the lapse "
        "rule) on every showtime, newest first.",
    ),
    retrieve=extend_schema(
        parameters=[HOLD_ID],
        responses={200: HoldSerializer, **errors(AUTH, 404)},
        description="The hold as it stands now: an active hold past its `expires_at` reads "
        "`expired`, with no seats, before the cleanup records it (the lapse rule).",
    ),
)
class HoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``GET holds/``, ``GET holds/{id}/``, ``POST holds/{id}/release/``, ``POST
    holds/{id}/extend/``, ``DELETE holds/{id}/`` (own holds only; another buyer's hold answers
    404)."""

    serializer_class = HoldSerializer
    pagination_class = ListPagination
    lookup_value_converter = "holdid"  # ticketing/urls.py: pk is a uuid.UUID

    def get_queryset(self):
        return selectors.holds_live_of(_buyer(self.request))

    def get_object(self):
        hold = (
            Hold.objects.select_related("showtime")
            .filter(pk=self.kwargs["pk"], user=_buyer(self.request))
            .first()
        )
        if hold is None:
            raise ApplicationError("not_found", gettext("No such hold."), status=404)
        return hold

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # pagination_class is set
        return self.get_paginated_response(selectors.hold_details(page))

    def retrieve(self, request, *args, **kwargs):
        return Response(selectors.hold_detail(self.get_object()))

    @extend_schema(
        request=SeatReleaseSerializer,
        parameters=[HOLD_ID, retry_after(409)],
        responses={
            200: HoldSerializer,
            **errors(
                (400, "validation_error", "unknown_seats", "malformed_json"),
                AUTH,
                CSRF,
                404,
                (409, "hold_not_active", "busy"),
                413,
                415,
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release the listed seats of the hold, or all of them without ``seats``."""
        data = SeatReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.hold_release(
            user=_buyer(request), hold_id=pk, seat_ids=data.validated_data.get("seats")
        )
        return Response(result.detail)

    @extend_schema(
        request=None,
        parameters=[HOLD_ID, retry_after(409, 429)],
        responses={
            200: OpenApiResponse(
                HoldSerializer, description="The hold with its new `expires_at` (and seats')."
            ),
            **errors(
                AUTH,
                CSRF,
                404,
                (409, "extension_limit", "hold_expired", "hold_not_active", "busy"),
                413,
                429,
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @limited("RATELIMIT_HOLDS", "holds")
    def extend(self, request, pk=None):
        """Give the hold more time: ``expires_at`` becomes now + the showtime's hold TTL, never
        past ``max_expires_at``, at most ``max_hold_extensions`` times (409 ``extension_limit``
        then). No body."""
        return Response(services.hold_extend(user=_buyer(request), hold_id=pk).detail)

    @extend_schema(
        request=None,
        responses={204: None, **errors(AUTH, CSRF, 404, (409, "busy"), 413)},
        parameters=[HOLD_ID, retry_after(409)],
    )
    def destroy(self, request, pk=None):
        """Release every seat of the hold; 204 (also when it had already ended)."""
        try:
            services.hold_release(user=_buyer(request), hold_id=pk)
        except ApplicationError as err:
            if err.code != "hold_not_active":
                raise
        return Response(status=status.HTTP_204_NO_CONTENT)
