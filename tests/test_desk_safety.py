"""The discharge desk attacked as issue 23 found it could be, only on loopback and in
small numbers (the desk's limits are shrunk for the test instead): foreign Host names
(DNS rebinding), visitors flooding it without the code, idle and half-sent
connections, guessed codes, a code file others can read, a hung renderer. Each test
proves the nurse still prints and that nothing was printed, recorded or kept.

127.0.0.2, 127.0.0.3 ... are this computer too: the tests use them as other clients.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import signal
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import assert_process_failed, run_pipeline
from deskserver import Desk, health_json, library_copy, raw_reply, start_desk

CODE = "ward-7-" + uuid.uuid4().hex[:8]
GOOD = {"patient": "Jane Q. Example", "levels": "T12, L1",
        "procedure-date": (dt.date.today() - dt.timedelta(days=2)).isoformat()}
LIMITS = {"--max-sessions": 3, "--connections-per-client": 8, "--max-connections": 40,
          "--idle-timeout": 3, "--render-timeout": 3}
PROXY_NAME = "desk.ward.example"


@pytest.fixture(scope="module")
def temporary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("desk-tmp")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, temporary: Path) -> Desk:
    """The code from $DESK_ACCESS_CODE (from a file: test_desk_browser.py and
    test_the_code_file_must_be_readable_by_the_desk_s_account_only)."""
    folder = tmp_path_factory.mktemp("safe-desk")
    limits = [str(arg) for option, value in LIMITS.items() for arg in (option, value)]
    server = start_desk(folder / "desk", "--allowed-host", PROXY_NAME, *limits, renderers=1,
                        project=library_copy(folder),
                        env={"TMPDIR": str(temporary), "DESK_ACCESS_CODE": CODE})
    yield server
    assert server.stop() == 0, server.log()
    log = server.log()
    assert CODE not in log and "Jane" not in log and "Hung" not in log
    assert list(temporary.iterdir()) == []  # the renderers' fonts went with them


def records(desk: Desk) -> list[dict[str, str]]:
    return list(csv.DictReader(desk.record.read_text(encoding="utf-8").splitlines()))


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page)[1]


def sign_in(desk: Desk, source: str | None = None) -> Desk:
    """A new browser that gives the right code."""
    browser = desk.browser()
    token = csrf_of(browser.get("/", source=source).text)
    reply = browser.post("/access", {"csrf": token, "code": CODE}, source=source)
    assert reply.status == 303, reply.text
    return browser


def test_access_code_asked_once_per_session(desk: Desk) -> None:
    browser = desk.browser()
    first = browser.get("/")
    assert first.status == 200 and 'name="code"' in first.text
    assert 'name="patient"' not in first.text
    token = csrf_of(first.text)
    assert browser.discharge(GOOD, token).status == 401
    wrong = browser.post("/access", {"csrf": token, "code": CODE[:-1] + "?"})
    assert wrong.status == 401 and "not right" in wrong.text
    before = dict(browser.cookies)
    right = browser.post("/access", {"csrf": token, "code": CODE})
    assert right.status == 303
    assert browser.cookies != before  # a new session id once signed in (no fixation)
    assert 'name="patient"' in browser.get("/").text
    assert browser.discharge(GOOD).status == 200
    other_browser = browser.post("/discharge", {**GOOD, "csrf": token}, cookies=False)
    assert other_browser.status == 401


# --- only its own names -----------------------------------------------------------------

FOREIGN = ("evil.example", "127.0.0.1.nip.io", "localhost.evil.example", "evil.example:{port}",
           f"{PROXY_NAME}.evil.example", "0.0.0.0", "127.0.0.1@evil.example", "[::2]", "")


def test_a_foreign_host_name_gets_421_and_nothing_is_printed(desk: Desk) -> None:
    """DNS rebinding: a page at another name, pointed at the desk, is refused before
    the desk looks at the request, whatever cookie and token it carries."""
    nurse = sign_in(desk)
    token = nurse.token()
    before = records(desk)
    for host in FOREIGN:
        host = host.format(port=desk.port)
        page = nurse.get("/", headers={"Host": host})
        assert page.status == 421, host
        assert "set-cookie" not in page.headers and "csrf" not in page.text
        assert page.headers["cache-control"] == "no-store"
        printed = nurse.discharge(GOOD, token, headers={"Host": host})
        assert printed.status == 421 and not printed.body.startswith(b"%PDF"), host
    no_host = raw_reply(desk, b"GET / HTTP/1.0\r\n\r\n")
    assert no_host.status == 421
    assert records(desk) == before
    # Its own names: loopback in any spelling, and the one given with --allowed-host.
    for host in (f"127.0.0.1:{desk.port}", "LOCALHOST", "localhost.", "127.0.0.2",
                 f"[::1]:{desk.port}", PROXY_NAME, f"{PROXY_NAME.upper()}:443"):
        assert nurse.get("/", headers={"Host": host}).status == 200, host
    assert nurse.discharge(GOOD, token, headers={"Host": PROXY_NAME}).status == 200
    assert "refused a request for a name the desk does not serve: evil.example" in desk.log()


def test_a_badly_formed_allowed_host_stops_the_desk_with_one_line() -> None:
    proc = run_pipeline("serve", "--port", "0", "--allowed-host", "desk ward/x", timeout=60)
    assert_process_failed(proc, "--allowed-host desk ward/x", "not a host name")


# --- sessions -----------------------------------------------------------------------------


def test_visitors_without_the_code_cannot_push_a_nurse_out(desk: Desk) -> None:
    """No visitor without the code gets a session on the desk, so a flood of them
    cannot push out a signed-in nurse; the limit is real (3 here), as three more
    browsers that do give the code show."""
    nurse = sign_in(desk)
    for _ in range(200):  # more than the desk keeps, many times over
        assert desk.get("/", cookies=False).status == 200
    for _ in range(30):
        made_up = {"Cookie": f"desk_session={uuid.uuid4().hex}"}
        assert desk.get("/", headers=made_up, cookies=False).status == 200
        assert desk.post("/access", {"csrf": "0" * 64, "code": "guess"}, headers=made_up,
                         cookies=False).status == 403
    assert nurse.discharge(GOOD).status == 200
    for _ in range(LIMITS["--max-sessions"]):
        sign_in(desk)
    assert nurse.discharge(GOOD).status == 401  # the longest signed in is asked again


def test_the_access_form_works_without_a_session_on_the_desk(desk: Desk) -> None:
    """The CSRF token is a signature of the browser's own random cookie: another
    browser's token, or none, is refused."""
    first, second = desk.browser(), desk.browser()
    token = csrf_of(first.get("/").text)
    second.get("/")
    assert second.post("/access", {"csrf": token, "code": CODE}).status == 403
    assert first.post("/access", {"code": CODE}).status == 403
    assert first.post("/access", {"csrf": token, "code": CODE}).status == 303


