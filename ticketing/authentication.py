"""JWT authentication for the API without a user query (or a token decode) on every request.

simplejwt's ``JWTAuthentication`` decodes and verifies the token and reads the user row for every
request (what that cost: bench/README.md). :class:`CachedJWTAuthentication` remembers, per
process and per access token (its exact bytes), the token it verified and the user it read, for
``JWT_USER_CACHE_SECONDS`` (default 30 s; 0 turns the cache off), never past the token's own
``exp``; each request gets its own copy of the user. The cache is a ``cachetools.TLRUCache`` of
at most :data:`MAX_CACHED_TOKENS` tokens: each entry expires at its own time, and when the cache is
full the least recently used token goes (not the whole cache).

Revocation: a user saved in this process (deactivated, staff rights changed, password changed) is
dropped from the cache at once (``post_save``/``post_delete``, connected in
``ticketing.apps.TicketingConfig.ready``); a change made by another process
takes effect there within the TTL. An access token lives 5 minutes anyway (simplejwt's
``ACCESS_TOKEN_LIFETIME``), so the cache widens the window of a revoked user by at most the TTL.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from cachetools import TLRUCache
from django.conf import settings
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from .i18n import activate_saved

MAX_CACHED_TOKENS = 50_000


def _expires(_token: bytes, entry: tuple[float, object, object], now: float) -> float:
    """When a cached token stops being used (monotonic seconds): ``JWT_USER_CACHE_SECONDS``
    after it was read, never past its own ``exp`` (``entry[0]``, a Unix time)."""
    return min(now + settings.JWT_USER_CACHE_SECONDS, now + entry[0] - time.time())


def new_token_cache(
    maxsize: int = MAX_CACHED_TOKENS, timer: Callable[[], float] = time.monotonic
) -> TLRUCache:
    """An empty token cache: raw token → ``(exp as a Unix time, user, validated token)``, LRU
    eviction past ``maxsize`` entries, each entry dropped at :func:`_expires` (``timer``: the
    clock in seconds, tests pass their own). Not thread-safe: use it under :data:`_lock`."""
    return TLRUCache(maxsize=maxsize, ttu=_expires, timer=timer)


_lock = threading.Lock()
# Keyed by the token itself: it names one user for good, while a user id can come back for
# another user (SQLite reuses ids).
_tokens: TLRUCache = new_token_cache()


def forget_user(sender: object = None, instance: Any = None, **kwargs: Any) -> None:  # noqa: ARG001 (a signal receiver)
    """Drop a user's cached tokens in this process (connected to the user model's save and
    delete in ``TicketingConfig.ready``)."""
    if instance is not None:
        with _lock:
            for raw in [k for k, entry in _tokens.items() if entry[1].pk == instance.pk]:
                del _tokens[raw]


class CachedJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access token>`` (simplejwt), verified and its user read at most
    once per ``JWT_USER_CACHE_SECONDS`` per process.

    Errors are simplejwt's own, from the first use of a token (only a token that passed every
    check is cached): bad or expired token → 401 ``token_invalid`` (api.md), unknown user →
    ``user_not_found``, inactive → ``user_inactive``. With ``CHECK_REVOKE_TOKEN`` on, every
    request is checked as simplejwt does. The buyer's saved language, when there is one, is
    activated here (``ticketing.i18n``: it comes before ``?lang=`` and ``Accept-Language``).
    """

    def authenticate(self, request):
        header: bytes | None = self.get_header(request)  # simplejwt's hint leaves out None
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        ttl = settings.JWT_USER_CACHE_SECONDS
        if ttl <= 0 or api_settings.CHECK_REVOKE_TOKEN:
            return super().authenticate(request)
        with _lock:
            hit = _tokens.get(raw)
        if hit is not None:
            activate_saved(hit[1])
            return copy.copy(hit[1]), hit[2]
        token = self.get_validated_token(raw)  # raises for a bad or expired token
        user = self.get_user(token)  # raises for an unknown or inactive user
        activate_saved(user)  # reads the saved language once; it is cached with the user
        with _lock:
            _tokens[raw] = (float(token.get("exp", 0)), user, token)
        return copy.copy(user), token


class CachedJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of :class:`CachedJWTAuthentication` (simplejwt's bearer
    scheme)."""

    target_class = "ticketing.authentication.CachedJWTAuthentication"
