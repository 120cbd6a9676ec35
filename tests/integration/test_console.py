"""The live console (issue 15): the page shipped in console/ is served by a
static route, its read-only WebSocket (relay: console) is Origin-checked,
and headless Chromium shows the numbers wsgatectl stats shows (with a
screenshot kept for the test's record)."""
import asyncio
import json
import os
import select
import socket
import subprocess
import time

import pytest
import websockets

from conftest import WSGATED, echo, run_in_chromium
from wsraw import RawClient, frame, upgrade_request

HERE = os.path.dirname(os.path.abspath(__file__))
CONSOLE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "console"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_gateway(gateway, workers=2, extra=None):
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    gw = gateway(workers=workers, extra={
        "listen": [{"address": f"127.0.0.1:{port}"}],
        "routes": [{"path": "/echo", "relay": "echo"},
                   {"path": "/console/", "relay": "static", "static": {"root": CONSOLE_DIR}},
                   {"path": "/console/live", "relay": "console", "origins": [origin]}],
        **(extra or {})})
    gw.origin = origin
    return gw


def console_request(gw):
    return upgrade_request("/console/live", extra=f"Origin: {gw.origin}\r\n")


def raw_console(gw, receive_buffer=None):
    """A raw console client past its 101 (nothing after the head is read);
    receive_buffer sets SO_RCVBUF before connecting."""
    client = RawClient.__new__(RawClient)
    client.sock = socket.socket()
    client.sock.settimeout(10)
    if receive_buffer is not None:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    client.sock.connect(("127.0.0.1", gw.port))
    client.buffer = b""
    client.send(console_request(gw))
    status, _ = client.read_http_head()
    assert status == 101, status
    return client


def drop_received_frames(client):
    """Reads and drops every frame the client has received so far (and the
    rest of one under way), so that the next read_frame() returns a frame
    sent after this call."""
    while select.select([client.sock], [], [], 0)[0]:
        client.recv_some()
    while client.buffer:
        client.read_frame()


def next_snapshot(client):
    """The payload of the next text frame (a snapshot) the client gets."""
    while True:
        _, opcode, payload = client.read_frame()
        assert opcode != 0x8, f"closed: {payload!r}"
        if opcode == 0x1:
            return payload


def test_chromium_shows_what_wsgatectl_stats_shows(gateway, tmp_path):
    gw = console_gateway(gateway)
    for i in range(5):
        assert echo(gw.url(), [f"m{i}", f"n{i}"]) == [f"m{i}", f"n{i}"]
    screenshot = tmp_path / "console.png"
    code, out, err = run_in_chromium("chromium_console.js", [f"{gw.origin}/console/", str(screenshot)],
                                     tmp_path)
    shown = json.loads(out.splitlines()[-1]) if out.strip() else {}
    assert code == 0 and shown.get("ok"), out + err
    # Counters do not move when the browser leaves; wsgatectl stats asks
    # every worker for a fresh report.
    totals = gw.stats()["totals"]
    for name in ("connections_accepted", "handshakes_ok", "messages_in", "connections_shed"):
        assert int(shown[name]) == totals[name], (name, shown, totals)
    assert int(shown["messages_in"]) == 10
    # messages_out: the 10 echoes and the snapshots the page had received
    # by then (more followed until the browser left).
    assert 10 < int(shown["messages_out"]) <= totals["messages_out"]
    # The browser's page request and its console WebSocket were open.
    assert int(shown["connections_active"]) >= 1
    # One row per live worker, with the pids wsgatectl workers shows.
    pids = sorted(str(w["pid"]) for w in gw.workers()["workers"])
    assert sorted(row[1] for row in shown["workers"]) == pids
    assert all(row[3] == "Ready" for row in shown["workers"])
    # The recent events include the echo sessions (newest first).
    upgrades = [row for row in shown["events"] if row[1] == "upgraded" and row[4] == "/echo"]
    assert len(upgrades) == 5, shown["events"]
    with open(screenshot, "rb") as image:
        png = image.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 1100 and height >= 600, (width, height)
    # A blank page compresses to a few KiB; this one has tables of text.
    assert len(png) > 30000, len(png)


def test_the_console_checks_the_origin_and_is_read_only(gateway):
    gw = console_gateway(gateway, workers=1)

    async def main():
        url = gw.url("/console/live")
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
            async with websockets.connect(url, origin="http://evil.test"):
                pass
        assert refused.value.status_code == 403
        async with websockets.connect(url, origin=gw.origin, ping_interval=None) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            # What the client sends is ignored; snapshots keep coming.
            await ws.send("please stop the daemon")
            second = json.loads(await asyncio.wait_for(ws.recv(), 5))
            return first, second
    first, second = asyncio.run(main())
    assert first["type"] == second["type"] == "snapshot"
    assert second["uptime_ms"] > first["uptime_ms"]
    assert first["pid"] == gw.pid and first["workers_ready"] == 1
    assert {"connections_accepted", "messages_in", "rss_bytes"} <= set(first["totals"])
    assert gw.status()["state"] == "running"


