"""websockify compatibility: ONE client script (client_script below, Python
websockets offering the "binary" subprotocol) run against Debian's real
websockify and against wsgate's `relay: proxy` routes, with the same
upstreams (upstreams.py) and the same token file. Both forms are covered:
the fixed target (`websockify PORT HOST:PORT`, a route with `upstream`) and
the token file (`--token-plugin TokenFile --token-source FILE`, a route with
`token_file`).

What the two share is asserted once (SHARED); what differs is written down
in EXPECTED, per implementation, and asserted too, so a change on either
side shows up here. Differences found with websockify 0.10.0 (Debian
bookworm's python3-websockify 0.10.0+dfsg1-4):

1. Text messages. websockify refuses them: a text frame gets Close 1003
   "Unsupported: Text frames are not supported" (websockify/websocket.py,
   _recvmsg). wsgate passes a text message's UTF-8 bytes to the upstream.
2. Unknown or missing token. websockify answers nothing: the handshake is
   read, the TCP connection is closed without any HTTP response (the client
   sees "did not receive a valid HTTP response"). wsgate answers HTTP 404
   before the upgrade.
3. Upstream refuses. Both send the 101 first; websockify then closes with
   1011 "Failed to connect to downstream server" (no cause given), wsgate
   with 1014 and a reason starting "upstream" that names the cause
   ("refused", "timed out", "resolve", "verify").
4. Client closes first. websockify answers the Close at once (echoing the
   client's code) and shuts the upstream socket both ways; its connection
   ends without waiting for the upstream (measured here: the close
   handshake completes while the upstream still holds its side open).
   Worse, data frames read in the same recv() as the Close are dropped:
   a binary frame and a Close sent in one write never reach the upstream
   (websocketproxy.py do_proxy raises CClose before flushing its queue).
   wsgate half-closes: everything before the Close reaches the upstream,
   then EOF, and the connection ends once the upstream closes its side.
5. Upstream closes first. Both deliver every byte to a client that keeps
   up, then Close 1000 (websockify's reason: "Target closed"). But with a
   client that reads slowly, websockify drops what it still has queued
   for the client once the upstream's EOF comes (measured: 2.8 to 7.5 of
   8 MiB delivered, then Close 1000); wsgate delivers all of it.
6. Token files. websockify's TokenFile re-reads the file on every lookup
   (no reload needed) and only prints "Syntax error in FILE on line N" for
   a bad line, skipping it; wsgate reads it at start and on reload, and
   `wsgated -t` fails on a bad line naming FILE:LINE (test_proxy.py).
7. Message sizes. websockify sends each upstream read (up to 64 KiB) as one
   binary message; wsgate caps them at proxy.upstream_message_max.
   Neither promises message boundaries: the client script concatenates.
8. Backpressure. websockify has none: it keeps reading the client while
   the upstream reads nothing (a client's 20 MiB all go through at once,
   its memory grows by about 47 MiB) and keeps reading the upstream while
   the client reads nothing. wsgate stops reading the side whose peer does
   not take the data (worker memory bounded, test_proxy.py).

Same on both: "binary" is chosen when offered and no subprotocol otherwise;
binary payloads reach the upstream as raw bytes and the upstream's bytes
come back as binary messages; tokens route to their targets.
"""
import asyncio
import contextlib
import os
import time
import urllib.parse

import pytest
import websockets

import upstreams
from peer_daemon import peer_daemon
import wsraw
from conftest import wait_for

WEBSOCKIFY = "/usr/bin/websockify"


# -- the one client script -------------------------------------------------------

BINARY_PAYLOADS = [b"\x00\x01\x02\xff", bytes(range(256)), os.urandom(100 * 1024), b"z"]
TEXT_PAYLOAD = "text \u00e9\u20ac"  # UTF-8: 11 bytes


async def _read_bytes(ws, size, timeout=10.0):
    """Reads messages until `size` bytes came; returns (bytes, kinds) where
    kinds is the set of message types seen."""
    data, kinds = b"", set()
    deadline = time.monotonic() + timeout
    while len(data) < size:
        message = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        kinds.add(type(message).__name__)
        data += message if isinstance(message, bytes) else message.encode()
    return data, kinds


