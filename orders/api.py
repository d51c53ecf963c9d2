"""Order endpoints (shared/spec/api.md "Orders"). Views stay thin: validate, call one service,
render."""

from typing import TYPE_CHECKING, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.pagination import ListPagination
from core.ratelimits import limited
from core.schema import AUTH, CSRF, CSRF_QUEUE, QUEUE_PASS, errors, path_id, retry_after
from seats.services.waiting import PASS_HEADER

from . import services
from .idempotency import run_idempotent
from .selectors import buyer_orders, order_detail, order_tickets
from .serializers import OrderCreateSerializer, OrderSerializer, TicketSerializer

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .idempotency import KeyInTransaction


def _buyer(request: Request) -> "User":
    """The signed-in buyer (every order view requires authentication: ``IsAuthenticated``)."""
    return cast("User", request.user)


def order_answer(result: services.OrderResult) -> dict:
    """The order as the API shows it, from the claims its service just wrote when it kept them
    (``result.claims``), else read now."""
    return order_detail(result.order, result.claims)


ORDER_ID = path_id(OpenApiTypes.INT64, "The order's id.")


@extend_schema_view(
    list=extend_schema(
        responses={200: OrderSerializer(many=True), **errors(AUTH)},
        description="The buyer's orders, newest first, each as it stands now: a pending order "
        "past its payment deadline `expires_at` reads `expired` before the cleanup records it "
        "(the lapse rule).",
    ),
    retrieve=extend_schema(
        parameters=[ORDER_ID],
        responses={200: OrderSerializer, **errors(AUTH, 404)},
        description="The order as it stands now: a pending order past its payment deadline "
        "`expires_at` reads `expired` before the cleanup records it (the lapse rule); a paid "
        "order never expires.",
    ),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The buyer's own orders: list (newest first), retrieve, create, cancel, pay, tickets.

    Another buyer's order answers 404 ``not_found`` (domain.md, invariant 8).
    """

    serializer_class = OrderSerializer
    pagination_class = ListPagination
    lookup_value_converter = "id64"  # ticketing/urls.py: pk is an int that fits a BIGINT

    def get_queryset(self):
        return buyer_orders(_buyer(self.request))

    def list(self, request, *args, **kwargs):
        """The buyer's orders, newest first, a page at a time, each with its seats (prefetched:
        a constant number of queries per page)."""
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # pagination_class is set
        return self.get_paginated_response([order_detail(o, o.claims.all()) for o in page])

    def retrieve(self, request, pk=None):
        return Response(order_detail(services.order_detail_for(_buyer(request), pk)))

    @extend_schema(
        request=OrderCreateSerializer,
        responses={
            201: OpenApiResponse(
                OrderSerializer,
                description="The new pending order (or, with "
                "Idempotent-Replayed: true, the first answer to this key).",
            ),
            **errors(
                (400, "validation_error", "unknown_seats", "too_many_seats", "malformed_json"),
                AUTH,
                CSRF_QUEUE,
                404,
                (
                    409,
                    "hold_expired",
                    "hold_not_active",
                    "buyer_limit",
                    "seat_unavailable",
                    "sales_closed",
                    "idempotency_in_progress",
                    "busy",
                ),
                413,
                415,
                422,
                429,
            ),
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Client-chosen, ≤ 255 characters; replays the first "
                "answer for 24 h. Stored in the order's own transaction: after a "
                "server crash a retry with the same key and body either replays "
                "the order or creates it; a repeat while the first still runs is "
                "409 idempotency_in_progress.",
            ),
            OpenApiParameter(
                "Idempotent-Replayed",
                str,
                OpenApiParameter.HEADER,
                response=[201],
                enum=["true"],
                description="Present on a replayed answer.",
            ),
            retry_after(409, 429),
            QUEUE_PASS,
        ],
    )
    @limited("RATELIMIT_ORDERS", "orders")
    def create(self, request):
        """Create a pending order from a hold, or from a showtime and seats in one step.

        Errors: 400, 404, 409 ``hold_expired``/``hold_not_active``/``buyer_limit``/
        ``seat_unavailable``/``sales_closed``/``idempotency_in_progress``/``busy``, 403
        ``queue_required`` (waiting room on, no valid ``X-Queue-Pass``), 422
        ``idempotency_key_reuse``, 429.
        """
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data

        def run(idempotency: "KeyInTransaction | None" = None) -> services.OrderResult:
            if "hold" in values:
                return services.order_create(
                    user=_buyer(request),
                    hold_id=values["hold"],
                    customer=values["customer"],
                    payment_method=values["payment_method"],
                    idempotency=idempotency,
                    queue_pass=request.headers.get(PASS_HEADER),
                )
            return services.order_create_for_seats(
                user=_buyer(request),
                showtime_id=values["showtime"],
                seat_ids=values["seats"],
                customer=values["customer"],
                payment_method=values["payment_method"],
                idempotency=idempotency,
                queue_pass=request.headers.get(PASS_HEADER),
            )

        key = request.headers.get("Idempotency-Key")
        if key is None:
            return Response(order_answer(run()), status=201)
        status, body, replayed = run_idempotent(
            user=_buyer(request),
            key=key,
            body=request.data,
            run=run,
            render=lambda result: (201, order_answer(result)),
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status=status, headers=headers)

    @extend_schema(
        request=None,
        responses={
            200: OrderSerializer,
            **errors(AUTH, CSRF, 404, (409, "order_not_cancellable", "busy"), 413),
        },
        parameters=[ORDER_ID, retry_after(409)],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a pending order; its seats become available. 409 ``order_not_cancellable``."""
        order = services.order_cancel(user=_buyer(request), order_id=pk)
        return Response(order_detail(order))

    @extend_schema(
        request=None,
        responses={
            200: OrderSerializer,
            **errors(AUTH, CSRF, 404, (409, "order_expired", "order_not_payable", "busy"), 413),
        },
        parameters=[ORDER_ID, retry_after(409)],
    )
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        """Pay with the configured provider (``demo`` captures at once). 409 ``order_expired``,
        ``order_not_payable``."""
        return Response(order_answer(services.order_pay(user=_buyer(request), order_id=pk)))

    @extend_schema(
        parameters=[ORDER_ID], responses={200: TicketSerializer(many=True), **errors(AUTH, 404)}
    )
    @action(detail=True, methods=["get"], pagination_class=None)  # a plain list, not paginated
    def tickets(self, request, pk=None):
        """The order's tickets (empty until paid)."""
        return Response(order_tickets(services.order_detail_for(_buyer(request), pk)))
