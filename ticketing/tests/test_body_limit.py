"""Body limits while the body streams in (issue #14, ticketing/bodylimit.py, ticketing/daphne_limits.py).

Before, a chunked upload (no ``Content-Length``) skipped the limit: 1.5 GB sent to the hold
endpoint was written to disk before a 400, 500 MB without a token took 468 MB of disk before the
401. Here a real uvicorn and a real daphne process are sent a 1 GB chunked body, generated lazily;
the 413 must come at once, and the server process may write less than 1 MB meanwhile
(``/proc/PID/io`` ``write_bytes``: bytes it caused to be written to storage, its log included).
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ticketing.tests.asgi import asgi_request

GIB = 1024**3
MIB = 1024**2
HOLDS = "/api/v1/showtimes/1/holds/"


def _write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no write_bytes")


def _read_answer(sock: socket.socket, data: bytes, deadline: float) -> tuple[int, dict, bytes]:
    """Read an HTTP/1.1 answer (``data``: what was read already) until its ``Content-Length``
    body is complete or the peer closes."""
    sock.setblocking(True)
    while b"\r\n\r\n" not in data or len(data) < _expected(data):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            more = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not more:
            break
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def _expected(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            return len(head) + 4 + int(line.split(":")[1])
    return sys.maxsize


def send_body(
    url: str,
    path: str,
    *,
    total: int,
    chunked: bool,
    headers: dict | None = None,
    seconds: float = 10.0,
) -> dict:
    """POST ``total`` bytes to ``path`` of ``url``, generated lazily in 64 KiB pieces (chunked, or
    with ``Content-Length``), and stop sending as soon as an answer arrives. Returns the answer's
    ``status``, ``headers``, ``body``, the bytes ``sent`` and the ``seconds`` until it came."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {parts.hostname}",
        "Content-Type: application/json",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}",
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    piece = b" " * 65536
    frame = (b"%x\r\n" % len(piece)) + piece + b"\r\n" if chunked else piece
    started = time.monotonic()
    deadline = started + seconds
    sent, pending, data = 0, b"", b""
    sock.setblocking(False)
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < total else [], [], 0.2)
            if readable:
                data = sock.recv(65536)
                break
            if writable:
                if not pending:
                    pending = frame
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    readable, _, _ = select.select([sock], [], [], 1)
                    data = sock.recv(65536) if readable else b""
                    break
                pending = pending[n:]
                sent += n
        seconds_taken = time.monotonic() - started
        status, answer_headers, body = (
            _read_answer(sock, data, deadline + 2) if data else (None, {}, b"")
        )
    finally:
        sock.close()
    return {
        "status": status,
        "headers": answer_headers,
        "body": body,
        "sent": sent,
        "seconds": seconds_taken,
    }


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_a_gigabyte_is_refused_while_it_streams_in(asgi_server, server):
    url = asgi_server(server=server)
    pid = asgi_server.processes[-1][0].pid
    before = _write_bytes(pid)

    # No token: 413 comes before 401. In the language asked for (issue #17).
    chunked = send_body(url, HOLDS, total=GIB, chunked=True, headers={"Accept-Language": "th"})
    declared = send_body(
        url,
        HOLDS,
        total=GIB,
        chunked=False,
        headers={"Authorization": "Bearer x", "Expect": "100-continue"},
    )
    written = _write_bytes(pid) - before
    admin = send_body(url, "/admin/seats/seatingplan/add/", total=GIB, chunked=True)
    written_for_admin = _write_bytes(pid) - before - written
    print(
        f"{server}: 413 after {chunked['seconds']:.3f} s, {chunked['sent']} bytes sent; "
        f"{written} bytes written; admin: {admin['sent']} sent, {written_for_admin} written"
    )
    for answer in (chunked, declared, admin):
        assert answer["status"] == 413, answer
        assert answer["seconds"] < 3, answer
        assert answer["headers"]["connection"] == "close"
        assert json.loads(answer["body"])["error"]["code"] == "payload_too_large"
    assert json.loads(chunked["body"])["error"]["details"] == {"limit_bytes": 64 * 1024}
    assert chunked["headers"]["content-language"] == "th"
    assert "ไบต์" in json.loads(chunked["body"])["error"]["message"]
    assert declared["headers"]["content-language"] == "en"
    assert json.loads(admin["body"])["error"]["details"] == {"limit_bytes": 10 * MIB}
    assert chunked["sent"] < 64 * MIB and admin["sent"] < 128 * MIB
    assert written < MIB, f"{server} wrote {written} bytes"
    # An upload under the admin's limit may be spooled to disk (Django keeps 2.5 MB in memory),
    # never more than the limit.
    assert written_for_admin < 11 * MIB, f"{server} wrote {written_for_admin} bytes"
    # The server is still well.
    assert urllib.request.urlopen(f"{url}/api/v1/health/", timeout=10).status == 200


