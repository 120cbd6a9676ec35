"""websocketd compatibility (issue 12): the same programs under Debian's
websocketd (0.4.1, bookworm) and under wsgate's `relay: exec`, with the same
requests (path, query, headers, Host), compared.

1. The environment, key by key, for a single command (`websocketd
   PROGRAM`, a route with `command`) and for a directory (`websocketd
   --dir=DIR`, a route with `scripts_dir`): the same names (names that
   websocketd has and the issue does not list are printed, not required),
   equal values for REMOTE_ADDR, REMOTE_HOST, SERVER_NAME and SERVER_PORT
   (both from the Host header), QUERY_STRING, REQUEST_METHOD,
   SERVER_PROTOCOL, REQUEST_URI, SCRIPT_NAME, PATH_INFO, the empty
   AUTH_TYPE..REMOTE_USER, PATH and every HTTP_* variable; REMOTE_PORT is
   each side's own client port; UNIQUE_ID is set on both. SERVER_SOFTWARE,
   GATEWAY_INTERFACE and PATH_TRANSLATED are printed when they differ.
   websocketd serves at the URL root; the wsgate routes are laid out so
   the URLs are the same: route /foo/bar for the single command (asked as
   /foo/bar?...), route /x with scripts_dir DIR/x against websocketd
   --dir=DIR (asked as /x/env.sh...).

2. Behaviour, recorded per implementation like test_websockify_compat.py:
   what is the same is asserted once (SHARED), what differs is written down
   in EXPECTED and asserted too, so a change on either side shows up here.
   Differences measured with websocketd 0.4.1 (details and raw dumps in the
   notes of issue 12, websocketd-env.md):
   a. A script that is not executable: websocketd answers 101, then drops
      the TCP connection (its log: "permission denied"); wsgate 404.
   b. `..` in the path, plain or %2e%2e: websocketd answers 301 to the
      cleaned path (Go's ServeMux), nothing runs; wsgate 404.
   c. A symlink out of the directory: websocketd runs its target; wsgate
      404 and nothing runs.
   d. The program exits (0, 3 or killed): websocketd delivers the output,
      then closes TCP without any Close frame; wsgate Close 1000, 1011
      "exit status 3", 1011 "signal SIGKILL".
   e. A text message containing "\\n": websocketd writes it as is, so the
      program sees two lines; wsgate closes with 1003.
   f. The client leaves: both close stdin, SIGINT 100 ms later, SIGTERM
      250 ms after that, SIGKILL 500 ms after that. websocketd signals the
      child's pid only, so a grandchild is not signalled and survives
      (reparented to init); wsgate signals the process group, and the
      grandchild is gone.
"""
import asyncio
import contextlib
import os
import shutil
import time

import pytest
import websockets

from peer_daemon import peer_daemon
from conftest import pid_alive, processes_with_arg, wait_for
from test_exec import (CGI_NAMES, EMPTY_NAMES, KILL_AFTER, KILL_TOTAL, MARKER_VAR, SLACK,
                       ex, first_line_fields, kill_all, parse_env, program, raw_session)

assert ex  # the fixture, imported for pytest

WEBSOCKETD = "/usr/bin/websocketd"
HOST = "compat.test:8080"  # the same Host header to both
HEADERS = [
    ("Origin", "http://example.com"),
    ("X-Custom-Header", "one"),
    ("X-Custom-Header", "two"),
    ("x-lower_under", "u"),
    ("Cookie", "a=1"),
    ("Cookie", "b=2"),
    ("User-Agent", "wsgate-compat-test/1"),
    ("X-Spaces", "  padded value  "),
]
DAEMON_ENV = {"WSGATE_SECRET": "1", "LD_LIBRARY_PATH": "/nonexistent/wsgate-compat-lib"}
SINGLE_REQUESTS = ["/foo/bar?x=1&y=%20z", "/foo/bar"]
DIR_REQUESTS = ["/x/env.sh", "/x/env.sh/extra/path?q=1", "/x/sub/env.sh",
                "/x/sub/env.sh/more?a=b"]
EQUAL = ("REMOTE_ADDR", "REMOTE_HOST", "SERVER_NAME", "SERVER_PORT", "QUERY_STRING",
         "REQUEST_METHOD", "SERVER_PROTOCOL", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
         "PATH") + EMPTY_NAMES
SHOWN = ("SERVER_SOFTWARE", "GATEWAY_INTERFACE", "PATH_TRANSLATED")
PASSED = ("PATH", "LD_LIBRARY_PATH")  # both pass these by default


# -- websocketd -------------------------------------------------------------------------

