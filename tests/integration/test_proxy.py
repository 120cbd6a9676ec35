"""The `relay: proxy` route (websockify-compatible) through the real
wsgated, with real upstreams (upstreams.py: plain TCP, a Unix socket,
`openssl s_server`, Python's ssl) and real WebSocket clients (Python's
websockets, wsraw for byte-exact writes).

Contract under test:
- Client binary and text messages reach the upstream as raw bytes; upstream
  bytes come back as binary messages of at most proxy.upstream_message_max.
- A proxy route without `subprotocols` offers "binary".
- The 101 goes out first, then the upstream connect; messages sent before
  the connect completes are kept. A failed connect closes with 1014 and a
  reason "upstream ..." naming the cause (refused, timed out, resolve,
  verify), logs the route and the upstream, and counts it in stats.
- Half-close both ways: upstream EOF -> every byte, then Close 1000;
  client Close -> upstream EOF, and the connection ends once the upstream
  closes its side.
- token_file routing (?token=), 404 before the upgrade for an unknown or
  missing token, re-read on reload, checked by `wsgated -t`.
- Backpressure both ways with bounded worker memory.
- Stats counters and the access log line.
"""
import asyncio
import contextlib
import os
import re
import socket
import subprocess
import time

import pytest
import websockets

import upstreams
import wsraw
from conftest import WSGATED, wait_for
from tls_certs import CertKit

MiB = 1024 * 1024
# What the worker may grow by while a peer holds data back. Under ASan
# (scripts/test sets ASAN_OPTIONS for that build) freed memory sits in the
# allocator's quarantine (256 MiB by default) instead of being reused, so
# RSS grows with the bytes that passed, not with what is held: seen on CI
# as 17 MiB for a 20 MiB transfer. The ASan build gets more room.
RSS_GROWTH_LIMIT = (48 if "ASAN_OPTIONS" in os.environ else 16) * MiB


def kernel_buffer_bound():
    """The most a TCP receive buffer plus a send buffer may hold on this
    machine once autotuning has grown them (tcp_rmem and tcp_wmem maxima).
    A transfer meant to show that a source is held back must be larger than
    what the gateway's two sockets can hold between them, or the kernels
    alone absorb it all and nothing is held back (seen on CI: 8 MiB fitted
    into Debian's 6 MiB + 4 MiB defaults)."""
    total = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        with open(f"/proc/sys/net/ipv4/{name}") as f:
            total += int(f.read().split()[2])
    return total


# -- configuration and gateway helpers -------------------------------------------------

def proxy_route(path="/p", **proxy):
    return {"path": path, "relay": "proxy", "proxy": proxy}


def start(gateway, *routes, connect_timeout=None):
    """One worker (so stats, logs and memory are one process's), the given
    routes and, if given, timeouts.upstream_connect."""
    extra = {"routes": list(routes)}
    if connect_timeout is not None:
        extra["timeouts"] = {"upstream_connect": connect_timeout}
    return gateway(workers=1, extra=extra)


def totals(gw):
    return gw.stats()["totals"]


def wait_total(gw, name, value, timeout=5):
    """Waits until stats total `name` == value (stats arrive every 200 ms)."""
    return gw.wait_for(lambda: (t := totals(gw)).get(name) == value and t, timeout,
                       message=f"stats {name} == {value} (last: {totals(gw).get(name)})")


def access_line(gw, *needles, timeout=5):
    return gw.wait_for(lambda: next((line for line in gw.access_log().splitlines()
                                     if all(n in line for n in needles)), None), timeout,
                       message=f"access log line with {needles}")


def error_line(gw, *needles, timeout=5):
    return gw.wait_for(lambda: next((line for line in gw.error_log().splitlines()
                                     if all(n in line for n in needles)), None), timeout,
                       message=f"error log line with {needles}")


