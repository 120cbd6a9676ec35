"""The `relay: exec` route (issue 12): one program per WebSocket connection,
websocketd-compatible, through the real wsgated with real programs
(exec_programs/, small scripts that say what they saw) and real clients
(Python's websockets; wsraw for exact requests and HTTP answers).

Contract under test (decisions of issue 12):
- Text mode: each text message + "\\n" to stdin; a message containing "\\n"
  closes with 1003; each stdout line is one text message; a line longer
  than limits.max_message closes with 1009, one that is not UTF-8 with 1007.
- Binary mode: payloads to stdin as bytes, stdout reads become binary
  messages.
- The child exits: all its output, then Close 1000 (exit 0), 1011 with
  "exit status N" (exit N), 1011 with "signal" and the name (killed).
- The client goes: stdin closed, then SIGINT, SIGTERM, SIGKILL to the
  child's process group after the exec.kill_after gaps; grandchildren go
  too; every child is reaped.
- Backpressure both ways with bounded worker memory.
- max_processes per worker: beyond it the upgrade is answered 429.
- scripts_dir: the route path is a URL prefix; missing, not executable,
  `..` (plain or %-encoded), symlinks out of the directory: 404.
- The environment: the CGI names, HTTPS=on over TLS, one HTTP_<NAME> per
  header, env.pass (default PATH, LD_LIBRARY_PATH) and env.set, nothing
  else of the daemon's environment. Only fds 0, 1, 2.
- stderr lines in the error log with route, pid and peer.
- No child survives kill -9 of the worker or of the supervisor, or a drain.
- Stats counters exec_* and the access log's pid= and exit= fields.

What websocketd itself does is in /work/notes/websocketd-env.md and
test_websocketd_compat.py.

Every exec route built here (Exec.route) sets WSGATE_EXEC_TEST_MARKER to a
value unique to the test in the children's environment; teardown kills
whatever still carries it (children and grandchildren alike), after the
gateway itself is gone, so no test leaves a process behind.
"""
import asyncio
import contextlib
import copy
import hashlib
import json
import os
import re
import signal
import ssl
import stat
import subprocess
import time
import uuid

import pytest
import websockets

import wsraw
from conftest import WSGATED, deep_merge, pid_alive, processes_with_arg, wait_for
from test_proxy import (RSS_GROWTH_LIMIT, client_socket, kernel_buffer_bound, wait_stalled,
                        worker_rss)
from tls_certs import CertKit

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "exec_programs")
MiB = 1024 * 1024

KILL_AFTER = (0.1, 0.25, 0.5)  # the default exec.kill_after, seconds
KILL_TOTAL = sum(KILL_AFTER)
SLACK = 1.5  # scheduling, polling and Python start-up on a loaded 2-core machine
MARKER_VAR = "WSGATE_EXEC_TEST_MARKER"

# The CGI variables issue 12 lists (HTTPS only on TLS listeners).
CGI_NAMES = ("SERVER_SOFTWARE", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "SERVER_NAME",
             "SERVER_PORT", "SERVER_PROTOCOL", "GATEWAY_INTERFACE", "REQUEST_METHOD",
             "SCRIPT_NAME", "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REQUEST_URI",
             "UNIQUE_ID")
EMPTY_NAMES = ("AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "REMOTE_IDENT", "REMOTE_USER")
EXEC_COUNTERS = ("exec_processes_running", "exec_spawned", "exec_spawn_failures",
                 "exec_exits_ok", "exec_exits_error", "exec_exits_signal")


def program(name):
    return os.path.join(PROGRAMS, name)


# -- processes ---------------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, pgid) of pid, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


def live_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None and st[0] != "Z":
                pids.append(int(entry))
    return pids


def pids_with_env(name, value):
    """Live processes whose environment holds NAME=value."""
    needle = f"{name}={value}".encode()
    found = []
    for pid in live_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                items = f.read().split(b"\0")
        except OSError:
            continue
        if needle in items:
            found.append(pid)
    return found


def group_members(pgid):
    return [pid for pid in live_pids() if (st := proc_stat(pid)) and st[2] == pgid]


def zombie_children(ppid):
    return [int(e) for e in os.listdir("/proc") if e.isdigit()
            and (st := proc_stat(int(e))) and st[0] == "Z" and st[1] == ppid]


def wchar(pid):
    """Bytes pid has passed to write(2) so far (/proc/PID/io)."""
    with open(f"/proc/{pid}/io", encoding="ascii") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise AssertionError("no wchar")


def wait_gone(pids, timeout, what="processes"):
    """Waits until none of pids is alive (zombies count as gone); returns
    the time.monotonic() at which that was seen (polled every 10 ms)."""
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout, interval=0.01,
             message=f"{what} {pids} to be gone (alive: {[p for p in pids if pid_alive(p)]})")
    return time.monotonic()


def kill_all(pids):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- the fixture -----------------------------------------------------------------------------

class Exec:
    """Builds exec routes that mark their children, starts gateways with
    them (one worker by default, so stats, logs and memory are one
    process's), and finds the marked processes."""

    def __init__(self, factory, tmp_path):
        self.factory = factory
        self.tmp = str(tmp_path)
        self.marker = f"wsgate-exec-test-{uuid.uuid4().hex}"
        self.gateways = []

    def route(self, path, command=None, **options):
        options = copy.deepcopy(options)
        if command is not None:
            options["command"] = list(command)
        options.setdefault("env", {}).setdefault("set", {})[MARKER_VAR] = self.marker
        return {"path": path, "relay": "exec", "exec": options}

    def start(self, *routes, workers=1, extra=None, env=None, start=True):
        merged = deep_merge(extra or {}, {"routes": list(routes)})
        gw = self.factory(workers=workers, extra=merged, env=env, start=start)
        self.gateways.append(gw)
        return gw

    def children(self):
        """Live processes started for this test (children, grandchildren)."""
        return pids_with_env(MARKER_VAR, self.marker)

    def cleanup(self):
        for gw in self.gateways:
            gw.cleanup()
        leftovers = self.children()
        kill_all(leftovers)
        with contextlib.suppress(AssertionError):
            wait_gone(leftovers, 10)
        return leftovers


@pytest.fixture
def ex(gateway, tmp_path):
    helper = Exec(gateway, tmp_path)
    yield helper
    leftovers = helper.cleanup()
    if leftovers:
        # The dedicated tests below fail on this; elsewhere it is only said.
        print(f"exec children left after the gateway was killed: {leftovers}")


# -- clients ----------------------------------------------------------------------------------

def connect(url, **kwargs):
    options = {"open_timeout": 5, "close_timeout": 5, "ping_interval": None, "max_size": None}
    options.update(kwargs)
    return websockets.connect(url, **options)


