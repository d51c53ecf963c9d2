"""``ticketing.handlers.ThreadedASGIHandler``: the Django internals it relies on (a contract that
fails loudly on a Django upgrade that changes them), and the handler itself under real uvicorn and
daphne processes — a normal request, a streamed response, a body sent in chunks, and clients
that go away mid-request."""

import asyncio
import inspect
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from ticketing.handlers import ThreadedASGIHandler

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "static" / "js" / "seatmap.js"


def params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_the_django_internals_the_handler_relies_on():
    # ASGIHandler.__init__ loads the middleware in async mode; the handler skips it and calls
    # BaseHandler's, which is object's (nothing to set up) — fails if Django gives it one.
    assert params(ASGIHandler.__init__) == ["self"]
    assert base.BaseHandler.__init__ is object.__init__
    assert params(base.BaseHandler.load_middleware) == ["self", "is_async"]
    assert params(base.BaseHandler.get_response) == ["self", "request"]
    assert params(ASGIHandler.read_body) == ["self", "receive"]
    assert params(ASGIHandler.create_request) == ["self", "scope", "body_file"]
    assert params(ASGIHandler.send_response) == ["self", "response", "send"]
    assert params(ASGIHandler.listen_for_disconnect) == ["self", "receive"]
    assert params(ASGIHandler.handle) == ["self", "scope", "receive", "send"]
    for coroutine in ("read_body", "send_response", "listen_for_disconnect", "handle"):
        assert inspect.iscoroutinefunction(getattr(ASGIHandler, coroutine)), coroutine
    assert isinstance(ASGIHandler.chunk_size, int)
    assert params(get_script_prefix) == ["scope"]
    # request_finished is sent by response.close() with this attribute as the sender.
    assert HttpResponse()._handler_class is None  # type: ignore[attr-defined]  # Django-private, not in the stubs
    assert "_handler_class" in inspect.getsource(HttpResponse.close)


def test_the_handler_loads_the_middleware_in_sync_mode(settings):
    handler = ThreadedASGIHandler()
    assert handler._middleware_chain is not None  # type: ignore[attr-defined]  # Django-private, not in the stubs
    assert not inspect.iscoroutinefunction(handler._middleware_chain)  # type: ignore[attr-defined]  # Django-private


# In-process: a view that waits for the test, and an endless stream (this module is the URLconf).
view_may_answer = threading.Event()
stream_closed = threading.Event()


def _slow_view(request):
    view_may_answer.wait(10)
    return HttpResponse(b"late")


def _endless_view(request):
    async def chunks():  # async: Django reads a sync iterator to its end before sending
        try:
            while True:
                await asyncio.sleep(0.001)
                yield b"x" * 100
        finally:
            stream_closed.set()

    return StreamingHttpResponse(chunks())


urlpatterns = [path("slow/", _slow_view), path("endless/", _endless_view)]


def _scope(target: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def _get(settings, target: str) -> ApplicationCommunicator:
    """A handler (this module as the URLconf) that has received ``GET target`` in full."""
    settings.ROOT_URLCONF = __name__
    app = ApplicationCommunicator(ThreadedASGIHandler(), _scope(target))
    await app.send_input({"type": "http.request", "body": b""})
    return app


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_no_answer_is_written_for_a_client_gone_while_the_view_ran(settings):
    view_may_answer.clear()
    app = await _get(settings, "/slow/")
    await app.send_input({"type": "http.disconnect"})
    await asyncio.sleep(0.1)  # the disconnect is seen before the view answers
    view_may_answer.set()
    await app.wait(5)  # the handler ends ...
    assert await app.receive_nothing(0.1)  # ... without writing to the gone client


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_stream_stops_and_is_closed_when_its_client_goes_away(settings):
    stream_closed.clear()
    app = await _get(settings, "/endless/")
    assert (await app.receive_output(5))["type"] == "http.response.start"
    assert (await app.receive_output(5))["body"]
    await app.send_input({"type": "http.disconnect"})
    await app.wait(5)  # an endless stream would never end the handler
    assert await asyncio.to_thread(stream_closed.wait, 5)  # its generator was closed


def _raw(url: str, data: bytes, read: bool = True, timeout: float = 10) -> bytes:
    """Send ``data`` on a new connection to ``url``'s host; return everything answered until the
    server closes (``Connection: close``), or nothing when ``read`` is false (closes at once)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        if not read:
            return b""
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def _dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, body = out + rest[:n], rest[n + 2 :]


def _log_of(url: str) -> str:
    port = url.rsplit(":", 1)[1]
    return (ROOT / "test-artifacts" / f"server-{port}.log").read_text(errors="replace")


def _healthy(url: str) -> None:
    with urllib.request.urlopen(f"{url}/api/v1/health/", timeout=10) as answer:
        assert answer.status == 200


@pytest.fixture(params=["uvicorn", "daphne"])
def server(request, asgi_server):
    return asgi_server(server=request.param)


def test_a_normal_request(server):
    with urllib.request.urlopen(f"{server}/api/v1/shows/", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.headers["X-Request-ID"]  # the whole middleware chain ran
        assert "results" in json.loads(answer.read())


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/abc/",
        "/api/v1/orders/-1/",
        "/api/v1/orders/99999999999999999999/",
        "/api/v1/holds/not-a-uuid/",
        "/api/v1/showtimes/%E0%B8%81/seats/",
    ],
)
def test_an_id_that_is_not_one_is_a_404_error_body(server, path):
    """The id converters (``ticketing/urls.py``) route a malformed id nowhere: the server answers
    the api.md 404 body, never a 5xx, whatever the server decodes the path to."""
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{server}{path}", timeout=10)
    assert answer.value.code == 404
    assert json.loads(answer.value.read())["error"]["code"] == "not_found"


def test_a_streamed_response_arrives_whole(server):
    answer = _raw(
        server,
        b"GET /static/js/seatmap.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    assert body == SCRIPT.read_bytes()


def test_a_body_sent_in_pieces_is_read_whole(server):
    """The body arrives in many ``http.request`` messages (written in 7-byte pieces, one
    segment each); the view sees all of it."""
    payload = json.dumps(
        {
            "username": "chunky",
            "email": "chunky@example.com",
            "password": "a long enough password 1",
        }
    ).encode()
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(
            b"POST /api/v1/auth/register/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(payload)
        )
        for i in range(0, len(payload), 7):
            time.sleep(0.005)  # a separate segment each (nothing is asserted on time)
            sock.sendall(payload[i : i + 7])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), head + body
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    assert json.loads(body)["username"] == "chunky"


def test_clients_that_go_away_mid_request_cost_no_error(server):
    # 1. Mid-body: the declared body never comes.
    _raw(
        server,
        b"POST /api/v1/auth/register/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user',
        read=False,
    )
    # 2. After the request, before the answer: the view runs, nobody reads.
    for _ in range(5):
        _raw(server, b"GET /api/v1/shows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", read=False)
    # 3. Mid-stream: a streamed response, the connection closed after its first bytes.
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /static/js/seatmap.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
    time.sleep(0.5)  # let the server notice the closes (nothing is asserted on time)
    _healthy(server)  # still serving, its threads free
    log = _log_of(server)
    assert "Traceback" not in log and " 500" not in log, log[-3000:]