def worker_rss(gw):
    """Resident memory of the (single) worker, from /proc/PID/status."""
    pids = gw.worker_pids()
    assert len(pids) == 1, pids
    with open(f"/proc/{pids[0]}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def client_socket(port, sndbuf=None, rcvbuf=None):
    """A connected TCP socket with small kernel buffers, for websockets'
    sock= (so what the client's kernel holds stays small)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def connect(url, **kwargs):
    options = {"open_timeout": 5, "close_timeout": 5, "ping_interval": None, "max_size": None}
    options.update(kwargs)
    return websockets.connect(url, **options)


async def read_bytes(ws, size, timeout=20):
    """Reads messages until `size` bytes came; returns (bytes, message list)."""
    data, messages = bytearray(), []
    deadline = time.monotonic() + timeout
    while len(data) < size:
        message = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        messages.append(message)
        data += message if isinstance(message, bytes) else message.encode()
    return bytes(data), messages


async def read_until_close(ws, timeout=20, limit=64 * MiB):
    """Every message until the gateway closes: (messages, code, reason)."""
    messages, total = [], 0
    deadline = time.monotonic() + timeout
    try:
        while total <= limit:
            message = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
            messages.append(message)
            total += len(message)
    except websockets.ConnectionClosed:
        pass
    return messages, ws.close_code, ws.close_reason


def joined(messages):
    assert all(isinstance(m, bytes) for m in messages), \
        sorted({type(m).__name__ for m in messages})
    return b"".join(messages)


def reached(marker, *servers):
    """Index of the one server among `servers` whose connections received
    `marker` (None if none or several)."""
    hits = [i for i, server in enumerate(servers)
            if any(marker in bytes(c["received"]) for c in list(server.connections))]
    return hits[0] if len(hits) == 1 else None


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A test CA and a leaf for "localhost" (upstream TLS servers)."""
    k = CertKit(str(tmp_path_factory.mktemp("proxy-certs")))
    k.up = k.leaf("upstream", ["localhost"])
    return k


# -- data both ways ------------------------------------------------------------------------

def test_binary_and_text_messages_reach_the_upstream_as_raw_bytes(gateway):
    with upstreams.TcpEcho() as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))
        sent = [b"\x00\x01\xfe\xff", "h\u00e9llo \u20ac", os.urandom(200 * 1024), "", b"end"]
        raw = b"".join(m if isinstance(m, bytes) else m.encode() for m in sent)

        async def main():
            async with connect(gw.url("/p"), subprotocols=["binary"]) as ws:
                for message in sent:
                    await ws.send(message)
                data, messages = await read_bytes(ws, len(raw))
                return data, messages

        data, messages = asyncio.run(main())
        assert data == raw
        assert all(isinstance(m, bytes) for m in messages), "upstream bytes come back binary"
        record = up.wait_connection(0)
        assert bytes(record["received"]) == raw
        stats = wait_total(gw, "proxy_bytes_to_upstream", len(raw))
        stats = wait_total(gw, "proxy_bytes_from_upstream", len(raw))
        assert stats["proxy_connects_ok"] == 1
        assert sum(stats[f"proxy_connect_{b}"] for b in
                   ("under_1ms", "under_10ms", "under_100ms", "under_1s", "over_1s")) == 1


def test_upstream_writes_are_cut_at_upstream_message_max(gateway):
    with upstreams.SendThenClose(10000) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream, upstream_message_max="1KiB"))

        async def main():
            async with connect(gw.url("/p")) as ws:
                return await read_until_close(ws)

        messages, code, _ = asyncio.run(main())
        assert joined(messages) == upstreams.pattern(10000)
        assert max(len(m) for m in messages) <= 1024, [len(m) for m in messages]
        assert len(messages) >= 10
        assert code == 1000


def test_proxy_route_offers_the_binary_subprotocol(gateway):
    with upstreams.TcpEcho() as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))

        async def protocol(**kwargs):
            async with connect(gw.url("/p"), **kwargs) as ws:
                await ws.send(b"x")
                assert await asyncio.wait_for(ws.recv(), 5) == b"x"
                return ws.subprotocol

        assert asyncio.run(protocol(subprotocols=["binary"])) == "binary"
        assert asyncio.run(protocol(subprotocols=["other", "binary"])) == "binary"
        assert asyncio.run(protocol()) is None


