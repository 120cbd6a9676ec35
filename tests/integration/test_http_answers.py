"""Plain HTTP answers from the worker: health 200, a route without an
upgrade 426, unknown paths 404, bad requests 400/405/414/431, and the
handshake rules that need a real socket (WS-HS-10, WS-HS-11)."""
import subprocess

from wsraw import RawClient, close_frame, frame, upgrade_request


def curl(url, *args):
    out = subprocess.run(["curl", "-s", "-i", "--max-time", "5", *args, url],
                         capture_output=True, text=True, timeout=10)
    return out.stdout


def test_health_path_answers_200(gateway):
    gw = gateway(workers=1)
    out = curl(f"http://127.0.0.1:{gw.port}/healthz")
    assert out.startswith("HTTP/1.1 200")
    assert "Connection: close" in out


def test_route_without_upgrade_answers_426(gateway):
    gw = gateway(workers=1)
    out = curl(f"http://127.0.0.1:{gw.port}/echo")
    assert out.startswith("HTTP/1.1 426")
    assert "Upgrade: websocket" in out


def test_WS_HS_09_unknown_path_answers_404(gateway):
    gw = gateway(workers=1)
    assert curl(f"http://127.0.0.1:{gw.port}/nope").startswith("HTTP/1.1 404")
    c = RawClient(gw.port)
    c.send(upgrade_request("/nope"))
    status, _, _ = c.read_http_response()
    assert status == 404
    assert c.wait_eof()


def test_WS_HS_06_wrong_version_answers_426_with_version_13(gateway):
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    c.send(upgrade_request().replace(b"Version: 13", b"Version: 12"))
    status, headers, _ = c.read_http_response()
    assert status == 426 and headers["sec-websocket-version"] == "13"


def test_WS_HS_01_post_answers_405(gateway):
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    c.send(upgrade_request().replace(b"GET", b"POST", 1))
    status, headers, _ = c.read_http_response()
    assert status == 405 and headers["allow"] == "GET"


