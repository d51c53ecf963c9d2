"""django-ratelimit rules for the API (shared/spec/api.md "Rate limits").

Rates come from settings (``RATELIMIT_HOLDS``, ``RATELIMIT_ORDERS``, ``RATELIMIT_AUTH``, e.g.
``"60/m"``), read at request time so they can be changed without a restart of the code. The key is
the user when signed in, else the client IP. Over the limit django-ratelimit raises ``Ratelimited``,
which :func:`core.errors.exception_handler` answers 429 ``rate_limited`` with ``Retry-After``.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit

_F = TypeVar("_F", bound=Callable[..., Any])


def _rate(setting: str) -> Callable[[str, HttpRequest], str]:
    return lambda _group, _request: getattr(settings, setting)


def page_limited(setting: str, group: str) -> Callable[[_F], _F]:
    """Decorate a plain Django view (a form page) with the POST rate limit named by ``setting``,
    counted per client address, without blocking: the view reads ``request.limited`` and answers
    429 with the form and a message itself (an HTML page, not the API's error body)."""
    return ratelimit(group=group, key="ip", rate=_rate(setting), method="POST", block=False)


def limited(setting: str, group: str, key: str = "user_or_ip") -> Callable[[_F], _F]:
    """Decorate a DRF view method with the POST rate limit named by ``setting``; ``key="ip"``
    counts per client address whoever is signed in (waiting-room joins)."""
    return method_decorator(
        ratelimit(group=group, key=key, rate=_rate(setting), method="POST", block=True)
    )
