"""Who may use the discharge desk: the names it answers to, the access code, browser
sessions, CSRF tokens and the lockout after wrong codes.

Built for a ward network as OWASP ASVS (v4, chapters 2 and 3) asks:
- A visitor who has not entered the access code has no session on the desk: the CSRF
  token is a signature (HMAC with a secret made when the desk starts) of a random
  value held in the browser's cookie, checked without any server-side state. So no
  flood of visitors can push a nurse's session out; only a browser that gave the
  right code is remembered, under a new random id (no session fixation).
- Wrong codes lock out first the client, then every client, for a time that doubles
  with each further wrong code. A locked-out attempt is answered at once (429 with
  Retry-After): it never holds a worker thread, and even the right code is refused.
- The code file must be readable by the desk's account only, as ssh insists for keys.
- The desk answers only Host names it serves, so a web page elsewhere cannot reach it
  through DNS rebinding.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import socket
import stat
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import PipelineError

ACCESS_CODE_ENV = "DESK_ACCESS_CODE"
MIN_ACCESS_CODE = 8
SESSION_HOURS = 12              # one shift; then the code is asked again
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


# --- options, checked before anything starts ------------------------------------------


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_access_code(code_file: Path | None) -> str | None:
    """The code from --access-code-file, else from $DESK_ACCESS_CODE, else None."""
    if code_file is not None:
        code, where = read_private_file(code_file), str(code_file)
    else:
        code = (os.environ.get(ACCESS_CODE_ENV) or "").strip()
        where = f"${ACCESS_CODE_ENV}"
        if not code:
            return None
    if len(code) < MIN_ACCESS_CODE:
        raise PipelineError(f"{where}: the access code is shorter than {MIN_ACCESS_CODE} "
                            "characters; choose a longer one")
    return code


def read_private_file(path: Path, what: str = "access code file") -> str:
    """The file's text, if only this account can read or change it (checked on the
    open file, so it cannot be swapped between the check and the read); `what` names
    the file in messages."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PipelineError(f"{path}: the {what} is not a plain file")
        if info.st_uid not in (os.geteuid(), 0):
            raise PipelineError(f"{path}: the {what} belongs to another account; "
                                "make it the desk's own (chown)")
        if info.st_mode & 0o077:
            raise PipelineError(
                f"{path}: other accounts can read or change the {what} "
                f"(permissions {stat.S_IMODE(info.st_mode):04o}); make it readable by the "
                f"desk's account only: chmod 600 {path}")
        try:
            return handle.read().decode("utf-8").strip()
        except UnicodeDecodeError:
            raise PipelineError(f"{path}: the {what} is not UTF-8 text") from None


def check_access(host: str, code: str | None) -> None:
    if not is_loopback(host) and not code:
        raise PipelineError(
            f"--host {host}: other computers can reach the desk there, so it needs an "
            f"access code: put one in a file and add --access-code-file FILE, or set "
            f"{ACCESS_CODE_ENV}")


# --- the names the desk answers to ----------------------------------------------------


HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def check_allowed_hosts(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            ipaddress.ip_address(name.strip("[]"))
            continue
        except ValueError:
            pass
        if not HOST_NAME.match(name):
            raise PipelineError(f"--allowed-host {name}: not a host name or address; give "
                                "a name such as desk.ward.example or an address, without "
                                "a port")


class AllowedHosts:
    """The Host header names the desk serves: its loopback names, the --host it
    listens on (for a wildcard, this computer's own names and addresses) and every
    --allowed-host. A browser sends the name from its address bar, so a page at
    another name that has been pointed at the desk (DNS rebinding) is refused."""

    def __init__(self, host: str, extra: tuple[str, ...] = ()):
        names = {"localhost", *extra}
        if host in WILDCARD_HOSTS:
            names |= this_computers_names()
        else:
            names.add(host)
        self.names = frozenset(normal_name(name) for name in names if name)

    def allows(self, header: str | None) -> bool:
        name = host_name(header or "")
        if not name:
            return False
        if name in self.names:
            return True
        try:  # 127.0.0.1, 127.0.0.2 ... and ::1 can only be this computer
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False

    def shown(self) -> str:
        return ", ".join(sorted(self.names))


def host_name(header: str) -> str:
    """The name part of a Host header ("[::1]:8765" -> "::1"), lower case, or "" if
    the header is not a well-formed host[:port]."""
    header = header.strip()
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?|([^:\[\]@/\s]+)(?::\d{1,5})?",
                         header)
    if not match:
        return ""
    return normal_name(match[1] or match[2])


def normal_name(name: str) -> str:
    name = name.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def this_computers_names() -> set[str]:
    """This computer's host name, full name, and the addresses they resolve to, plus
    the address it would use to reach another network (no packet is sent)."""
    names = {socket.gethostname(), socket.getfqdn()}
    for name in list(names):
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(name, None)}
        except OSError:
            pass
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                udp.connect((probe, 9))
                names.add(udp.getsockname()[0])
        except OSError:
            pass
    return {name.split("%", 1)[0] for name in names if name}