# --- connections ------------------------------------------------------------------------


def test_idle_and_half_sent_connections_cannot_keep_a_nurse_out(desk: Desk) -> None:
    """250 connections that send nothing or half a request, from one address and from
    fifty, against caps of 8 per client and 40 in all: the nurse's request still gets
    in at once (the longest-idle connection is closed to make room)."""
    nurse = sign_in(desk)
    token = nurse.token()
    fds = len(os.listdir(f"/proc/{desk.process.pid}/fd"))
    held = []
    try:
        for index in range(250):
            source = "127.0.0.1" if index < 100 else f"127.0.0.{20 + index % 50}"
            sock = socket.create_connection(("127.0.0.1", desk.port), timeout=5,
                                            source_address=(source, 0))
            if index % 10 == 0:
                sock.sendall(b"POST /discharge HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(sock)
        started = time.monotonic()
        assert desk.get("/healthz", cookies=False, timeout=5).status == 200
        reply = nurse.discharge({**GOOD, "notes": "Past the idle sockets."}, token,
                                timeout=10)
        assert reply.status == 200 and reply.body.startswith(b"%PDF")
        assert time.monotonic() - started < 5
        held_by_desk = len(os.listdir(f"/proc/{desk.process.pid}/fd")) - fds
        assert held_by_desk <= LIMITS["--max-connections"], held_by_desk
    finally:
        for sock in held:
            sock.close()


def test_an_idle_connection_is_closed(desk: Desk) -> None:
    with socket.create_connection(("127.0.0.1", desk.port), timeout=15) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the desk
        waited = time.monotonic() - started
    assert LIMITS["--idle-timeout"] - 0.5 <= waited < LIMITS["--idle-timeout"] + 5


# --- a hung renderer -----------------------------------------------------------------------


def test_a_hung_renderer_is_replaced_and_the_nurse_told_at_once(desk: Desk) -> None:
    nurse = sign_in(desk)
    token = nurse.token()
    before = records(desk)
    [renderer] = desk.renderer_pids()
    os.kill(renderer, signal.SIGSTOP)  # hung: alive, but it never answers
    try:
        started = time.monotonic()
        reply = nurse.discharge({**GOOD, "patient": "Hung Renderer"}, token)
        waited = time.monotonic() - started
    finally:
        try:
            os.kill(renderer, signal.SIGCONT)
        except ProcessLookupError:
            pass
    limit = LIMITS["--render-timeout"]
    assert reply.status == 503 and "took too long" in reply.text and "Hung" not in reply.text
    assert reply.headers["cache-control"] == "no-store"
    assert limit - 0.5 <= waited < limit + 4, waited
    health = desk.health()
    fault = health_json(desk)["last_fault"]
    assert f"did not finish a sheet within {limit} s" in fault["what"]
    if health.status != 200:  # still replacing it: said so
        assert health_json(desk)["status"] in ("fault", "ready")
    desk.wait_ready()
    after = health_json(desk)
    assert after["faults"] == 1 and after["last_fault"] == fault
    assert renderer not in desk.renderer_pids()
    assert records(desk) == before
    again = nurse.discharge(GOOD, token)
    assert again.status == 200 and again.body.startswith(b"%PDF")


# --- guessing the code ------------------------------------------------------------------------


def test_the_code_file_must_be_readable_by_the_desk_s_account_only(tmp_path: Path) -> None:
    code_file = tmp_path / "code"
    code_file.write_text("correct-horse-battery\n")
    for mode in (0o644, 0o640, 0o602):
        code_file.chmod(mode)
        proc = run_pipeline("serve", "--port", "0", "--access-code-file", code_file,
                            timeout=60)
        assert_process_failed(proc, str(code_file), "other accounts can read",
                              f"permissions {mode:04o}", f"chmod 600 {code_file}")
        assert b"correct-horse" not in proc.stderr


def test_wrong_codes_lock_out_the_client_then_everyone(desk: Desk) -> None:
    """3 wrong codes lock a client out for 2 s, doubling with each further one; while
    locked, even the right code is refused, at once, with Retry-After. Guesses sent
    in parallel (as many as one client may connect) are counted one by one. Past 10 wrong codes in all, everyone waits;
    a browser already signed in keeps printing."""
    nurse = sign_in(desk)
    guesser = desk.browser()
    token = csrf_of(guesser.get("/", source="127.0.0.2").text)

    def guess(code: str, source: str = "127.0.0.2", browser: Desk = guesser,
              csrf: str = token):
        return browser.post("/access", {"csrf": csrf, "code": code}, source=source)

    assert [guess("wrong-guess-1").status for _ in range(2)] == [401, 401]
    third = guess("wrong-guess-3")
    assert third.status == 401 and third.headers["retry-after"] == "2"
    started = time.monotonic()
    locked = guess(CODE)
    assert locked.status == 429 and time.monotonic() - started < 1.5  # no pause
    assert locked.headers["retry-after"] in ("1", "2") and "Wait" in locked.text
    assert 'name="patient"' not in guesser.get("/", source="127.0.0.2").text
    time.sleep(int(locked.headers["retry-after"]) + 0.2)
    fourth = guess("wrong-guess-4")
    assert fourth.status == 401 and fourth.headers["retry-after"] == "4"  # doubled
    assert guess(CODE).status == 429

    parallel = desk.browser()
    parallel_token = csrf_of(parallel.get("/", source="127.0.0.3").text)
    at_once = LIMITS["--connections-per-client"]  # more would not even be let in
    with ThreadPoolExecutor(at_once) as pool:
        started = time.monotonic()
        statuses = list(pool.map(lambda n: guess(f"parallel-{n}", "127.0.0.3", parallel,
                                                 parallel_token).status, range(at_once)))
        elapsed = time.monotonic() - started
    assert statuses.count(401) == 3 and statuses.count(429) == at_once - 3, statuses
    assert elapsed < 5  # no answer waited inside a worker thread

    for index in range(12):  # one wrong code each from new clients, until all wait
        source = f"127.0.0.{100 + index}"
        stranger = desk.browser()
        csrf = csrf_of(stranger.get("/", source=source).text)
        if guess("wrong-again", source, stranger, csrf).status == 429:
            break
    else:
        raise AssertionError("wrong codes from many clients never locked the desk")
    newcomer = desk.browser()
    csrf = csrf_of(newcomer.get("/", source="127.0.0.200").text)
    everyone = guess(CODE, "127.0.0.200", newcomer, csrf)
    assert everyone.status == 429
    assert nurse.discharge(GOOD).status == 200  # signed in already: not held up
    time.sleep(int(everyone.headers["retry-after"]) + 0.2)
    assert guess(CODE, "127.0.0.200", newcomer, csrf).status == 303
    assert CODE not in desk.log()
