"""Small real upstream servers for the proxy tests: plain sockets on
127.0.0.1 (or a Unix socket in a temporary directory), each served by
threads that this module starts and joins.

Every server is a context manager: `with TcpEcho() as up: ... up.port`.
Leaving the block (normally or by an exception) closes the listening socket
and every accepted connection and joins every thread, bounded in time; a
thread that will not stop fails the test. Every loop here is bounded: in
count (connections accepted, bytes handled) and in time (socket timeouts,
deadlines), so a broken gateway cannot hang a test.

    TcpEcho / UnixEcho    echo what they read
    SlowReader            accepts, reads nothing until release() (or reads
                          `rate` bytes a second), counts the bytes read
    SendThenClose         sends `data`, then closes its side first
    EofRecorder           reads until EOF, records it, closes `close_delay`
                          seconds later (or when release() is called)
    BigSource             sends `size` bytes of a known pattern as fast as
                          the peer takes them, then closes
    TlsEcho               TcpEcho behind TLS (Python's ssl)
    OpenSslServer         `openssl s_server -rev` (an independent TLS peer)
    NeverAccepts          a listening socket whose accept queue is full, so
                          a connect() to it hangs (SYNs go unanswered)
    refused_port()        a port with nothing listening
"""
import array
import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
STEP = 0.1             # socket timeout: how often blocked threads look at the stop flag
LIFETIME = 120.0       # no connection handler runs longer than this
MAX_CONNECTIONS = 256  # no server accepts more than this
JOIN_TIMEOUT = 5.0


