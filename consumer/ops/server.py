"""`BoundedHTTPServer`: a threading HTTP server that a crowd of idle sockets cannot exhaust.

The stdlib `ThreadingHTTPServer` keeps one thread per connection for as long as the client
keeps it open, with no socket timeout: 1,000 idle sockets are 1,000 threads, forever. Here:

* every accepted socket gets `request_timeout` (per read or write): a silent or slow client is
  dropped after it, and its thread ends;
* at most `max_connections` are open at once (one handler thread each). A connection beyond
  that makes room by shutting down the *oldest* open one (under a flood of idle sockets, an
  idle one) and waits up to `EVICT_WAIT` s for its thread to end; if none ends, the new
  connection is closed unanswered. So the threads stay at most `max_connections` (+ the
  accept thread), and a scraper that connects and sends its request at once is still served.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

EVICT_WAIT = 1.0


class BoundedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the listen backlog (5 in socketserver)

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        max_connections: int,
        request_timeout: float,
    ) -> None:
        if max_connections < 1 or not request_timeout > 0:
            raise ValueError(
                f"need max_connections >= 1 and request_timeout > 0, got {max_connections}, "
                f"{request_timeout}"
            )
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.evicted = 0
        self.refused = 0
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: OrderedDict[socket.socket, None] = OrderedDict()  # oldest first
        self._lock = threading.Lock()
        super().__init__(address, handler)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._evict_oldest()
            if not self._slots.acquire(timeout=EVICT_WAIT):
                self.refused += 1
                self.shutdown_request(request)
                return
        request.settimeout(self.request_timeout)
        with self._lock:
            self._open[request] = None
        try:
            super().process_request(request, client_address)  # starts the handler thread
        except BaseException:
            self._release(request)
            self.shutdown_request(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: socket.socket) -> None:
        with self._lock:
            self._open.pop(request, None)
        self._slots.release()

    def _evict_oldest(self) -> None:
        with self._lock:
            oldest = next(iter(self._open), None)
        if oldest is None:
            return
        self.evicted += 1
        log.debug("%d HTTP connections open: dropping the oldest", self.max_connections)
        try:
            oldest.shutdown(socket.SHUT_RDWR)  # its blocked read returns: its thread ends
        except OSError:
            pass  # closed meanwhile: its slot is coming back anyway
