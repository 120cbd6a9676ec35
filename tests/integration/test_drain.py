"""Drain after a reload: idle connections are closed with 1001 at the next
idle check, busy ones stay until they go idle or the drain timeout ends."""
import asyncio
import re
import signal
import socket
import time

import websockets


def reload_ok(gw):
    out = gw.ctl("reload")
    assert out.returncode == 0, out.stdout + out.stderr


def test_drain_closes_idle_with_1001_and_keeps_busy_until_idle(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "300ms", "drain": "30s",
                                                "ping_interval": 0}})

    async def main():
        idle = await websockets.connect(gw.url(), ping_interval=None)
        busy = await websockets.connect(gw.url(), ping_interval=None)

        async def keep_busy(seconds):
            # One message every 50 ms, each echoed: never idle at a check.
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                await busy.send(f"m{i}")
                assert await asyncio.wait_for(busy.recv(), 5) == f"m{i}"
                i += 1
                await asyncio.sleep(0.05)

        traffic = asyncio.create_task(keep_busy(2.0))
        await asyncio.get_running_loop().run_in_executor(None, reload_ok, gw)
        started = time.monotonic()
        await asyncio.wait_for(idle.wait_closed(), 5)
        idle_closed_after = time.monotonic() - started
        await traffic  # raises if the busy connection was closed meanwhile
        assert busy.open
        # Once it goes quiet it is closed at a later check.
        await asyncio.wait_for(busy.wait_closed(), 5)
        return idle.close_code, idle.close_reason, idle_closed_after, busy.close_code

    idle_code, idle_reason, idle_after, busy_code = asyncio.run(main())
    assert idle_code == 1001 and idle_reason == "server reloading"
    assert idle_after < 2
    assert busy_code == 1001
    # The old worker exits once its connections are gone.
    gw.wait_for(lambda: all(w["generation"] == 2 for w in gw.workers()["workers"]), 10)
    assert gw.wait_for(lambda: gw.stats()["totals"]["closes_drain"] >= 2, 5)


def test_drain_timeout_closes_busy_connections_with_1001(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "200ms", "drain": "1s",
                                                "ping_interval": 0}})

    async def main():
        busy = await websockets.connect(gw.url(), ping_interval=None)
        await asyncio.get_running_loop().run_in_executor(None, reload_ok, gw)
        started = time.monotonic()
        try:
            while time.monotonic() - started < 10:
                await busy.send("x")
                await asyncio.wait_for(busy.recv(), 5)
                await asyncio.sleep(0.02)
        except websockets.ConnectionClosed:
            pass
        return busy.close_code, time.monotonic() - started

    code, after = asyncio.run(main())
    assert code == 1001
    # Not before timeouts.drain (1 s, counted from before the reload's
    # answer); how much later depends on the machine, and the loop above
    # bounds it.
    assert after > 0.8, after


def read_to_eof(sock, timeout=10):
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_stop_closes_http_phase_connections_without_websocket_frames(gateway):
    # On SIGTERM a client that sent half a request head gets EOF and no
    # byte at all; one that got an HTTP error answer gets that answer and
    # EOF, never a Close frame after it.
    gw = gateway(workers=1)
    partial = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    partial.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: webso")
    answered = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    answered.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\n\r\n")
    gw.wait_for(lambda: gw.stats()["totals"]["connections_accepted"] == 2, 5)
    gw.wait_for(lambda: "status=404" in gw.access_log() or
                gw.stats()["totals"]["handshakes_failed_not_found"] == 1, 5)
    gw.signal(signal.SIGTERM)
    assert read_to_eof(partial) == b""
    answer = read_to_eof(answered)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ")
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
    assert len(body) == length, answer
    gw.wait_exit()
    partial.close()
    answered.close()


def test_reload_closes_a_partial_request_without_websocket_frames(gateway):
    # A reload drains the old worker: a client stuck in its request head
    # gets at most an HTTP answer (408), then EOF; no WebSocket frame.
    gw = gateway(workers=1, extra={"limits": {"handshake_timeout": "1s"}})
    partial = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    partial.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
    gw.wait_for(lambda: gw.stats()["totals"]["connections_accepted"] == 1, 5)
    assert gw.ctl("reload").returncode == 0
    answer = read_to_eof(partial)
    partial.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
    if answer:
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
        assert len(body) == length, answer