def pattern(size):
    """`size` bytes of a known pattern in which every aligned 4-byte word is
    its own index (big-endian), so loss, duplication and reordering are all
    detectable: pattern(8)[4:8] == b"\\0\\0\\0\\1"."""
    words = array.array("I", range((size + 3) // 4))
    if sys.byteorder == "little":
        words.byteswap()
    return words.tobytes()[:size]


class _Server:
    """A listening socket, an accept thread and one thread per connection.

    Subclasses implement handle(conn, record) where record is a dict kept in
    self.connections (one per accepted connection, in accept order)."""

    family = socket.AF_INET

    def __init__(self, backlog=16, rcvbuf=None):
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.threads = []
        self.sockets = []
        self.connections = []  # one dict per accepted connection
        self.accepted = threading.Semaphore(0)
        self.errors = []
        self.listener = socket.socket(self.family, socket.SOCK_STREAM)
        if rcvbuf is not None:  # inherited by accepted sockets
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._bind()
        self.listener.listen(backlog)
        self.listener.settimeout(STEP)
        self._start(self._accept_loop, "accept")

    # -- lifetime ------------------------------------------------------------

    def _bind(self):
        self.listener.bind((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.address = f"{HOST}:{self.port}"

    @property
    def upstream(self):
        """The text a proxy route's `upstream` takes for this server."""
        return f"tcp://{self.address}"

    def _start(self, target, name, *args):
        thread = threading.Thread(target=self._guard, args=(target, *args),
                                  name=f"{type(self).__name__}-{name}", daemon=True)
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def _guard(self, target, *args):
        try:
            target(*args)
        except Exception as error:  # noqa: BLE001 - reported by close()
            if not self.stop_event.is_set():
                self.errors.append(repr(error))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stops everything: closes every socket, joins every thread.
        Raises AssertionError if a thread does not end within JOIN_TIMEOUT."""
        self.stop_event.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.lock:
            sockets, threads = list(self.sockets), list(self.threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        deadline = time.monotonic() + JOIN_TIMEOUT
        stuck = []
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                stuck.append(thread.name)
        assert not stuck, f"upstream threads did not stop: {stuck}"

    def stopped(self):
        return self.stop_event.is_set()

    # -- connections -----------------------------------------------------------

    def _accept_loop(self):
        deadline = time.monotonic() + 10 * LIFETIME
        while not self.stopped() and time.monotonic() < deadline:
            if len(self.connections) >= MAX_CONNECTIONS:
                return
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(STEP)
            record = {"received": bytearray(), "bytes_received": 0, "bytes_sent": 0,
                      "eof": threading.Event(), "eof_at": None, "closed": threading.Event(),
                      "accepted_at": time.monotonic()}
            with self.lock:
                self.sockets.append(conn)
                self.connections.append(record)
            self._start(self._serve, f"conn{len(self.connections)}", conn, record)
            self.accepted.release()

    def _serve(self, conn, record):
        try:
            self.handle(conn, record)
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            record["closed"].set()

    def handle(self, conn, record):
        raise NotImplementedError

    def wait_connection(self, index=0, timeout=5.0):
        """The record of the index-th accepted connection, once accepted."""
        deadline = time.monotonic() + timeout
        while len(self.connections) <= index:
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{type(self).__name__}: no connection #{index} within {timeout}s")
            self.accepted.acquire(timeout=STEP)
        return self.connections[index]

    # -- helpers for handlers ----------------------------------------------------

    def _recv(self, conn, record, size=65536):
        """One recv: bytes, b"" at EOF (recorded), None on a timeout step."""
        try:
            data = conn.recv(size)
        except socket.timeout:
            return None
        except OSError:
            data = b""  # reset: an end all the same
        if data:
            record["bytes_received"] += len(data)
            if len(record["received"]) < 64 * 1024 * 1024:
                record["received"] += data
        elif not record["eof"].is_set():
            record["eof_at"] = time.monotonic()
            record["eof"].set()
        return data

    def _sendall(self, conn, record, data, deadline):
        """Sends data within the deadline, in STEP-bounded pieces; False if
        the peer went away or the time ran out."""
        view = memoryview(data)
        while view and not self.stopped() and time.monotonic() < deadline:
            try:
                sent = conn.send(view[:256 * 1024])
            except socket.timeout:
                continue
            except OSError:
                return False
            record["bytes_sent"] += sent
            view = view[sent:]
        return not view

    def _drain_until_eof(self, conn, record, deadline):
        while not self.stopped() and time.monotonic() < deadline:
            if self._recv(conn, record) == b"":
                return True
        return False


class TcpEcho(_Server):
    """Echoes every byte it reads, until EOF; then closes."""

    def handle(self, conn, record):
        deadline = time.monotonic() + LIFETIME
        while not self.stopped() and time.monotonic() < deadline:
            data = self._recv(conn, record)
            if data == b"":
                return
            if data and not self._sendall(conn, record, data, deadline):
                return


class UnixEcho(TcpEcho):
    """TcpEcho on a Unix socket in a fresh temporary directory (removed on
    close). `path` is the socket, `upstream` is "unix:PATH"."""

    family = socket.AF_UNIX

    def _bind(self):
        self.dir = tempfile.mkdtemp(prefix="wsg-up-")
        self.path = os.path.join(self.dir, "echo.sock")
        self.listener.bind(self.path)
        self.port = None
        self.address = self.path

    @property
    def upstream(self):
        return f"unix:{self.path}"

    def close(self):
        try:
            super().close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class SlowReader(_Server):
    """Accepts and reads nothing until release() is called (rate=None), or
    reads `rate` bytes a second; counts what it read. A small receive buffer
    (rcvbuf) makes the kernel stop taking bytes early. After release() it
    reads everything as fast as it comes, until EOF."""

    def __init__(self, rate=None, rcvbuf=64 * 1024):
        self.rate = rate
        self.released = threading.Event()
        super().__init__(rcvbuf=rcvbuf)

    def release(self):
        self.released.set()

    def handle(self, conn, record):
        deadline = time.monotonic() + LIFETIME
        started = time.monotonic()
        while not self.stopped() and time.monotonic() < deadline:
            if self.released.is_set():
                if self._recv(conn, record) == b"":
                    return
            elif self.rate is None:
                self.released.wait(STEP)
            else:
                allowed = int((time.monotonic() - started) * self.rate)
                want = allowed - record["bytes_received"]
                if want <= 0:
                    time.sleep(min(STEP, 1.0 / max(self.rate, 1)))
                    continue
                if self._recv(conn, record, min(want, 65536)) == b"":
                    return

    def bytes_received(self):
        return sum(c["bytes_received"] for c in self.connections)


class SendThenClose(_Server):
    """Sends `data` (bytes, or an int: that many pattern() bytes) on every
    connection, then closes its side first: shutdown(SHUT_WR), then reads
    until the peer's EOF (bounded) so no reset can eat the data, then closes.
    With wait_for_data, it first waits until it has read that many bytes."""

    def __init__(self, data, wait_for_data=0):
        self.data = pattern(data) if isinstance(data, int) else bytes(data)
        self.wait_for_data = wait_for_data
        self.sent_all = threading.Event()
        super().__init__()

    def handle(self, conn, record):
        deadline = time.monotonic() + LIFETIME
        while record["bytes_received"] < self.wait_for_data and time.monotonic() < deadline:
            if self.stopped() or self._recv(conn, record) == b"":
                return
        if not self._sendall(conn, record, self.data, deadline):
            return
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        self.sent_all.set()
        self._drain_until_eof(conn, record, min(deadline, time.monotonic() + 30))


class EofRecorder(_Server):
    """Reads (and keeps) everything until EOF; records when the EOF came
    (record["eof"] event, record["eof_at"] monotonic time), then keeps its
    side open for close_delay seconds, or until release() when close_delay
    is None, and closes. record["closed_at"] is when it closed."""

    def __init__(self, close_delay=0.0):
        self.close_delay = close_delay
        self.released = threading.Event()
        super().__init__()

    def release(self):
        self.released.set()

    def handle(self, conn, record):
        deadline = time.monotonic() + LIFETIME
        if not self._drain_until_eof(conn, record, deadline):
            return
        if self.close_delay is None:
            while not (self.released.is_set() or self.stopped()) and time.monotonic() < deadline:
                self.released.wait(STEP)
        else:
            self.stop_event.wait(self.close_delay)
        record["closed_at"] = time.monotonic()

    def wait_eof(self, index=0, timeout=5.0):
        record = self.wait_connection(index, timeout)
        assert record["eof"].wait(timeout), f"no EOF from the gateway within {timeout}s"
        return record


class BigSource(_Server):
    """Sends `size` bytes of pattern() on every connection as fast as the
    peer takes them (record["bytes_sent"] counts them), then closes like
    SendThenClose. A small send buffer (sndbuf) keeps the kernel's share
    small, so backpressure is visible in bytes_sent."""

    def __init__(self, size=8 * 1024 * 1024, sndbuf=None):
        self.size = size
        self.sndbuf = sndbuf
        self.data = pattern(size)
        self.sent_all = threading.Event()
        super().__init__()

    def handle(self, conn, record):
        if self.sndbuf is not None:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        deadline = time.monotonic() + LIFETIME
        if not self._sendall(conn, record, self.data, deadline):
            return
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        self.sent_all.set()
        self._drain_until_eof(conn, record, min(deadline, time.monotonic() + 30))

    def bytes_sent(self):
        return sum(c["bytes_sent"] for c in self.connections)


class TlsEcho(TcpEcho):
    """TcpEcho behind TLS, with the given certificate and key (Python's
    ssl). A failed handshake is recorded in record["tls_error"]."""

    def __init__(self, cert, key):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.handshake_errors = []
        super().__init__()

    def handle(self, conn, record):
        conn.settimeout(5.0)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as error:
            record["tls_error"] = repr(error)
            self.handshake_errors.append(repr(error))
            return
        tls.settimeout(STEP)
        with self.lock:
            self.sockets.append(tls)
        try:
            super().handle(tls, record)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


def refused_port():
    """A 127.0.0.1 port with nothing listening: bound, read, closed. (A race
    with another process taking it meanwhile is possible but unlikely.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def connect_hangs(port, timeout=1.0):
    """True if a connect() to 127.0.0.1:port neither succeeds nor fails
    within timeout seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect((HOST, port))
        except socket.timeout:
            return True
        except OSError:
            return False
        return False


class NeverAccepts:
    """A listening socket that is never accept()ed, with its accept queue
    filled by our own connections: Linux then drops further SYNs, so a
    connect() to `port` hangs until the connector gives up. The constructor
    checks that it really does (connect_hangs) and raises if not."""

    MAX_FILLERS = 16

    def __init__(self, probe_timeout=0.5):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.fillers = []
        try:
            self.listener.bind((HOST, 0))
            self.listener.listen(0)  # Linux queues backlog + 1 = 1 connection
            self.port = self.listener.getsockname()[1]
            self.address = f"{HOST}:{self.port}"
            for _ in range(self.MAX_FILLERS):
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                self.fillers.append(filler)
                filler.connect_ex((HOST, self.port))
                if connect_hangs(self.port, probe_timeout):
                    break
            else:
                raise RuntimeError(f"could not fill the accept queue of port {self.port}")
        except BaseException:
            self.close()
            raise

    @property
    def upstream(self):
        return f"tcp://{self.address}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for sock in self.fillers + [self.listener]:
            with contextlib.suppress(OSError):
                sock.close()


class OpenSslServer:
    """`openssl s_server -rev` on 127.0.0.1 with a kernel-chosen port: a TLS
    peer independent of Python's ssl. -rev answers each line it reads with
    the line reversed (b"abc\\n" -> b"cba\\n"). Started and waited for (its
    "ACCEPT host:port" line), then killed and reaped on close."""

    def __init__(self, cert, key, timeout=10.0):
        self.dir = tempfile.mkdtemp(prefix="wsg-sserver-")
        self.out_path = os.path.join(self.dir, "out.log")
        self.out = open(self.out_path, "wb")
        self.process = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"{HOST}:0", "-cert", cert, "-key", key,
             "-rev"], stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                found = re.search(rb"ACCEPT [\d.]+:(\d+)", self.output())
                if found:
                    self.port = int(found.group(1))
                    break
                if self.process.poll() is not None or time.monotonic() >= deadline:
                    raise RuntimeError(f"openssl s_server did not start: {self.output()!r}")
                time.sleep(0.02)
            self.address = f"{HOST}:{self.port}"
        except BaseException:
            self.close()
            raise

    @property
    def upstream(self):
        return f"tcp://{self.address}"

    def output(self):
        with open(self.out_path, "rb") as log:
            return log.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=JOIN_TIMEOUT)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def self_signed(directory, name="localhost"):
    """A self-signed certificate and key for `name` (and 127.0.0.1), made
    with the openssl command in `directory`; returns (cert, key)."""
    cert, key = os.path.join(directory, "self.crt"), os.path.join(directory, "self.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "30", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key