def run(coro, timeout=60):
    """asyncio.run with an upper bound on the whole coroutine."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def recv(ws, timeout=5):
    return await asyncio.wait_for(ws.recv(), timeout)


async def read_until_close(ws, timeout=10):
    """Every message until the gateway closes: (messages, code, reason)."""
    messages = []
    deadline = time.monotonic() + timeout
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            messages.append(await asyncio.wait_for(ws.recv(),
                                                   max(0.01, deadline - time.monotonic())))
    return messages, ws.close_code, ws.close_reason


def session(url, sends=(), timeout=10):
    """Opens, sends each message, reads until the gateway closes."""
    async def main():
        async with connect(url) as ws:
            for message in sends:
                await ws.send(message)
            return await read_until_close(ws, timeout)
    return run(main(), timeout + 10)


def first_line_fields(message):
    """The words of a message's first line ("pid 123" -> ["pid", "123"])."""
    if isinstance(message, bytes):
        message = message.decode("ascii", "replace")
    return message.split("\n", 1)[0].split()


def request_bytes(path, host, headers=()):
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {wsraw.KEY}", "Sec-WebSocket-Version: 13"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def raw_session(port, path, headers=(), host=None, tls=None, timeout=10):
    """One upgrade with exactly these headers. Returns a dict: status, body
    (non-101), texts (text payloads, decoded), binaries, close (code,
    reason) or None, eof, local_port."""
    client = wsraw.RawClient(port, timeout=timeout)
    try:
        if tls is not None:
            client.sock = tls.wrap_socket(client.sock, server_hostname="localhost")
        result = {"local_port": client.sock.getsockname()[1], "texts": [], "binaries": [],
                  "close": None, "eof": False}
        client.send(request_bytes(path, host or f"127.0.0.1:{port}", headers))
        status, response_headers = client.read_http_head()
        result["status"], result["headers"] = status, response_headers
        if status != 101:
            length = int(response_headers.get("content-length", "0"))
            with contextlib.suppress(OSError, EOFError):
                while len(client.buffer) < length:
                    client.recv_some()
            result["body"] = client.buffer[:length]
            return result
        try:
            while True:
                _, opcode, payload = client.read_frame()
                if opcode == 0x1:
                    result["texts"].append(payload.decode("utf-8", "replace"))
                elif opcode == 0x2:
                    result["binaries"].append(payload)
                elif opcode == 0x8:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    result["close"] = (code, payload[2:].decode("utf-8", "replace"))
                    with contextlib.suppress(OSError):
                        client.send(wsraw.close_frame(code or 1000))
                    break
        except (EOFError, ConnectionResetError):
            result["eof"] = True
        return result
    finally:
        client.close()


def http_status(port, path, timeout=5):
    """The HTTP status of one upgrade request (the connection is closed
    right after the head)."""
    client = wsraw.RawClient(port, timeout=timeout)
    try:
        client.send(request_bytes(path, f"127.0.0.1:{port}"))
        return client.read_http_head()[0]
    finally:
        client.close()


def parse_env(lines):
    """(env dict, '#' lines dict, duplicated names) of an envdump.py run."""
    env, extra, duplicates = {}, {}, []
    for line in lines:
        if line.startswith("#"):
            name, _, value = line[1:].partition("=")
            extra[name] = value
            continue
        name, _, value = line.partition("=")
        if name in env:
            duplicates.append(name)
        env[name] = value
    return env, extra, duplicates


# -- stats and logs ---------------------------------------------------------------------------

def totals(gw):
    return gw.stats()["totals"]


def access_line(gw, *needles, timeout=5):
    return wait_for(lambda: next((line for line in gw.access_log().splitlines()
                                  if all(n in line for n in needles)), None), timeout,
                    message=f"access log line with {needles}")


def error_line(gw, *needles, timeout=5):
    return wait_for(lambda: next((line for line in gw.error_log().splitlines()
                                  if all(n in line for n in needles)), None), timeout,
                    message=f"error log line with {needles}")


# ============================================================================================
# text mode
# ============================================================================================

def test_text_mode_echoes_each_message_as_one_line(ex):
    gw = ex.start(ex.route("/x", [program("line_echo.sh")]))
    sent = ["hello", "", "h\u00e9llo \u20ac \U0001F600", "x" * 5000, "tab\there  spaces  "]

    async def main():
        async with connect(gw.url("/x")) as ws:
            replies = []
            for message in sent:
                await ws.send(message)
                replies.append(await recv(ws))
            return replies

    replies = run(main())
    assert replies == sent
    assert all(isinstance(r, str) for r in replies), "stdout lines come back as text messages"


def test_text_message_containing_a_newline_closes_1003(ex):
    gw = ex.start(ex.route("/x", [program("line_echo.sh")]))
    messages, code, reason = session(gw.url("/x"), ["first\nsecond"])
    assert code == 1003, (code, reason)
    assert messages == [], f"the message reached the program anyway: {messages}"


def test_counter_lines_stream_as_they_come_then_close_1000(ex):
    gw = ex.start(ex.route("/x", [program("counter.sh")]))

    async def main():
        arrivals, messages = [], []
        async with connect(gw.url("/x")) as ws:
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    messages.append(await recv(ws, 10))
                    arrivals.append(time.monotonic())
            return messages, arrivals, ws.close_code

    messages, arrivals, code = run(main())
    assert messages == [str(i) for i in range(1, 11)]
    assert code == 1000
    # 100 ms between lines: each goes out when written, not at the exit.
    assert arrivals[-1] - arrivals[0] >= 0.6, [round(t - arrivals[0], 3) for t in arrivals]


def test_all_output_is_delivered_before_close_1000(ex):
    gw = ex.start(ex.route("/x", [program("many_lines.sh"), "20000"]))
    messages, code, reason = session(gw.url("/x"), timeout=30)
    assert len(messages) == 20000 and messages == [str(i) for i in range(1, 20001)], \
        f"{len(messages)} messages, last {messages[-3:]}"
    assert code == 1000, (code, reason)


def test_stdout_line_longer_than_max_message_closes_1009(ex):
    gw = ex.start(ex.route("/long", [program("long_line.py"), "10000"]),
                  ex.route("/fits", [program("long_line.py"), "4000"]),
                  extra={"limits": {"max_message": 4096, "max_frame": 4096}})
    messages, code, reason = session(gw.url("/long"))
    assert code == 1009, (code, reason)
    assert messages == ["short"], [m[:20] for m in messages]

    async def fits():
        async with connect(gw.url("/fits")) as ws:
            return [await recv(ws), await recv(ws)]

    assert run(fits()) == ["short", "y" * 4000], "a line within max_message is one message"