def test_messages_sent_before_the_upstream_connects_are_kept(gateway):
    with upstreams.TcpEcho() as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))

        async def main():
            async with connect(gw.url("/p")) as ws:
                for message in (b"one ", b"two ", b"three"):
                    await ws.send(message)
                data, _ = await read_bytes(ws, len(b"one two three"))
                return data

        assert asyncio.run(main()) == b"one two three"

        # Byte-exact: the upgrade request and three frames in ONE write, so
        # the frames are there before the 101 (and so before the connect).
        client = wsraw.RawClient(gw.port)
        try:
            client.send(wsraw.upgrade_request("/p") + wsraw.frame(0x2, b"A1 ")
                        + wsraw.frame(0x1, b"B2 ") + wsraw.frame(0x2, b"C3"))
            status, _ = client.read_http_head()
            assert status == 101
            data = b""
            while len(data) < len(b"A1 B2 C3"):
                fin, opcode, payload = client.read_frame()
                assert opcode == 0x2 and fin
                data += payload
            assert data == b"A1 B2 C3"
            client.send(wsraw.close_frame(1000))
            assert client.read_close()[0] == 1000
        finally:
            client.close()


def test_unix_socket_upstream(gateway):
    with upstreams.UnixEcho() as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))
        assert up.upstream.startswith("unix:/")

        async def main():
            async with connect(gw.url("/p")) as ws:
                await ws.send(b"over a unix socket")
                data, _ = await read_bytes(ws, 18)
                return data

        assert asyncio.run(main()) == b"over a unix socket"
        access_line(gw, "route=/p", f"upstream={up.upstream}")


def test_echo_route_still_works_beside_a_proxy_route(gateway):
    with upstreams.TcpEcho() as up:
        gw = gateway(workers=2, extra={"routes": [{"path": "/echo", "relay": "echo"},
                                                  proxy_route(upstream=up.upstream)]})

        async def main():
            async with connect(gw.url("/echo")) as echo_ws, connect(gw.url("/p")) as proxy_ws:
                await echo_ws.send("text stays text")
                await proxy_ws.send("text becomes bytes")
                echoed = await asyncio.wait_for(echo_ws.recv(), 5)
                proxied, _ = await read_bytes(proxy_ws, 18)
                return echoed, proxied, echo_ws.subprotocol

        echoed, proxied, protocol = asyncio.run(main())
        assert echoed == "text stays text" and proxied == b"text becomes bytes"
        assert protocol is None


# -- connect failures -----------------------------------------------------------------------

FAILURES = {
    # kind: (word in the close reason, stats counter)
    "refused": ("refused", "proxy_connect_failures_refused"),
    "timeout": ("timed out", "proxy_connect_failures_timeout"),
    "dns": ("resolve", "proxy_connect_failures_dns"),
    "tls": ("verify", "proxy_connect_failures_tls"),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_connect_failure_closes_with_1014_after_the_101(kind, gateway, tmp_path):
    word, counter = FAILURES[kind]
    with contextlib.ExitStack() as stack:
        if kind == "refused":
            upstream, route = f"tcp://127.0.0.1:{upstreams.refused_port()}", {}
        elif kind == "timeout":
            upstream, route = stack.enter_context(upstreams.NeverAccepts()).upstream, {}
        elif kind == "dns":
            upstream, route = "tcp://nonexistent.invalid:80", {}
        else:  # a self-signed certificate, checked against the system's CAs
            server = stack.enter_context(upstreams.TlsEcho(*upstreams.self_signed(str(tmp_path))))
            upstream = server.upstream
            route = {"tls": {"enabled": True, "verify": True, "server_name": "localhost"}}
        gw = start(gateway, proxy_route(upstream=upstream, **route), connect_timeout="2s")

        async def main():
            started = time.monotonic()
            async with connect(gw.url("/p"), subprotocols=["binary"]) as ws:
                opened = time.monotonic() - started  # the 101 came before the connect
                _, code, reason = await read_until_close(ws, timeout=10)
                return code, reason, opened, time.monotonic() - started

        code, reason, opened, closed = asyncio.run(main())
        assert code == 1014, (code, reason)
        assert reason.startswith("upstream") and word in reason, reason
        # The 101 comes before the connect ends; a timeout closes no sooner
        # than upstream_connect (2 s), the other failures well before it.
        # No upper bound beyond read_until_close's: a loaded machine is slow.
        assert opened < 1.8, opened
        if kind == "timeout":
            assert closed >= 1.8, closed
        error_line(gw, "/p", upstream)
        stats = wait_total(gw, counter, 1)
        assert stats["proxy_connects_ok"] == 0
        for other, (_, name) in FAILURES.items():
            if other != kind:
                assert stats[name] == 0, name
        line = access_line(gw, "route=/p")
        assert "close_code=1014" in line, line


# -- half-close ---------------------------------------------------------------------------

def test_upstream_closing_first_delivers_everything_then_close_1000(gateway):
    size = 3 * MiB + 17
    with upstreams.SendThenClose(size) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))

        async def main():
            async with connect(gw.url("/p"), subprotocols=["binary"]) as ws:
                return await read_until_close(ws, timeout=30)

        messages, code, _ = asyncio.run(main())
        assert joined(messages) == upstreams.pattern(size)
        assert code == 1000
        assert up.wait_connection(0)["eof"].wait(5), "the gateway closed the upstream"
        access_line(gw, "route=/p", f"upstream_bytes_received={size}")


