"""The live console (issue 15): the page shipped in console/ is served by a
static route, its read-only WebSocket (relay: console) is Origin-checked,
and headless Chromium shows the numbers wsgatectl stats shows (with a
screenshot kept for the test's record)."""
import asyncio
import json
import os
import socket
import subprocess
import time

import pytest
import websockets

from conftest import WSGATED, echo, run_in_chromium
from wsraw import RawClient, upgrade_request

HERE = os.path.dirname(os.path.abspath(__file__))
CONSOLE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "console"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_gateway(gateway, workers=2):
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    gw = gateway(workers=workers, extra={
        "listen": [{"address": f"127.0.0.1:{port}"}],
        "routes": [{"path": "/echo", "relay": "echo"},
                   {"path": "/console/", "relay": "static", "static": {"root": CONSOLE_DIR}},
                   {"path": "/console/live", "relay": "console", "origins": [origin]}]})
    gw.origin = origin
    return gw


def console_request(gw):
    return upgrade_request("/console/live", extra=f"Origin: {gw.origin}\r\n")


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