def test_stdout_line_that_is_not_utf8_closes_1007(ex):
    gw = ex.start(ex.route("/x", [program("bad_utf8.sh")]))
    messages, code, reason = session(gw.url("/x"))
    assert code == 1007, (code, reason)
    assert messages == ["ok"], messages


# ============================================================================================
# binary mode
# ============================================================================================

def test_binary_mode_passes_bytes_both_ways(ex):
    # "cat" has no '/': found in the daemon's PATH at load time.
    gw = ex.start(ex.route("/bin", ["cat"], mode="binary"))
    sent = [b"\x00\x01\xfe\xff\n\r\n", bytes(range(256)), os.urandom(300 * 1024), b"end"]
    expected = b"".join(sent)

    async def main():
        async with connect(gw.url("/bin")) as ws:
            for payload in sent:
                await ws.send(payload)
            data, kinds = b"", set()
            while len(data) < len(expected):
                message = await recv(ws, 10)
                kinds.add(type(message).__name__)
                data += message if isinstance(message, bytes) else message.encode()
            return data, kinds

    data, kinds = run(main())
    assert data == expected
    assert kinds == {"bytes"}, f"stdout reads become binary messages, got {kinds}"


# ============================================================================================
# how a child ends
# ============================================================================================

EXITS = {
    # name: (command, first line, close code, words in the reason, words in exit=)
    "exit 0": (["exit_with.sh", "0"], "before exit", 1000, [], ["0"]),
    "exit 3": (["exit_with.sh", "3"], "before exit", 1011, ["exit status 3"], ["3"]),
    "SIGKILL": (["kill_self.sh", "KILL"], "before signal", 1011, ["signal", "SIGKILL"],
                ["KILL|9"]),
    "SIGTERM": (["kill_self.sh", "TERM"], "before signal", 1011, ["signal", "SIGTERM"],
                ["TERM|15"]),
}


@pytest.mark.parametrize("case", sorted(EXITS))
def test_child_exit_decides_the_close_code_and_reason(case, ex):
    command, line, want_code, words, exit_words = EXITS[case]
    gw = ex.start(ex.route("/x", [program(command[0])] + command[1:]))
    messages, code, reason = session(gw.url("/x"))
    assert messages == [line], "the output comes before the Close"
    assert code == want_code, (code, reason)
    for word in words:
        assert word in reason, f"{word!r} not in the close reason {reason!r}"
    log = access_line(gw, "route=/x")
    assert re.search(r"\bpid=\d+\b", log), f"no pid= in the access log line: {log}"
    found = re.search(r"\bexit=(\S+)", log)
    assert found, f"no exit= in the access log line: {log}"
    assert re.search(exit_words[0], found.group(1)), f"exit= should say {exit_words}: {log}"
    worker = gw.worker_pids()[0]
    wait_for(lambda: not zombie_children(worker), 5,
             message=f"the worker to reap its children (zombies: {zombie_children(worker)})")


KILL_AFTER_CASES = {"default": None, "configured": ("300ms", "200ms", "400ms")}


@pytest.mark.parametrize("case", sorted(KILL_AFTER_CASES))
def test_client_leaving_closes_stdin_then_int_term_kill_to_the_group(case, ex, tmp_path):
    configured = KILL_AFTER_CASES[case]
    gaps = KILL_AFTER if configured is None else tuple(int(v[:-2]) / 1000 for v in configured)
    log_path = str(tmp_path / "signals.log")
    options = {} if configured is None else {"kill_after": list(configured)}
    gw = ex.start(ex.route("/x", [program("signal_log.py"), log_path], **options))

    async def main():
        async with connect(gw.url("/x")) as ws:
            fields = first_line_fields(await recv(ws, 10))
            assert fields[0] == "ready", fields
            return int(fields[1]), int(fields[2]), time.monotonic()

    child, grandchild, left_at = run(main())
    gone_at = wait_gone([child, grandchild], sum(gaps) + SLACK + 1, "child and grandchild")
    events = {}
    with open(log_path, encoding="ascii") as f:
        for line in f:
            at, role, _pid, event = line.split()
            events.setdefault((role, event), float(at))
    eof = events.get(("child", "stdin-eof"))
    sigint = events.get(("child", "SIGINT"))
    sigterm = events.get(("child", "SIGTERM"))
    assert eof is not None and sigint is not None and sigterm is not None, events
    assert eof - left_at < 0.5, f"stdin closed {eof - left_at:.3f}s after the client left"
    assert eof < sigint < sigterm, events
    assert gaps[0] * 0.8 <= sigint - eof <= gaps[0] + 0.5, \
        f"SIGINT {sigint - eof:.3f}s after stdin closed, configured {gaps[0]}"
    assert gaps[1] * 0.8 <= sigterm - sigint <= gaps[1] + 0.5, \
        f"SIGTERM {sigterm - sigint:.3f}s after SIGINT, configured {gaps[1]}"
    killed_after = gone_at - sigterm
    print(f"kill_after {gaps}: stdin closed +{eof - left_at:.3f}s, SIGINT +{sigint - eof:.3f}s, "
          f"SIGTERM +{sigterm - sigint:.3f}s, gone +{killed_after:.3f}s")
    assert gaps[2] * 0.8 <= killed_after <= gaps[2] + SLACK, \
        f"gone {killed_after:.3f}s after SIGTERM, configured {gaps[2]}"
    # The group was signalled: the grandchild got them too.
    assert ("grandchild", "SIGINT") in events and ("grandchild", "SIGTERM") in events, \
        f"the grandchild was not signalled: {events}"


def test_child_ignoring_int_and_term_ends_by_sigkill_within_the_bound(ex):
    gw = ex.start(ex.route("/x", [program("stubborn.sh")]))

    async def main():
        async with connect(gw.url("/x")) as ws:
            fields = first_line_fields(await recv(ws, 10))
            pid = int(fields[1])
            st = proc_stat(pid)
            return pid, st, time.monotonic()

    pid, st, left_at = run(main())
    assert st is not None and st[2] == pid, \
        f"the child leads its own process group (stat {st}), so the group can be signalled"
    elapsed = wait_gone([pid], KILL_TOTAL + SLACK + 2, "the stubborn child") - left_at
    assert KILL_TOTAL * 0.8 <= elapsed <= KILL_TOTAL + SLACK, \
        f"gone {elapsed:.3f}s after the client left (INT and TERM ignored: SIGKILL at {KILL_TOTAL}s)"
    wait_for(lambda: not group_members(pid), 2, message=f"process group {pid} to be empty")
    print(f"stubborn child gone {elapsed:.3f}s after the client left")