@contextlib.contextmanager
def websocketd(args, log_path, cwd):
    """Runs `websocketd --port=P --address=127.0.0.1 ARGS` on a free port in
    its own process group (its children stay in it), with DAEMON_ENV added
    to this environment; yields the port once it answers; then kills the
    whole group and reaps websocketd. A port taken meanwhile is retried,
    at most three times."""
    if not os.access(WEBSOCKETD, os.X_OK):
        pytest.fail(f"{WEBSOCKETD} is missing: apt-get install websocketd "
                    "(scripts/lib/common.sh WSGATE_TEST_DEPS)")
    def command(port):
        return [WEBSOCKETD, f"--port={port}", "--address=127.0.0.1", *args]

    with peer_daemon("websocketd", command, log_path, cwd=cwd,
                     env={**os.environ, **DAEMON_ENV}) as port:
        yield port


# -- the programs, laid out for both ------------------------------------------------------

@pytest.fixture
def layout(tmp_path, ex):
    """tmp/www/x: the directory both serve (websocketd --dir=tmp/www, wsgate
    scripts_dir tmp/www/x on route /x): env.sh and sub/env.sh (envdump.py),
    noexec.sh (0644), link-out.sh (to tmp/outside.sh, which appends its
    SERVER_SOFTWARE to tmp/outside-ran), and wrappers around the test
    programs (websocketd --dir passes no arguments)."""
    base = os.path.realpath(str(tmp_path))
    www = os.path.join(base, "www")
    root = os.path.join(www, "x")
    os.makedirs(os.path.join(root, "sub"))
    for rel in ("env.sh", "sub/env.sh", "noexec.sh"):
        shutil.copyfile(program("envdump.py"), os.path.join(root, rel))
        os.chmod(os.path.join(root, rel), 0o644 if rel == "noexec.sh" else 0o755)
    ran = os.path.join(base, "outside-ran")
    outside = os.path.join(base, "outside.sh")
    signals_log = os.path.join(base, "signals.log")
    with open(outside, "w", encoding="utf-8") as f:
        f.write(f'#!/bin/sh\necho "$SERVER_SOFTWARE" >> {ran}\necho outside\n')
    os.chmod(outside, 0o755)
    os.symlink(outside, os.path.join(root, "link-out.sh"))
    wrappers = {
        "exit0.sh": f"{program('exit_with.sh')} 0",
        "exit3.sh": f"{program('exit_with.sh')} 3",
        "killed.sh": f"{program('kill_self.sh')} KILL",
        "echo.sh": program("line_echo.sh"),
        "forker.sh": f"{program('forker.sh')} wait {ex.marker}",
        "signals.sh": f"{program('signal_log.py')} {signals_log} {ex.marker}",
    }
    for name, command in wrappers.items():
        path = os.path.join(root, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"#!/bin/sh\nexec {command}\n")
        os.chmod(path, 0o755)
    yield {"base": base, "www": www, "root": root, "ran": ran, "signals_log": signals_log}
    kill_all(processes_with_arg(ex.marker))  # websocketd leaves grandchildren behind


def envs(port, requests):
    """{request: (env, '#' lines, local port, duplicated names)} of one
    envdump run per request, all with HEADERS and Host HOST."""
    found = {}
    for request in requests:
        result = raw_session(port, request, HEADERS, host=HOST)
        assert result["status"] == 101, (request, result["status"])
        env, extra, duplicates = parse_env(result["texts"])
        assert env, f"{request}: no environment came back ({result})"
        found[request] = (env, extra, result["local_port"], duplicates)
    return found


