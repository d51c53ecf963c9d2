"""``GET``/``PATCH auth/me/``: the signed-in buyer's account and saved language (api.md
"Languages"; issue #17)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import AUTH, CSRF, errors

from .i18n import save_language, saved_language

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    language = serializers.ChoiceField(
        LANGUAGE_CODES,
        allow_null=True,
        help_text="The saved language of the buyer's answers, pages and e-mails; null: none saved "
        "(`?lang=`, the language cookie or `Accept-Language` decide).",
    )


class MeUpdateSerializer(serializers.Serializer):
    language = serializers.ChoiceField(LANGUAGE_CODES)


def _me(user: Any) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "language": saved_language(user),
    }


class MeView(APIView):
    """The signed-in buyer (JWT or session): ``GET`` reads the account and its saved language,
    ``PATCH {"language": "th" | "en"}`` saves the language (:func:`ticketing.i18n.save_language`),
    which then comes before ``?lang=`` and ``Accept-Language`` in every answer, page and e-mail."""

    @extend_schema(responses={200: MeSerializer, **errors(AUTH)})
    def get(self, request: Request) -> Response:
        return Response(_me(request.user))

    @extend_schema(
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **errors(400, AUTH, CSRF, 413, 415)},
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        language = data.validated_data["language"]
        save_language(request.user, language)
        translation.activate(language)  # this answer already says the new language
        return Response(_me(request.user))
