"""JWT authentication for the API without a user query (or a token decode) on every request.

simplejwt's ``JWTAuthentication`` decodes and verifies the token and reads the user row for every
request: the row was one of the ~13 statements of a hold, and the decode about 5 % of the server's
CPU on the hold path (bench/README.md, "onsale"). :class:`CachedJWTAuthentication` remembers, per
process and per access token (its exact bytes), the token it verified and the user it read, for
``JWT_USER_CACHE_SECONDS`` (default 30 s; 0 turns the cache off), never past the token's own
``exp``; each request gets its own copy of the user.

Revocation: a user saved in this process (deactivated, staff rights changed, password changed) is
dropped from the cache at once (``post_save``/``post_delete``); a change made by another process
takes effect there within the TTL. An access token lives 5 minutes anyway (simplejwt's
``ACCESS_TOKEN_LIFETIME``), so the cache widens the window of a revoked user by at most the TTL.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

_lock = threading.Lock()
# raw token → (monotonic time read, token's exp as a Unix time, user, validated token).
# Keyed by the token itself: it names one user for good, while a user id can come back for
# another user (SQLite reuses ids).
_tokens: dict[bytes, tuple[float, float, Any, Any]] = {}
MAX_CACHED_TOKENS = 50_000


def forget_user(sender: object = None, instance: Any = None, **kwargs: Any) -> None:  # noqa: ARG001 (a signal receiver)
    """Drop a user's cached tokens in this process (connected to the user model's save and
    delete)."""
    if instance is not None:
        with _lock:
            for raw in [k for k, entry in _tokens.items() if entry[2].pk == instance.pk]:
                del _tokens[raw]


post_save.connect(forget_user, sender=get_user_model(), dispatch_uid="jwt-user-cache-save")
post_delete.connect(forget_user, sender=get_user_model(), dispatch_uid="jwt-user-cache-delete")


class CachedJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access token>`` (simplejwt), verified and its user read at most
    once per ``JWT_USER_CACHE_SECONDS`` per process.

    Errors are simplejwt's own, from the first use of a token (only a token that passed every
    check is cached): bad or expired token → 401 ``token_invalid`` (api.md), unknown user →
    ``user_not_found``, inactive → ``user_inactive``. With ``CHECK_REVOKE_TOKEN`` on, every
    request is checked as simplejwt does.
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
        if hit is not None and time.monotonic() - hit[0] <= ttl and time.time() < hit[1]:
            return copy.copy(hit[2]), hit[3]
        token = self.get_validated_token(raw)  # raises for a bad or expired token
        user = self.get_user(token)  # raises for an unknown or inactive user
        expires = float(token.get("exp", 0))
        with _lock:
            if len(_tokens) >= MAX_CACHED_TOKENS:
                _tokens.clear()
            _tokens[raw] = (time.monotonic(), expires, user, token)
        return copy.copy(user), token


class CachedJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of :class:`CachedJWTAuthentication` (simplejwt's bearer
    scheme)."""

    target_class = "ticketing.authentication.CachedJWTAuthentication"
