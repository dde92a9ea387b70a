"""The discharge desk as a real process on a free port, and a small HTTP client for it."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from conftest import LIBRARY, PROJECT_FILES, ROOT
from library import load, write

ANNOUNCE = re.compile(rb"Discharge desk: http://127\.0\.0\.1:(\d+)/")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Desk:
    process: subprocess.Popen
    port: int
    folder: Path                 # holds the server's output and its record
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def output(self) -> Path:
        return self.folder / "server-output.txt"

    @property
    def record(self) -> Path:
        return self.folder / "record.csv"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, cookies: bool = True,
                timeout: float = 120, source: str | None = None) -> Reply:
        """One request on its own connection; `source`: the loopback address it comes
        from (127.0.0.2 ... are this computer too), to act as another client."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(source, 0) if source else None)
        sent = dict(headers or {})
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                          response.read())
        finally:
            conn.close()
        cookie = reply.headers.get("set-cookie")
        if cookies and cookie:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return reply

    def get(self, path: str = "/", **options) -> Reply:
        return self.request("GET", path, **options)

    def post(self, path: str, fields: dict[str, str] | list[tuple[str, str]],
             headers: dict[str, str] | None = None, **options) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
            **options)

    def token(self, **options) -> str:
        """Open the page as a browser would: a session cookie and the form's CSRF token."""
        page = self.get("/", **options)
        assert page.status == 200, page.text
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert match, "no CSRF token in the page"
        return match[1]

    def discharge(self, fields: dict[str, str], token: str | None = None,
                  **options) -> Reply:
        return self.post("/discharge", {"csrf": token or self.token(**options), **fields},
                         **options)

    def browser(self) -> "Desk":
        """Another browser on the same desk: its own cookies."""
        return Desk(self.process, self.port, self.folder)

    def health(self) -> Reply:
        return self.get("/healthz", cookies=False)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.health().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"desk not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def renderer_pids(self) -> list[int]:
        return [pid for pid in children(self.process.pid)
                if b"spawn_main" in _cmdline(pid) and b"resource_tracker" not in _cmdline(pid)]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_desk(folder: Path, *args: str, env: dict[str, str] | None = None,
               project: Path | None = None, wait: bool = True, renderers: int = 2) -> Desk:
    """`python pipeline.py serve --port 0`: the port it chose is read from its output."""
    folder.mkdir(parents=True, exist_ok=True)
    output = (folder / "server-output.txt").open("wb")
    prefix = ["--project", str(project)] if project else []
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "pipeline.py"), *prefix, "serve", "--port", "0",
         "--record", str(folder / "record.csv"), "--renderers", str(renderers), *args],
        stdout=output, stderr=subprocess.STDOUT, cwd=folder,
        env={**os.environ, **(env or {})})
    output.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = ANNOUNCE.search((folder / "server-output.txt").read_bytes())
        if match:
            desk = Desk(process, int(match[1]), folder)
            if wait:
                desk.wait_ready()
            return desk
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise AssertionError("desk did not start:\n" +
                         (folder / "server-output.txt").read_text(errors="replace"))


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the renderers), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def raw_reply(desk: Desk, raw: bytes, timeout: float = 10) -> Reply:
    """Send bytes as they are (a malformed or hostile request) and read the answer
    until the desk closes the connection."""
    import socket

    with socket.create_connection(("127.0.0.1", desk.port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0])
    assert match, data[:80]
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in lines[1:])}
    return Reply(int(match[1]), headers, body)


def health_json(desk: Desk) -> dict:
    return json.loads(desk.health().body)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def library_copy(folder: Path) -> Path:
    """A private copy of the generated library (tests/library.py), English only, for a
    module's desk: one discharge sheet (TEST-D-001) that places every default field and
    one field of each other type, and the brochure that goes home with it."""
    import shutil

    copy = folder / "project"
    copy.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = LIBRARY.root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy / name)
    return copy


# A detail only one variant's sheet prints (the library's sheet places all of its
# fields in every variant): the desk must show it for that variant only.
VARIANT_ONLY = {"name": "port-nurse", "label": "Port nurse:", "type": "text", "max": 40}


def with_a_variant_only_field(project: Path) -> tuple[str, str, str]:
    """Declare VARIANT_ONLY on the project's first discharge sheet and place it in a
    section that one variant adds. Returns (handout, that variant, the field's name)."""
    handout = LIBRARY.discharges[0]
    path = project / "handouts" / f"{handout}.yaml"
    data = load(path)
    variant = list(data["overrides"])[-1]
    data["fields"].append(VARIANT_ONLY)
    data["overrides"][variant].setdefault("add", []).append(
        {"id": "port", "type": "write-in", "title": "Your port",
         "items": [{"label": VARIANT_ONLY["label"], "field": VARIANT_ONLY["name"]}]})
    write(path, data)
    return handout, variant, VARIANT_ONLY["name"]
