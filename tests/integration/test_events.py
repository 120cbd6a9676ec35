"""Connection-state events (issue 15): `wsgatectl events [--follow] [--json]
[--route R]` streams accepted, upgraded, refused and closed events from the
control socket, each with a connection id unique across workers and reloads
that the access log line carries too. Followers are real wsgatectl
processes; the slow follower is a raw control-socket client that never
reads."""
import asyncio
import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
import websockets

from conftest import WSGATECTL
from tls_certs import CertKit
from wsraw import RawClient, frame


class Follower:
    """A `wsgatectl events` process whose stdout lines are collected by a
    thread; events() is what it has printed so far."""

    def __init__(self, gw, *args):
        self.process = subprocess.Popen(
            [WSGATECTL, "--socket", gw.socket_path, "events", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _drain(self):
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.seen.append(line)

    def events(self):
        self._drain()
        return [json.loads(line) for line in self.seen]

    def wait(self, predicate, timeout=10, message="an event"):
        """The first event that satisfies predicate, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events():
                if predicate(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {message} among {self.events()}")
            try:
                line = self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is not None:
                self.seen.append(line)

    def of(self, connection_id):
        return [e for e in self.events() if e["id"] == connection_id]

    def stop(self, sig=signal.SIGINT):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=10)
        self.thread.join(timeout=10)
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def followers():
    started = []

    def start(gw, *args):
        follower = Follower(gw, *args)
        started.append(follower)
        return follower
    yield start
    for follower in started:
        follower.kill()


def subscribed(gw, follower):
    """Waits until the daemon counts the follower (its stream is open)."""
    gw.wait_for(lambda: gw.status()["event_followers"] >= 1, 10, message="follower registered")
    return follower


def local_port(ws):
    return ws.transport.get_extra_info("sockname")[1]


def echo_once(url, message, **options):
    """One WebSocket session: send, receive, close 1000; the client's port."""
    async def main():
        async with websockets.connect(url, ping_interval=None, **options) as ws:
            await ws.send(message)
            assert await ws.recv() == message
            return local_port(ws)
    return asyncio.run(main())


def raw_request(port, request):
    """Sends a raw HTTP request, reads the whole answer; (client port, status)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        client_port = sock.getsockname()[1]
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return client_port, int(answer.split(b" ", 2)[1])


def upgrade_request(path, origin=None):
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    return "\r\n".join(lines) + "\r\n\r\n"


def test_follow_a_websocket_from_accept_to_close(gateway, followers):
    gw = gateway(workers=2)
    follower = subscribed(gw, followers(gw, "--follow", "--json"))
    port = echo_once(gw.url(), "hello events")
    peer = f"127.0.0.1:{port}"
    closed = follower.wait(lambda e: e["event"] == "closed" and e["peer"] == peer,
                           message=f"closed event of {peer}")
    cid = closed["id"]
    assert re.fullmatch(r"\d+-\d+", cid), cid
    kinds = [e["event"] for e in follower.of(cid)]
    assert kinds == ["accepted", "upgraded", "closed"], follower.of(cid)
    accepted, upgraded, _ = follower.of(cid)
    assert accepted["route"] is None and accepted["tls"] is False
    assert accepted["listener"] == f"127.0.0.1:{gw.port}"
    assert upgraded["route"] == "/echo" and upgraded["relay"] == "echo"
    assert upgraded["subprotocol"] is None and upgraded["tls"] is None
    # Python websockets offers permessage-deflate; the echo route has it off.
    assert upgraded["extensions"] == ""
    assert closed["status"] == 101 and closed["code"] == 1000
    assert closed["closed_by"] == "client" and closed["cause"] == "client"
    assert closed["messages_in"] == 1 and closed["messages_out"] == 1
    assert closed["bytes_in"] == len("hello events") == closed["bytes_out"]
    assert closed["duration_ms"] >= 0
    for event in (accepted, upgraded, closed):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"]), event
        assert event["peer"] == peer
    # The access log line of the same connection carries the same id.
    line = gw.wait_for(lambda: next((l for l in gw.access_log().splitlines()
                                     if f"remote={peer} " in l), None), 10,
                       message="access log line")
    assert line.split("id=", 1)[1].split(" ", 1)[0] == cid, line
    assert follower.stop() == 0


def test_refusals_and_the_route_filter(gateway, followers):
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/echo", "relay": "echo"},
        {"path": "/strict", "relay": "echo", "origins": ["https://good.test"]}]})
    everything = subscribed(gw, followers(gw, "--follow", "--json"))
    strict = followers(gw, "--follow", "--json", "--route", "/strict")
    gw.wait_for(lambda: gw.status()["event_followers"] == 2, 10, message="two followers")

    not_found_port, status = raw_request(gw.port, upgrade_request("/nowhere"))
    assert status == 404
    forbidden_port, status = raw_request(gw.port, upgrade_request("/strict", "https://evil.test"))
    assert status == 403
    plain_port, status = raw_request(gw.port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 426

    def refused(port):
        return everything.wait(lambda e: e["event"] == "refused"
                               and e["peer"] == f"127.0.0.1:{port}",
                               message=f"refused event of port {port}")
    event = refused(not_found_port)
    assert event["status"] == 404 and event["route"] is None
    assert event["request"] == "GET /nowhere"
    event = refused(forbidden_port)
    assert event["status"] == 403 and event["route"] == "/strict"
    assert event["reason"] == "origin not allowed"
    event = refused(plain_port)
    assert event["status"] == 426 and event["route"] == "/echo"
    # Each refused connection is accepted first and closed last.
    for port in (not_found_port, forbidden_port, plain_port):
        closed = everything.wait(lambda e: e["event"] == "closed"
                                 and e["peer"] == f"127.0.0.1:{port}",
                                 message=f"closed event of port {port}")
        assert [e["event"] for e in everything.of(closed["id"])] == [
            "accepted", "refused", "closed"]
        assert closed["status"] in (403, 404, 426) and closed["cause"] == "http"

    # The /strict follower sees only what is known to be /strict: the
    # refusal (the accepted event comes before any route is known, and a
    # refused connection's closed event names no route, as its access log
    # line says route=-).
    strict.wait(lambda e: e["event"] == "refused", message="refused event on /strict")
    assert {e["route"] for e in strict.events()} == {"/strict"}
    assert everything.stop(signal.SIGTERM) == 0
    assert strict.stop() == 0


def test_history_two_followers_and_the_table(gateway, followers):
    gw = gateway(workers=2)
    first = subscribed(gw, followers(gw, "--follow", "--json"))
    second = followers(gw, "--follow")  # the table form
    gw.wait_for(lambda: gw.status()["event_followers"] == 2, 10, message="two followers")
    ports = [echo_once(gw.url(), f"m{i}") for i in range(6)]
    for port in ports:
        first.wait(lambda e: e["event"] == "closed" and e["peer"] == f"127.0.0.1:{port}",
                   message=f"closed event of {port}")
    ids = {e["id"] for e in first.events() if e["event"] == "closed"}
    assert len(ids) == 6

    def table_closed():
        second._drain()
        return [l for l in second.seen if " closed " in l]
    gw.wait_for(lambda: len(table_closed()) == 6, 10, message="six closed lines in the table")
    for line in table_closed():
        fields = line.split()
        assert fields[1] == "closed" and fields[2] in ids and fields[4] == "/echo", line
        assert "code=1000" in line and "closed_by=client" in line, line

    # Without --follow: the history, then exit 0.
    history = gw.ctl("events", "--json", check=True)
    past = [json.loads(line) for line in history.stdout.splitlines()]
    assert ids <= {e["id"] for e in past if e["event"] == "closed"}
    only_echo = gw.ctl("events", "--json", "--route", "/echo", check=True)
    assert all(json.loads(l)["route"] == "/echo" for l in only_echo.stdout.splitlines())
    assert first.stop() == 0 and second.stop() == 0
    gw.wait_for(lambda: gw.status()["event_followers"] == 0, 10, message="followers gone")


def test_ids_stay_unique_across_reload_and_respawn(gateway, followers):
    gw = gateway(workers=2)
    follower = subscribed(gw, followers(gw, "--follow", "--json"))
    for _ in range(3):
        echo_once(gw.url(), "x")
    gw.ctl("reload", check=True)
    for _ in range(3):
        echo_once(gw.url(), "y")
    # A worker sends its events every 10 ms; SIGKILL loses what it holds,
    # so the kill waits until the six sessions' events are in.
    gw.wait_for(lambda: sum(e["event"] == "closed" for e in follower.events()) >= 6, 10,
                message="six closed events")
    victim = gw.workers()["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    gw.wait_for(lambda: all(w["pid"] and w["pid"] != victim and w["state"] == "Ready"
                            for w in gw.workers()["workers"][:2]), 15, message="respawn")
    for _ in range(3):
        echo_once(gw.url(), "z")
    gw.wait_for(lambda: sum(e["event"] == "closed" for e in follower.events()) >= 9, 10,
                message="nine closed events")
    accepted = [e["id"] for e in follower.events() if e["event"] == "accepted"]
    assert len(accepted) == len(set(accepted)) >= 9
    # The follower outlives the reload and the respawn; the daemon's stop
    # ends it with exit code 0.
    gw.stop()
    assert follower.process.wait(timeout=15) == 0


def test_a_follower_that_stops_reading_is_dropped(gateway, followers):
    gw = gateway(workers=1, env={"WSGATE_FAULTS": "stream_backlog_bytes:131072"})
    good = subscribed(gw, followers(gw, "--follow", "--json"))
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(gw.socket_path)
    stuck.sendall(b"events follow\n")
    gw.wait_for(lambda: gw.status()["event_followers"] == 2, 10, message="two followers")
    # Plain requests make two events each (accepted, closed); the stuck
    # follower reads none of them.
    health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    sent = 0
    deadline = time.monotonic() + 60
    while gw.status()["event_followers_dropped"] == 0:
        assert time.monotonic() < deadline, "the stuck follower was never dropped"
        for _ in range(50):
            assert raw_request(gw.port, health)[1] == 200
        sent += 50
    status = gw.status()
    assert status["event_followers_dropped"] == 1 and status["event_followers"] == 1
    assert gw.error_log().count("read its stream too slowly") == 1
    # The good follower saw every event; the workers never waited.
    good.wait(lambda e: sum(x["event"] == "closed" for x in good.events()) >= sent, 20,
              message=f"{sent} closed events")
    assert gw.stats()["totals"]["events_dropped"] == 0
    # The stuck client's stream was closed by the daemon: reading it to the
    # end gives what fit in its buffers, then EOF.
    stuck.settimeout(10)
    received = b""
    while chunk := stuck.recv(65536):
        received += chunk
    stuck.close()
    # Its last line says why it was cut off.
    assert received.rstrip(b"\n").rsplit(b"\n", 1)[-1] == \
        b'{"ok":false,"error":"cut off: this stream was read too slowly"}'
    assert good.stop() == 0


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    k = CertKit(str(tmp_path_factory.mktemp("event-certs")))
    k.a = k.leaf("a", ["a.test", "localhost"])
    return k


def test_wss_upgrade_names_the_tls_session(gateway, followers, kit):
    gw = gateway(workers=1, extra={"listen": [{"address": "127.0.0.1:0", "tls": {
        "certificates": [{"certificate": kit.a[0], "key": kit.a[1]}]}}]})
    follower = subscribed(gw, followers(gw, "--follow", "--json"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(kit.ca_cert)
    ctx.set_alpn_protocols(["http/1.1"])
    port = echo_once(f"wss://a.test:{gw.port}/echo", "secure", ssl=ctx, host="127.0.0.1",
                     port=gw.port, server_hostname="a.test")
    peer = f"127.0.0.1:{port}"
    upgraded = follower.wait(lambda e: e["event"] == "upgraded" and e["peer"] == peer,
                             message="upgraded event over wss")
    tls = upgraded["tls"]
    assert tls["version"] == "TLSv1.3" and tls["cipher"].startswith("TLS_")
    assert tls["sni"] == "a.test" and tls["alpn"] == "http/1.1"
    assert tls["resumed"] is False and tls["client_subject"] is None
    accepted = follower.of(upgraded["id"])[0]
    assert accepted["event"] == "accepted" and accepted["tls"] is True
    closed = follower.wait(lambda e: e["event"] == "closed" and e["peer"] == peer,
                           message="closed event over wss")
    assert closed["code"] == 1000
    # A TLS handshake that fails is accepted and closed, never upgraded.
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as sock:
        bad_port = sock.getsockname()[1]
        sock.sendall(b"\x16\x03\x01\x00\x05hello")
        sock.settimeout(5)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
    closed = follower.wait(lambda e: e["event"] == "closed"
                           and e["peer"] == f"127.0.0.1:{bad_port}",
                           message="closed event of a failed handshake")
    assert closed["cause"] == "tls" and closed["status"] == 0
    assert [e["event"] for e in follower.of(closed["id"])] == ["accepted", "closed"]
    assert follower.stop() == 0


def test_events_arguments_are_checked(gateway):
    gw = gateway(workers=1)
    result = gw.ctl("stats", "--follow")
    assert result.returncode == 2 and "events" in result.stderr
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(gw.socket_path)
        sock.sendall(b"events loudly\n")
        answer = json.loads(sock.makefile().readline())
    assert answer == {"ok": False, "error":
                      "unknown events argument \"loudly\" (arguments: follow, route=PATH)"}


def test_a_stalled_supervisor_never_slows_a_worker(gateway):
    """With the supervisor stopped (SIGSTOP) nothing reads the workers'
    channels: the worker goes on answering, its events past 1 MiB unsent
    are dropped and counted, and the supervisor gets the rest when it
    runs again."""
    gw = gateway(workers=1, extra={"timeouts": {"watchdog": "0s"}})
    health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    os.kill(gw.pid, signal.SIGSTOP)
    try:
        # Each request makes two events of about 200 bytes; 1 MiB of
        # channel queue plus the socket's buffer are full well before 8000.
        for _ in range(8000):
            assert raw_request(gw.port, health)[1] == 200
    finally:
        os.kill(gw.pid, signal.SIGCONT)
    dropped = gw.wait_for(lambda: gw.stats()["totals"]["events_dropped"], 20,
                          message="events_dropped counted")
    assert 0 < dropped < 16000
    history = [json.loads(line) for line in gw.ctl("events", "--json", check=True)
               .stdout.splitlines()]
    assert len(history) == 1000


def test_a_client_that_half_closes_gets_the_whole_history(gateway):
    """`events` sent and the socket's write side shut (nc -N, socat): the
    history still comes whole, then EOF."""
    gw = gateway(workers=1)
    for _ in range(20):
        echo_once(gw.url(), "h")
    gw.wait_for(lambda: len(gw.ctl("events", "--json", check=True).stdout.splitlines()) >= 60,
                10, message="sixty events kept")
    expected = gw.ctl("events", "--json", check=True).stdout.splitlines()
    for command in (b"events\n", b"events"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(gw.socket_path)
            sock.sendall(command)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(10)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        lines = received.decode().splitlines()
        assert json.loads(lines[0]) == {"ok": True, "follow": False}
        assert lines[1:] == expected, command


def test_wsgatectl_cut_off_says_so_and_exits_1(gateway):
    """A wsgatectl whose output nobody reads falls behind like any slow
    follower; when its output is read again it prints the daemon's reason
    and exits 1, so a script can tell it lost events."""
    gw = gateway(workers=1, env={"WSGATE_FAULTS": "stream_backlog_bytes:131072"})
    follower = subprocess.Popen([WSGATECTL, "--socket", gw.socket_path, "events", "--follow",
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        gw.wait_for(lambda: gw.status()["event_followers"] == 1, 10, message="follower")
        health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        deadline = time.monotonic() + 60
        while gw.status()["event_followers_dropped"] == 0:
            assert time.monotonic() < deadline, "the follower was never cut off"
            for _ in range(100):
                assert raw_request(gw.port, health)[1] == 200
        out, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
        follower.wait()
    assert follower.returncode == 1, err
    assert b"wsgatectl: events: cut off: this stream was read too slowly" in err
    assert out.rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b'{"ok":false')


def tls_client_context(kit):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(kit.ca_cert)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def tls_raw_client(port, kit):
    """A RawClient over TLS (SNI a.test), its handshake done."""
    client = RawClient.__new__(RawClient)
    client.sock = tls_client_context(kit).wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="a.test")
    client.buffer = b""
    return client


def tls_listener(kit):
    return [{"address": "127.0.0.1:0", "tls": {
        "certificates": [{"certificate": kit.a[0], "key": kit.a[1]}]}}]


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_a_connection_shed_over_max_connections_has_only_a_refused_event(gateway, followers,
                                                                         kit, tls):
    """Over limits.max_connections the worker sheds a connection without
    making a Connection of it: a plain client gets its 503, a TLS client is
    closed unanswered (no handshake for an overloaded worker), and either
    way the socket has one refused event, with an id from the worker's
    connection sequence, and no accepted or closed event."""
    extra = {"limits": {"max_connections": 1}}
    if tls:
        extra["listen"] = tls_listener(kit)
    gw = gateway(workers=1, extra=extra)
    follower = subscribed(gw, followers(gw, "--follow", "--json"))
    held = tls_raw_client(gw.port, kit) if tls else RawClient(gw.port)
    held.handshake()
    held_peer = f"127.0.0.1:{held.sock.getsockname()[1]}"
    upgraded = follower.wait(lambda e: e["event"] == "upgraded" and e["peer"] == held_peer,
                             message="the held connection's upgraded event")
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        shed_peer = f"127.0.0.1:{sock.getsockname()[1]}"
        if tls:
            with pytest.raises(OSError):  # EOF or a reset, never a ServerHello
                tls_client_context(kit).wrap_socket(sock, server_hostname="a.test")
        else:
            shed = RawClient.__new__(RawClient)
            shed.sock, shed.buffer = sock, b""
            status, headers, body = shed.read_http_response()
            assert (status, headers["retry-after"], body) == (503, "1", b"too many connections")
            assert shed.wait_eof()
    refused = follower.wait(lambda e: e["event"] == "refused" and e["peer"] == shed_peer,
                            message="the shed connection's refused event")
    assert refused["status"] == 503 and refused["route"] is None
    assert refused["reason"] == ("too many connections (TLS: closed unanswered)" if tls
                                 else "too many connections")
    assert "request" not in refused
    instance, sequence = upgraded["id"].split("-")
    assert refused["id"] == f"{instance}-{int(sequence) + 1}", (upgraded, refused)
    # The held connection's close comes after the shed one in the worker's
    # feed, so once it is here every event of the shed socket is too.
    held.close()
    follower.wait(lambda e: e["event"] == "closed" and e["peer"] == held_peer,
                  message="the held connection's closed event")
    assert [e for e in follower.events() if e["peer"] == shed_peer] == [refused]
    assert follower.of(refused["id"]) == [refused]
    assert gw.stats()["totals"]["connections_shed"] == 1
    assert follower.stop() == 0


def test_a_per_address_refusal_on_a_tls_listener_is_a_refused_event(gateway, followers, kit):
    """Over limits.max_connections_per_ip a TLS client is closed before its
    handshake (an answer would cost the handshake the limit spares), and
    the events still say why: accepted, refused (503, no request), closed
    with no status."""
    gw = gateway(workers=2, extra={"limits": {"max_connections_per_ip": 1},
                                   "listen": tls_listener(kit)})
    follower = subscribed(gw, followers(gw, "--follow", "--json"))
    held = tls_raw_client(gw.port, kit)
    held.handshake()
    held_peer = f"127.0.0.1:{held.sock.getsockname()[1]}"
    follower.wait(lambda e: e["event"] == "upgraded" and e["peer"] == held_peer,
                  message="the held connection's upgraded event")

    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        peer = f"127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(OSError):  # EOF or a reset, never a ServerHello
            tls_client_context(kit).wrap_socket(sock, server_hostname="a.test")
    refused = follower.wait(lambda e: e["event"] == "refused" and e["peer"] == peer,
                            message="the refused event of the second TLS connection")
    assert refused["status"] == 503 and refused["route"] is None
    assert refused["reason"] == \
        "too many connections from this address (TLS: closed unanswered)"
    assert "request" not in refused
    closed = follower.wait(lambda e: e["event"] == "closed" and e["peer"] == peer,
                           message="the closed event of the second TLS connection")
    accepted = follower.of(refused["id"])[0]
    assert [e["event"] for e in follower.of(refused["id"])] == ["accepted", "refused", "closed"]
    assert accepted["tls"] is True
    assert closed["status"] == 0 and closed["cause"] == "http" and closed["code"] == 0
    assert closed["bytes_in"] == 0 and closed["bytes_out"] == 0
    totals = gw.stats()["totals"]
    assert totals["refused_per_ip_connections"] == 1
    assert totals["tls_handshakes_ok"] == 1
    # The held connection was not disturbed.
    held.send(frame(0x1, b"still here"))
    assert held.read_frame() == (True, 0x1, b"still here")
    held.close()
    assert follower.stop() == 0