def _close_of(error):
    """(code, reason) of a ConnectionClosed."""
    frame = error.rcvd or error.sent
    return (frame.code, frame.reason) if frame else (None, "")


async def _binary_session(url, marker=b""):
    """Binary payloads (the marker first, if any), one at a time, each
    echoed back; then a Close 1000."""
    observed = {}
    async with websockets.connect(url, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5, max_size=None) as ws:
        observed["subprotocol"] = ws.subprotocol
        kinds = set()
        replies = []
        payloads = ([marker] if marker else []) + BINARY_PAYLOADS
        for payload in payloads:
            await ws.send(payload)
            reply, seen = await _read_bytes(ws, len(payload))
            replies.append(reply)
            kinds |= seen
        observed["binary_echo_intact"] = replies == payloads
        observed["reply_kinds"] = sorted(kinds)
    return observed


async def _no_subprotocol(url):
    async with websockets.connect(url, open_timeout=5, close_timeout=5) as ws:
        return ws.subprotocol


async def _text_session(url):
    """One text message: ("echoed", reply bytes, kinds) or ("closed", code, reason)."""
    async with websockets.connect(url, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5) as ws:
        await ws.send(TEXT_PAYLOAD)
        try:
            reply, kinds = await _read_bytes(ws, len(TEXT_PAYLOAD.encode()), timeout=5)
        except websockets.ConnectionClosed as error:
            return ("closed",) + _close_of(error)
        return ("echoed", reply, sorted(kinds))


async def _handshake_outcome(url):
    """How a connection attempt ends: ("open", subprotocol), ("http", status)
    or ("no http response",)."""
    try:
        async with websockets.connect(url, subprotocols=["binary"], open_timeout=5,
                                      close_timeout=5) as ws:
            return ("open", ws.subprotocol)
    except websockets.InvalidStatusCode as error:
        return ("http", error.status_code)
    except websockets.InvalidMessage:
        return ("no http response",)


async def _closed_by_gateway(url, send=b"ping"):
    """Opens, sends one message, waits for the gateway's Close: (code, reason)."""
    async with websockets.connect(url, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5) as ws:
        try:
            await ws.send(send)
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as error:
            return _close_of(error)


async def _upstream_closes_first(url, size):
    async with websockets.connect(url, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5, max_size=None) as ws:
        data = b""
        try:
            while len(data) <= size:
                data += await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as error:
            return data == upstreams.pattern(size), _close_of(error)[0]
        return False, None


async def _client_closes_first(url, recorder):
    """Client sends b"last", waits until the upstream has it, then sends
    Close 1000: does the upstream see EOF, and does the close handshake
    finish while the upstream still holds its side open?"""
    loop = asyncio.get_running_loop()
    async with websockets.connect(url, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5) as ws:
        await ws.send(b"last")
        record = await loop.run_in_executor(None, recorder.wait_connection, 0)
        await loop.run_in_executor(None, lambda: wait_for(
            lambda: bytes(record["received"]) == b"last", 5, message="b'last' upstream"))
        await ws.close(1000)
        closed_before_upstream = not record["closed"].is_set()
    record = recorder.wait_eof(0)
    return {"upstream_saw_eof": record["eof"].is_set(),
            "close_done_while_upstream_open": closed_before_upstream}


def _data_then_close_in_one_write(url, recorder):
    """Raw client: after the 101, one write holding a binary frame and a
    Close frame. What reached the upstream before its EOF, and what Close
    came back."""
    parts = urllib.parse.urlsplit(url)
    client = wsraw.RawClient(parts.port)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        client.handshake(path, extra="Sec-WebSocket-Protocol: binary\r\n")
        client.send(wsraw.frame(0x2, b"final words") + wsraw.close_frame(1000))
        code, _ = client.read_close()
        client.wait_eof()
    finally:
        client.close()
    record = recorder.wait_eof(0)
    return {"upstream_got": bytes(record["received"]), "close_code": code}


MiB = 1024 * 1024


async def _wait_stalled(progress, quiet=1.0, timeout=20.0):
    """Waits until progress() stops growing for `quiet` seconds (bounded by
    timeout); returns the value it stopped at."""
    deadline = time.monotonic() + timeout
    last, since = progress(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"still moving after {timeout}s (at {last})")