@pytest.mark.parametrize("how", ["client leaves", "child exits"])
def test_grandchild_does_not_outlive_its_child(how, ex):
    mode = "wait" if how == "client leaves" else "exit"
    gw = ex.start(ex.route("/x", [program("forker.sh"), mode, ex.marker]))

    async def main():
        async with connect(gw.url("/x")) as ws:
            fields = first_line_fields(await recv(ws, 10))
            assert fields[0] == "child" and fields[2] == "grandchild", fields
            if mode == "exit":
                _, code, reason = await read_until_close(ws)
                return int(fields[1]), int(fields[3]), (code, reason)
            return int(fields[1]), int(fields[3]), None

    child, grandchild, closed = run(main())
    if mode == "exit":
        assert closed[0] == 1000, closed
    wait_gone([child, grandchild], KILL_TOTAL + SLACK + 1, "child and grandchild")
    assert processes_with_arg(ex.marker) == []


# ============================================================================================
# backpressure
# ============================================================================================

@pytest.mark.parametrize("mode", ["text", "binary"])
def test_child_flooding_stdout_is_held_back_while_the_client_does_not_read(mode, ex):
    total, line = 200 * MiB, 4096
    gw = ex.start(ex.route("/flood", [program("flood.py"), str(total), str(line)], mode=mode))
    baseline = worker_rss(gw)
    peak = [baseline]

    def sample():
        peak[0] = max(peak[0], worker_rss(gw))

    def expected_prefix(count):
        lines, number = [], 0
        while len(lines) * line < count:
            lines.append(b"%09d " % number + b"x" * (line - 11) + b"\n")
            number += 1
        return b"".join(lines)[:count]

    async def main():
        sock = client_socket(gw.port, rcvbuf=64 * 1024)
        # max_queue=1: websockets holds one message, then stops reading.
        async with connect(gw.url("/flood"), sock=sock, max_queue=1) as ws:
            first = await recv(ws, 10)
            head = first if isinstance(first, bytes) else (first + "\n").encode()
            pid_line, _, rest = head.partition(b"\n")
            pid = int(pid_line.split()[1])
            held_at = await wait_stalled(lambda: wchar(pid), sample=sample)
            sample()
            state = proc_stat(pid)
            # Read on: the flood resumes, in order.
            want = kernel_buffer_bound() + 8 * MiB
            data = bytearray(rest)
            count = 0
            while len(data) < want:
                message = await recv(ws, 20)
                count += 1
                if isinstance(message, str):
                    assert len(message) == line - 1, len(message)
                    data += message.encode() + b"\n"
                else:
                    data += message
            resumed = wchar(pid)
            # Leave without a closing handshake (the gateway still has
            # megabytes queued for us): the client is simply gone.
            ws.transport.abort()
            return pid, held_at, state, bytes(data), resumed

    pid, held_at, state, data, resumed = run(main(), 120)
    print(f"{mode} flood: held at {held_at} of {total} bytes, child {state}, worker RSS "
          f"+{(peak[0] - baseline) // 1024} KiB, {len(data)} bytes read back, resumed to {resumed}")
    assert held_at < total // 2, f"the child wrote {held_at} of {total} bytes unhindered"
    assert state is not None and state[0] in "SD", f"the child should be blocked: {state}"
    assert peak[0] - baseline < RSS_GROWTH_LIMIT, (baseline, peak[0])
    assert resumed > held_at, "the child went on once the client read"
    assert data == expected_prefix(len(data)), "the lines came back whole and in order"
    wait_gone([pid], KILL_TOTAL + SLACK + 1, "the flooding child after the client left")


def test_child_not_reading_stdin_stalls_the_client(ex, tmp_path):
    total, chunk = 20 * MiB, 64 * 1024
    data = os.urandom(total)
    release = str(tmp_path / "release")
    gw = ex.start(ex.route("/sink", [program("no_read.py"), release, str(total)], mode="binary"))
    baseline = worker_rss(gw)
    peak = [baseline]

    def sample():
        peak[0] = max(peak[0], worker_rss(gw))

    async def main():
        sock = client_socket(gw.port, sndbuf=64 * 1024)
        async with connect(gw.url("/sink"), sock=sock) as ws:
            pid = int(first_line_fields(await recv(ws, 10))[1])
            sent = [0]

            async def sender():
                for offset in range(0, total, chunk):
                    await ws.send(data[offset:offset + chunk])
                    sent[0] = offset + chunk

            task = asyncio.ensure_future(sender())
            try:
                stalled = await wait_stalled(lambda: sent[0], sample=sample)
                sample()
                done_early = task.done()
                with open(release, "w", encoding="ascii"):
                    pass
                await asyncio.wait_for(task, 60)
            finally:
                task.cancel()
            reply = b""
            while b"\n" not in reply:
                message = await recv(ws, 30)
                reply += message if isinstance(message, bytes) else message.encode()
            _, code, _ = await read_until_close(ws)
            return pid, stalled, done_early, reply, code

    pid, stalled, done_early, reply, code = run(main(), 120)
    print(f"no-read child: client sends stalled at {stalled} of {total} bytes, worker RSS "
          f"+{(peak[0] - baseline) // 1024} KiB")
    assert not done_early, "every send went through while the child read nothing"
    assert stalled < total - 4 * MiB, stalled
    assert peak[0] - baseline < RSS_GROWTH_LIMIT, (baseline, peak[0])
    assert reply.split() == [b"got", str(total).encode(), hashlib.sha256(data).hexdigest().encode()]
    assert code == 1000


# ============================================================================================
# limits
# ============================================================================================

def test_max_processes_at_the_limit_and_beyond_gets_429(ex):
    gw = ex.start(ex.route("/x", [program("line_echo.sh")], max_processes=2))

    async def main():
        held = []
        try:
            for i in range(2):
                ws = await connect(gw.url("/x"))
                held.append(ws)
                await ws.send(f"hi {i}")
                assert await recv(ws) == f"hi {i}", "a connection within the limit works"
            loop = asyncio.get_running_loop()
            beyond = await loop.run_in_executor(None, http_status, gw.port, "/x")
            await held.pop().close()

            def upgrade_again():
                client = wsraw.RawClient(gw.port)
                client.send(request_bytes("/x", f"127.0.0.1:{gw.port}"))
                status = client.read_http_head()[0]
                if status == 101:
                    return client
                client.close()
                return None

            again = await loop.run_in_executor(None, lambda: wait_for(
                upgrade_again, 5, message="a 101 once one of the two has gone"))
            again.close()
            return beyond
        finally:
            for ws in held:
                await ws.close()

    assert run(main()) == 429


