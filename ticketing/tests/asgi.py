"""Drive the project's ASGI application in-process, message by message (``asgiref.testing``), so a
test sends exactly the bytes a hostile client would: a raw path and query, any header value, a
body in as many ``http.request`` messages as it likes (a streamed body)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        """``error.code`` of an api.md error body, None for any other body."""
        if not self.headers.get("content-type", "").startswith("application/json"):
            return None
        return self.json().get("error", {}).get("code")


async def _call(app, method, target, headers, chunks, timeout):
    raw_path, _, query = target.encode("latin-1").partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    chunks = list(chunks) or [b""]
    for i, chunk in enumerate(chunks):
        await communicator.send_input(
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        )
    start = await communicator.receive_output(timeout)
    assert start["type"] == "http.response.start", start
    body = b""
    while True:
        message = await communicator.receive_output(timeout)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout)
    return Answer(
        start["status"],
        {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]},
        body,
    )


def asgi_request(
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    chunks: list[bytes] | None = None,
    app=None,
    timeout: float = 10,
) -> Answer:
    """Send one request to ``app`` (default: ``ticketing.asgi.application``, the whole HTTP stack
    the servers run) and return its answer. ``target`` is the request target as sent on the wire
    (percent-encoded path and query); ``body`` goes with a ``Content-Length`` (unless the headers
    name one), ``chunks`` in several messages without one (a chunked upload)."""
    if app is None:
        from ticketing.asgi import application as app
    headers = dict(headers or {})
    if chunks is None and body and not any(k.lower() == "content-length" for k in headers):
        headers["Content-Length"] = str(len(body))
    return async_to_sync(_call)(
        app, method, target, headers, chunks if chunks is not None else [body], timeout
    )