def test_client_close_half_closes_the_upstream_and_waits_for_it(gateway):
    with upstreams.EofRecorder(close_delay=None) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))

        async def main():
            loop = asyncio.get_running_loop()
            ws = await connect(gw.url("/p"), subprotocols=["binary"], close_timeout=15)
            try:
                await ws.send(b"all of this ")
                await ws.send(b"before the close")
                # Whether the gateway answers the Close at once or once the
                # upstream is done is its business: close in the background.
                closing = asyncio.ensure_future(ws.close(1000))
                record = await loop.run_in_executor(None, up.wait_eof, 0, 5.0)
                line_before = [line for line in gw.access_log().splitlines()
                               if "route=/p" in line]
                up.release()
                await asyncio.wait_for(closing, 15)
                return record, line_before
            finally:
                await ws.close()

        record, line_before = asyncio.run(main())
        assert bytes(record["received"]) == b"all of this before the close"
        assert line_before == [], "the connection ended before the upstream closed its side"
        line = access_line(gw, "route=/p", timeout=10)
        assert "upstream_bytes_sent=28" in line, line


# -- TLS upstreams ----------------------------------------------------------------------------

def test_tls_upstream_verified_unverified_and_untrusted(kit, gateway):
    with upstreams.OpenSslServer(*kit.up) as sserver, upstreams.TlsEcho(*kit.up) as py_tls:
        trusted = {"enabled": True, "verify": True, "ca": kit.ca_cert,
                   "server_name": "localhost"}
        gw = start(gateway,
                   proxy_route("/good", upstream=sserver.upstream, tls=trusted),
                   proxy_route("/good-py", upstream=py_tls.upstream, tls=trusted),
                   proxy_route("/no-verify", upstream=sserver.upstream,
                               tls={"enabled": True, "verify": False}),
                   proxy_route("/untrusted", upstream=sserver.upstream,
                               tls={"enabled": True, "verify": True,
                                    "server_name": "localhost"}),
                   connect_timeout="3s")

        async def reversed_line(path):
            async with connect(gw.url(path), subprotocols=["binary"]) as ws:
                await ws.send(b"hello world\n")
                data, _ = await read_bytes(ws, 12, timeout=10)
                return data

        async def echoed(path):
            async with connect(gw.url(path)) as ws:
                await ws.send(b"python ssl")
                data, _ = await read_bytes(ws, 10, timeout=10)
                return data

        async def refused(path):
            async with connect(gw.url(path)) as ws:
                _, code, reason = await read_until_close(ws, timeout=10)
                return code, reason

        assert asyncio.run(reversed_line("/good")) == b"dlrow olleh\n"
        assert asyncio.run(echoed("/good-py")) == b"python ssl"
        assert asyncio.run(reversed_line("/no-verify")) == b"dlrow olleh\n"
        code, reason = asyncio.run(refused("/untrusted"))
        assert code == 1014 and reason.startswith("upstream") and "verify" in reason, reason
        error_line(gw, "/untrusted", sserver.upstream)
        stats = wait_total(gw, "proxy_connect_failures_tls", 1)
        wait_total(gw, "proxy_connects_ok", 3)
        assert stats["proxy_connect_failures_refused"] == 0


