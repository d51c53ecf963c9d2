"""``POST realtime/tickets/`` (api.md "Real-time sign-in")."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import AUTH, CSRF, errors

from .services import socket_ticket_issue


class SocketTicketView(APIView):
    """Issue a single-use socket ticket for ``?ticket=`` on the WebSocket: 201
    ``{"ticket", "expires_in": 30}`` (seconds). Needs a signed-in user (JWT or session)."""

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "SocketTicket",
                {"ticket": serializers.CharField(), "expires_in": serializers.IntegerField()},
            ),
            **errors(AUTH, CSRF),
        },
    )
    def post(self, request):
        value, expires_in = socket_ticket_issue(user=request.user)
        return Response({"ticket": value, "expires_in": expires_in}, status=201)
