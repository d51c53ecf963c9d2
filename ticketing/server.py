"""``python -m ticketing.server [uvicorn's options]``: uvicorn's own command line, with
``TCP_NODELAY`` on the listening socket it binds for ``--workers N`` (the Procfile's ``web``).

Why (issue #20, uvicorn issue #3149, ../shared/PITFALLS.md): with ``--workers N`` uvicorn's
supervisor binds the listening socket itself (``uvicorn.config.Config.bind_socket``) with protocol
number 0, and asyncio sets ``TCP_NODELAY`` on accepted connections only for a socket made with
``IPPROTO_TCP``. Without it a response written in two parts (headers, then body) waits for the
client's delayed ACK, about 40 ms on Linux: one buyer went from 48 to 93–116 orders/s with it on.
A single-process uvicorn (``./dev serve``, no ``--workers``) binds through asyncio, which sets it.
The Procfile runs uvloop (``--loop uvloop``), which sets it on every TCP connection itself; this
adapter keeps it on where asyncio's own loop runs the workers (``--loop asyncio``).

The fix sits at the socket: the option is set on the listening socket, and Linux copies it to
every connection accepted from it, in every worker process. Everything else is uvicorn's command
(``uvicorn.main.main``, its public entry point), with the same options and the same defaults.

The one internal used is ``Config.bind_socket`` (its name, that it returns the bound socket, and
that it is what ``--workers`` calls); ``ticketing/tests/test_server.py`` checks that contract, that
the Procfile's command gives every accepted connection ``TCP_NODELAY`` under ``--workers 2``, and
that plain ``uvicorn --workers 2`` still does not: when an upgrade fixes it upstream, that test
fails and this module can go.
"""

from __future__ import annotations

import socket
from typing import Any

from uvicorn.config import Config

_bind_socket = Config.bind_socket


def nodelay(sock: socket.socket) -> socket.socket:
    """Set ``TCP_NODELAY`` on ``sock`` if it is a TCP socket (IPv4 or IPv6; a Unix socket or a
    socket given by ``--fd`` is left as it is). Returns ``sock``."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def bind_socket(self: Config, *args: Any, **kwargs: Any) -> socket.socket:
    """``Config.bind_socket``, then :func:`nodelay` on the socket it bound."""
    return nodelay(_bind_socket(self, *args, **kwargs))


def install() -> None:
    """Make uvicorn's ``--workers`` bind with ``TCP_NODELAY`` (in this process: the supervisor,
    which binds before it starts the workers)."""
    Config.bind_socket = bind_socket  # type: ignore[method-assign]  # the adapter's one patch


def main() -> None:
    """uvicorn's command line (``uvicorn.main.main``) after :func:`install`."""
    from uvicorn.main import main as uvicorn_main

    install()
    uvicorn_main()


if __name__ == "__main__":
    main()