def compare(theirs, ours):
    """Asserts wsgate's environments (ours) agree with websocketd's (theirs)
    for every request; prints what is allowed to differ."""
    listed = set(CGI_NAMES) | set(EMPTY_NAMES)
    for request in theirs:
        t_env, _, t_port, _ = theirs[request]
        o_env, _, o_port, o_duplicates = ours[request]
        o_env = {k: v for k, v in o_env.items() if k != MARKER_VAR}
        assert o_duplicates == [], f"{request}: wsgate gave {o_duplicates} twice"
        http = {k for k in t_env if k.startswith("HTTP_")}
        unlisted = sorted(set(t_env) - listed - http - set(PASSED))
        if unlisted:
            print(f"{request}: websocketd has, the issue does not list: "
                  f"{ {k: t_env[k] for k in unlisted} }")
        missing = sorted((set(t_env) - set(unlisted)) - set(o_env))
        assert missing == [], f"{request}: websocketd has, wsgate lacks: {missing}"
        extra = sorted(set(o_env) - set(t_env) - {"HTTP_HOST"})
        assert extra == [], f"{request}: wsgate has, websocketd lacks: " \
                            f"{ {k: o_env[k] for k in extra} }"
        if "HTTP_HOST" in o_env:
            print(f"{request}: wsgate also has HTTP_HOST={o_env['HTTP_HOST']!r} "
                  "(websocketd has none: Go takes Host out of the header map)")
        names = list(EQUAL) + sorted(http)
        assert {k: o_env.get(k) for k in names} == {k: t_env.get(k) for k in names}, request
        assert t_env["REMOTE_PORT"] == str(t_port) and o_env["REMOTE_PORT"] == str(o_port), \
            (request, t_env["REMOTE_PORT"], t_port, o_env["REMOTE_PORT"], o_port)
        assert t_env["UNIQUE_ID"] and o_env["UNIQUE_ID"], request
        for name in SHOWN:
            if t_env.get(name) != o_env.get(name):
                print(f"{request}: {name} websocketd={t_env.get(name)!r} "
                      f"wsgate={o_env.get(name)!r}")


def test_environment_matches_websocketd_for_a_single_command(layout, ex):
    with websocketd([program("envdump.py")], os.path.join(layout["base"], "wsd-single.log"),
                    layout["base"]) as port:
        theirs = envs(port, SINGLE_REQUESTS)
    # websocketd's own split for one command, as recorded.
    env = theirs["/foo/bar?x=1&y=%20z"][0]
    assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["SERVER_NAME"], env["SERVER_PORT"]) == \
        ("/", "/foo/bar", "compat.test", "8080"), env
    gw = ex.start(ex.route("/foo/bar", [program("envdump.py")]), env=DAEMON_ENV)
    compare(theirs, envs(gw.port, SINGLE_REQUESTS))


def test_environment_matches_websocketd_for_a_directory(layout, ex):
    with websocketd([f"--dir={layout['www']}"], os.path.join(layout["base"], "wsd-dir.log"),
                    layout["base"]) as port:
        theirs = envs(port, DIR_REQUESTS)
    env = theirs["/x/env.sh/extra/path?q=1"][0]
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/x/env.sh", "/extra/path"), env
    gw = ex.start(ex.route("/x", scripts_dir=layout["root"]), env=DAEMON_ENV)
    compare(theirs, envs(gw.port, DIR_REQUESTS))


# -- behaviour ------------------------------------------------------------------------------

def _outcome(port, path, layout):
    """How a request ends: "404", "301", "101 closed CODE", "101 dropped"
    (no Close frame), with " ran outside" if the file outside the dir ran."""
    before = os.path.getsize(layout["ran"]) if os.path.exists(layout["ran"]) else 0
    result = raw_session(port, path, host=HOST, timeout=5)
    after = os.path.getsize(layout["ran"]) if os.path.exists(layout["ran"]) else 0
    if result["status"] != 101:
        text = str(result["status"])
    elif result["close"] is not None:
        text = f"101 closed {result['close'][0]}"
    else:
        text = "101 dropped"
    return text + (" ran outside" if after > before else "")


async def _exit_session(url):
    """(messages, close code or None when no Close frame came)."""
    async with websockets.connect(url, open_timeout=5, close_timeout=2,
                                  ping_interval=None) as ws:
        messages = []
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                messages.append(await asyncio.wait_for(ws.recv(), 10))
    return messages, ws.close_rcvd.code if ws.close_rcvd else None


async def _newline_message(url):
    """Sends "a\\nb": ("echoed", lines) if the program saw lines (collected
    for a second), or ("closed", code)."""
    async with websockets.connect(url, open_timeout=5, close_timeout=2,
                                  ping_interval=None) as ws:
        await ws.send("a\nb")
        lines = []
        try:
            while True:
                lines.append(await asyncio.wait_for(ws.recv(), 1.0))
        except asyncio.TimeoutError:
            return ("echoed", lines)
        except websockets.ConnectionClosed:
            return ("closed", ws.close_rcvd.code if ws.close_rcvd else None)


async def _client_leaves(url):
    async with websockets.connect(url, open_timeout=5, close_timeout=5,
                                  ping_interval=None) as ws:
        fields = first_line_fields(await asyncio.wait_for(ws.recv(), 10))
        return fields, time.monotonic()


def _grandchild_after_client_left(url):
    fields, _ = asyncio.run(_client_leaves(url))
    child, grandchild = int(fields[1]), int(fields[3])
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not pid_alive(child), KILL_TOTAL + SLACK, message="child")
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not pid_alive(grandchild), KILL_TOTAL + SLACK, message="grandchild")
    outcome = "survives" if pid_alive(grandchild) else "gone"
    kill_all([p for p in (child, grandchild) if pid_alive(p)])
    return outcome


