"""The load generator (bench/loadgen, wsgate-loadgen) against the real
wsgated, the raw TCP echo reference (wsgate-tcp-echo), a Python TCP server
that corrupts echoes (the verification must be able to fail) and a Python
websockets wss server with a throwaway certificate (the TLS client).

Binaries come from WSGATE_LOADGEN and WSGATE_TCP_ECHO (set by ctest). Every
run is short (about 1 s of measurement) and every process is reaped.
"""

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

LOADGEN = os.environ.get("WSGATE_LOADGEN", "")
TCP_ECHO = os.environ.get("WSGATE_TCP_ECHO", "")

pytestmark = pytest.mark.skipif(not LOADGEN or not TCP_ECHO,
                                reason="WSGATE_LOADGEN and WSGATE_TCP_ECHO not set")

ERROR_NAMES = {"connect_refused", "connect_failed", "reset", "eof", "timeout", "bad_echo",
               "protocol", "handshake", "tls", "server_close"}
FIELDS = {"mode", "url", "connections", "size", "depth", "duration_s", "messages", "msgs_per_s",
          "bytes_per_s", "latency_us", "handshakes", "handshakes_per_s", "handshakes_failed",
          "resumed", "open_at_end", "errors", "closes", "lost", "crossed_close", "reconnects",
          "server_cpu_us_per_msg", "connect_s", "interrupted"}


def loadgen(*args, timeout=30):
    """Runs wsgate-loadgen with --json; returns (exit status, report dict)."""
    result = subprocess.run([LOADGEN, *map(str, args), "--json"], capture_output=True, text=True,
                            timeout=timeout)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"exit {result.returncode}: {result.stdout!r} {result.stderr!r}"
    report = json.loads(lines[0])
    assert set(report) == FIELDS, report
    assert set(report["errors"]) == ERROR_NAMES, report
    return result.returncode, report


def assert_clean(status, report):
    assert status == 0, report
    assert report["lost"] == 0, report
    assert not any(report["errors"].values()), report


