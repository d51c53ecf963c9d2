"""The client's address for rate limits, with ``X-Forwarded-For`` only from trusted proxies (issue #14).

django-ratelimit keys anonymous requests on the address this returns (``RATELIMIT_IP_META_KEY``;
signed-in requests on the user: ``core/ratelimits.py``). Trusting ``X-Forwarded-For`` from
anybody let a client pick a new rate-limit bucket per request (../shared/PITFALLS.md).

Two layers decide the address, both trusting no one by default:

- the ASGI server: uvicorn's ``--proxy-headers`` replaces the peer address with the
  ``X-Forwarded-For`` entry only when the peer is in ``--forwarded-allow-ips``
  (``FORWARDED_ALLOW_IPS``, default ``127.0.0.1`` in the Procfile);
- here: ``REMOTE_ADDR`` (what the server passed on), replaced by the right-most
  ``X-Forwarded-For`` address that is not one of ``TRUSTED_PROXIES`` (CIDRs, default none), and
  only when ``REMOTE_ADDR`` itself is a trusted proxy (RFC 7239 §8.3 "the first proxy not
  trusted"; ``X-Forwarded-For`` is the de-facto list ``client, proxy1, proxy2``, each proxy
  appending the address it got the request from).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client address of ``request`` (a string such as ``"203.0.113.7"``): ``REMOTE_ADDR``,
    or, when that is one of ``TRUSTED_PROXIES``, the right-most ``X-Forwarded-For`` address that
    is not (the left-most if all are). A malformed entry ends the walk: the last trusted hop is
    the client then, since nothing left of it can be believed."""
    remote = request.META.get("REMOTE_ADDR") or ""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not networks or not forwarded or not _trusted(remote, networks):
        return remote
    client = remote
    for entry in reversed(forwarded.split(",")):
        entry = entry.strip()
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return client
        client = entry
        if not _trusted(entry, networks):
            return entry
    return client
