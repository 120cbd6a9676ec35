"""The upstream helper servers of the proxy tests (upstreams.py), checked
with plain sockets and Python's ssl, so a proxy test that fails points at
the gateway and not at its upstream. No wsgated involved."""
import os
import socket
import ssl
import threading
import time

import pytest

import upstreams
from tls_certs import CertKit


def connect(server, timeout=5.0):
    if getattr(server, "family", socket.AF_INET) == socket.AF_UNIX:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(server.path)
        return sock
    return socket.create_connection((upstreams.HOST, server.port), timeout=timeout)


def read_exactly(sock, size, timeout=10.0):
    deadline = time.monotonic() + timeout
    data = bytearray()
    while len(data) < size and time.monotonic() < deadline:
        chunk = sock.recv(min(65536, size - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def read_to_eof(sock, limit=64 * 1024 * 1024, timeout=10.0):
    deadline = time.monotonic() + timeout
    data = bytearray()
    while len(data) <= limit:
        assert time.monotonic() < deadline, f"no EOF within {timeout}s ({len(data)} bytes)"
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk
    raise AssertionError("more than limit bytes before EOF")


def test_pattern_words_are_their_index():
    data = upstreams.pattern(4 * 1000 + 3)
    assert len(data) == 4003
    assert [int.from_bytes(data[i:i + 4], "big") for i in range(0, 4000, 4)] == list(range(1000))


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_echo_servers_echo_and_close_on_eof(kind):
    server_class = upstreams.TcpEcho if kind == "tcp" else upstreams.UnixEcho
    with server_class() as server:
        if kind == "tcp":
            assert server.upstream == f"tcp://127.0.0.1:{server.port}"
        else:
            assert server.upstream == f"unix:{server.path}" and os.path.exists(server.path)
        payload = os.urandom(300000)
        with connect(server) as sock:
            sender = threading.Thread(target=sock.sendall, args=(payload,))
            sender.start()
            assert read_exactly(sock, len(payload)) == payload
            sender.join(5)
            sock.shutdown(socket.SHUT_WR)
            assert read_to_eof(sock) == b""
        record = server.wait_connection(0)
        assert record["eof"].wait(5) and record["bytes_received"] == len(payload)
        assert record["closed"].wait(5)
    if kind == "unix":
        assert not os.path.exists(server.dir)


def test_slow_reader_takes_nothing_until_released():
    with upstreams.SlowReader() as server:
        with connect(server) as sock:
            sock.setblocking(False)
            sent = 0
            deadline = time.monotonic() + 5
            stalled_since = None
            # Fill the kernel buffers until send() would block for 0.3 s.
            while time.monotonic() < deadline:
                try:
                    sent += sock.send(b"x" * 65536)
                    stalled_since = None
                except BlockingIOError:
                    stalled_since = stalled_since or time.monotonic()
                    if time.monotonic() - stalled_since > 0.3:
                        break
                    time.sleep(0.01)
            assert stalled_since is not None, "send never blocked"
            assert server.bytes_received() == 0 and sent < 16 * 1024 * 1024
            server.release()
            sock.setblocking(True)
            sock.shutdown(socket.SHUT_WR)
            record = server.wait_connection(0)
            assert record["eof"].wait(10)
            assert server.bytes_received() == sent


def test_slow_reader_with_a_rate_reads_at_that_rate():
    with upstreams.SlowReader(rate=100 * 1024) as server:
        with connect(server) as sock:
            def send():
                try:
                    sock.sendall(b"y" * 4 * 1024 * 1024)
                except OSError:
                    pass  # the server closed: how this test ends

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            server.wait_connection(0)
            # A rate is a duration: let one second pass, then count.
            threading.Event().wait(1.0)
            got = server.bytes_received()
            assert 20 * 1024 <= got <= 300 * 1024, got
        server.close()
        sender.join(5)
        assert not sender.is_alive()


def test_send_then_close_delivers_everything_then_eof():
    with upstreams.SendThenClose(100000) as server:
        with connect(server) as sock:
            assert read_to_eof(sock) == upstreams.pattern(100000)
        record = server.wait_connection(0)
        assert record["eof"].wait(5) and record["closed"].wait(5)


def test_send_then_close_can_wait_for_the_peer_first():
    with upstreams.SendThenClose(b"reply", wait_for_data=3) as server:
        with connect(server) as sock:
            sock.sendall(b"ab")
            sock.settimeout(0.3)
            with pytest.raises(socket.timeout):
                sock.recv(10)
            sock.settimeout(5)
            sock.sendall(b"c")
            assert read_to_eof(sock) == b"reply"


def test_refused_port_refuses():
    port = upstreams.refused_port()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((upstreams.HOST, port), timeout=2).close()


def test_never_accepts_makes_connect_hang():
    with upstreams.NeverAccepts() as server:
        assert server.upstream == f"tcp://127.0.0.1:{server.port}"
        started = time.monotonic()
        assert upstreams.connect_hangs(server.port, timeout=1.5)
        assert time.monotonic() - started >= 1.4
    # Closed: the port refuses now.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((upstreams.HOST, server.port), timeout=2).close()


def test_eof_recorder_reports_eof_and_closes_after_the_delay():
    with upstreams.EofRecorder(close_delay=0.5) as server:
        with connect(server) as sock:
            sock.sendall(b"before eof")
            sock.shutdown(socket.SHUT_WR)
            shut_at = time.monotonic()
            record = server.wait_eof(0)
            assert bytes(record["received"]) == b"before eof"
            assert read_to_eof(sock) == b""
            closed_at = time.monotonic()
        assert record["eof_at"] - shut_at < 1.0
        assert 0.4 <= closed_at - record["eof_at"] <= 3.0
    with upstreams.EofRecorder(close_delay=None) as server:
        with connect(server) as sock:
            sock.shutdown(socket.SHUT_WR)
            server.wait_eof(0)
            sock.settimeout(0.3)
            with pytest.raises(socket.timeout):
                sock.recv(1)
            server.release()
            sock.settimeout(5)
            assert sock.recv(1) == b""


def test_big_source_is_held_back_by_a_reader_that_waits():
    size = 8 * 1024 * 1024
    with upstreams.BigSource(size, sndbuf=64 * 1024) as server:
        with connect(server) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            record = server.wait_connection(0)
            # It stops at what the kernel buffers hold while we do not read:
            # bytes_sent stays put over 0.2 s (within 5 s), well short of 8 MiB.
            deadline = time.monotonic() + 5
            previous = -1
            while time.monotonic() < deadline and record["bytes_sent"] != previous:
                previous = record["bytes_sent"]
                threading.Event().wait(0.2)
            assert 0 < record["bytes_sent"] == previous < 2 * 1024 * 1024
            data = read_to_eof(sock, timeout=30)
        assert data == upstreams.pattern(size)
        assert server.sent_all.wait(5) and server.bytes_sent() == size


def test_tls_echo_and_openssl_server(tmp_path):
    kit = CertKit(str(tmp_path / "kit"))
    cert, key = kit.leaf("up", ["localhost"])
    context = ssl.create_default_context(cafile=kit.ca_cert)
    with upstreams.TlsEcho(cert, key) as server:
        with context.wrap_socket(connect(server), server_hostname="localhost") as tls:
            tls.sendall(b"over tls")
            assert read_exactly(tls, 8) == b"over tls"
        # An untrusting client fails the handshake; the server records it.
        strict = ssl.create_default_context()
        with pytest.raises(ssl.SSLCertVerificationError):
            strict.wrap_socket(connect(server), server_hostname="localhost").close()
    with upstreams.OpenSslServer(cert, key) as server:
        with context.wrap_socket(connect(server), server_hostname="localhost") as tls:
            tls.sendall(b"hello world\n")
            assert read_exactly(tls, 12) == b"dlrow olleh\n"
        process = server.process
    assert process.poll() is not None  # killed and reaped


def test_self_signed_is_not_trusted_by_default(tmp_path):
    cert, key = upstreams.self_signed(str(tmp_path))
    with upstreams.TlsEcho(cert, key) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(
                connect(server), server_hostname="localhost").close()
        trusting = ssl.create_default_context(cafile=cert)
        with trusting.wrap_socket(connect(server), server_hostname="localhost") as tls:
            tls.sendall(b"ok")
            assert read_exactly(tls, 2) == b"ok"


def test_close_stops_every_thread_even_with_open_connections():
    before = threading.active_count()
    server = upstreams.EofRecorder(close_delay=None)
    socks = [connect(server) for _ in range(5)]
    try:
        server.wait_connection(4)
        server.close()  # raises if a thread is stuck
        assert threading.active_count() == before
    finally:
        for sock in socks:
            sock.close()
