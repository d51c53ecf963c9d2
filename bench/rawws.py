"""A minimal WebSocket client protocol for the benchmarks (RFC 6455), shared by ``fanout.py`` and
``live.py``: thousands of them run in one client process, so each is a bare ``asyncio.Protocol``
with the browser's upgrade headers, frames parsed from the byte stream (unmasked, any length,
fragments joined, permessage-deflate when negotiated) and pings answered. A subclass implements
:meth:`RawWebSocket.message`.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import os
import time
import zlib

from common import BROWSER_HEADERS


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, final client frame (RFC 6455 §5.2–5.3); payloads here are < 126 bytes."""
    mask = os.urandom(4)
    return (
        bytes([0x80 | opcode, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


class RawWebSocket(asyncio.Protocol, metaclass=abc.ABCMeta):
    """The handshake, then each complete text or binary message handed to :meth:`message` with
    the wall-clock time (seconds) its last bytes arrived. :attr:`ready` fails when the
    connection closes or the upgrade is refused before a subclass resolves it."""

    def __init__(self, host: str, path: str, deflate: bool = False) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{BROWSER_HEADERS}"
            f"Sec-WebSocket-Key: {key}\r\n"
            + (
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                if deflate
                else ""
            )
            + "\r\n"
        ).encode()
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.upgraded = self.closed = False
        self.fragments: list[bytes] = []
        self.compressed = False
        self.inflate = None
        self.fresh_inflate_per_message = False
        self.transport: asyncio.Transport | None = None

    @abc.abstractmethod
    def message(self, message: bytes, now: float) -> None:
        """One complete message from the server (decompressed); ``now``: arrival, epoch s."""

    def send_text(self, text: str) -> None:
        """Send a short text frame (< 126 bytes)."""
        if not self.closed and self.transport is not None:
            self.transport.write(client_frame(0x1, text.encode()))

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before the snapshot: {exc}"))

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(client_frame(0x8, (1000).to_bytes(2, "big")))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.buffer:
            self.buffer += data
            data = bytes(self.buffer)
            self.buffer.clear()
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buffer += data
                return
            head = data[:end].decode("latin-1").lower()
            data = data[end + 4 :]
            if not head.startswith("http/1.1 101"):
                self.ready.set_exception(RuntimeError(head.split("\r\n")[0]))
                self.transport.close()
                return
            if "permessage-deflate" in head:
                self.inflate = zlib.decompressobj(-15)
                self.fresh_inflate_per_message = "server_no_context_takeover" in head
            self.upgraded = True
        pos, size = 0, len(data)
        while size - pos >= 2:
            length, start = data[pos + 1] & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(data[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(data[pos + 2 : pos + 10], "big"), pos + 10
            if size < start + length:
                break
            self._frame(data[pos], data[start : start + length], now)
            pos = start + length
        if pos < size:
            self.buffer += data[pos:]

    def _frame(self, first: int, payload: bytes, now: float) -> None:
        opcode = first & 0x0F
        if opcode == 0x9:  # ping
            self.transport.write(client_frame(0xA, payload))
            return
        if opcode == 0x8:
            self.transport.close()
            return
        if opcode in (0x1, 0x2):
            self.compressed = bool(first & 0x40)
            self.fragments = []
        elif opcode != 0x0:
            return  # pong
        if first & 0x80 and not self.fragments:
            message = payload
        else:
            self.fragments.append(payload)
            if not first & 0x80:
                return  # more fragments follow
            message = b"".join(self.fragments)
            self.fragments = []
        if self.compressed:
            if self.fresh_inflate_per_message:
                self.inflate = zlib.decompressobj(-15)
            message = self.inflate.decompress(message + b"\x00\x00\xff\xff")
        self.message(message, now)