def test_a_console_route_without_origins_is_a_config_error(tmp_path):
    config = tmp_path / "wsgate.yaml"
    config.write_text("listen: [{address: 127.0.0.1:0}]\n"
                      "routes:\n"
                      "  - path: /live\n"
                      "    relay: console\n")
    result = subprocess.run([WSGATED, "-t", "-c", str(config)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert f"{config}:4:12: routes[0].relay: console routes must list routes[].origins" in \
        result.stdout + result.stderr, result.stdout + result.stderr


def test_a_reload_closes_console_clients_at_once(gateway):
    """A console connection gets a snapshot a second, so it never looks
    idle; a draining worker closes it with 1001 instead of waiting out
    timeouts.drain, and the old worker exits."""
    gw = console_gateway(gateway, workers=1)
    old_pid = gw.workers()["workers"][0]["pid"]

    async def main():
        async with websockets.connect(gw.url("/console/live"), origin=gw.origin,
                                      ping_interval=None) as ws:
            await asyncio.wait_for(ws.recv(), 5)
            gw.ctl("reload", check=True)
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd.code
    assert asyncio.run(main()) == 1001
    gw.wait_for(lambda: old_pid not in [w["pid"] for w in gw.workers()["workers"]], 10,
                message="the old worker exited")


def test_a_console_client_that_upgrades_during_a_drain_is_closed_at_the_next_check(gateway):
    """The drain closes console connections because their relay says it
    never goes idle, not because they were open when it began: one still
    sending its request head then upgrades during the drain and is closed
    with 1001 at the next check. The check interval (5 s by default) is
    longer than the snapshot second, so it would never look idle."""
    gw = console_gateway(gateway, workers=1)
    old_pid = gw.workers()["workers"][0]["pid"]
    client = RawClient(gw.port, timeout=20)
    request = console_request(gw)
    client.send(request[:20])
    gw.wait_for(lambda: gw.stats()["totals"]["connections_handshaking"] == 1, 10,
                message="the request head under way")
    gw.ctl("reload", check=True)
    gw.wait_for(lambda: any(f"[pid {old_pid} " in line and "draining 1 connections" in line
                            for line in gw.error_log().splitlines()), 10,
                message="the old worker draining")
    client.send(request[20:])
    status, _ = client.read_http_head()
    assert status == 101
    deadline = time.monotonic() + 15
    while True:
        assert time.monotonic() < deadline, "no Close within 15 s of the upgrade"
        _, opcode, payload = client.read_frame()
        if opcode == 0x8:
            break
    assert int.from_bytes(payload[:2], "big") == 1001, payload
    client.close()
    gw.wait_for(lambda: old_pid not in [w["pid"] for w in gw.workers()["workers"]], 15,
                message="the old worker exited")


def test_a_console_client_that_stops_reading_skips_snapshots(gateway):
    """A console client whose queue passed write_queue_high is sent no
    snapshot until it drains: while a reading client gets five more, the
    worker's queue for it does not grow, the connection stays open
    (write_queue_timeout is an hour here) and it was sent at least five
    snapshots fewer. Sent anyway, each snapshot (about 4 KiB) would add to
    the queue until write_queue_max closed it as a slow consumer."""
    gw = console_gateway(gateway, workers=1, extra={
        # No keepalive pings: the raw clients answer none.
        "timeouts": {"ping_interval": "0s", "worker_start": "10s", "stop": "5s"},
        "limits": {"write_queue_low": "1KiB", "write_queue_high": "2KiB",
                   "write_queue_timeout": "1h", "control_frames_per_second": 100000,
                   "control_frames_burst": 100000}})
    reader = raw_console(gw)
    stuck = raw_console(gw, receive_buffer=4096)
    # The stuck client reads nothing; its pings make the worker queue a
    # pong each, which fills the kernel's buffers (a few MiB on loopback)
    # in a moment instead of a snapshot a second.
    ping = frame(0x9, b"p" * 125)
    deadline = time.monotonic() + 60
    while gw.stats()["totals"]["write_queue_bytes"] <= 2048:
        assert time.monotonic() < deadline, "the stuck client's queue never passed the high mark"
        stuck.send(ping * 2000)

    # The console counts what a client sends (and drops it): once this
    # message is counted, every ping before it has its pong queued.
    stuck.send(frame(0x1, b"sync"))
    gw.wait_for(lambda: gw.stats()["totals"]["messages_in"] == 1, 10, message="the pings read")
    # From here the queue can shrink (the kernel may still take a little)
    # but, with the snapshots skipped, never grow.
    queued = gw.stats()["totals"]["write_queue_bytes"]
    assert queued > 2048, queued
    # What the reader has been sent until now is dropped, so that the next
    # five snapshots were all sent after the stuck client fell behind.
    drop_received_frames(reader)
    largest = 0
    for _ in range(5):
        largest = max(largest, len(next_snapshot(reader)))
        totals = gw.stats()["totals"]
        # The reader's own queue may hold a snapshot for a moment.
        assert totals["write_queue_bytes"] <= queued + largest + 14, (totals, queued, largest)
        assert totals["closes_slow_consumer"] == 0, totals
    closed = {}
    for name, client in (("stuck", stuck), ("reader", reader)):
        peer = f'"127.0.0.1:{client.sock.getsockname()[1]}"'
        client.close()
        closed[name] = gw.wait_for(lambda: next(
            (json.loads(line) for line in gw.ctl("events", "--json", check=True).stdout
             .splitlines() if '"closed"' in line and peer in line), None), 10,
            message=f"the {name} client's closed event")
    # Open until the test closed it, and sent nothing after it fell behind.
    assert closed["stuck"]["closed_by"] == "client", closed
    assert closed["stuck"]["messages_out"] + 5 <= closed["reader"]["messages_out"], closed
