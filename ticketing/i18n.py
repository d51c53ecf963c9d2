"""Which language a request is answered in (issue #17; docs/i18n.md).

The order, first match wins:

1. the buyer's saved preference (:class:`ticketing.models.BuyerProfile.language`): a signed-in
   page (session) here, a JWT request once DRF has authenticated it
   (``ticketing.authentication.CachedJWTAuthentication`` calls :func:`activate_saved`);
2. ``?lang=`` on the request (it also sets the language cookie), or the cookie
   ``LANGUAGE_COOKIE_NAME`` that the language switcher on every page sets
   (:func:`set_language`);
3. ``Accept-Language`` (RFC 9110 §12.5.4), ``th-TH`` counting as ``th``;
4. ``LANGUAGE_CODE`` (a setting, ``en`` by default).

Every answer says which one it is in: ``Content-Language`` (RFC 9110 §8.5), with ``Vary:
Accept-Language, Cookie``. Codes and field names of the API never change with the language; only
human-readable text does (``error.message``, the messages in ``details``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language


def supported(code: str | None) -> str | None:
    """``code`` as one of ``settings.LANGUAGES`` (``th-TH`` → ``th``), or ``None`` when it names
    no supported language (or is empty, or absurdly long)."""
    if not code or len(code) > 35:
        return None
    try:
        return translation.get_supported_language_variant(code.strip())
    except LookupError:
        return None


def saved_language(user: Any) -> str | None:
    """The signed-in ``user``'s saved language, or ``None``. Read once per user object (kept on
    it as ``_saved_language``: the JWT cache keeps it with the user)."""
    if user is None or not user.is_authenticated:
        return None
    if not hasattr(user, "_saved_language"):
        from .models import BuyerProfile

        user._saved_language = (
            BuyerProfile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
        )
    return supported(user._saved_language)


def activate_saved(user: Any) -> None:
    """Answer in ``user``'s saved language, if they saved one (rule 1 of the module docstring)."""
    language = saved_language(user)
    if language:
        translation.activate(language)


def save_language(user: Any, language: str) -> None:
    """Save ``language`` (a supported code) as ``user``'s preference."""
    from .models import BuyerProfile

    BuyerProfile.objects.update_or_create(user=user, defaults={"language": language})
    user._saved_language = language


def request_language(request: HttpRequest) -> str:
    """The language rules 2–4 of the module docstring choose for ``request`` (``?lang=``, cookie,
    ``Accept-Language``, ``LANGUAGE_CODE``): what a signed-in buyer's saved preference does not
    override. Also for the answers given before the user is known (``ticketing.middleware``,
    ``ticketing.bodylimit``)."""
    return supported(request.GET.get("lang")) or translation.get_language_from_request(request)


class LanguageMiddleware:
    """Activate the request's language (module docstring) and say it in ``Content-Language``.
    Replaces Django's ``LocaleMiddleware`` (no language prefixes in URLs here); sits after the
    authentication middleware, so a signed-in page uses the buyer's saved preference."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        asked = supported(request.GET.get("lang"))
        user = getattr(request, "user", None)
        language = saved_language(user) or request_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        if asked:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                asked,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
                secure=settings.LANGUAGE_COOKIE_SECURE,
            )
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """``POST /i18n/setlang/`` ``language=<code>&next=<path>``: the language switcher of every
    page. Django's ``set_language`` (cookie, safe redirect to ``next``), and for a signed-in
    buyer the choice is also saved as their preference. An unknown language changes nothing."""
    response = django_set_language(request)
    language = supported(request.POST.get("language"))
    if language and request.user.is_authenticated:
        save_language(request.user, language)
    return response