def _small_buffer_socket(url, option):
    sock = upstreams.socket.socket()
    sock.setsockopt(upstreams.socket.SOL_SOCKET, option, 64 * 1024)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", urllib.parse.urlsplit(url).port))
    sock.setblocking(False)
    return sock


async def _client_held_back(url, reader, total=20 * MiB, chunk=64 * 1024):
    """The upstream reads nothing: do the client's sends stall before
    `total` bytes? Then the upstream reads: does everything arrive (the
    client waits for that before closing)?"""
    data = upstreams.pattern(total)
    sock = _small_buffer_socket(url, upstreams.socket.SO_SNDBUF)
    async with websockets.connect(url, sock=sock, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5, ping_interval=None) as ws:
        sent = [0]

        async def sender():
            for offset in range(0, total, chunk):
                await ws.send(data[offset:offset + chunk])
                sent[0] = offset + chunk

        task = asyncio.ensure_future(sender())
        try:
            await _wait_stalled(lambda: sent[0])
            held_back = not task.done()
            reader.release()
            await asyncio.wait_for(task, 60)
            record = reader.wait_connection(0)
            await asyncio.get_running_loop().run_in_executor(None, lambda: wait_for(
                lambda: record["bytes_received"] >= total, 30, message="everything upstream"))
        finally:
            task.cancel()
    return {"held_back": held_back, "upstream_got_all": bytes(record["received"]) == data}


async def _slow_client(url, source):
    """The client reads nothing until the source (BigSource, which closes
    after its last byte) has stopped sending; then reads to the Close."""
    sock = _small_buffer_socket(url, upstreams.socket.SO_RCVBUF)
    async with websockets.connect(url, sock=sock, subprotocols=["binary"], open_timeout=5,
                                  close_timeout=5, ping_interval=None, max_size=None,
                                  max_queue=1) as ws:
        record = await asyncio.get_running_loop().run_in_executor(
            None, source.wait_connection, 0)
        # A longer quiet period than elsewhere: websockify (Python) reads
        # its upstream without bound, but on a loaded machine (the ASan
        # suite beside it) it can pause for over a second, which looked
        # like holding the source back.
        held_at = await _wait_stalled(lambda: record["bytes_sent"], quiet=3.0)
        data, code = b"", None
        try:
            while len(data) <= source.size:
                data += await asyncio.wait_for(ws.recv(), 20)
        except websockets.ConnectionClosed as error:
            code = _close_of(error)[0]
    return {"source_held_back": held_at < source.size,
            "prefix_intact": data == upstreams.pattern(len(data)),
            "complete": len(data) == source.size, "close_code": code}


def client_script(fixed_url, token_url, echo_a, echo_b, refused_token_url, cut_url, cut_size,
                  recorder_url, recorder, one_write_url, one_write_recorder, reader_url, reader,
                  source_url, source):
    """The client script. fixed_url reaches echo_a directly; token_url(t) is
    the URL for token t (token file: a -> echo_a, b -> echo_b, r -> a refused
    port); cut_url's upstream sends cut_size pattern bytes then closes;
    recorder_url's upstream is `recorder` and one_write_url's is
    one_write_recorder (EofRecorders); reader_url's is `reader` (a
    SlowReader), source_url's is `source` (a BigSource). Returns what it
    observed, as a dict."""
    observed = {}
    run = asyncio.run
    observed["fixed"] = run(_binary_session(fixed_url))
    observed["fixed_no_subprotocol"] = run(_no_subprotocol(fixed_url))
    observed["text"] = run(_text_session(fixed_url))

    def reached(marker):
        """Which echo upstream got the marker: "A", "B", "both" or None."""
        got = [name for name, server in (("A", echo_a), ("B", echo_b))
               if any(marker in bytes(c["received"]) for c in list(server.connections))]
        return got[0] if len(got) == 1 else ("both" if got else None)

    reached_by = []
    for number, token in enumerate(("a", "b", "a")):
        marker = f"marker {number} for token {token}".encode()
        session = run(_binary_session(token_url(token), marker))
        reached_by.append((token, reached(marker), session["binary_echo_intact"]))
    observed["tokens"] = reached_by
    observed["unknown_token"] = run(_handshake_outcome(token_url("zzz")))
    observed["no_token"] = run(_handshake_outcome(token_url(None)))
    observed["refused"] = run(_closed_by_gateway(refused_token_url))
    observed["upstream_closes_first"] = run(_upstream_closes_first(cut_url, cut_size))
    observed["client_closes_first"] = run(_client_closes_first(recorder_url, recorder))
    observed["data_then_close_in_one_write"] = _data_then_close_in_one_write(
        one_write_url, one_write_recorder)
    observed["upstream_not_reading"] = run(_client_held_back(reader_url, reader))
    observed["client_not_reading"] = run(_slow_client(source_url, source))
    return observed