# -- token routing ----------------------------------------------------------------------------

def write_tokens(path, entries, extra_lines=()):
    lines = ["# wsgate proxy tokens: 'token: host:port'", ""]
    lines += [f"{token}: {target}" for token, target in entries]
    lines += list(extra_lines)
    tmp = str(path) + ".tmp"
    with open(tmp, "w", encoding="ascii") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def test_token_file_routes_and_is_reread_on_reload(gateway, tmp_path):
    tokens = tmp_path / "tokens"
    with upstreams.TcpEcho() as a, upstreams.TcpEcho() as b:
        write_tokens(tokens, [("a", a.address), ("b", b.address)])
        gw = start(gateway, proxy_route(token_file=str(tokens)))
        count = iter(range(1000))

        async def reach(query):
            marker = f"marker {next(count)}".encode()
            async with connect(gw.url("/p") + query, subprotocols=["binary"]) as ws:
                await ws.send(marker)
                data, _ = await read_bytes(ws, len(marker))
                assert data == marker
            return reached(marker, a, b)

        async def refused(query):
            with pytest.raises(websockets.InvalidStatusCode) as error:
                async with connect(gw.url("/p") + query):
                    pass
            return error.value.status_code

        assert asyncio.run(reach("?token=a")) == 0
        assert asyncio.run(reach("?token=b")) == 1
        assert asyncio.run(refused("?token=zzz")) == 404
        assert asyncio.run(refused("")) == 404
        assert asyncio.run(refused("?token=")) == 404
        line = access_line(gw, "route=/p", f"{b.address}")
        assert re.search(rf"upstream=(tcp://)?{re.escape(b.address)}(\s|$)", line), line

        write_tokens(tokens, [("a", b.address), ("b", b.address)])
        result = gw.ctl("reload")
        assert result.returncode == 0, result.stdout + result.stderr
        gw.wait_for(lambda: all(w["generation"] == 2 and w["state"] == "Ready"
                                for w in gw.workers()["workers"]), 10,
                    message="every worker of generation 2 Ready")
        assert asyncio.run(reach("?token=a")) == 1
        assert asyncio.run(reach("?token=b")) == 1


def test_config_check_names_a_bad_token_file_line(gateway, tmp_path):
    tokens = tmp_path / "tokens"
    write_tokens(tokens, [("a", "127.0.0.1:1")], ["this line has no target"])
    gw = gateway(workers=1, start=False, extra={"routes": [proxy_route(token_file=str(tokens))]})
    result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                            text=True, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"{tokens}:4" in output, output  # comment, blank line, a:, then line 4
    write_tokens(tokens, [("a", "127.0.0.1:1")])
    result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


# -- backpressure and memory ------------------------------------------------------------------

async def wait_stalled(progress, quiet=1.0, timeout=20.0, sample=None):
    """Waits until progress() stops growing for `quiet` seconds (bounded by
    timeout); calls sample() on every poll. Returns the stalled value."""
    deadline = time.monotonic() + timeout
    last, since = progress(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if sample:
            sample()
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"still moving after {timeout}s (at {last})")