def test_rlimits_apply_to_the_child(ex):
    gw = ex.start(ex.route("/x", [program("envdump.py")],
                           rlimits={"nofile": 64, "nproc": 4096, "as": 2 * 1024 * MiB,
                                    "cpu": "30s"}))
    messages, code, _ = session(gw.url("/x"))
    _, extra, _ = parse_env(messages)
    assert code == 1000
    assert extra.get("RLIMIT_NOFILE") == "64 64", extra
    assert extra.get("RLIMIT_NPROC") == "4096 4096", extra
    assert extra.get("RLIMIT_AS") == f"{2 * 1024 * MiB} {2 * 1024 * MiB}", extra
    assert extra.get("RLIMIT_CPU") == "30 30", extra


def test_cpu_rlimit_ends_a_spinning_child_by_signal(ex):
    gw = ex.start(ex.route("/x", [program("spin.py")], rlimits={"cpu": "1s"}))
    started = time.monotonic()
    messages, code, reason = session(gw.url("/x"), timeout=15)
    assert messages == ["spinning"]
    assert code == 1011 and "signal" in reason, (code, reason)
    assert time.monotonic() - started < 10


# ============================================================================================
# scripts_dir
# ============================================================================================

@pytest.fixture
def scripts(tmp_path):
    """tmp/scripts: env.sh, sub/env.sh, noexec.sh (0644), link-in.sh (to
    env.sh), link-out.sh (to ../outside.sh), empty/ (a directory); and
    tmp/outside.sh, which records that it ran."""
    base = os.path.realpath(str(tmp_path))
    root = os.path.join(base, "scripts")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(root, "empty"))
    with open(program("envdump.py"), encoding="utf-8") as f:
        dump = f.read()
    for rel, mode in (("env.sh", 0o755), ("sub/env.sh", 0o755), ("noexec.sh", 0o644)):
        path = os.path.join(root, rel)
        with open(path, "w", encoding="utf-8") as f:
            f.write(dump)
        os.chmod(path, mode)
    ran = os.path.join(base, "outside-ran")
    outside = os.path.join(base, "outside.sh")
    with open(outside, "w", encoding="utf-8") as f:
        f.write(f"#!/bin/sh\ntouch {ran}\necho outside\n")
    os.chmod(outside, 0o755)
    os.symlink("env.sh", os.path.join(root, "link-in.sh"))
    os.symlink(outside, os.path.join(root, "link-out.sh"))
    return {"root": root, "ran": ran}


SCRIPT_RUNS = {
    # request: (SCRIPT_NAME, PATH_INFO, QUERY_STRING, argv[0] under the root)
    "/x/env.sh": ("/x/env.sh", "", "", "env.sh"),
    "/x/env.sh/extra/path?q=1": ("/x/env.sh", "/extra/path", "q=1", "env.sh"),
    "/x/sub/env.sh": ("/x/sub/env.sh", "", "", "sub/env.sh"),
    "/x/sub/env.sh/more": ("/x/sub/env.sh", "/more", "", "sub/env.sh"),
    "/x/link-in.sh": ("/x/link-in.sh", "", "", None),
}
SCRIPT_REFUSALS = [
    "/x/missing.sh", "/x/noexec.sh", "/x/empty", "/x/empty/", "/x/sub", "/x/", "/x",
    "/x/../outside.sh", "/x/sub/../../outside.sh", "/x/%2e%2e/outside.sh",
    "/x/%2E%2E/outside.sh", "/x/.%2e/outside.sh", "/x/..%2foutside.sh",
    "/x/sub/%2e%2e/%2e%2e/outside.sh", "/x/sub/..%2F..%2Foutside.sh", "/x/link-out.sh",
    "/x/link-out.sh/extra",
]


def test_scripts_dir_runs_the_script_the_url_names(ex, scripts):
    gw = ex.start(ex.route("/x", scripts_dir=scripts["root"]))
    for request, (script_name, path_info, query, argv0) in SCRIPT_RUNS.items():
        result = raw_session(gw.port, request)
        assert result["status"] == 101, (request, result["status"])
        env, extra, _ = parse_env(result["texts"])
        assert env.get("SCRIPT_NAME") == script_name, (request, env.get("SCRIPT_NAME"))
        assert env.get("PATH_INFO") == path_info, (request, env.get("PATH_INFO"))
        assert env.get("QUERY_STRING") == query, (request, env.get("QUERY_STRING"))
        assert env.get("REQUEST_URI") == request, (request, env.get("REQUEST_URI"))
        if argv0 is not None:
            argv = extra.get("ARGV", "").split("\t")
            assert os.path.realpath(argv[0]) == os.path.join(scripts["root"], argv0), \
                (request, argv)
        assert result["close"] and result["close"][0] == 1000, (request, result["close"])


def test_scripts_dir_refuses_with_404(ex, scripts):
    """One gateway, every refusal; the assertion shows them all at once."""
    gw = ex.start(ex.route("/x", scripts_dir=scripts["root"]))
    answers = {}
    for request_path in SCRIPT_REFUSALS:
        result = raw_session(gw.port, request_path)
        answers[request_path] = result["status"]
    assert answers == {p: 404 for p in SCRIPT_REFUSALS}
    assert not os.path.exists(scripts["ran"]), "a request ran the file outside the dir"
    # And the directory still serves what it should.
    assert raw_session(gw.port, "/x/env.sh")["status"] == 101


# ============================================================================================
# the environment
# ============================================================================================

REQUEST_HEADERS = [
    ("Origin", "http://example.com"),
    ("X-Custom-Header", "one"),
    ("X-Custom-Header", "two"),
    ("x-lower_under", "u"),
    ("Cookie", "a=1"),
    ("Cookie", "b=2"),
    ("User-Agent", "wsgate-exec-test/1"),
    ("X-Spaces", "  padded value  "),
]


def expected_http_vars(headers):
    """HTTP_<NAME> (upper case, '-' -> '_') -> the values joined with ', ',
    trimmed, as websocketd does; the handshake headers included."""
    joined = {}
    base = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", wsraw.KEY), ("Sec-WebSocket-Version", "13")]
    for name, value in base + list(headers):
        key = "HTTP_" + name.upper().replace("-", "_")
        joined.setdefault(key, []).append(value.strip())
    return {k: ", ".join(v) for k, v in joined.items()}


GATEWAY_ENV = {"WSGATE_SECRET": "1", "WSGATE_PASSME": "passed on",
               "LD_LIBRARY_PATH": "/nonexistent/wsgate-exec-test-lib"}


