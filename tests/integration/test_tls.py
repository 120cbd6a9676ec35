"""TLS termination (wss://) through the real binaries, checked with
independent clients: Python's ssl and websockets, Node's ws, `openssl
s_client` and curl. Certificates come from a throw-away CA made at test time
(tls_certs.py). Checklist items: SEC-TLS-01..08, WS-HS-12, SEC-PRIV-01/05
(/work/shared/checklists/protocol-security.md)."""
import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest
import websockets

import wsraw
from conftest import WSGATED, WSGATECTL, Gateway
from tls_certs import CertKit, serial_of

HERE = os.path.dirname(os.path.abspath(__file__))
HEALTH_REQUEST = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
ROTATED = "session ticket key rotated"


# -- certificates and gateways ------------------------------------------------

@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The test CA and the leaves every test shares."""
    k = CertKit(str(tmp_path_factory.mktemp("tls-certs")))
    k.a_ec = k.leaf("a-ec", ["a.test", "localhost"])
    k.a_rsa = k.leaf("a-rsa", ["a.test", "localhost"], key_type="rsa")
    k.b = k.leaf("b", ["b.test", "other.test"])  # configured with names: [b.test]
    k.w = k.leaf("w", ["*.w.test"])
    for name in ("a_ec", "a_rsa", "b", "w"):
        setattr(k, name + "_serial", serial_of(getattr(k, name)[0]))
    return k


def cert_entry(pair, names=None):
    entry = {"certificate": pair[0], "key": pair[1]}
    if names is not None:
        entry["names"] = names
    return entry


def tls_listen(certificates, **options):
    return [{"address": "127.0.0.1:0", "tls": {"certificates": certificates, **options}}]


@contextlib.contextmanager
def running(workers, extra, start=True):
    """A module-scope gateway (the `gateway` fixture is per test): started,
    yielded, then killed with every worker; fails if any process survives."""
    if not WSGATED or not WSGATECTL:
        pytest.fail("set WSGATED and WSGATECTL to the built binaries (ctest does)")
    gw = Gateway(workers=workers, extra=extra)
    try:
        if start:
            gw.start()
        yield gw
    finally:
        survivors = gw.cleanup()
        shutil.rmtree(gw.dir, ignore_errors=True)
        assert not survivors, f"processes survived teardown: {survivors}"


@pytest.fixture(scope="module")
def main_gw(kit):
    """Four workers, one TLS listener: ECDSA and RSA for a.test/localhost
    (the default), b.test (names given: the certificate's other.test is
    not served), *.w.test."""
    certificates = [cert_entry(kit.a_ec), cert_entry(kit.a_rsa),
                    cert_entry(kit.b, ["b.test"]), cert_entry(kit.w)]
    with running(4, {"listen": tls_listen(certificates)}) as gw:
        yield gw


def tail(gw):
    return f"\n--- error.log\n{gw.error_log()[-3000:]}\n--- stderr\n{gw.stderr_text()[-2000:]}"


# -- clients -------------------------------------------------------------------

def client_context(kit, check_hostname=True, ciphers=None, max_version=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(kit.ca_cert)
    ctx.check_hostname = check_hostname
    if ciphers:
        ctx.set_ciphers(ciphers)
    if max_version:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def handshake_info(kit, port, server_name=None, **options):
    """One TLS handshake (SNI = server_name, none when None) that checks the
    chain against the test CA but not the name; returns what was agreed."""
    ctx = client_context(kit, check_hostname=False, **options)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            cert = tls.getpeercert()
            return {"serial": cert["serialNumber"].upper(),
                    "names": [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"],
                    "version": tls.version(), "cipher": tls.cipher()[0],
                    "alpn": tls.selected_alpn_protocol()}


def s_client(port, *args, servername=None, stdin="", ca=None, timeout=10):
    """Runs openssl s_client against the port; returns (exit code, stdout +
    stderr). No -servername means no SNI."""
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
    command += ["-servername", servername] if servername else ["-noservername"]
    if ca:
        command += ["-CAfile", ca]
    command += list(args)
    result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                            timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def session_state(output):
    """'New' or 'Reused' from s_client's summary line."""
    found = re.search(r"^(New|Reused), (TLSv[\d.]+|SSLv3)", output, re.M)
    assert found, f"no New/Reused line in s_client output:\n{output[-2000:]}"
    return found.group(1)


def health_session(port, *args, servername="a.test"):
    """An s_client that asks for /healthz and reads to the end (so a TLS 1.3
    ticket sent after the handshake is taken too)."""
    code, output = s_client(port, "-ign_eof", *args, servername=servername,
                            stdin=HEALTH_REQUEST)
    assert code == 0 and "HTTP/1.1 200" in output, output[-2000:]
    return output