SHARED = {
    "fixed": {"subprotocol": "binary", "binary_echo_intact": True, "reply_kinds": ["bytes"]},
    "fixed_no_subprotocol": None,
    "tokens": [("a", "A", True), ("b", "B", True), ("a", "A", True)],
    "upstream_closes_first": (True, 1000),
}

EXPECTED = {
    "websockify": {
        "text": ("closed", 1003, "Unsupported: Text frames are not supported"),
        "unknown_token": ("no http response",),
        "no_token": ("no http response",),
        "refused": (1011, "Failed to connect to downstream server"),
        "client_closes_first": {"upstream_saw_eof": True,
                                "close_done_while_upstream_open": True},
        # Data read in the same recv() as the Close is dropped (do_proxy
        # raises CClose before flushing its queue to the target).
        "data_then_close_in_one_write": {"upstream_got": b"", "close_code": 1000},
        # No backpressure either way: it reads the client while the upstream
        # reads nothing (all 20 MiB taken, held in its memory), and reads the
        # upstream while the client reads nothing; when the upstream then
        # closes, what is still queued for the client is dropped.
        "upstream_not_reading": {"held_back": False, "upstream_got_all": True},
        "client_not_reading": {"source_held_back": False, "prefix_intact": True,
                               "complete": False, "close_code": 1000},
    },
    "wsgate": {
        "text": ("echoed", TEXT_PAYLOAD.encode(), ["bytes"]),
        "unknown_token": ("http", 404),
        "no_token": ("http", 404),
        # refused: 1014, "upstream ... refused ..." (checked by pattern below)
        # The Close is answered at once (RFC 6455 5.5.1); the upstream then
        # gets our FIN and keeps its side as long as it likes (bounded by
        # timeouts.close once the client has gone).
        "client_closes_first": {"upstream_saw_eof": True,
                                "close_done_while_upstream_open": True},
        "data_then_close_in_one_write": {"upstream_got": b"final words", "close_code": 1000},
        "upstream_not_reading": {"held_back": True, "upstream_got_all": True},
        "client_not_reading": {"source_held_back": True, "prefix_intact": True,
                               "complete": True, "close_code": 1000},
    },
}


# -- the two servers -----------------------------------------------------------------

@contextlib.contextmanager
def websockify(options, target, log_path):
    """Runs `websockify OPTIONS 127.0.0.1:PORT [TARGET]` on a free port in
    its own process group (it forks a child per connection); yields the
    port once it answers; then kills the whole group and reaps the parent.
    A port taken meanwhile (websockify exits at once) is retried, at most
    three times."""
    def command(port):
        return [WEBSOCKIFY, *options, f"127.0.0.1:{port}"] + ([target] if target else [])

    with peer_daemon("websockify", command, log_path) as port:
        yield port


