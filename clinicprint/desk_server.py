"""The desk's HTTP server: waitress, with limits suited to a ward.

waitress reads each request in full on its event loop before a worker thread sees
it, so a slow or stalled client holds a socket, not a thread. It limits the body
size itself. What this module adds:
- A request that never finishes arriving (bytes trickling in) is answered 408 once
  `client_timeout` has passed since its first byte, through waitress's own
  error-response path.
- Connections are capped per client address and in all; when a cap is reached the
  longest-unused idle connection is closed to make room, so idle or half-sent
  connections, however many, cannot keep a nurse out. waitress's own limit would
  instead stop accepting anyone. An idle connection is closed after `idle_timeout`.
- waitress's own error answers (400, 408, 413, 431, 500) carry the desk's security
  headers and say what to do in plain words.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Callable

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import Error

LOG = logging.getLogger("clinicprint.desk")
# Hard limit at the socket; the app's own limit (smaller) answers with a page.
SOCKET_BODY_LIMIT = 1024 * 1024
ERROR_WORDS = {
    400: "The request was not understood. Reload the page and fill in the form again.",
    408: "The request did not arrive in time. Send it again.",
    413: "The form was larger than the desk accepts.",
    431: "The request's headers were larger than the desk accepts. Reload the page.",
    500: "Something went wrong in the desk. Nothing was printed; please try again.",
}


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class DeskErrorTask(ErrorTask):
    """waitress's error answer, in the desk's words and with its security headers."""

    def execute(self) -> None:
        error = self.request.error
        body = (ERROR_WORDS.get(error.code) or ERROR_WORDS[400]).encode("utf-8") + b"\n"
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "text/plain; charset=utf-8"),
                                      *self.channel.server.error_headers])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class DeskChannel(HTTPChannel):
    error_task_class = DeskErrorTask

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map=map)
        server.admit(self)


def _evictable(channel: HTTPChannel) -> bool:
    """Nothing being served or sent: idle, or still arriving."""
    return not (channel.requests or channel.total_outbufs_len or channel.close_when_flushed
                or channel.will_close)


class DeskServer(TcpWSGIServer):
    channel_class = DeskChannel
    client_timeout = 20.0
    max_connections = 100
    per_client = 16
    error_headers: list[tuple[str, str]] = []
    _warned_at = 0.0

    def admit(self, new: HTTPChannel) -> None:
        """Make room for a new connection within the caps, or close it."""
        others = [c for c in list(self.active_channels.values())
                  if c is not new and not c.will_close]
        client = new.addr[0] if new.addr else None
        same = [c for c in others if c.addr and c.addr[0] == client]
        if len(same) >= self.per_client and not self._evict(same, "one client"):
            new.handle_close()
            return
        if len(others) >= self.max_connections and not self._evict(others, "all clients"):
            new.handle_close()

    def _evict(self, channels: list, which: str) -> bool:
        """Close the longest-unused idle connection of the client holding the most
        (fully idle before half-sent ones); False if every one is being served."""
        idle = [c for c in channels if _evictable(c)]
        if not idle:
            return False
        held: dict = {}
        for channel in channels:
            held[channel.addr[0]] = held.get(channel.addr[0], 0) + 1
        victim = min(idle, key=lambda c: (-held[c.addr[0]], c.request is not None,
                                          c.last_activity))
        victim.handle_close()
        self._warn(f"connection limit ({which}) reached: closed an idle connection to "
                   "make room")
        return True

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60:  # a flood must not flood the log
            self._warned_at = now
            LOG.warning("%s", message)

    def maintenance(self, now: float) -> None:
        for channel in list(self.active_channels.values()):
            partial = channel.request
            if partial is None or channel.requests or partial.completed:
                continue
            started = getattr(partial, "desk_started", None)
            if started is None:
                partial.desk_started = now
            elif now - started > self.client_timeout:
                self._time_out(channel, partial)
        super().maintenance(now)

    def _time_out(self, channel, partial) -> None:
        with channel.requests_lock:
            partial.error = RequestTimeout("")
            partial.completed = True
            channel.requests.append(partial)
            channel.request = None
        self.add_task(channel)


def make_server(app: Callable, config, error_headers: list[tuple[str, str]]) -> DeskServer:
    """`config` is desk.DeskConfig: address, threads and the limits above."""
    adjustments = Adjustments(
        host=config.host, port=config.port, threads=config.threads, ident="discharge-desk",
        max_request_body_size=SOCKET_BODY_LIMIT, max_request_header_size=32 * 1024,
        channel_timeout=config.idle_timeout, cleanup_interval=1,
        # Above the desk's own cap, so that waitress never stops accepting: admit()
        # makes room instead.
        connection_limit=config.max_connections + 16, asyncore_use_poll=True,
        expose_tracebacks=False, clear_untrusted_proxy_headers=True)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adjustments.threads)
    server = DeskServer(app, map={}, _start=True, _sock=None, dispatcher=dispatcher,
                        adj=adjustments, sockinfo=adjustments.listen[0])
    server.client_timeout = config.client_timeout
    server.max_connections = config.max_connections
    server.per_client = config.connections_per_client
    server.error_headers = list(error_headers)
    return server


def bind(app: Callable, config, error_headers: list[tuple[str, str]]) -> DeskServer:
    """Listen now, so a port in use stops the desk before any renderer starts."""
    from .errors import PipelineError

    _quiet_waitress(logging.getLogger("waitress"))
    try:
        return make_server(app, config, error_headers)
    except OSError as exc:
        raise PipelineError(f"--host {config.host} --port {config.port}: cannot listen "
                            f"there ({exc.strerror or exc}); choose another port with "
                            "--port") from None


def run_server(server: DeskServer, announce: Callable[[str], None], record: Path,
               names: str, handover: str = "") -> None:
    """Serve until Ctrl-C or SIGTERM (kill, a service manager, a container stop)."""
    host = server.effective_host
    shown = f"[{host}]" if ":" in str(host) else host
    announce(f"Discharge desk: http://{shown}:{server.effective_port}/  "
             f"(record of sheets: {record}; Ctrl-C stops it)")
    announce(f"It answers to the names {names} and loopback addresses (add one with "
             "--allowed-host).")
    if handover:
        announce(handover[:1].upper() + handover[1:])

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    try:
        server.run()
    finally:
        server.close()
        announce(f"Discharge desk stopped after {time.monotonic() - started:.0f} s.")


class _NoPaths:
    """waitress names the request path in some messages; a path typed by hand could
    hold anything, so keep only the words before it and never a traceback."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        record.msg, record.args = message.split(" /", 1)[0], ()
        record.exc_info = record.exc_text = None
        return True


def _quiet_waitress(logger) -> None:
    logger.setLevel(logging.WARNING)
    logger.addFilter(_NoPaths())