def wss_url(port, host="localhost", path="/echo"):
    return f"wss://{host}:{port}{path}"


async def wss_echo(kit, port, messages, host="a.test", timeout=10):
    """Echoes messages over wss://host (resolved to 127.0.0.1) with name
    checking on; returns (replies, peer certificate)."""
    ctx = client_context(kit)
    replies = []
    async with websockets.connect(wss_url(port, host), ssl=ctx, host="127.0.0.1", port=port, server_hostname=host,
                                  open_timeout=timeout, close_timeout=timeout,
                                  max_size=2 ** 22) as ws:
        cert = ws.transport.get_extra_info("peercert")
        for message in messages:
            await ws.send(message)
            replies.append(await asyncio.wait_for(ws.recv(), timeout))
    return replies, cert


def tls_raw_client(kit, port, server_name="a.test", session=None, timeout=5.0, context=None):
    """wsraw.RawClient over TLS: a byte-level WebSocket client whose socket
    reports an EOF without close_notify as an error (suppress_ragged_eofs
    off)."""
    client = wsraw.RawClient.__new__(wsraw.RawClient)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    client.sock = (context or client_context(kit)).wrap_socket(
        raw, server_hostname=server_name, suppress_ragged_eofs=False, session=session)
    client.buffer = b""
    client.last_rsv = 0
    return client


def totals(gw):
    return gw.stats()["totals"]


def wait_total(gw, name, at_least, timeout=5):
    return gw.wait_for(lambda: (t := totals(gw))[name] >= at_least and t, timeout,
                       message=f"stats {name} >= {at_least}")


def access_line_for(gw, client_port, timeout=5):
    """The access log line of the connection from 127.0.0.1:client_port."""
    needle = f"remote=127.0.0.1:{client_port} "
    return gw.wait_for(lambda: next((line for line in gw.access_log().splitlines()
                                     if needle in line), None), timeout,
                       message=f"access log line for {needle}")


# -- tests on the shared gateway -----------------------------------------------