def test_environment_is_cgi_and_nothing_else_of_the_daemon(ex, tmp_path):
    gw = ex.start(
        ex.route("/env", [program("envdump.py")],
                 env={"set": {"GREETING": "hello world", "EMPTY_ONE": ""}}),
        ex.route("/env-pass", [program("envdump.py")],
                 env={"pass": ["PATH", "WSGATE_PASSME"]}),
        ex.route("/env-dir", [program("envdump.py")], dir=str(tmp_path)),
        env=GATEWAY_ENV)
    daemon_path = os.environ["PATH"]

    result = raw_session(gw.port, "/env?x=1&y=%20z", REQUEST_HEADERS, host="example.org:8080")
    assert result["status"] == 101 and result["close"] and result["close"][0] == 1000, result
    env, extra, duplicates = parse_env(result["texts"])
    assert duplicates == [], f"variables given twice: {duplicates}"
    missing = [n for n in CGI_NAMES + EMPTY_NAMES if n not in env]
    assert missing == [], f"CGI variables missing: {missing}"
    assert {n: env[n] for n in EMPTY_NAMES} == {n: "" for n in EMPTY_NAMES}
    want = {
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_HOST": "127.0.0.1",
        "REMOTE_PORT": str(result["local_port"]),
        "SERVER_NAME": "example.org", "SERVER_PORT": "8080",  # from the Host header
        "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
        "QUERY_STRING": "x=1&y=%20z", "REQUEST_URI": "/env?x=1&y=%20z",
        "SCRIPT_NAME": "/", "PATH_INFO": "/env",  # websocketd's split for one command
        "PATH": daemon_path, "LD_LIBRARY_PATH": GATEWAY_ENV["LD_LIBRARY_PATH"],
        "GREETING": "hello world", "EMPTY_ONE": "",
    }
    assert {k: env.get(k) for k in want} == want
    assert env["SERVER_SOFTWARE"].startswith("wsgate"), env["SERVER_SOFTWARE"]
    assert env["GATEWAY_INTERFACE"], "GATEWAY_INTERFACE is empty"
    assert env["UNIQUE_ID"], "UNIQUE_ID is empty"
    assert "HTTPS" not in env, "HTTPS on a plain listener"
    http_want = expected_http_vars(REQUEST_HEADERS)
    assert {k: env.get(k) for k in http_want} == http_want
    if "HTTP_HOST" in env:
        assert env["HTTP_HOST"] == "example.org:8080", env["HTTP_HOST"]
        http_want["HTTP_HOST"] = env["HTTP_HOST"]
    known = set(CGI_NAMES) | set(EMPTY_NAMES) | set(want) | set(http_want) | {MARKER_VAR}
    unexpected = sorted(set(env) - known)
    assert unexpected == [], f"variables that should not be there: " \
                             f"{ {k: env[k] for k in unexpected} }"
    assert "WSGATE_SECRET" not in env and "WSGATE_PASSME" not in env
    assert extra.get("CWD") == PROGRAMS, f"default dir is the program's: {extra.get('CWD')}"

    again = parse_env(raw_session(gw.port, "/env")["texts"])[0]
    assert again.get("UNIQUE_ID") and again["UNIQUE_ID"] != env["UNIQUE_ID"], \
        "UNIQUE_ID is the same for two connections"

    passed = parse_env(raw_session(gw.port, "/env-pass")["texts"])[0]
    assert passed.get("WSGATE_PASSME") == "passed on" and passed.get("PATH") == daemon_path
    assert "LD_LIBRARY_PATH" not in passed, "env.pass replaces the default list"
    assert "WSGATE_SECRET" not in passed

    cwd = parse_env(raw_session(gw.port, "/env-dir")["texts"])[1].get("CWD")
    assert cwd == str(tmp_path), cwd


def test_https_is_on_over_wss(ex, tmp_path):
    kit = CertKit(str(tmp_path / "certs"))
    cert, key = kit.leaf("exec", ["localhost"])
    gw = ex.start(ex.route("/env", [program("envdump.py")]),
                  extra={"listen": [{"address": "127.0.0.1:0",
                                     "tls": {"certificates": [{"certificate": cert,
                                                               "key": key}]}}]})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(kit.ca_cert)
    result = raw_session(gw.port, "/env", tls=ctx)
    assert result["status"] == 101, result
    env = parse_env(result["texts"])[0]
    assert env.get("HTTPS") == "on", {k: v for k, v in env.items() if "HTTP" in k}
    assert env.get("SERVER_PORT") == str(gw.port)


def test_stderr_lines_reach_the_error_log_with_route_pid_and_peer(ex):
    gw = ex.start(ex.route("/err", [program("stderr_lines.sh")]))

    async def main():
        async with connect(gw.url("/err")) as ws:
            local_port = ws.local_address[1]
            messages, code, _ = await read_until_close(ws)
            return messages, code, local_port

    messages, code, local_port = run(main())
    assert code == 1000 and messages[-1] == "done", (code, messages)
    pid = first_line_fields(messages[0])[1]
    for text in ("first complaint on stderr", "second complaint on stderr"):
        line = error_line(gw, text)
        assert "/err" in line, f"no route in {line!r}"
        assert re.search(rf"\b{pid}\b", line), f"no pid {pid} in {line!r}"
        assert f"127.0.0.1:{local_port}" in line, f"no peer 127.0.0.1:{local_port} in {line!r}"


def test_stderr_flood_is_rate_limited_and_counted(ex):
    """At most 20 stderr lines a second per program reach the error log;
    the rest are counted and summarised in one line (docs/exec.md)."""
    flood = ["/bin/sh", "-c", 'i=0; while [ $i -lt 200 ]; do echo "flood line $i" >&2; '
             'i=$((i+1)); done; echo done']
    gw = ex.start(ex.route("/flood", flood))
    messages, code, _ = session(gw.url("/flood"))
    assert (messages, code) == (["done"], 1000)
    summary = error_line(gw, "stderr lines suppressed")
    logged = [line for line in gw.error_log().splitlines() if "stderr: flood line" in line]
    suppressed = int(re.search(r"(\d+) stderr lines suppressed", summary).group(1))
    assert 1 <= len(logged) <= 40, f"{len(logged)} lines logged"  # two windows at most
    assert len(logged) + suppressed == 200, (len(logged), suppressed)
    stats = wait_for(lambda: (t := totals(gw))["exec_stderr_suppressed"] == suppressed and t,
                     5, message="exec_stderr_suppressed in stats")
    assert stats["exec_stderr_lines"] == len(logged)


def test_program_that_cannot_be_started_answers_500(ex, tmp_path):
    """uv_spawn fails (here: the working directory is gone since the
    load): the upgrade is answered 500 and the failure is counted and
    logged with the route."""
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    gw = ex.start(ex.route("/gone", [program("line_echo.sh")], dir=str(workdir)))
    workdir.rmdir()
    assert http_status(gw.port, "/gone") == 500
    line = error_line(gw, "uv_spawn")
    assert "/gone" in line and "line_echo.sh" in line, line
    wait_for(lambda: totals(gw)["exec_spawn_failures"] == 1, 5, message="exec_spawn_failures 1")
    assert totals(gw)["exec_spawned"] == 0