def test_HTTP_07_long_request_line_414_and_big_head_431(gateway):
    gw = gateway(workers=1, extra={"limits": {"max_request_line": "1KiB",
                                              "max_header_bytes": "4KiB"}})
    c = RawClient(gw.port)
    c.send(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.read_http_response()[0] == 414
    c = RawClient(gw.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"b" * 5000 + b"\r\n\r\n")
    assert c.read_http_response()[0] == 431


def test_HTTP_02_obs_fold_answers_400(gateway):
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n")
    assert c.read_http_response()[0] == 400


def test_WS_HS_10_upgrade_with_body_answers_400(gateway):
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    c.send(upgrade_request(extra="Content-Length: 4\r\n") + b"abcd")
    assert c.read_http_response()[0] == 400
    assert c.wait_eof()


def test_WS_HS_11_bytes_after_head_go_to_frame_parser_only_when_accepted(gateway):
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    # Head and first frame in one write: the frame is echoed after the 101.
    c.send(upgrade_request() + frame(0x1, b"early"))
    status, _ = c.read_http_head()
    assert status == 101
    assert c.read_frame() == (True, 0x1, b"early")
    # Refused handshake: the tail is discarded, never parsed as frames.
    c = RawClient(gw.port)
    c.send(upgrade_request("/nope") + frame(0x1, b"early"))
    status, _, body = c.read_http_response()
    assert status == 404
    assert c.wait_eof() and c.buffer == b""


def test_SEC_OR_01_WS_SEC_01_origin_allow_list_gives_403(gateway):
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/echo", "relay": "echo", "origins": ["https://app.example"]}]})
    c = RawClient(gw.port)
    c.send(upgrade_request(extra="Origin: https://evil.example\r\n"))
    assert c.read_http_response()[0] == 403
    c = RawClient(gw.port)
    c.handshake(extra="Origin: https://app.example\r\n")
    c.send(close_frame(1000))
    assert c.read_close()[0] == 1000


def test_handshake_failures_are_counted_by_reason(gateway):
    gw = gateway(workers=1)
    for path in ("/a", "/b"):
        c = RawClient(gw.port)
        c.send(upgrade_request(path))
        c.read_http_response()
    totals = gw.wait_for(lambda: (t := gw.stats()["totals"])["handshakes_failed_not_found"] >= 2
                         and t, 5)
    assert totals["handshakes_failed_not_found"] == 2


def test_WS_SEC_04_origin_is_a_browser_check_not_authentication(gateway):
    # RFC 6455 §10.1: a non-browser client can send any Origin. A forged,
    # allowed Origin gets in, which is why the Origin list is documented as
    # protection against cross-site pages only (docs/worker-notes.md).
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/echo", "relay": "echo", "origins": ["https://app.example"]}]})
    c = RawClient(gw.port)
    c.handshake(extra="Origin: https://APP.example\r\n")  # case-insensitive host
    c.send(frame(0x1, b"forged but allowed"))
    assert c.read_frame() == (True, 0x1, b"forged but allowed")


def test_WS_SEC_03_invalid_handshake_gets_http_error_and_invalid_frames_a_close_code(gateway):
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    c.send(upgrade_request().replace(b"Sec-WebSocket-Key: ", b"Sec-WebSocket-Key: x"))
    assert c.read_http_response()[0] == 400  # never a 101 to a partly valid request
    c = RawClient(gw.port)
    c.handshake()
    c.send(frame(0x3, b"reserved opcode"))
    assert c.read_close()[0] == 1002


def test_WS_HS_12_no_http2_on_plaintext_listeners(gateway):
    # RFC 8441 is not implemented, so HTTP/2 is never negotiated. ALPN
    # (advertise http/1.1 only) belongs to TLS listeners; on plaintext the
    # two h2c forms are refused: the prior-knowledge preface and Upgrade: h2c.
    gw = gateway(workers=1)
    c = RawClient(gw.port)
    c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert c.read_http_response()[0] == 400
    c = RawClient(gw.port)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
    assert c.read_http_response()[0] == 400


# ---- issue 10 item 11: answers browsers understand ---------------------------

def test_h2c_upgrade_to_the_health_path_is_answered_as_http_1_1(gateway):
    # curl --http2 on http:// sends "Upgrade: h2c"; off WebSocket routes the
    # Upgrade is ignored (RFC 9110 §7.8), so the health check still works.
    gw = gateway(workers=1)
    out = curl(f"http://127.0.0.1:{gw.port}/healthz", "--http2")
    assert out.startswith("HTTP/1.1 200"), out
    assert curl(f"http://127.0.0.1:{gw.port}/nowhere", "--http2").startswith("HTTP/1.1 404")


def test_other_methods_on_the_health_path_get_405_with_allow(gateway):
    gw = gateway(workers=1)
    for method in ("POST", "PUT", "DELETE"):
        out = curl(f"http://127.0.0.1:{gw.port}/healthz", "-X", method)
        assert out.startswith("HTTP/1.1 405"), out
        assert "Allow: GET, HEAD" in out, out


def test_unserved_subprotocol_gets_400_naming_what_the_route_serves(gateway):
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/echo", "relay": "echo"},
        {"path": "/chat", "relay": "echo", "subprotocols": ["chat.v2", "chat.v1"]}]})
    for path, served in (("/echo", "this route serves no subprotocol"),
                         ("/chat", "this route serves: chat.v2, chat.v1")):
        c = RawClient(gw.port)
        c.send(upgrade_request(path, extra="Sec-WebSocket-Protocol: nope, other\r\n"))
        status, _, body = c.read_http_response()
        assert status == 400
        assert body.decode().startswith("unsupported subprotocol: offered nope, other; " + served)
    gw.assert_logged("route /chat: 127.0.0.1:")
    assert gw.stats()["totals"]["handshakes_failed_bad_request"] == 2


def test_node_ws_offering_an_unserved_subprotocol_sees_the_400(gateway):
    # Node's ws fails a 101 that lacks the protocol it offered with 1006;
    # the 400 reaches its 'unexpected-response' event instead.
    gw = gateway(workers=1)
    script = ("const W=require('ws');const w=new W(process.argv[1],['nope']);"
              "w.on('unexpected-response',(q,r)=>{console.log('status '+r.statusCode);"
              "process.exit(0)});w.on('open',()=>{console.log('opened');process.exit(1)});"
              "w.on('error',(e)=>{console.log('error '+e.message);process.exit(1)});")
    out = subprocess.run(["node", "-e", script, gw.url("/echo")], capture_output=True,
                         text=True, timeout=30)
    assert out.stdout.strip() == "status 400", out.stdout + out.stderr


def test_refused_origin_is_logged_with_route_and_origin(gateway):
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/echo", "relay": "echo", "origins": ["https://good.example"]}]})
    c = RawClient(gw.port)
    c.send(upgrade_request("/echo", extra="Origin: https://evil.example\r\n"))
    assert c.read_http_response()[0] == 403
    gw.wait_for(lambda: "route /echo: 127.0.0.1:" in gw.error_log()
                and "origin https://evil.example not allowed" in gw.error_log(), 10,
                message="the refused origin logged")