def _termination(url, log_path):
    """The termination sequence after the client leaves, from signal_log.py's
    log: whether stdin, SIGINT, SIGTERM came in order with websocketd's
    default gaps (within slack), and whether the grandchild got SIGINT."""
    with open(log_path, "w", encoding="ascii"):
        pass
    fields, _ = asyncio.run(_client_leaves(url))
    child, grandchild = int(fields[1]), int(fields[2])
    wait_for(lambda: not pid_alive(child), KILL_TOTAL + SLACK + 1, message="child")
    events = {}
    with open(log_path, encoding="ascii") as f:
        for line in f:
            at, role, _pid, event = line.split()
            events.setdefault((role, event), float(at))
    kill_all([grandchild] if pid_alive(grandchild) else [])
    eof, sigint, sigterm = (events.get(("child", e)) for e in ("stdin-eof", "SIGINT", "SIGTERM"))
    gaps_ok = (None not in (eof, sigint, sigterm)
               and KILL_AFTER[0] * 0.8 <= sigint - eof <= KILL_AFTER[0] + 0.5
               and KILL_AFTER[1] * 0.8 <= sigterm - sigint <= KILL_AFTER[1] + 0.5)
    return gaps_ok, ("grandchild", "SIGINT") in events


def client_script(port, layout):
    url = f"ws://127.0.0.1:{port}/x/"
    observed = {}
    for path in ("/x/env.sh", "/x/missing.sh", "/x/noexec.sh", "/x/../x/env.sh",
                 "/x/%2e%2e/outside.sh", "/x/link-out.sh"):
        observed[f"answer {path}"] = _outcome(port, path, layout)
    for name in ("exit0", "exit3", "killed"):
        observed[name] = asyncio.run(_exit_session(url + name + ".sh"))
    observed["newline message"] = asyncio.run(_newline_message(url + "echo.sh"))
    observed["grandchild after the client left"] = _grandchild_after_client_left(
        url + "forker.sh")
    observed["termination gaps as websocketd's"], observed["grandchild signalled"] = \
        _termination(url + "signals.sh", layout["signals_log"])
    return observed


SHARED = {
    "answer /x/missing.sh": "404",
    "termination gaps as websocketd's": True,
}
EXPECTED = {
    "websocketd": {
        "answer /x/env.sh": "101 dropped",
        "answer /x/noexec.sh": "101 dropped",
        "answer /x/../x/env.sh": "301",
        "answer /x/%2e%2e/outside.sh": "301",
        "answer /x/link-out.sh": "101 dropped ran outside",
        "exit0": (["before exit"], None),
        "exit3": (["before exit"], None),
        "killed": (["before signal"], None),
        "newline message": ("echoed", ["a", "b"]),
        "grandchild after the client left": "survives",
        "grandchild signalled": False,
    },
    "wsgate": {
        "answer /x/env.sh": "101 closed 1000",
        "answer /x/noexec.sh": "404",
        "answer /x/../x/env.sh": "404",
        "answer /x/%2e%2e/outside.sh": "404",
        "answer /x/link-out.sh": "404",
        "exit0": (["before exit"], 1000),
        "exit3": (["before exit"], 1011),
        "killed": (["before signal"], 1011),
        "newline message": ("closed", 1003),
        "grandchild after the client left": "gone",
        "grandchild signalled": True,
    },
}


def test_websocketd_behaves_as_recorded(layout):
    with websocketd([f"--dir={layout['www']}"], os.path.join(layout["base"], "wsd.log"),
                    layout["base"]) as port:
        observed = client_script(port, layout)
    log = open(os.path.join(layout["base"], "wsd.log"), encoding="utf-8", errors="replace").read()
    assert {k: observed[k] for k in SHARED} == SHARED, log[-3000:]
    assert {k: observed[k] for k in EXPECTED["websocketd"]} == EXPECTED["websocketd"], log[-3000:]
    assert "permission denied" in log  # it knows why noexec.sh failed, but tells the client nothing


def test_wsgate_behaves_as_the_contract_says(layout, ex):
    gw = ex.start(ex.route("/x", scripts_dir=layout["root"]), env=DAEMON_ENV)
    observed = client_script(gw.port, layout)
    assert {k: observed[k] for k in SHARED} == SHARED
    assert {k: observed[k] for k in EXPECTED["wsgate"]} == EXPECTED["wsgate"]
