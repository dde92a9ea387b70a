"""The desk's HTTP server: waitress, with limits suited to a ward.

waitress reads each request in full on its event loop before a worker thread sees
it, so a slow or stalled client holds a socket, not a thread. It limits the body
size itself. What it does not do is answer a request that never finishes arriving:
it waits for the client forever while bytes keep trickling in. `DeskServer`
answers such a request with 408 once `client_timeout` has passed since its first
byte, through waitress's own error-response path.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Callable

from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import Error

# Hard limit at the socket; the app's own limit (smaller) answers with a page.
SOCKET_BODY_LIMIT = 1024 * 1024
IDLE_CONNECTION_SECONDS = 60


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class DeskServer(TcpWSGIServer):
    client_timeout = 20.0

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
            partial.error = RequestTimeout("The request did not arrive in time; send it "
                                           "again.")
            partial.completed = True
            channel.requests.append(partial)
            channel.request = None
        self.add_task(channel)


def make_server(app: Callable, host: str, port: int, threads: int,
                client_timeout: float) -> DeskServer:
    adjustments = Adjustments(
        host=host, port=port, threads=threads, ident="discharge-desk",
        max_request_body_size=SOCKET_BODY_LIMIT, max_request_header_size=32 * 1024,
        channel_timeout=IDLE_CONNECTION_SECONDS, cleanup_interval=1,
        connection_limit=200, expose_tracebacks=False, clear_untrusted_proxy_headers=True)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adjustments.threads)
    server = DeskServer(app, map={}, _start=True, _sock=None, dispatcher=dispatcher,
                        adj=adjustments, sockinfo=adjustments.listen[0])
    server.client_timeout = client_timeout
    return server


def bind(app: Callable, config) -> DeskServer:
    """Listen now, so a port in use stops the desk before any renderer starts."""
    import logging

    from .errors import PipelineError

    _quiet_waitress(logging.getLogger("waitress"))
    try:
        return make_server(app, config.host, config.port, config.threads,
                           config.client_timeout)
    except OSError as exc:
        raise PipelineError(f"--host {config.host} --port {config.port}: cannot listen "
                            f"there ({exc.strerror or exc}); choose another port with "
                            "--port") from None


def run_server(server: DeskServer, announce: Callable[[str], None], record: Path) -> None:
    """Serve until Ctrl-C or SIGTERM (kill, a service manager, a container stop)."""
    host = server.effective_host
    shown = f"[{host}]" if ":" in str(host) else host
    announce(f"Discharge desk: http://{shown}:{server.effective_port}/  "
             f"(record of sheets: {record}; Ctrl-C stops it)")

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
    import logging

    logger.setLevel(logging.WARNING)
    logger.addFilter(_NoPaths())
