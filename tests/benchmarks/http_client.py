"""A minimal keep-alive HTTP/1.1 client for load generation: one socket, prebuilt requests.

On this 2-core machine the client shares the CPUs with the server it measures. httpx spends
about 0.3 ms of Python per request, which made the bare floor server look like a 0.46 ms
round trip and capped every server near 2,000 req/s; this client spends about 0.03 ms, so
the numbers are the servers', not the client's. It speaks only what the benchmark needs:
POST with a body, responses with a Content-Length.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


class KeepAliveClient:
    """``with KeepAliveClient(url) as c: status, body = c.post(request)``; requests come from ``request()``."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        self._host = parts.netloc.encode()
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def request(self, path: str, body: bytes) -> bytes:
        """The bytes of one POST, built once and sent many times."""
        head = b"POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        return head % (path.encode(), self._host, len(body)) + body

    def post(self, request: bytes) -> tuple[int, bytes]:
        self._sock.sendall(request)
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._buffer += self._receive()
        head, rest = self._buffer[:end], self._buffer[end + 4 :]
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next((int(v) for k, _, v in (line.partition(b":") for line in lines[1:]) if k.strip().lower() == b"content-length"), None)
        if length is None:
            raise ValueError(f"response without content-length: {head!r}")
        while len(rest) < length:
            rest += self._receive()
        self._buffer = rest[length:]
        return status, rest[:length]

    def _receive(self) -> bytes:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> KeepAliveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