# --- the rule and its settings, in-process ---------------------------------------------------------


def test_each_path_has_its_limit_from_settings(settings):
    from ticketing.bodylimit import body_limit

    assert (
        settings.API_MAX_BODY_BYTES,
        settings.ADMIN_UPLOAD_MAX_BYTES,
        settings.MAX_REQUEST_BODY_BYTES,
    ) == (64 * 1024, 10 * MIB, 256 * 1024)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 256 * 1024
    settings.API_MAX_BODY_BYTES, settings.ADMIN_UPLOAD_MAX_BYTES = 100, 300
    settings.MAX_REQUEST_BODY_BYTES = 200
    assert body_limit("/api/v1/orders/") == 100
    assert body_limit("/admin/seats/seatingplan/add/") == 300
    assert body_limit("/accounts/login/") == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "setting"),
    [
        (HOLDS, "API_MAX_BODY_BYTES"),
        ("/admin/seats/seatingplan/add/", "ADMIN_UPLOAD_MAX_BYTES"),
        ("/accounts/login/", "MAX_REQUEST_BODY_BYTES"),
    ],
)
def test_the_asgi_layer_counts_streamed_bytes_against_the_setting(settings, path, setting):
    setattr(settings, setting, 1000)
    over = asgi_request("POST", path, chunks=[b" " * 400] * 3)
    assert over.status == 413 and over.error_code == "payload_too_large"
    assert over.json()["error"]["details"] == {"limit_bytes": 1000}
    declared = asgi_request("POST", path, headers={"Content-Length": "1001"}, chunks=[b""])
    assert declared.status == 413
    at_limit = asgi_request("POST", path, chunks=[b" " * 500] * 2)
    assert at_limit.status != 413


def test_settings_are_read_from_the_environment():
    """The settings of issue #14 come from the environment (a fresh process)."""
    code = (
        "from django.conf import settings as s; import json; print(json.dumps([s.API_MAX_BODY_BYTES,"
        " s.ADMIN_UPLOAD_MAX_BYTES, s.MAX_REQUEST_BODY_BYTES, s.DATA_UPLOAD_MAX_MEMORY_SIZE,"
        " s.TRUSTED_PROXIES]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "API_MAX_BODY_BYTES": "1000",
        "ADMIN_UPLOAD_MAX_BYTES": "2000",
        "MAX_REQUEST_BODY_BYTES": "3000",
        "TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert json.loads(out.stdout) == [1000, 2000, 3000, 3000, ["10.0.0.0/8", "192.0.2.1"]]


def test_twisted_names_the_request_path_before_the_body():
    """Contract of ticketing/daphne_limits.py with Twisted: when a request's ``gotLength`` runs,
    its channel still holds the request line's target (``HTTPChannel._path``)."""
    from twisted.internet.testing import StringTransport
    from twisted.web import http

    from ticketing.daphne_limits import _request_path

    seen = []

    class Recording(http.Request):
        def gotLength(self, length):
            seen.append((_request_path(self.channel), length))
            super().gotLength(length)

    channel = http.HTTPChannel()
    channel.requestFactory = Recording
    channel.makeConnection(StringTransport())
    channel.dataReceived(
        b"POST /api/v1/x%20y/?q=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    assert seen == [("/api/v1/x y/", None)]
    from daphne import http_protocol

    import ticketing.asgi  # noqa: F401  (installs the limited request class)

    assert getattr(http_protocol.WebRequest, "limits_body", False)
