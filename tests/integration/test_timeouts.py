"""Idle timeout, server pings and the pong timeout, the handshake timeout,
and slow-consumer eviction, each through the real binary."""
import asyncio
import contextlib
import socket
import struct
import threading
import time

import websockets

from wsraw import RawClient, frame


def test_idle_timeout_closes_with_1001(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle": "500ms", "ping_interval": 0}})

    async def main():
        async with websockets.connect(gw.url(), ping_interval=None) as ws:
            await ws.send("x")
            await ws.recv()
            started = time.monotonic()
            await asyncio.wait_for(ws.wait_closed(), 5)
            return ws.close_code, time.monotonic() - started

    code, waited = asyncio.run(main())
    assert code == 1001
    assert waited > 0.3, waited  # not before timeouts.idle; wait_for bounds the rest
    assert gw.wait_for(lambda: gw.stats()["totals"]["closes_idle"] >= 1, 5)


def test_SEC_KA_01_server_pings_and_a_silent_client_is_dropped(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"ping_interval": "300ms",
                                                "pong_timeout": "300ms", "idle": 0}})
    # A client that answers every ping, in its own thread, for 2.5 s.
    result = {"pings": 0, "dropped": False}

    def answer_pings():
        c = RawClient(gw.port)
        c.handshake()
        deadline = time.monotonic() + 2.5
        try:
            while time.monotonic() < deadline:
                _, opcode, payload = c.read_frame()
                assert opcode == 0x9
                result["pings"] += 1
                c.send(frame(0xA, payload))
            c.send(frame(0x1, b"still here"))
            assert c.read_frame() == (True, 0x1, b"still here")
        except EOFError:
            result["dropped"] = True
        c.close()

    answering = threading.Thread(target=answer_pings)
    answering.start()
    # One that stops answering is dropped after pong_timeout.
    silent = RawClient(gw.port)
    silent.handshake()
    assert silent.read_frame()[1] == 0x9
    started = time.monotonic()
    assert silent.wait_eof()
    assert time.monotonic() - started < 2
    answering.join(10)
    assert not result["dropped"] and result["pings"] >= 4
    assert gw.wait_for(lambda: gw.stats()["totals"]["closes_ping_timeout"] == 1, 5)


def test_SEC_LIM_04_handshake_timeout_answers_408(gateway):
    gw = gateway(workers=1, extra={"limits": {"handshake_timeout": "300ms"}})
    c = RawClient(gw.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")  # never finished
    status, _, _ = c.read_http_response()
    assert status == 408
    assert c.wait_eof()


def test_SEC_BP_02_slow_consumer_is_evicted_with_1008(gateway):
    gw = gateway(workers=1, extra={"limits": {
        "write_queue_low": "16KiB", "write_queue_high": "64KiB", "write_queue_max": "256KiB",
        "write_queue_timeout": "500ms", "max_frame": "64KiB"}, "timeouts": {"close": "500ms"}})
    c = RawClient(gw.port, timeout=10)
    c.handshake()
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Send until the server stops reading us (our sends block), never reading.
    c.sock.setblocking(False)
    chunk = frame(0x2, b"s" * 60000)
    # Keep offering data (never reading) until the server evicts us: the
    # queue passes write_queue_high once the socket buffers are full, reading
    # stops, and write_queue_timeout later the client is closed.
    sent = 0
    totals = None
    pending = b""  # a non-blocking send may take part of a frame
    deadline = time.monotonic() + 20
    next_check = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        try:
            if not pending:
                pending = chunk
                sent += 1
            pending = pending[c.sock.send(pending):]
        except BlockingIOError:
            time.sleep(0.05)
        except (ConnectionResetError, BrokenPipeError):
            pass  # already evicted and aborted; the stats will say why
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + 0.5
            totals = gw.stats()["totals"]
            if totals["closes_slow_consumer"] >= 1:
                break
    assert sent > 2
    assert totals is not None, "no stats"
    assert totals["closes_slow_consumer"] == 1


def test_a_prompt_reader_is_never_a_slow_consumer(gateway):
    # Issue 10 item 8: with the default write_queue_* (max 1MiB), echoing
    # messages far larger than what the kernel takes in one write must not
    # close a client that reads promptly.
    gw = gateway(workers=1, extra={"limits": {"max_message": "16MiB", "max_frame": "16MiB"}})

    async def main():
        async with websockets.connect(gw.url(), max_size=None, open_timeout=10) as ws:
            for size in (8 << 20, 16 << 20):
                payload = bytes([size % 251]) * size
                await ws.send(payload)
                echoed = await asyncio.wait_for(ws.recv(), 60)
                assert echoed == payload
    asyncio.run(main())
    assert gw.stats()["totals"]["closes_slow_consumer"] == 0


def test_SEC_LIM_08_a_single_frame_dripped_byte_by_byte_ends_at_message_timeout(gateway):
    # Issue 10 item 7: message_timeout counts from the first byte of any
    # unfinished frame, not only of fragmented messages, so a frame dripped
    # a byte at a time cannot hold its buffer forever with idle: 0.
    gw = gateway(workers=1, extra={"timeouts": {"idle": 0, "ping_interval": 0},
                                   "limits": {"message_timeout": "1s"}})
    c = RawClient(gw.port, timeout=10)
    c.handshake()
    c.sock.sendall(bytes([0x81, 0x80 | 100]) + b"\0\0\0\0")  # a 100-byte text frame
    c.sock.settimeout(0.2)
    answer = b""
    started = time.monotonic()
    while not answer and time.monotonic() - started < 15:
        with contextlib.suppress(BlockingIOError, TimeoutError, socket.timeout):
            c.sock.sendall(b"a")
        try:
            answer = c.sock.recv(64)
        except (TimeoutError, socket.timeout):
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
    assert answer[:1] == b"\x88", answer  # a Close frame
    assert struct.unpack("!H", answer[2:4])[0] == 1008
    assert b"message took too long" in answer