# --- sessions and CSRF tokens ----------------------------------------------------------


class Sessions:
    """CSRF tokens for every browser, and the browsers that gave the access code.

    A browser's cookie holds a random id it was given (or any id: it is only ever
    signed, never looked up, until the code is given). Only ids issued on the right
    code are kept, at most `limit`, for SESSION_HOURS; nothing about patients."""

    def __init__(self, access_code: str | None, limit: int = 1000):
        self._secret = secrets.token_bytes(32)
        self._code = _digest(access_code) if access_code else None
        self._limit = limit
        self._authorised: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def needs_code(self) -> bool:
        return self._code is not None

    @staticmethod
    def well_formed(sid: str | None) -> bool:
        return bool(sid) and SESSION_ID.match(sid) is not None

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(24)  # 32 characters, 192 bits

    def authorised(self, sid: str | None) -> bool:
        if not self.needs_code:
            return True
        if not self.well_formed(sid):
            return False
        with self._lock:
            issued = self._authorised.get(sid)
            if issued is not None and time.time() - issued > SESSION_HOURS * 3600:
                del self._authorised[sid]
                issued = None
            return issued is not None

    def token(self, sid: str) -> str:
        return hmac.new(self._secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, sid: str | None, token: str) -> bool:
        return self.well_formed(sid) and hmac.compare_digest(
            self.token(sid).encode(), token.encode("utf-8", "replace"))

    def code_ok(self, code: str) -> bool:
        """Compared in constant time: both sides are hashed to equal length first."""
        return self._code is not None and hmac.compare_digest(self._code, _digest(code))

    def sign_in(self) -> str:
        """A new id for a browser that gave the right code (never the one it had)."""
        sid = self.new_id()
        with self._lock:
            self._authorised[sid] = time.time()
            while len(self._authorised) > self._limit:
                self._authorised.popitem(last=False)
        return sid

    def count(self) -> int:
        with self._lock:
            return len(self._authorised)


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.strip().encode("utf-8", "replace")).digest()


# --- lockout after wrong codes ---------------------------------------------------------


@dataclass
class _Strikes:
    wrong: int = 0
    locked_until: float = 0.0
    last: float = 0.0


@dataclass(frozen=True)
class LockoutRule:
    """`free` wrong codes, then a lockout of `first` seconds that doubles with each
    further wrong code up to `longest`; forgotten after `forget` seconds without one."""

    free: int
    first: float = 2.0
    longest: float = 900.0
    forget: float = 3600.0

    def lock_for(self, wrong: int) -> float:
        if wrong < self.free:
            return 0.0
        return min(self.longest, self.first * 2 ** (wrong - self.free))


# OWASP ASVS 4.0 2.2.1 allows at most 100 failed attempts an hour on one account; the
# doubling lets one client try about 14 an hour, and all clients together about 21.
PER_CLIENT = LockoutRule(free=3)
OVERALL = LockoutRule(free=10)
MAX_CLIENTS_TRACKED = 10_000


class Lockout:
    """Wrong access codes counted per client address and for the desk as a whole."""

    def __init__(self, per_client: LockoutRule = PER_CLIENT, overall: LockoutRule = OVERALL):
        self._rules = (per_client, overall)
        self._clients: OrderedDict[str, _Strikes] = OrderedDict()
        self._overall = _Strikes()
        self._lock = threading.Lock()

    def attempt(self, client: str, is_right: Callable[[], bool]) -> tuple[str, float]:
        """("right", "wrong" or "locked", seconds locked out from now). A locked-out
        client's code is not even compared. Checked and counted under one lock, so
        that guesses sent in parallel cannot slip through before the first counts."""
        with self._lock:
            now = time.monotonic()
            wait = self._wait(client, now)
            if wait > 0:
                return "locked", wait
            if is_right():
                self._clients.pop(client, None)
                return "right", 0.0
            self._count_wrong(client, now)
            return "wrong", self._wait(client, now)

    def _wait(self, client: str, now: float) -> float:
        strikes = [s for s in (self._clients.get(client), self._overall) if s]
        return max(0.0, *(s.locked_until - now for s in strikes))

    def _count_wrong(self, client: str, now: float) -> None:
        strikes = self._clients.pop(client, None) or _Strikes()
        self._clients[client] = strikes  # most recent last
        while len(self._clients) > MAX_CLIENTS_TRACKED:
            self._clients.popitem(last=False)
        for rule, counted in zip(self._rules, (strikes, self._overall)):
            if now - counted.last > rule.forget:
                counted.wrong = 0
            counted.wrong += 1
            counted.last = now
            counted.locked_until = now + rule.lock_for(counted.wrong)
