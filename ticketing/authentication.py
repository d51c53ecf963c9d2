"""JWT authentication for the API without a user query on every request.

simplejwt's ``JWTAuthentication`` reads the user row for every request: one of the ~13 statements
of a hold (bench/README.md, "onsale"). :class:`CachedJWTAuthentication` keeps the users it read in
this process, per access token, for ``JWT_USER_CACHE_SECONDS`` (default 30 s; 0 turns the cache
off), and hands each request its own copy. A user saved in this process (deactivated, password changed) is dropped from
the cache at once (``post_save``); a change made by another process takes effect there within the
TTL. An access token lives 5 minutes anyway (simplejwt's ``ACCESS_TOKEN_LIFETIME``), so the cache
widens the window of a revoked user by at most the TTL.
"""

from __future__ import annotations

import copy
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

_lock = threading.Lock()
# token id (jti) → (monotonic time read, user). Keyed by token, not by user id: a token names
# one user for good, while an id can come back for another user (SQLite reuses them).
_users: dict[str, tuple[float, object]] = {}
MAX_CACHED_TOKENS = 50_000


def forget_user(sender=None, instance=None, **kwargs) -> None:
    """Drop a user's cached tokens in this process (connected to the user model's save and
    delete)."""
    if instance is not None:
        with _lock:
            for jti in [k for k, (_, user) in _users.items() if user.pk == instance.pk]:
                del _users[jti]


post_save.connect(forget_user, sender=get_user_model(), dispatch_uid="jwt-user-cache-save")
post_delete.connect(forget_user, sender=get_user_model(), dispatch_uid="jwt-user-cache-delete")


class CachedJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access token>`` (simplejwt), with the user read from the database
    at most once per ``JWT_USER_CACHE_SECONDS`` per process.

    Errors are simplejwt's own, checked when the row is read (only a user who passed them is
    cached): unknown user → 401 ``user_not_found``, inactive → 401 ``user_inactive``. With
    ``CHECK_REVOKE_TOKEN`` on, every request reads the row as simplejwt does.
    """

    def get_user(self, validated_token):
        ttl = settings.JWT_USER_CACHE_SECONDS
        jti = validated_token.get(api_settings.JTI_CLAIM)
        if ttl <= 0 or jti is None or api_settings.CHECK_REVOKE_TOKEN:
            return super().get_user(validated_token)
        now = time.monotonic()
        with _lock:
            hit = _users.get(jti)
        if hit is None or now - hit[0] > ttl:
            # super() runs every check; cache only a user that passed them.
            user = super().get_user(validated_token)
            with _lock:
                if len(_users) >= MAX_CACHED_TOKENS:
                    _users.clear()
                _users[jti] = (now, user)
            return copy.copy(user)
        return copy.copy(hit[1])


class CachedJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of :class:`CachedJWTAuthentication` (simplejwt's bearer
    scheme)."""

    target_class = "ticketing.authentication.CachedJWTAuthentication"
