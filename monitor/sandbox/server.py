"""What the sandboxes share: serving an HTTP server from a daemon thread on loopback, and
stopping it."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class ServedInThread:
    """start() serves ``_make_server()`` in a daemon thread; stop() shuts it down. Also a
    context manager. Subclasses set ``host``, ``port`` (0: any free port) and ``thread_name``."""

    host: str
    port: int
    thread_name = "sandbox"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def _closing(self, server: ThreadingHTTPServer) -> None:
        """Hook: extra clean-up after the server stopped."""

    def start(self) -> Self:
        server = self._make_server()
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._closing(self._server)
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