def test_upstream_that_does_not_read_stops_the_client(gateway):
    total, chunk = 20 * MiB, 64 * 1024
    data = upstreams.pattern(total)
    with upstreams.SlowReader(rcvbuf=64 * 1024) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))
        baseline = worker_rss(gw)
        peak = [baseline]

        def sample():
            peak[0] = max(peak[0], worker_rss(gw))

        async def main():
            sock = client_socket(gw.port, sndbuf=64 * 1024)
            async with connect(gw.url("/p"), sock=sock, subprotocols=["binary"]) as ws:
                sent = [0]

                async def sender():
                    for offset in range(0, total, chunk):
                        await ws.send(data[offset:offset + chunk])
                        sent[0] = offset + chunk

                task = asyncio.ensure_future(sender())
                try:
                    stalled = await wait_stalled(lambda: sent[0], sample=sample)
                    assert not task.done(), "every send went through: nothing held back"
                    assert up.bytes_received() == 0
                    up.release()
                    await asyncio.wait_for(task, 60)
                finally:
                    task.cancel()
                return stalled

        stalled = asyncio.run(main())
        assert stalled < total - 4 * MiB, stalled
        assert peak[0] - baseline < RSS_GROWTH_LIMIT, (baseline, peak[0])
        record = up.wait_connection(0)
        wait_for(lambda: record["bytes_received"] >= total, 30, message="all 20 MiB upstream")
        assert bytes(record["received"]) == data
        wait_total(gw, "proxy_bytes_to_upstream", total, timeout=10)


def test_client_that_does_not_read_stops_the_upstream(gateway):
    size = max(8 * MiB, kernel_buffer_bound() + 8 * MiB)
    with upstreams.BigSource(size, sndbuf=64 * 1024) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))
        baseline = worker_rss(gw)
        peak = [baseline]

        def sample():
            peak[0] = max(peak[0], worker_rss(gw))

        async def main():
            sock = client_socket(gw.port, rcvbuf=64 * 1024)
            # max_queue=1: websockets itself holds one message, then stops
            # reading the socket, so the gateway meets a full TCP window.
            async with connect(gw.url("/p"), sock=sock, max_queue=1) as ws:
                record = await asyncio.get_running_loop().run_in_executor(
                    None, up.wait_connection, 0)
                # Not reading: wait until the source is held back.
                held_at = await wait_stalled(lambda: record["bytes_sent"], sample=sample)
                sample()
                messages, code, _ = await read_until_close(ws, timeout=60)
                return held_at, messages, code

        held_at, messages, code = asyncio.run(main())
        assert held_at < size, "the source sent everything while the client read nothing"
        assert peak[0] - baseline < RSS_GROWTH_LIMIT, (baseline, peak[0])
        assert joined(messages) == upstreams.pattern(size)
        assert code == 1000
        wait_total(gw, "proxy_bytes_from_upstream", size, timeout=10)


# -- access log ---------------------------------------------------------------------------------

def test_access_log_names_route_upstream_and_byte_counts(gateway):
    with upstreams.SendThenClose(5000, wait_for_data=3) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream))

        async def main():
            async with connect(gw.url("/p"), subprotocols=["binary"]) as ws:
                await ws.send(b"ab")
                await ws.send("c")
                return await read_until_close(ws)

        messages, code, _ = asyncio.run(main())
        assert joined(messages) == upstreams.pattern(5000) and code == 1000
        line = access_line(gw, "route=/p")
        assert f"upstream={up.upstream} " in line + " ", line
        assert "upstream_bytes_sent=3 " in line + " ", line
        assert "upstream_bytes_received=5000" in line, line
        stats = wait_total(gw, "proxy_bytes_from_upstream", 5000)
        assert stats["proxy_bytes_to_upstream"] == 3 and stats["proxy_connects_ok"] == 1


# -- per-route stats ----------------------------------------------------------------------