def test_child_has_only_stdin_stdout_stderr_open(ex):
    gw = ex.start(ex.route("/fds", [program("fds.py")]), ex.route("/hold", [program("line_echo.sh")]),
                  {"path": "/echo", "relay": "echo"})

    async def main():
        # Other connections and another child are open in the same worker.
        async with connect(gw.url("/echo")) as a, connect(gw.url("/echo")) as b, \
                connect(gw.url("/hold")) as c:
            await c.send("held")
            assert await recv(c) == "held"
            results = []
            for _ in range(2):
                async with connect(gw.url("/fds")) as ws:
                    results.append((await read_until_close(ws))[0])
            assert a.open and b.open
            return results

    for messages in run(main()):
        assert messages and messages[0] == "fds 0 1 2", "\n".join(messages)


# ============================================================================================
# no child outlives its worker
# ============================================================================================

def _open_stubborn_children(gw, path, count):
    """Opens `count` connections to a stubborn_tree.sh route; returns the
    open websockets and the (child, grandchild) pids. Runs in the caller's
    event loop."""
    async def main():
        sockets, pids = [], []
        for _ in range(count):
            ws = await connect(gw.url(path))
            sockets.append(ws)
            fields = first_line_fields(await recv(ws, 10))
            pids.append((int(fields[1]), int(fields[3])))
        return sockets, pids
    return main()


@pytest.mark.parametrize("victim", ["worker", "supervisor", "stop"])
def test_kill9_leaves_no_child_or_grandchild(victim, ex):
    """kill -9 of the worker or of the supervisor, or a fast stop
    (wsgatectl stop: every connection closed with 1001, then the workers
    exit), with stubborn children and grandchildren running."""
    gw = ex.start(ex.route("/x", [program("stubborn_tree.sh"), ex.marker]))
    try:
        async def main():
            sockets, pids = await _open_stubborn_children(gw, "/x", 2)
            found = await asyncio.get_running_loop().run_in_executor(None, lambda: wait_for(
                lambda: len(processes_with_arg(ex.marker)) >= 4 and processes_with_arg(ex.marker),
                5, message="two children and two grandchildren"))
            started = time.monotonic()
            if victim == "stop":
                await asyncio.get_running_loop().run_in_executor(None, lambda: gw.ctl("stop"))
            else:
                os.kill(gw.worker_pids()[0] if victim == "worker" else gw.pid, signal.SIGKILL)
            bound = 5 if victim == "worker" else 10  # the supervisor's kill: channel EOF, then drain
            await asyncio.get_running_loop().run_in_executor(None, lambda: wait_for(
                lambda: not processes_with_arg(ex.marker), bound,
                message=f"no process with the marker after {victim} "
                        f"(left: {processes_with_arg(ex.marker)})"))
            took = time.monotonic() - started
            for ws in sockets:
                with contextlib.suppress(Exception):
                    await ws.close()
            return pids, found, took

        pids, found, took = run(main())
        assert len(found) >= 4, found
        print(f"{victim}: all children gone after {took:.2f}s")
    finally:
        kill_all(processes_with_arg(ex.marker))


def test_drain_closes_an_idle_exec_connection_1001_and_ends_the_child(ex):
    gw = ex.start(ex.route("/x", [program("stubborn.sh")]),
                  extra={"timeouts": {"idle_check_interval": "300ms", "drain": "30s",
                                      "ping_interval": 0}})

    async def main():
        async with connect(gw.url("/x")) as ws:
            pid = int(first_line_fields(await recv(ws, 10))[1])
            gw.signal(signal.SIGUSR1)
            _, code, reason = await read_until_close(ws, 10)
            return pid, code, reason, time.monotonic()

    pid, code, reason, closed_at = run(main())
    assert code == 1001, (code, reason)
    took = wait_gone([pid], KILL_TOTAL + SLACK + 1, "the drained connection's child") - closed_at
    assert took <= KILL_TOTAL + SLACK, took
    wait_for(lambda: all(w["generation"] == 2 for w in gw.workers()["workers"]), 10,
             message="the old worker to exit once drained")


def test_drain_ends_the_program_even_when_the_client_never_answers_the_close(ex):
    """The server's 1001 ends the program at once (the termination
    sequence starts with the Close, not with the client's answer): a client
    that never reads still sees its program gone within kill_after, long
    before timeouts.close would abort the connection."""
    gw = ex.start(ex.route("/x", [program("stubborn.sh")]),
                  extra={"timeouts": {"idle_check_interval": "300ms", "drain": "30s",
                                      "close": "20s", "ping_interval": 0}})
    client = wsraw.RawClient(gw.port, timeout=10)
    try:
        client.send(request_bytes("/x", f"127.0.0.1:{gw.port}"))
        assert client.read_http_head()[0] == 101
        _, opcode, payload = client.read_frame()
        assert opcode == 0x1, (opcode, payload)
        pid = int(first_line_fields(payload)[1])
        signalled = time.monotonic()
        gw.signal(signal.SIGUSR1)
        # From here the client reads nothing and never answers the Close.
        took = wait_gone([pid], KILL_TOTAL + 0.3 + SLACK + 5, "the drained program") - signalled
        # Drain picks the idle connection within one idle_check_interval.
        assert took <= 0.3 * 2 + KILL_TOTAL + SLACK, took
    finally:
        client.close()


# ============================================================================================
# stats, access log, config check
# ============================================================================================

