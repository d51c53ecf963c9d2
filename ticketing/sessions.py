"""Django's database session engine, with a stricter idea of what a session key is (issue #14).

Django hands any cookie value of at least 8 characters to the database as a session key; one with
a NUL byte (``sessionid="\\000\\000…"``, which Django's cookie parser unquotes to NULs) made
PostgreSQL refuse the query, and every page, API call and WebSocket handshake of that browser
answered 500. Here a key must look like one Django makes (``get_random_string(32,
VALID_KEY_CHARS)``: 32 lowercase letters and digits); anything else is no session, as an unknown
key already was. Used by Django's ``SessionMiddleware`` and by the WebSocket's
``realtime.middleware.SessionUserMiddleware`` through ``SESSION_ENGINE``.

Adapter: overrides the session base class's key check ``_validate_session_key`` (Django 4–5),
contract-tested in ``ticketing/tests/test_hostile.py``.
"""

from __future__ import annotations

import re

from django.contrib.sessions.backends import db

_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(db.SessionStore):
    """``django.contrib.sessions.backends.db.SessionStore`` that treats a malformed key as none."""

    def _validate_session_key(self, key):
        return isinstance(key, str) and _KEY.fullmatch(key) is not None
