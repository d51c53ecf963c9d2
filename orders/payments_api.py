"""``POST payments/webhook/`` and ``POST checkin/`` (shared/spec/api.md "Payments and check-in")."""

from __future__ import annotations

import json
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.parsers import MAX_DEPTH, nesting_depth
from core.schema import AUTH, errors

from .payments import verify_signature
from .services import payment_confirm, ticket_check_in


class WebhookSerializer(serializers.Serializer):
    event = serializers.ChoiceField(["payment.succeeded", "payment.failed"])
    payment_id = serializers.CharField(max_length=100)
    order_number = serializers.CharField(max_length=32)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.RegexField(r"^[A-Z]{3}$")


WEBHOOK_RULES = (
    "A provider's payment confirmation. No JWT: the body is authenticated by `X-Signature: "
    "sha256=<hex HMAC-SHA256 of the raw body with the shared secret>` (compared in constant "
    "time). Idempotent per `payment_id`, and a payment is never silently dropped: "
    "`payment.succeeded` → `paid` (the pending order is paid) or `flagged` (recorded with "
    "`needs_refund`: the order expired, was cancelled or already paid, or the amount or currency "
    "differ), also when it follows a `payment.failed` with the same `payment_id`; the same "
    "success again → `replayed`. `payment.failed` → `failed` (the order stays pending); again → "
    "`replayed`; after a success of the same `payment_id` → `ignored` (the success stands). "
    "Every signed event is kept in the payment log with its result (also an unknown order "
    "number, answered 404)."
)


class PaymentWebhookView(APIView):
    """A provider's payment webhook (api.md "Payments and check-in"; the rules:
    :data:`WEBHOOK_RULES`, :func:`orders.services.payment_confirm`).

    Answers 200 ``{"result": "paid" | "failed" | "flagged" | "replayed" | "ignored",
    "order_number", "needs_refund"}``; 401 ``signature_invalid``; 400
    ``malformed_json``/``validation_error``; 404 ``not_found`` for an unknown order number.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=WebhookSerializer,
        description=WEBHOOK_RULES,
        responses={
            200: inline_serializer(
                "WebhookResult",
                {
                    "result": serializers.ChoiceField(
                        ["paid", "failed", "flagged", "replayed", "ignored"]
                    ),
                    "order_number": serializers.CharField(),
                    "needs_refund": serializers.BooleanField(),
                },
            ),
            **errors(400, (401, "signature_invalid"), 404, 413),
        },
    )
    def post(self, request):
        raw = request.body  # the exact bytes that were signed
        if not verify_signature(raw, request.headers.get("X-Signature")):
            raise ApplicationError(
                "signature_invalid", _("The webhook signature is not valid."), status=401
            )
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApplicationError(
                "malformed_json", _("The request body is not valid JSON."), status=400
            ) from exc
        if nesting_depth(body) > MAX_DEPTH:  # the API's cap (core/parsers.py)
            raise ApplicationError(
                "malformed_json",
                _("JSON nested deeper than %(depth)s levels.") % {"depth": MAX_DEPTH},
                status=400,
            )
        data = WebhookSerializer(data=body if isinstance(body, dict) else {})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        payment, result = payment_confirm(
            event=values["event"],
            payment_id=values["payment_id"],
            order_number=values["order_number"],
            amount=Decimal(values["amount"]),
            currency=values["currency"],
        )
        return Response(
            {
                "result": result,
                "order_number": payment.order.number,
                "needs_refund": payment.needs_refund,
            }
        )


class CheckInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=100, trim_whitespace=True)


class CheckInView(APIView):
    """Admit a ticket at the door (staff only; 403 ``permission_denied`` otherwise): 200
    ``{"result": "ok" | "already_used" | "void" | "unknown", "ticket": {...} | null,
    "checked_in_at"}``. A ticket is admitted once, even with two scanners at the same moment."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=CheckInSerializer,
        responses={
            200: inline_serializer(
                "CheckInResult",
                {
                    "result": serializers.CharField(),
                    "ticket": serializers.DictField(allow_null=True),
                    "checked_in_at": serializers.DateTimeField(allow_null=True),
                },
            ),
            **errors(
                (400, "validation_error", "malformed_json"), AUTH, (403, "permission_denied"), 413
            ),
        },
    )
    def post(self, request):
        data = CheckInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result, ticket, checked_in_at = ticket_check_in(
            code=data.validated_data["code"], staff=request.user
        )
        return Response(
            {
                "result": result,
                "ticket": None
                if ticket is None
                else {
                    "code": ticket.code,
                    "status": ticket.status,
                    "order": ticket.order.number,
                    "seat": {
                        "id": str(ticket.claim.showtime_seat.seat.guid),
                        "label": ticket.claim.showtime_seat.seat.label,
                    },
                    "category": ticket.claim.category,
                },
                "checked_in_at": checked_in_at,
            }
        )