@pytest.fixture
def peers(tmp_path):
    """The upstreams both implementations share, and the token file."""
    with contextlib.ExitStack() as stack:
        echo_a = stack.enter_context(upstreams.TcpEcho())
        echo_b = stack.enter_context(upstreams.TcpEcho())
        cut = stack.enter_context(upstreams.SendThenClose(150000))
        recorder = stack.enter_context(upstreams.EofRecorder(close_delay=1.0))
        one_write = stack.enter_context(upstreams.EofRecorder(close_delay=0.0))
        reader = stack.enter_context(upstreams.SlowReader(rcvbuf=64 * 1024))
        source = stack.enter_context(upstreams.BigSource(8 * MiB, sndbuf=64 * 1024))
        tokens = tmp_path / "tokens.conf"
        tokens.write_text("# websockify TokenFile format: 'token: host:port'\n\n"
                          f"a: {echo_a.address}\n"
                          f"b: {echo_b.address}\n"
                          f"r: 127.0.0.1:{upstreams.refused_port()}\n"
                          f"cut: {cut.address}\n"
                          f"rec: {recorder.address}\n"
                          f"one: {one_write.address}\n"
                          f"reader: {reader.address}\n"
                          f"source: {source.address}\n")
        yield {"echo_a": echo_a, "echo_b": echo_b, "cut": cut, "recorder": recorder,
               "one_write": one_write, "reader": reader, "source": source,
               "tokens": str(tokens), "dir": str(tmp_path)}


def token_query(base, token):
    return base if token is None else f"{base}?token={token}"


def run_against_websockify(peers):
    log_path = os.path.join(peers["dir"], "websockify-tokens.log")
    with contextlib.ExitStack() as stack:
        fixed = stack.enter_context(websockify(
            [], peers["echo_a"].address, os.path.join(peers["dir"], "websockify-fixed.log")))
        tokens = stack.enter_context(websockify(
            ["--token-plugin", "TokenFile", "--token-source", peers["tokens"]], None, log_path))
        base = f"ws://127.0.0.1:{tokens}/"
        observed = client_script(
            fixed_url=f"ws://127.0.0.1:{fixed}/",
            token_url=lambda t: token_query(base, t),
            echo_a=peers["echo_a"], echo_b=peers["echo_b"],
            refused_token_url=token_query(base, "r"),
            cut_url=token_query(base, "cut"), cut_size=len(peers["cut"].data),
            recorder_url=token_query(base, "rec"), recorder=peers["recorder"],
            one_write_url=token_query(base, "one"), one_write_recorder=peers["one_write"],
            reader_url=token_query(base, "reader"), reader=peers["reader"],
            source_url=token_query(base, "source"), source=peers["source"])
        return observed, open(log_path, encoding="utf-8", errors="replace").read()


def test_websockify_behaves_as_recorded(peers):
    observed, log = run_against_websockify(peers)
    assert {k: observed[k] for k in SHARED} == SHARED, log[-3000:]
    assert {k: observed[k] for k in EXPECTED["websockify"]} == EXPECTED["websockify"], log[-3000:]
    # It logs why, but tells the client nothing.
    assert "Token 'zzz' not found" in log and "Token not present" in log
    assert "Connection refused" in log


def test_wsgate_behaves_as_the_contract_says(peers, gateway):
    proxy = {"path": "/fixed", "relay": "proxy",
             "proxy": {"upstream": peers["echo_a"].upstream}}
    by_token = {"path": "/t", "relay": "proxy", "proxy": {"token_file": peers["tokens"]}}
    gw = gateway(workers=1, extra={"routes": [proxy, by_token, {"path": "/echo",
                                                                 "relay": "echo"}],
                                   "timeouts": {"upstream_connect": "2s"}})
    observed = client_script(
        fixed_url=gw.url("/fixed"),
        token_url=lambda t: token_query(gw.url("/t"), t),
        echo_a=peers["echo_a"], echo_b=peers["echo_b"],
        refused_token_url=token_query(gw.url("/t"), "r"),
        cut_url=token_query(gw.url("/t"), "cut"), cut_size=len(peers["cut"].data),
        recorder_url=token_query(gw.url("/t"), "rec"), recorder=peers["recorder"],
        one_write_url=token_query(gw.url("/t"), "one"), one_write_recorder=peers["one_write"],
        reader_url=token_query(gw.url("/t"), "reader"), reader=peers["reader"],
        source_url=token_query(gw.url("/t"), "source"), source=peers["source"])
    assert {k: observed[k] for k in SHARED} == SHARED
    assert {k: observed[k] for k in EXPECTED["wsgate"]} == EXPECTED["wsgate"]
    code, reason = observed["refused"]
    assert code == 1014 and reason.startswith("upstream") and "refused" in reason, reason