def test_wss_echo_python_and_node(kit, main_gw):
    """SEC-TLS-02/03: wss:// echo with name checking through two independent
    clients (Python websockets, Node ws), trusting only the test CA."""
    big = os.urandom(100 * 1024)
    replies, cert = asyncio.run(wss_echo(kit, main_gw.port, ["hello wss", b"\x00\x01\xff", big]))
    assert replies == ["hello wss", b"\x00\x01\xff", big]
    assert cert["serialNumber"].upper() == kit.a_ec_serial

    env = {**os.environ, "WSGATE_CA": kit.ca_cert}
    result = subprocess.run(["node", os.path.join(HERE, "node_echo_client.js"),
                             wss_url(main_gw.port, "localhost"), "20"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["ok"]

    # The same Node client refuses a certificate whose names do not match
    # (wss://127.0.0.1: no IP SAN), so name checking is really on.
    wrong = subprocess.run(["node", os.path.join(HERE, "node_echo_client.js"),
                            wss_url(main_gw.port, "127.0.0.1"), "1"],
                           capture_output=True, text=True, timeout=30, env=env)
    assert wrong.returncode == 1 and "IP" in wrong.stdout, wrong.stdout + wrong.stderr


def test_sni_selects_certificate(kit, main_gw):
    """SEC-TLS-03: SNI picks by exact name, then a one-label wildcard;
    anything else (unknown, two labels under the wildcard, a name the
    certificate holds but the config did not list, no SNI) gets the first
    certificate."""
    port = main_gw.port
    expect = {
        "a.test": kit.a_ec_serial, "localhost": kit.a_ec_serial, "b.test": kit.b_serial,
        "B.TEST": kit.b_serial, "x.w.test": kit.w_serial, "a.b.w.test": kit.a_ec_serial,
        "w.test": kit.a_ec_serial, "unknown.test": kit.a_ec_serial,
        "other.test": kit.a_ec_serial, None: kit.a_ec_serial,
    }
    got = {name: handshake_info(kit, port, name)["serial"] for name in expect}
    assert got == expect
    assert handshake_info(kit, port, "x.w.test")["names"] == ["*.w.test"]
    # And s_client, verifying the chain, sees the b.test certificate.
    code, output = s_client(port, "-showcerts", "-verify_return_error", servername="b.test",
                            ca=kit.ca_cert)
    assert code == 0, output[-2000:]
    assert "subject=CN = b.test" in output and "Verify return code: 0 (ok)" in output


def test_ecdsa_and_rsa_side_by_side(kit, main_gw):
    """SEC-TLS-03: ECDSA first, RSA fallback for the same names: a TLS 1.2
    client that only takes ECDHE-RSA gets the RSA certificate, a default one
    gets ECDSA."""
    port = main_gw.port
    default = handshake_info(kit, port, "a.test")
    assert default["serial"] == kit.a_ec_serial and default["version"] == "TLSv1.3"
    rsa = handshake_info(kit, port, "a.test", ciphers="ECDHE-RSA-AES128-GCM-SHA256",
                         max_version=ssl.TLSVersion.TLSv1_2)
    assert rsa == {**rsa, "serial": kit.a_rsa_serial, "version": "TLSv1.2",
                   "cipher": "ECDHE-RSA-AES128-GCM-SHA256"}
    code, output = s_client(port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                            servername="a.test", ca=kit.ca_cert)
    assert code == 0 and "Server public key is 2048 bit" in output, output[-2000:]
    code, output = s_client(port, "-tls1_2", servername="a.test", ca=kit.ca_cert)
    assert code == 0 and "Server public key is 256 bit" in output, output[-2000:]
    assert "ECDHE-ECDSA-" in output


def test_old_protocol_and_weak_cipher_refused(kit, main_gw):
    """SEC-TLS-01: TLS 1.1 is refused even from a client that offers it;
    SEC-TLS-02: a non-intermediate TLS 1.2 suite (AES128-SHA) is refused.
    Both are counted by reason."""
    before = totals(main_gw)
    code, output = s_client(main_gw.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                            servername="a.test")
    assert code != 0, output[-2000:]
    assert "protocol version" in output or "unsupported protocol" in output, output[-2000:]
    code, output = s_client(main_gw.port, "-tls1_2", "-cipher", "AES128-SHA",
                            servername="a.test")
    assert code != 0 and "handshake failure" in output, output[-2000:]
    # A TLS 1.3-only client with a suite outside the list is refused too.
    code, output = s_client(main_gw.port, "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256",
                            servername="a.test")
    assert code != 0, output[-2000:]
    after = wait_total(main_gw, "tls_handshakes_failed_cipher",
                       before["tls_handshakes_failed_cipher"] + 2)
    assert after["tls_handshakes_failed_version"] == before["tls_handshakes_failed_version"] + 1
    assert after["tls_handshakes_failed_cipher"] == before["tls_handshakes_failed_cipher"] + 2
    assert after["tls_handshakes_ok"] == before["tls_handshakes_ok"]
    # Still serving.
    assert handshake_info(kit, main_gw.port, "a.test")["version"] == "TLSv1.3"


def test_alpn_http11_only(kit, main_gw):
    """WS-HS-12, SEC-TLS-04: ALPN offers http/1.1 only: h2 alone is refused
    (no_application_protocol), h2,http/1.1 gets http/1.1, no ALPN works."""
    port = main_gw.port
    before = totals(main_gw)
    code, output = s_client(port, "-alpn", "h2", servername="a.test")
    assert code != 0 and "no application protocol" in output, output[-2000:]
    wait_total(main_gw, "tls_handshakes_failed_alpn", before["tls_handshakes_failed_alpn"] + 1)
    code, output = s_client(port, "-alpn", "h2,http/1.1", servername="a.test")
    assert code == 0 and "ALPN protocol: http/1.1" in output, output[-2000:]
    code, output = s_client(port, servername="a.test")
    assert code == 0 and "No ALPN negotiated" in output, output[-2000:]
    assert handshake_info(kit, port, "a.test", alpn=["h2", "http/1.1"])["alpn"] == "http/1.1"
    assert handshake_info(kit, port, "a.test")["alpn"] is None


def test_resumption_across_workers(kit, main_gw, tmp_path):
    """SEC-TLS-06: one saved TLS 1.3 session resumes by ticket on every
    worker: 20 connections from it all say Reused, the per-worker counters
    add up to 20 and at least two workers took some."""
    session = str(tmp_path / "session.pem")
    output = health_session(main_gw.port, "-sess_out", session)
    assert session_state(output) == "New" and os.path.getsize(session) > 0
    assert "New Session Ticket arrived" in output
    assert "Max Early Data: 0" in output  # SEC-TLS-04: no 0-RTT
    before = {w["slot"]: w["tls_resumed_ticket"] for w in main_gw.stats()["workers"]}

    def resume(_):
        return session_state(health_session(main_gw.port, "-sess_in", session))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        states = list(pool.map(resume, range(20)))
    assert states == ["Reused"] * 20

    def per_worker():
        stats = main_gw.stats()["workers"]
        taken = {w["slot"]: w["tls_resumed_ticket"] - before.get(w["slot"], 0) for w in stats}
        return taken if sum(taken.values()) >= 20 else None

    taken = main_gw.wait_for(per_worker, 5, message="20 ticket resumptions in the stats")
    assert sum(taken.values()) == 20, taken
    assert sum(1 for n in taken.values() if n > 0) >= 2, taken


def test_access_log_carries_tls_fields(kit, main_gw):
    """The access log line of a wss connection names the TLS version,
    cipher, SNI name and how it resumed (no / ticket)."""
    context = client_context(kit)
    first = tls_raw_client(kit, main_gw.port, "a.test", context=context)
    first.handshake()
    first.send(wsraw.frame(0x1, b"one"))
    assert first.read_frame() == (True, 0x1, b"one")
    session = first.sock.session  # the TLS 1.3 ticket came before the 101
    first_port = first.sock.getsockname()[1]
    first.send(wsraw.close_frame(1000))
    first.read_close()
    first.close()

    second = tls_raw_client(kit, main_gw.port, "a.test", session=session, context=context)
    assert second.sock.session_reused
    second.handshake()
    second.send(wsraw.close_frame(1000))
    second.read_close()
    second_port = second.sock.getsockname()[1]
    second.close()

    line = access_line_for(main_gw, first_port)
    assert re.search(r" status=101 .* tls=TLSv1\.3 cipher=TLS_[A-Z0-9_]+ sni=a\.test resumed=no$",
                     line), line
    line = access_line_for(main_gw, second_port)
    assert re.search(r" status=101 .* tls=TLSv1\.3 cipher=TLS_[A-Z0-9_]+ sni=a\.test "
                     r"resumed=ticket$", line), line


def test_clean_close_sends_close_notify(kit, main_gw):
    """WS-CL-06: after the Close handshake the server ends TLS with
    close_notify, so the client sees a clean TLS EOF (recv() == b''), not an
    EOF in violation of the protocol (SSLEOFError)."""
    client = tls_raw_client(kit, main_gw.port, "a.test")
    try:
        client.handshake()
        client.send(wsraw.frame(0x2, b"\x01\x02"))
        assert client.read_frame() == (True, 0x2, b"\x01\x02")
        client.send(wsraw.close_frame(1000, b"bye"))
        assert client.read_close()[0] == 1000
        assert client.buffer == b""
        assert client.sock.recv(65536) == b""  # raises SSLEOFError without close_notify
    finally:
        client.close()


def test_close_frame_and_close_notify_together_still_get_the_close_reply(kit, main_gw):
    """WS-CL-01 over TLS: a client that sends its Close frame and close_notify
    in one segment (as browsers do on unload) still gets the server's Close
    reply and close_notify, not just a closed socket."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context(kit).wrap_bio(incoming, outgoing, server_hostname="a.test")
    sock = socket.create_connection(("127.0.0.1", main_gw.port), timeout=5)
    received = b""

    def pump():
        sock.sendall(outgoing.read())
        data = sock.recv(65536)
        if data:
            incoming.write(data)
        else:
            incoming.write_eof()
        return data

    try:
        for _ in range(10):
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
        tls.write(wsraw.upgrade_request())
        while b"\r\n\r\n" not in received:
            pump()
            with contextlib.suppress(ssl.SSLWantReadError):
                received += tls.read(65536)
        assert received.startswith(b"HTTP/1.1 101"), received
        received = received.split(b"\r\n\r\n", 1)[1]
        tls.write(wsraw.close_frame(1000, b"unload"))
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.unwrap()  # queues close_notify behind the Close frame
        sock.sendall(outgoing.read())  # both in one segment
        closed_cleanly = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not closed_cleanly:
            if not pump():
                break
            try:
                while True:
                    chunk = tls.read(65536)
                    if not chunk:
                        closed_cleanly = True
                        break
                    received += chunk
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                closed_cleanly = True
        # The server's Close frame: 0x88, length 2, code 1000.
        assert received[:4] == b"\x88\x02\x03\xe8", received
        assert closed_cleanly, "no close_notify from the server"
    finally:
        sock.close()


def test_plain_http_on_tls_port(kit, main_gw):
    """Plain HTTP to a TLS port gets a plain-text 400 saying the port speaks
    TLS; HTTPS to it answers the health check."""
    port = main_gw.port
    before = totals(main_gw)
    result = subprocess.run(["curl", "-sS", "-m", "5", "-w", "\n%{http_code}",
                             f"http://127.0.0.1:{port}/healthz"],
                            capture_output=True, text=True, timeout=10)
    body, _, status = result.stdout.rpartition("\n")
    assert status == "400", result.stdout + result.stderr
    assert "TLS" in body and "https://" in body, body
    wait_total(main_gw, "tls_handshakes_failed_not_tls", before["tls_handshakes_failed_not_tls"] + 1)
    result = subprocess.run(["curl", "-sS", "-m", "5", "-w", "\n%{http_code}", "--cacert",
                             kit.ca_cert, "--resolve", f"localhost:{port}:127.0.0.1",
                             f"https://localhost:{port}/healthz"],
                            capture_output=True, text=True, timeout=10)
    assert result.stdout.rpartition("\n")[2] == "200", result.stdout + result.stderr


def test_renegotiation_refused(kit, main_gw):
    """SEC-TLS-04: a client-initiated TLS 1.2 renegotiation is refused (no
    second handshake happens) and the gateway keeps serving."""
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{main_gw.port}",
               "-servername", "a.test", "-tls1_2", "-msg"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        # s_client reads commands from stdin once connected; R renegotiates.
        time.sleep(0.5)
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write("R\n")
            process.stdin.flush()
        time.sleep(1.0)
        with contextlib.suppress(BrokenPipeError):
            output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "RENEGOTIATING" in output, output[-3000:]
    # One ServerHello only: the second ClientHello got no answer but an alert.
    assert len(re.findall(r"\], ServerHello$", output, re.M)) == 1, output[-3000:]
    assert "no_renegotiation" in output or "no renegotiation" in output, output[-3000:]
    replies, _ = asyncio.run(wss_echo(kit, main_gw.port, ["after renegotiation"]))
    assert replies == ["after renegotiation"]


def test_garbage_counted_as_not_tls(kit, main_gw):
    """Bytes that are not TLS at all (64 zero bytes, an SSH banner) are
    refused without an answer and counted as not_tls, not as a protocol
    version the client asked for."""
    before = totals(main_gw)
    for junk in (b"\x00" * 64, b"SSH-2.0-OpenSSH_9.2\r\n"):
        with socket.create_connection(("127.0.0.1", main_gw.port), timeout=5) as sock:
            sock.sendall(junk)
            try:
                sock.recv(4096)  # an alert or nothing, then EOF
            except ConnectionResetError:
                pass
    after = wait_total(main_gw, "tls_handshakes_failed_not_tls",
                       before["tls_handshakes_failed_not_tls"] + 2)
    assert after["tls_handshakes_failed_version"] == before["tls_handshakes_failed_version"]


def test_no_tls_connection_left(main_gw):
    """After every client above has gone, the tls_connections_active and
    connections_active gauges are back to 0 (nothing leaked)."""
    main_gw.wait_for(lambda: (t := totals(main_gw))["tls_connections_active"] == 0
                     and t["connections_active"] == 0, 5,
                     message="tls_connections_active == 0")


# -- tests with a gateway of their own -------------------------------------------

def test_listener_options(kit):
    """SEC-TLS-01/02/07: protocols, ciphersuites and release_buffers are
    honoured: a TLS 1.3-only listener refuses TLS 1.2, uses the one suite
    configured and echoes 100 KiB with buffer release off."""
    extra = {"listen": tls_listen([cert_entry(kit.a_ec)], protocols=["TLSv1.3"],
                                  ciphersuites="TLS_CHACHA20_POLY1305_SHA256",
                                  release_buffers=False)}
    with running(1, extra) as gw:
        info = handshake_info(kit, gw.port, "a.test")
        assert (info["version"], info["cipher"]) == ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")
        with pytest.raises(ssl.SSLError):
            handshake_info(kit, gw.port, "a.test", max_version=ssl.TLSVersion.TLSv1_2)
        stats = wait_total(gw, "tls_handshakes_failed_version", 1)
        assert stats["tls_handshakes_failed_version"] == 1
        big = os.urandom(100 * 1024)
        assert asyncio.run(wss_echo(kit, gw.port, [big, "x"]))[0] == [big, "x"]
        assert wait_total(gw, "tls_cipher_chacha20_poly1305", 2)


def test_ticket_key_rotation(kit, tmp_path):
    """SEC-TLS-06 (rotation): a ticket sealed just after a rotation still
    resumes after the next one (the previous key opens and renews it) and
    no longer after the one after that (a full handshake)."""
    extra = {"listen": tls_listen([cert_entry(kit.a_ec)]), "tls": {"ticket_key_rotation": "1s"}}
    with running(2, extra) as gw:
        session = str(tmp_path / "session.pem")

        def rotations():
            return gw.error_log().count(ROTATED)

        def wait_rotation(seen):
            return gw.wait_for(lambda: (n := rotations()) > seen and n, 5, interval=0.02,
                               message="a ticket key rotation")

        for attempt in range(3):
            # Just after a rotation (and a moment for the workers to get the
            # key), save a session.
            start = wait_rotation(rotations())
            time.sleep(0.1)
            output = health_session(gw.port, "-sess_out", session)
            if rotations() != start:
                continue  # a rotation slipped in; the key is unknown
            assert session_state(output) == "New"
            # One rotation later the sealing key is the previous one.
            after_one = wait_rotation(start)
            time.sleep(0.1)
            reused = session_state(health_session(gw.port, "-sess_in", session))
            if rotations() != after_one or after_one != start + 1:
                continue
            assert reused == "Reused"
            # One more and it is gone.
            wait_rotation(after_one)
            time.sleep(0.1)
            assert session_state(health_session(gw.port, "-sess_in", session)) == "New"
            break
        else:
            pytest.fail("could not time a save between two rotations in three tries" + tail(gw))


def test_session_tickets_off(kit, tmp_path):
    """SEC-TLS-06 option b: with session_tickets: false no TLS 1.3 session
    resumes (no silent stateful-ticket fallback); TLS 1.2 session IDs still
    resume from the per-worker cache (one worker), logged as resumed=cache."""
    extra = {"listen": tls_listen([cert_entry(kit.a_ec)], session_tickets=False)}
    with running(1, extra) as gw:
        session = str(tmp_path / "s13.pem")
        first = health_session(gw.port, "-sess_out", session)
        assert session_state(first) == "New"
        assert "New Session Ticket arrived" not in first, first[-2000:]
        # s_client writes a TLS 1.3 session only when a ticket arrives; if
        # some version does write one anyway, it must not resume.
        if os.path.exists(session):
            for _ in range(3):
                assert session_state(health_session(gw.port, "-sess_in", session)) == "New"

        session12 = str(tmp_path / "s12.pem")
        assert session_state(health_session(gw.port, "-tls1_2", "-sess_out", session12)) == "New"
        for _ in range(2):
            output = health_session(gw.port, "-tls1_2", "-sess_in", session12)
            assert session_state(output) == "Reused", output[-2000:]
        stats = wait_total(gw, "tls_resumed_cache", 2)
        assert stats["tls_resumed_ticket"] == 0
        lines = gw.wait_for(lambda: (ls := [l for l in gw.access_log().splitlines()
                                            if "resumed=cache" in l]) and len(ls) >= 2 and ls, 5)
        assert all("tls=TLSv1.2" in line for line in lines), lines


def client_hello(server_name="a.test"):
    """The bytes of a real TLS ClientHello (made by Python's ssl over memory BIOs)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_handshake_timeout(kit):
    """SEC-LIM-04: a client that sends 20 bytes of a ClientHello and stops is
    closed once limits.handshake_timeout (500 ms) passes, and counted."""
    extra = {"listen": tls_listen([cert_entry(kit.a_ec)]),
             "limits": {"handshake_timeout": "500ms"}}
    with running(1, extra) as gw:
        hello = client_hello()
        assert hello[0] == 0x16 and len(hello) > 20
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as sock:
            sock.sendall(hello[:20])
            started = time.monotonic()
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            waited = time.monotonic() - started
        assert data == b"" or data[0] == 0x15, data  # EOF, or an alert then EOF
        assert waited >= 0.3, waited  # not before the timeout; the socket's 5 s bounds it
        stats = wait_total(gw, "tls_handshakes_failed_timeout", 1)
        assert stats["tls_handshakes_failed_timeout"] == 1
        assert stats["tls_handshakes_failed_closed"] == 0


def test_reload_with_mismatched_key_keeps_serving(kit, gateway):
    """SEC-TLS-08: a reload whose key does not match its certificate fails,
    naming the key file, and changes nothing: new wss connections still get
    the old certificate."""
    gw = gateway(workers=2, extra={"listen": tls_listen([cert_entry(kit.a_ec)])})
    gw.write_config({"listen": tls_listen([cert_entry((kit.a_ec[0], kit.b[1]))])})
    result = gw.ctl("reload")
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stdout + result.stderr
    assert kit.b[1] in message and "does not match" in message, message
    assert gw.status()["generation"] == 1
    replies, cert = asyncio.run(wss_echo(kit, gw.port, ["still here"]))
    assert replies == ["still here"] and cert["serialNumber"].upper() == kit.a_ec_serial


def test_reload_with_new_certificate(kit, gateway, tmp_path):
    """SEC-TLS-08: replacing the certificate and key files and reloading
    serves the new certificate to new connections while an open wss
    connection goes on echoing."""
    live_cert, live_key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copy(kit.a_ec[0], live_cert)
    shutil.copy(kit.a_ec[1], live_key)
    gw = gateway(workers=2, extra={"listen": tls_listen([cert_entry((live_cert, live_key))])})
    new_cert, new_key = kit.leaf("a-new", ["a.test", "localhost"])
    new_serial = serial_of(new_cert)
    assert new_serial != kit.a_ec_serial

    async def main():
        loop = asyncio.get_running_loop()
        echoed = 0
        async with websockets.connect(wss_url(gw.port, "a.test"), ssl=client_context(kit),
                                      host="127.0.0.1", port=gw.port, server_hostname="a.test",
                                      open_timeout=5) as old:

            async def ping_pong(seconds):
                nonlocal echoed
                end = loop.time() + seconds
                while loop.time() < end:
                    await old.send(f"m{echoed}")
                    assert await asyncio.wait_for(old.recv(), 5) == f"m{echoed}"
                    echoed += 1
                    await asyncio.sleep(0.1)

            await ping_pong(0.3)

            def swap_and_reload():
                shutil.copy(new_cert, live_cert + ".tmp")
                shutil.copy(new_key, live_key + ".tmp")
                os.replace(live_cert + ".tmp", live_cert)
                os.replace(live_key + ".tmp", live_key)
                return gw.ctl("reload")

            reload_task = loop.run_in_executor(None, swap_and_reload)
            while not reload_task.done():
                await ping_pong(0.1)
            result = await reload_task
            assert result.returncode == 0, result.stdout + result.stderr
            _, cert = await wss_echo(kit, gw.port, ["new connection"])
            assert cert["serialNumber"].upper() == new_serial
            await ping_pong(1.0)
            assert old.transport.get_extra_info("peercert")["serialNumber"].upper() == \
                kit.a_ec_serial
        return echoed

    assert asyncio.run(main()) >= 10


def config_error_line(path, needle):
    with open(path, encoding="utf-8") as text:
        for number, line in enumerate(text, 1):
            if needle in line:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_config_check_reports_bad_certificates(kit, gateway):
    """SEC-TLS-08: wsgated -t loads every certificate and key and names the
    file at fault, the config file:line and why; a good pair passes."""
    missing = kit.path("missing.crt")
    expired = kit.expired_leaf("expired", ["a.test"])
    encrypted = kit.encrypted_copy(kit.a_ec[1], "encrypted")
    garbage = kit.garbage_pem("garbage")
    cases = [
        ("missing certificate", (missing, kit.a_ec[1]), "certificate", missing,
         r"cannot open: No such file or directory"),
        ("missing key", (kit.a_ec[0], missing), "key", missing,
         r"cannot open: No such file or directory"),
        ("mismatched key", (kit.a_ec[0], kit.b[1]), "key", kit.b[1],
         r"the key does not match the certificate " + re.escape(kit.a_ec[0])),
        ("expired", expired, "certificate", expired[0], r"the certificate expired on "),
        ("encrypted key", (kit.a_ec[0], encrypted), "key", encrypted, r"the key is encrypted"),
        ("garbage", (garbage, kit.a_ec[1]), "certificate", garbage, r"no PEM certificate"),
    ]
    gw = gateway(workers=1, start=False)
    for label, pair, field, culprit, reason in cases:
        gw.write_config({"listen": tls_listen([cert_entry(pair)])})
        result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                                text=True, timeout=30)
        line = config_error_line(gw.config_path, f'"{field}": {json.dumps(culprit)}')
        assert result.returncode == 1, (label, result.returncode, result.stderr)
        # "file:line:col: listen[0].tls.certificates[0].key: /path: why"
        where = f"{gw.config_path}:{line}:"
        key = f"listen[0].tls.certificates[0].{field}: {culprit}: "
        assert where in result.stderr and key in result.stderr, (label, line, result.stderr)
        assert re.search(reason, result.stderr), (label, result.stderr)
    gw.write_config({"listen": tls_listen([cert_entry(kit.a_ec), cert_entry(kit.a_rsa)])})
    result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_keys_loaded_before_privileges_drop(kit, gateway):
    """SEC-PRIV-01, SEC-TLS-08, SEC-PRIV-05: started as root with user
    nobody, every process runs as nobody, serves wss with a key only root
    can read (loaded before the drop), and has RLIMIT_CORE 0."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges")
    assert oct(os.stat(kit.a_ec[1]).st_mode & 0o777) == "0o600"
    gw = gateway(workers=2, start=False,
                 extra={"user": "nobody", "listen": tls_listen([cert_entry(kit.a_ec)])})
    os.chmod(gw.dir, 0o755)
    gw.start()
    replies, _ = asyncio.run(wss_echo(kit, gw.port, ["as nobody"]))
    assert replies == ["as nobody"]
    pids = [gw.pid] + [w["pid"] for w in gw.workers()["workers"]]
    for pid in pids:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            uids = next(l for l in status if l.startswith("Uid:")).split()[1:]
        assert uids == ["65534"] * 4, (pid, uids)
        with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
            core = next(l for l in limits if l.startswith("Max core file size")).split()
        assert core[4:6] == ["0", "0"], (pid, core)


def test_stop_writes_nothing_into_a_failed_tls_session(kit, gateway):
    # A broken record after the upgrade fails the TLS session: the alert
    # and the FIN go out and the connection waits for the client's EOF. A
    # SIGTERM then must not queue a Close frame into that session (nor
    # encrypt anything): the connection ends with cause "tls".
    gw = gateway(workers=1, extra={"listen": tls_listen([cert_entry(kit.a_ec)]),
                                   "timeouts": {"close": "30s"}})
    client = tls_raw_client(kit, gw.port, timeout=10)
    client.handshake()
    raw = socket.socket(fileno=os.dup(client.sock.fileno()))
    raw.settimeout(10)
    client_port = raw.getsockname()[1]
    raw.sendall(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # fails the record MAC
    after_failure = b""
    while chunk := raw.recv(65536):  # the alert, then the server's FIN
        after_failure += chunk
    assert after_failure[:1] in (b"\x15", b"\x17"), after_failure  # one alert record
    record_length = int.from_bytes(after_failure[3:5], "big")
    assert len(after_failure) == 5 + record_length, after_failure
    gw.signal(signal.SIGTERM)
    line = access_line_for(gw, client_port, timeout=15)
    assert "cause=tls" in line and "close_code=1001" not in line, line
    assert "TLS write to" not in gw.error_log()
    raw.close()
    client.sock.close()


def test_inflating_deferred_over_tls_keeps_every_record_in_order(kit, gateway):
    """PMD-11 over wss: input left over from a TLS record waits for the next
    loop turn, and the records decrypted after it queue behind it."""
    from test_compression import inflating_flood
    gw = gateway(workers=1, extra={
        "listen": tls_listen([cert_entry(kit.a_ec)]),
        "routes": [{"path": "/echo", "relay": "echo", "compression": {"enabled": True}}]})
    client = tls_raw_client(kit, gw.port, timeout=10)
    headers = client.handshake(extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
    assert headers["sec-websocket-extensions"].startswith("permessage-deflate")
    inflating_flood(client)
    assert wait_total(gw, "inflate_deferrals", 1)["inflated_bytes_in"] > 0


def test_close_notify_behind_deferred_input_waits_for_it(kit, gateway):
    """PMD-11 over wss: messages that inflate past 4 MiB, a Close frame and
    the TLS close_notify arrive in one flight. The input held for the next
    loop turn is still processed: every echo and the Close reply come
    back before the connection ends, and it ends as a clean close."""
    from test_compression import inflating_messages
    gw = gateway(workers=1, extra={
        "listen": tls_listen([cert_entry(kit.a_ec)]),
        "routes": [{"path": "/echo", "relay": "echo", "compression": {"enabled": True}}]})
    raw = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context(kit).wrap_bio(incoming, outgoing, server_hostname="a.test")

    def pump_until(done):
        while not done():
            if outgoing.pending:
                raw.sendall(outgoing.read())
            data = raw.recv(65536)
            if not data:
                incoming.write_eof()
                return
            incoming.write(data)

    def try_handshake():
        try:
            tls.do_handshake()
            return True
        except ssl.SSLWantReadError:
            return False
    pump_until(try_handshake)
    tls.write(wsraw.upgrade_request(extra="Sec-WebSocket-Extensions: permessage-deflate\r\n"))
    received = bytearray()

    def read_some(until):
        """Decrypts into `received` until until() holds or TLS ends."""
        while True:
            try:
                while True:
                    received.extend(tls.read(65536))
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return
            if until():
                return
            if outgoing.pending:
                raw.sendall(outgoing.read())
            data = raw.recv(65536)
            if not data:
                return
            incoming.write(data)
    read_some(lambda: b"\r\n\r\n" in received)
    assert received.startswith(b"HTTP/1.1 101 ")
    del received[:received.index(b"\r\n\r\n") + 4]
    messages = inflating_messages(40)
    tls.write(b"".join(wsraw.frame(0x2, wsraw.deflate(m), rsv=4) for m in messages) +
              wsraw.close_frame(1000))
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.unwrap()  # queues close_notify behind the frames
    raw.sendall(outgoing.read())  # all of it in one flight
    client = wsraw.RawClient.__new__(wsraw.RawClient)
    client.buffer = bytes(received)
    client.last_rsv = 0

    def more():
        read_some(lambda: len(received) > 0)
        if not received:
            raise EOFError("the gateway ended the connection")
        client.buffer += bytes(received)
        received.clear()
    client.recv_some = more
    for i, message in enumerate(messages):
        _, opcode, payload = client.read_frame()
        assert opcode == 0x2 and wsraw.inflate(payload) == message, i
    assert client.read_close()[0] == 1000
    raw.close()
    line = gw.wait_for(lambda: next((l for l in gw.access_log().splitlines() if "/echo" in l),
                                    None), 10, message="access line")
    assert "close_code=1000" in line and "cause=client" in line, line
    assert totals(gw)["inflate_deferrals"] >= 1