def test_stats_count_exec_outcomes(ex, tmp_path):
    vanishing = str(tmp_path / "vanishing.sh")
    with open(program("exit_with.sh"), encoding="utf-8") as src, \
            open(vanishing, "w", encoding="utf-8") as dst:
        dst.write(src.read())
    os.chmod(vanishing, 0o755)
    gw = ex.start(ex.route("/ok", [program("exit_with.sh"), "0"]),
                  ex.route("/err", [program("exit_with.sh"), "3"]),
                  ex.route("/sig", [program("kill_self.sh"), "KILL"]),
                  ex.route("/gone", [vanishing, "0"]),
                  ex.route("/hold", [program("line_echo.sh")]))
    for path in ("/ok", "/err", "/sig"):
        session(gw.url(path))
    # Executable at load time, not any more: the launcher starts, its exec
    # fails, it exits 127 (docs/exec.md), an error exit like any other.
    os.chmod(vanishing, 0o644)
    _, code, reason = session(gw.url("/gone"))
    assert code == 1011 and "exit status 127" in reason, (code, reason)

    first = totals(gw)
    missing = [name for name in EXEC_COUNTERS if name not in first]
    assert missing == [], f"stats totals lack {missing}; exec keys there: " \
                          f"{sorted(k for k in first if 'exec' in k)}"

    def settled():
        t = totals(gw)
        # exec_spawn_failures (fork, pipes or the launcher failing) is not
        # provoked here: only its presence is checked above.
        return (t["exec_spawned"] >= 4 and t["exec_exits_ok"] >= 1 and t["exec_exits_error"] >= 2
                and t["exec_exits_signal"] >= 1 and t["exec_processes_running"] == 0) and t

    wait_for(settled, 5, message=f"exec counters (last: "
                                 f"{ {k: totals(gw).get(k) for k in EXEC_COUNTERS} })")

    async def hold():
        async with connect(gw.url("/hold")) as ws:
            await ws.send("x")
            assert await recv(ws) == "x"
            return wait_for(lambda: totals(gw)["exec_processes_running"] == 1, 5,
                            message="exec_processes_running == 1 while a child runs")

    assert run(hold())
    wait_for(lambda: totals(gw)["exec_processes_running"] == 0, 5,
             message="exec_processes_running back to 0")

    routes = gw.stats()["routes"]
    assert routes["/err"].get("exec_exits_error", 0) >= 1, \
        f"per-route exec counters for /err: { {k: v for k, v in routes['/err'].items() if 'exec' in k} }"
    assert routes["/ok"].get("exec_exits_error", 0) == 0 and routes["/ok"].get("exec_exits_ok", 0) >= 1, \
        routes["/ok"]
    text = gw.ctl("stats")
    assert text.returncode == 0 and "exec" in text.stdout, text.stdout


def test_config_check_refuses_a_command_not_found(ex):
    gw = ex.start(ex.route("/x", ["wsgate-no-such-program-xyz", "arg"]), start=False)
    result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                            text=True, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "wsgate-no-such-program-xyz" in output, output


def test_programs_are_executable():
    """The helpers must keep mode 0755 in git (a checkout without it breaks
    every test above in a confusing way)."""
    for name in sorted(os.listdir(PROGRAMS)):
        path = os.path.join(PROGRAMS, name)
        if os.path.isfile(path):
            assert os.stat(path).st_mode & stat.S_IXUSR, f"{path} is not executable"


def test_route_user_cannot_use_the_control_socket(ex):
    """Workers that keep root start each program as exec.user; that user
    gets no answer from the control socket (SO_PEERCRED check, and the
    socket's file mode), so a program cannot reload or stop the daemon."""
    if os.geteuid() != 0:
        pytest.skip("switching the program's user needs root")
    import pwd
    nobody = pwd.getpwnam("nobody")
    gw = ex.start(start=False)
    gw.write_config({"routes": [ex.route("/probe", [program("control_probe.py")], user="nobody",
                                          env={"set": {"CONTROL_SOCKET": gw.socket_path}})]})
    # The program must reach the socket's directory for the check to be
    # about the socket itself, not the directory's mode.
    os.chmod(gw.dir, 0o711)
    gw.start()
    messages, code, _ = session(gw.url("/probe"))
    assert code == 1000, (messages, code)
    assert messages[-1] == f"uid {nobody.pw_uid} gid {nobody.pw_gid}", messages
    probe = messages[0]
    assert probe.startswith("refused:") or "permission denied" in probe, probe
    assert '"workers"' not in probe and '"generation"' not in probe, probe


def test_descendant_that_left_the_process_group_is_ended_too(ex):
    """A grandchild in a session of its own (setsid) is out of reach of the
    group signals; once its parent is gone the supervisor adopts it
    (PR_SET_CHILD_SUBREAPER) and its once-a-second sweep kills it."""
    escape = ["/bin/sh", "-c",
              "trap '' INT TERM HUP; setsid /bin/sh -c \"trap '' INT TERM HUP; exec sleep 300\" "
              "</dev/null >/dev/null 2>&1 & echo ready; while :; do sleep 0.1; done"]
    gw = ex.start(ex.route("/escape", escape))

    async def main():
        async with connect(gw.url("/escape")) as ws:
            assert await recv(ws) == "ready"
            return wait_for(lambda: len(ex.children()) >= 3 and ex.children(), 5,
                            message="the program, its loop and the escaped sleep")

    started = run(main())
    escaped = [pid for pid in started if (st := proc_stat(pid)) and st[2] == pid
               and open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"sleep")]
    assert escaped, f"no sleep in a process group of its own among {started}"
    wait_gone(started, KILL_TOTAL + 1.0 + SLACK + 1.0, what="the program and its escaped grandchild")
    line = error_line(gw, f"killing pid {escaped[0]}")
    assert "left behind" in line, line


def test_output_held_back_at_exit_is_all_delivered(ex):
    """The program exits while the client is slow and part of its output
    still sits in the pipe (stdout paused by backpressure): all of it
    reaches the client before the Close 1000, however long the client
    takes (the wait for stdout's end must not give up after kill_after)."""
    size = 8 * MiB
    gw = ex.start(ex.route("/burst", ["/bin/sh", "-c", f"head -c {size} /dev/zero"],
                           mode="binary"))

    async def main():
        sock = client_socket(gw.port, rcvbuf=64 * 1024)
        async with connect(gw.url("/burst"), sock=sock, max_queue=1) as ws:
            got = 0
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    # Bursts of reading, then pauses longer than kill_after[2].
                    burst_end = got + 2 * MiB
                    while got < burst_end:
                        got += len(await recv(ws, timeout=10))
                    await asyncio.sleep(0.8)
            return got, ws.close_code

    got, code = run(main(), timeout=90)
    assert (got, code) == (size, 1000)


def test_compression_on_an_exec_route(ex):
    """permessage-deflate on an exec route: the child reads the inflated
    lines, and its long output lines go back compressed."""
    gw = ex.start(dict(ex.route("/lines", ["cat"]), compression={"enabled": True}))
    lines = [json.dumps({"id": i, "rows": ["Branch %d" % i] * 300}) for i in range(5)]

    async def main():
        async with connect(gw.url("/lines")) as ws:
            answer = ws.response_headers.get("Sec-WebSocket-Extensions")
            replies = []
            for line in lines:
                await ws.send(line)
                replies.append(await recv(ws, 10))
            return answer, replies

    answer, replies = run(main())
    assert answer.startswith("permessage-deflate")
    assert replies == lines
    size = sum(len(line) for line in lines)
    gw.wait_for(lambda: gw.stats()["totals"]["deflated_bytes_out"] == size, 10,
                message="replies compressed")
    stats = gw.stats()["totals"]
    assert stats["inflated_bytes_in"] == size
    assert stats["compressed_bytes_out"] * 4 < size