class Spawned:
    """A child process that prints "listening ... PORT" first; killed and
    reaped on close()."""

    def __init__(self, args):
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            self.close()
            raise AssertionError(f"{args[0]} did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(line.strip().rsplit(":", 1)[-1].split()[-1])

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def spawn():
    started = []

    def factory(args):
        child = Spawned(args)
        started.append(child)
        return child

    yield factory
    for child in started:
        child.close()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("depth", [1, 16])
def test_echo_mode_against_wsgated_is_clean(gateway, binary, depth):
    gw = gateway(workers=1)
    args = ["--url", gw.url(), "-c", 20, "-d", 1, "-w", 0.2, "-q", depth, "-s", 100]
    if binary:
        args.append("--binary")
    status, report = loadgen(*args)
    assert_clean(status, report)
    assert report["mode"] == "echo" and report["depth"] == depth
    assert report["messages"] > 0 and report["msgs_per_s"] > 0
    assert report["bytes_per_s"] == pytest.approx(report["msgs_per_s"] * 100, rel=0.01)
    assert 0 < report["latency_us"]["p50"] <= report["latency_us"]["max"]
    assert report["open_at_end"] == 20


def test_echo_mode_counts_exactly_n_messages(gateway):
    gw = gateway(workers=1)
    status, report = loadgen("--url", gw.url(), "-c", 4, "-n", 5000, "-w", 0)
    assert_clean(status, report)
    assert report["messages"] == 5000


def test_reconnect_rides_through_a_reload(gateway):
    """The old worker closes every busy connection with 1001 once its drain
    times out; --reconnect reopens them on the new generation and re-sends
    whatever crossed the Close, so nothing is lost and the run is clean."""
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "200ms", "drain": "1s",
                                                "ping_interval": 0}})
    process = subprocess.Popen([LOADGEN, "--url", gw.url(), "-c", "10", "-q", "4", "-d", "5",
                                "-w", "0", "--reconnect", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        gw.wait_for(lambda: gw.stats()["totals"]["messages_in"] > 1000, 10,
                    message="the load generator's traffic")
        gw.ctl("reload", check=True)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    report = json.loads(out)
    assert process.returncode == 0, (report, err)
    assert report["closes"] == {"1001": 10}, report
    assert report["reconnects"] == 10 and report["lost"] == 0, report
    assert report["open_at_end"] == 10, report


def test_raw_mode_against_tcp_echo(spawn):
    server = spawn([TCP_ECHO, "0"])
    status, report = loadgen("--raw", f"127.0.0.1:{server.port}", "-c", 20, "-d", 1, "-w", 0.2,
                             "-q", 4, "-s", 64)
    assert_clean(status, report)
    assert report["messages"] > 0 and report["url"] == f"tcp://127.0.0.1:{server.port}"


@pytest.mark.parametrize("size,depth", [(32, 16), (65536, 1)])
def test_stream_mode_through_a_proxy_route(gateway, spawn, size, depth):
    """--stream checks a proxy's echo as bytes: wsgated's relay: proxy in
    front of the TCP echo re-frames what the upstream returns."""
    upstream = spawn([TCP_ECHO, "0"])
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/p", "relay": "proxy", "proxy": {"upstream": f"tcp://127.0.0.1:{upstream.port}"}}]})
    status, report = loadgen("--url", gw.url("/p"), "--binary", "--stream", "-c", 10, "-q", depth,
                             "-s", size, "-d", 1, "-w", 0.2)
    assert_clean(status, report)
    assert report["messages"] > 0


def test_connect_mode_counts_handshakes(gateway):
    gw = gateway(workers=1)
    status, report = loadgen("--url", gw.url(), "--mode", "connect", "-c", 10, "-d", 1,
                             "-w", 0.2)
    assert_clean(status, report)
    assert report["handshakes"] > 0 and report["handshakes_failed"] == 0
    assert report["handshakes_per_s"] > 0


def test_idle_mode_holds_every_connection_over_two_sources(gateway):
    gw = gateway(workers=2)
    status, report = loadgen("--url", gw.url(), "--mode", "idle", "-c", 200, "--sources", 2,
                             "-d", 1)
    assert_clean(status, report)
    assert report["open_at_end"] == 200
    assert report["closes"] == {}


def test_connect_refused_is_an_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    status, report = loadgen("--url", f"ws://127.0.0.1:{port}/echo", "-c", 2, "-d", 0.5, "-w", 0)
    assert status == 1
    assert report["errors"]["connect_refused"] == 2


def test_usage_error_exits_2():
    result = subprocess.run([LOADGEN, "--url", "http://127.0.0.1:1/"], capture_output=True,
                            timeout=10)
    assert result.returncode == 2
    result = subprocess.run([LOADGEN, "--raw", "127.0.0.1:1", "--mode", "idle"],
                            capture_output=True, timeout=10)
    assert result.returncode == 2
    result = subprocess.run([LOADGEN, "--url", "ws://127.0.0.1:1/", "--stream"],
                            capture_output=True, timeout=10)
    assert result.returncode == 2  # --stream needs --binary


class ThreadedServer:
    """A TCP server on 127.0.0.1 with one thread per connection; subclasses
    define _serve(conn, index), index counting connections from 1."""

    def __init__(self, backlog=64):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.listener.settimeout(0.05)  # accept() wakes up to see `stopping`
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0
        self.sockets, self.threads = [], []
        self.stopping = False
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self.lock:
                self.accepted += 1
                index = self.accepted
            self.sockets.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self):
        self.stopping = True
        self.acceptor.join(timeout=5)
        self.listener.close()
        for conn in self.sockets:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        for thread in self.threads:
            thread.join(timeout=5)


class CorruptingEchoServer(ThreadedServer):
    """A TCP echo server on 127.0.0.1 that flips one bit of the 100th byte
    it echoes on each connection."""

    def _serve(self, conn, index):
        echoed = 0
        try:
            while True:
                data = bytearray(conn.recv(65536))
                if not data:
                    return
                if echoed <= 100 < echoed + len(data):
                    data[100 - echoed] ^= 0x01
                echoed += len(data)
                conn.sendall(data)
        except OSError:
            return


def test_bad_echo_is_detected_and_fails_the_run():
    server = CorruptingEchoServer()
    try:
        status, report = loadgen("--raw", f"127.0.0.1:{server.port}", "-c", 2, "-d", 1, "-w", 0,
                                 "-s", 32)
    finally:
        server.close()
    assert status == 1, report
    assert report["errors"]["bad_echo"] == 2, report
    assert report["lost"] >= 2, report


class SlowUpgradeEchoServer(ThreadedServer):
    """A minimal WebSocket echo server (threads, small frames only) that
    answers the upgrade of its `slow`-th connection `delay` seconds late and
    notes when the last 101 went out and when the first data frame came in."""

    def __init__(self, slow, delay):
        self.slow, self.delay = slow, delay
        self.last_upgrade = 0.0
        self.first_frame = None
        super().__init__()

    def _serve(self, conn, index):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, data = data.split(b"\r\n\r\n", 1)
            key = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1(
                key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            if index == self.slow:
                time.sleep(self.delay)
            # Noted before the 101 goes out: once it is out, the client may
            # send a frame that another thread notes before this one runs.
            with self.lock:
                self.last_upgrade = max(self.last_upgrade, time.monotonic())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            while True:
                while len(data) >= 6 and len(data) >= 6 + (data[1] & 0x7F):
                    if self.first_frame is None:
                        with self.lock:
                            if self.first_frame is None:
                                self.first_frame = time.monotonic()
                    opcode, length = data[0] & 0x0F, data[1] & 0x7F
                    assert length < 126
                    mask, payload = data[2:6], data[6:6 + length]
                    data = data[6 + length:]
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                    conn.sendall(bytes([0x80 | opcode, length]) + payload)
                    if opcode == 8:
                        conn.close()
                        return
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return


def test_echo_mode_opens_every_connection_before_sending():
    """Echo mode upgrades every connection first: with the 8th upgrade
    answered 0.5 s late, no message arrives before that 101 went out."""
    server = SlowUpgradeEchoServer(slow=8, delay=0.5)
    try:
        status, report = loadgen("--url", f"ws://127.0.0.1:{server.port}/", "-c", 8, "-d", 0.5,
                                 "-w", 0.2, "--connect-concurrency", 8)
    finally:
        server.close()
    assert_clean(status, report)
    assert report["messages"] > 0, report
    assert server.first_frame is not None and server.first_frame >= server.last_upgrade
    assert report["connect_s"] >= 0.45, report


def test_sigint_stops_the_run_and_reports_what_was_measured(gateway):
    gw = gateway(workers=1)
    process = subprocess.Popen([LOADGEN, "--url", gw.url(), "-c", "10", "-d", "60", "-w", "0.2",
                                "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        gw.wait_for(lambda: gw.stats()["totals"]["messages_in"] > 1000, 10,
                    message="the load generator's traffic")
        time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == 1, (out, err)
    report = json.loads(out)
    assert set(report) == FIELDS, report
    assert report["interrupted"] is True, report
    assert report["messages"] > 0 and 0 < report["duration_s"] < 30, report
    assert report["lost"] == 0 and not any(report["errors"].values()), report
    assert took < 10, took


def test_connect_mode_backs_off_after_a_connect_error():
    """A refused connect is retried after ~10 ms, not at once: two slots
    make at most a few hundred attempts in 0.5 s, not tens of thousands."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    status, report = loadgen("--url", f"ws://127.0.0.1:{port}/echo", "--mode", "connect",
                             "-c", 2, "-d", 0.5, "-w", 0)
    assert status == 1
    assert 2 <= report["errors"]["connect_refused"] <= 250, report


# ---- TLS: a Python websockets wss echo server with a throwaway certificate --

WSS_SERVER = r"""
import asyncio, ssl, sys
import websockets

async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)

async def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=context, ping_interval=None) as server:
        print("listening 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


def make_certificate(directory):
    """A throwaway self-signed certificate for "localhost" and 127.0.0.1;
    returns (cert path, key path)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def certificate():
    with tempfile.TemporaryDirectory(prefix="wsg-tls-") as directory:
        yield make_certificate(directory)


@pytest.fixture
def wss_server(spawn, certificate):
    """(port, cert path) of a Python websockets wss echo server whose
    certificate names "localhost" (and 127.0.0.1)."""
    cert, key = certificate
    script = os.path.join(os.path.dirname(cert), "wss_echo.py")
    with open(script, "w", encoding="utf-8") as out:
        out.write(WSS_SERVER)
    server = spawn([sys.executable, script, cert, key])
    yield server.port, cert


def test_wss_echo_verifies_the_server_with_ca(wss_server):
    port, cert = wss_server
    status, report = loadgen("--url", f"wss://127.0.0.1:{port}/", "--ca", cert,
                             "--servername", "localhost", "-c", 4, "-d", 1, "-w", 0.2, "-q", 4)
    assert_clean(status, report)
    assert report["messages"] > 0


def test_wss_connect_mode_resumes_sessions(wss_server):
    port, cert = wss_server
    status, report = loadgen("--url", f"wss://127.0.0.1:{port}/", "--ca", cert,
                             "--servername", "localhost", "--mode", "connect", "--resume",
                             "-c", 4, "-d", 1, "-w", 0.3)
    assert_clean(status, report)
    assert report["handshakes"] > 0
    assert report["resumed"] > 0


def test_wss_refuses_an_unverified_server_unless_insecure(wss_server):
    port, _ = wss_server
    status, report = loadgen("--url", f"wss://127.0.0.1:{port}/", "--servername", "wrong.example",
                             "-c", 1, "-d", 0.5, "-w", 0)
    assert status == 1
    assert report["errors"]["tls"] == 1 and report["messages"] == 0
    status, report = loadgen("--url", f"wss://127.0.0.1:{port}/", "--insecure", "-c", 2,
                             "-d", 0.5, "-w", 0)
    assert_clean(status, report)
    assert report["messages"] > 0


# ---- wss against wsgated's own TLS listener ---------------------------------

def tls_gateway(gateway, certificate):
    cert, key = certificate
    return gateway(workers=1, extra={"listen": [{"address": "127.0.0.1:0", "tls": {
        "certificates": [{"certificate": cert, "key": key}]}}]})


def test_wss_echo_against_wsgated(gateway, certificate):
    gw = tls_gateway(gateway, certificate)
    status, report = loadgen("--url", f"wss://127.0.0.1:{gw.port}/echo", "--ca", certificate[0],
                             "--servername", "localhost", "-c", 10, "-q", 8, "-d", 1, "-w", 0.2,
                             "--binary")
    assert_clean(status, report)
    assert report["messages"] > 0


def test_wss_connect_mode_against_wsgated_resumes(gateway, certificate):
    gw = tls_gateway(gateway, certificate)
    status, report = loadgen("--url", f"wss://127.0.0.1:{gw.port}/echo", "--ca", certificate[0],
                             "--servername", "localhost", "--mode", "connect", "--resume",
                             "-c", 8, "-d", 1, "-w", 0.3)
    assert_clean(status, report)
    # Connects begun before the first session arrived cannot resume.
    assert report["handshakes"] > 0 and report["resumed"] >= report["handshakes"] - 8, report