def test_stats_count_each_route_apart_and_survive_a_reload(gateway):
    """Two proxy routes and an echo route: wsgatectl stats shows each
    route's upgrades, traffic and upstream outcomes under its own path, and
    a reload (new workers) does not take any counter back."""
    with upstreams.TcpEcho() as up:
        gw = start(gateway, proxy_route("/good", upstream=up.upstream),
                   proxy_route("/down", upstream=f"tcp://127.0.0.1:{upstreams.refused_port()}"),
                   {"path": "/echo", "relay": "echo"})

        async def main():
            async with connect(gw.url("/good"), subprotocols=["binary"]) as ws:
                await ws.send(b"x" * 100)
                data, _ = await read_bytes(ws, 100)
                assert data == b"x" * 100
            async with connect(gw.url("/down"), subprotocols=["binary"]) as ws:
                _, code, _ = await read_until_close(ws, timeout=10)
                assert code == 1014
            async with connect(gw.url("/echo")) as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"

        asyncio.run(main())

        def routes_settled():
            routes = gw.stats()["routes"]
            settled = (routes["/good"]["messages_in"] == 1 and routes["/echo"]["messages_out"] == 1
                       and routes["/down"]["proxy_connect_failures_refused"] == 1
                       and all(r["connections_active"] == 0 for r in routes.values()))
            return settled and routes

        routes = gw.wait_for(routes_settled, 5, message="per-route stats")
        good, down, echo_route = routes["/good"], routes["/down"], routes["/echo"]
        assert good["upgrades"] == 1 and good["proxy_connects_ok"] == 1
        assert good["proxy_bytes_to_upstream"] == 100 and good["proxy_bytes_from_upstream"] == 100
        assert good["proxy_connect_failures_refused"] == 0
        assert down["upgrades"] == 1 and down["proxy_connects_ok"] == 0
        assert down["closes_upstream"] == 1
        assert echo_route["upgrades"] == 1 and echo_route["proxy_connects_ok"] == 0

        result = gw.ctl("stats")
        assert result.returncode == 0 and "/down" in result.stdout, result.stdout

        assert gw.ctl("reload").returncode == 0
        gw.wait_for(lambda: all(w["generation"] == 2 and w["state"] == "Ready"
                                for w in gw.workers()["workers"]), 10,
                    message="every worker of generation 2 Ready")
        gw.wait_for(lambda: len(gw.workers()["workers"]) == 1, 10, message="old worker gone")
        after = gw.stats()["routes"]
        for path, before in routes.items():
            for name, value in before.items():
                if name != "connections_active":
                    assert after[path][name] >= value, (path, name)


class _SlowTlsEcho(upstreams.TlsEcho):
    """A TLS echo that waits before its handshake, so the gateway is still
    connecting when the client's last frames arrive."""

    def handle(self, conn, record):
        time.sleep(0.5)
        super().handle(conn, record)


def test_bytes_sent_before_close_reach_an_upstream_still_connecting(gateway, tmp_path):
    """Data and Close in one write, while the upstream's TLS handshake is
    pending: the data is delivered once it completes, then the EOF (seen
    lost under ASan before the fix)."""
    with _SlowTlsEcho(*upstreams.self_signed(str(tmp_path))) as up:
        gw = start(gateway, proxy_route(upstream=up.upstream, tls={"enabled": True, "verify": False}))
        client = wsraw.RawClient(gw.port)
        try:
            client.handshake("/p", extra="Sec-WebSocket-Protocol: binary\r\n")
            client.send(wsraw.frame(0x2, b"final words") + wsraw.close_frame(1000))
            code, _ = client.read_close()
            client.wait_eof()
        finally:
            client.close()
        assert code == 1000
        record = up.wait_connection(0)
        wait_for(lambda: bytes(record["received"]) == b"final words", 10,
                 message="the client's last bytes at the upstream")


def test_compression_on_a_proxy_route(gateway):
    """permessage-deflate applies to any relay: the upstream sees the
    inflated bytes, and what it sends back is compressed when that pays."""
    with upstreams.TcpEcho() as up:
        route = dict(proxy_route(upstream=up.upstream), compression={"enabled": True})
        gw = start(gateway, route)
        sent = [b"{\"row\": 1234567}" * 400, os.urandom(5000), b"end"]
        raw = b"".join(sent)

        async def main():
            async with connect(gw.url("/p"), subprotocols=["binary"]) as ws:
                answer = ws.response_headers.get("Sec-WebSocket-Extensions")
                for message in sent:
                    await ws.send(message)
                data, _ = await read_bytes(ws, len(raw))
                return answer, data

        answer, data = asyncio.run(main())
        assert answer.startswith("permessage-deflate")
        assert data == raw
        assert bytes(up.wait_connection(0)["received"]) == raw
        stats = wait_total(gw, "inflated_bytes_in", len(raw))
        assert stats["compressed_bytes_in"] < len(raw) // 2
        assert 0 < stats["compressed_bytes_out"] < stats["deflated_bytes_out"]
