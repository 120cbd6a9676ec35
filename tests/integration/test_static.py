"""Static routes (relay: static) against the real daemon: curl GET and HEAD,
Content-Type, ETag and Last-Modified with 304, ranges, traversal attempts,
symlinks, dot files, methods, directories, a 64 MiB download over TLS with
the worker's memory watched, clients that leave or stall mid-download, a
page and its WebSocket on one path (with headless Chromium), and the
config errors of static routes."""
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import WSGATED, echo, run_in_chromium, wait_for
from tls_certs import CertKit
from wsraw import RawClient, upgrade_request

HERE = os.path.dirname(os.path.abspath(__file__))
INDEX = b"<!doctype html><title>home</title><p>hello</p>\n"
DATA = bytes(range(256)) * 40  # 10240 bytes


def curl(url, *args, timeout=10):
    """Runs curl -s -i and returns (status, headers lower-cased, body bytes)
    of the last response it printed."""
    out = subprocess.run(["curl", "-s", "-i", "--max-time", str(timeout), *args, url],
                         capture_output=True, timeout=timeout + 5)
    assert out.stdout, f"curl {url} {args}: exit {out.returncode} {out.stderr!r}"
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def make_www(base):
    """The tree the routes serve, and a secret file outside it."""
    www = base / "www"
    (www / "sub").mkdir(parents=True)
    (www / "noindex").mkdir()
    (www / ".hidden").mkdir()
    (www / "index.html").write_bytes(INDEX)
    (www / "app.js").write_text("console.log('hi');\n")
    (www / "style.css").write_text("p { color: red }\n")
    (www / "data.json").write_text('{"a": 1}\n')
    (www / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    (www / "blob.unknownext").write_bytes(b"xyz")
    (www / "data.bin").write_bytes(DATA)
    (www / "empty.txt").write_bytes(b"")
    (www / "sub" / "index.html").write_bytes(b"<p>sub</p>\n")
    (www / "noindex" / "a.txt").write_bytes(b"a\n")
    (www / ".secret").write_bytes(b"dot secret\n")
    (www / ".hidden" / "x.txt").write_bytes(b"hidden\n")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside secret\n")
    os.symlink(outside / "secret.txt", www / "link_out.txt")
    os.symlink(outside, www / "linkdir_out")
    os.symlink("index.html", www / "link_in.html")
    return www


def static_gateway(gateway, tmp_path, workers=1, extra_routes=(), limits=None, listen=None):
    www = make_www(tmp_path)
    routes = [
        {"path": "/echo", "relay": "echo"},
        {"path": "/", "relay": "static", "static": {"root": str(www)}},
        {"path": "/follow/", "relay": "static",
         "static": {"root": str(www), "follow_symlinks": True}},
        {"path": "/dots/", "relay": "static", "static": {"root": str(www), "dot_files": True}},
        *extra_routes,
    ]
    extra = {"routes": routes}
    if limits:
        extra["limits"] = limits
    if listen:
        extra["listen"] = listen
    gw = gateway(workers=workers, extra=extra)
    gw.www = www
    gw.http = f"http://127.0.0.1:{gw.port}"
    return gw


def totals(gw):
    return gw.stats()["totals"]


# -- GET, HEAD, types --------------------------------------------------------

def test_get_serves_index_and_files_with_their_types(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    status, headers, body = curl(gw.http + "/")
    assert status == 200 and body == INDEX
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-length"] == str(len(INDEX))
    assert headers["accept-ranges"] == "bytes"
    assert headers["connection"] == "close"
    mtime = int(os.stat(gw.www / "index.html").st_mtime)
    assert headers["etag"] == f'"{mtime:x}-{len(INDEX):x}"'
    assert headers["last-modified"] == time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                     time.gmtime(mtime))
    assert "date" in headers
    for name, expected in [("index.html", "text/html; charset=utf-8"),
                           ("app.js", "text/javascript; charset=utf-8"),
                           ("style.css", "text/css; charset=utf-8"),
                           ("data.json", "application/json; charset=utf-8"),
                           ("logo.png", "image/png"),
                           ("blob.unknownext", "application/octet-stream")]:
        status, headers, body = curl(f"{gw.http}/{name}")
        assert status == 200, name
        assert headers["content-type"] == expected, name
        assert body == (gw.www / name).read_bytes()
    status, headers, body = curl(gw.http + "/empty.txt")
    assert status == 200 and headers["content-length"] == "0" and body == b""


def test_head_has_the_get_head_and_no_body(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    _, get_headers, _ = curl(gw.http + "/data.bin")
    status, headers, body = curl(gw.http + "/data.bin", "-I")
    assert status == 200 and body == b""
    assert headers["content-length"] == str(len(DATA))
    assert headers["etag"] == get_headers["etag"]
    # A raw HEAD: the server sends no byte after the head, then closes.
    client = RawClient(gw.port)
    client.send(b"HEAD /data.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers = client.read_http_head()
    assert status == 200 and client.wait_eof() and client.buffer == b""
    client = RawClient(gw.port)
    client.send(b"HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers = client.read_http_head()
    assert status == 404 and client.wait_eof() and client.buffer == b""


def test_methods_other_than_get_and_head_get_405(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, _ = curl(gw.http + "/index.html", "-X", method)
        assert status == 405, method
        assert headers["allow"] == "GET, HEAD"


# -- validators and ranges ---------------------------------------------------

def test_etag_and_dates_give_304(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    _, headers, _ = curl(gw.http + "/index.html")
    etag, modified = headers["etag"], headers["last-modified"]
    status, headers, body = curl(gw.http + "/index.html", "-H", f"If-None-Match: {etag}")
    assert status == 304 and body == b"" and headers["etag"] == etag
    status, _, _ = curl(gw.http + "/index.html", "-H", f'If-None-Match: "x", W/{etag}')
    assert status == 304
    status, _, body = curl(gw.http + "/index.html", "-H", 'If-None-Match: "other"')
    assert status == 200 and body == INDEX
    status, _, _ = curl(gw.http + "/index.html", "-H", f"If-Modified-Since: {modified}")
    assert status == 304
    status, _, _ = curl(gw.http + "/index.html", "-H",
                        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT")
    assert status == 200
    status, _, _ = curl(gw.http + "/index.html", "-H", 'If-Match: "other"')
    assert status == 412
    gw.wait_for(lambda: totals(gw)["static_not_modified"] == 3, 10, message="304s counted")


def test_ranges(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    size = len(DATA)
    status, headers, body = curl(gw.http + "/data.bin", "-r", "0-9")
    assert status == 206 and body == DATA[:10]
    assert headers["content-range"] == f"bytes 0-9/{size}"
    assert headers["content-length"] == "10"
    status, headers, body = curl(gw.http + "/data.bin", "-H", "Range: bytes=-5")
    assert status == 206 and body == DATA[-5:]
    assert headers["content-range"] == f"bytes {size - 5}-{size - 1}/{size}"
    status, _, body = curl(gw.http + "/data.bin", "-H", "Range: bytes=10000-")
    assert status == 206 and body == DATA[10000:]
    status, _, body = curl(gw.http + "/data.bin", "-H", "Range: bytes=100-999999")
    assert status == 206 and body == DATA[100:]
    status, headers, _ = curl(gw.http + "/data.bin", "-H", f"Range: bytes={size}-")
    assert status == 416 and headers["content-range"] == f"bytes */{size}"
    # Several ranges, or a malformed one: the whole file (documented).
    for value in ("bytes=0-1,5-6", "bytes=5-1", "lines=0-1"):
        status, headers, body = curl(gw.http + "/data.bin", "-H", f"Range: {value}")
        assert status == 200 and body == DATA, value
    _, headers, _ = curl(gw.http + "/data.bin")
    etag, modified = headers["etag"], headers["last-modified"]
    status, _, body = curl(gw.http + "/data.bin", "-r", "0-3", "-H", f"If-Range: {etag}")
    assert status == 206 and body == DATA[:4]
    status, _, body = curl(gw.http + "/data.bin", "-r", "0-3", "-H", f"If-Range: {modified}")
    assert status == 206
    status, _, body = curl(gw.http + "/data.bin", "-r", "0-3", "-H", 'If-Range: "stale"')
    assert status == 200 and body == DATA


# -- path safety -------------------------------------------------------------

def test_traversal_attempts_never_leave_the_root(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    attempts = [
        ("/../outside/secret.txt", 400),
        ("/sub/../../outside/secret.txt", 400),
        ("/%2e%2e/outside/secret.txt", 400),
        ("/%2E%2E/%2e%2e/etc/passwd", 400),
        ("/sub/%2e%2e/%2e%2e/outside/secret.txt", 400),
        ("/..%2foutside%2fsecret.txt", 400),
        ("/%2fetc%2fpasswd", 400),
        ("/index.html%00.png", 400),
        ("/index.html%zz", 400),
        ("/follow/../outside/secret.txt", 400),  # climbs above the /follow/ prefix
        ("//etc/passwd", 404),
    ]
    for path, expected in attempts:
        status, _, body = curl(gw.http + path, "--path-as-is")
        assert status == expected, path
        assert b"secret" not in body and b"root:" not in body, path
    # Dot segments that stay inside are resolved.
    status, _, body = curl(gw.http + "/sub/./../index.html", "--path-as-is")
    assert status == 200 and body == INDEX


def test_symlinks_out_of_the_root_need_follow_symlinks(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    assert curl(gw.http + "/link_out.txt")[0] == 403
    assert curl(gw.http + "/linkdir_out/secret.txt")[0] == 403
    status, _, body = curl(gw.http + "/link_in.html")
    assert status == 200 and body == INDEX
    status, _, body = curl(gw.http + "/follow/link_out.txt")
    assert status == 200 and body == b"outside secret\n"
    status, _, body = curl(gw.http + "/follow/linkdir_out/secret.txt")
    assert status == 200 and body == b"outside secret\n"
    gw.assert_logged("leads to")


def test_dot_files_are_404_unless_allowed(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    assert curl(gw.http + "/.secret")[0] == 404
    assert curl(gw.http + "/.hidden/x.txt")[0] == 404
    assert curl(gw.http + "/%2ehidden/x.txt")[0] == 404
    status, _, body = curl(gw.http + "/dots/.secret")
    assert status == 200 and body == b"dot secret\n"
    assert curl(gw.http + "/dots/.hidden/x.txt")[1]["content-type"].startswith("text/plain")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_403(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    locked = gw.www / "locked.txt"
    locked.write_bytes(b"no\n")
    locked.chmod(0)
    assert curl(gw.http + "/locked.txt")[0] == 403


def test_directories_redirect_serve_their_index_or_403(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path, extra_routes=[
        {"path": "/app/", "relay": "static", "static": {"root": str(tmp_path / "www" / "sub")}}])
    status, headers, _ = curl(gw.http + "/sub")
    assert status == 301 and headers["location"] == "/sub/"
    status, headers, _ = curl(gw.http + "/sub?a=1&b=2")
    assert status == 301 and headers["location"] == "/sub/?a=1&b=2"
    # The Location is made from the resolved path: never another host.
    status, headers, _ = curl(gw.http + "//sub", "--path-as-is")
    assert status == 301 and headers["location"] == "/sub/"
    status, _, body = curl(gw.http + "/sub/")
    assert status == 200 and body == b"<p>sub</p>\n"
    assert curl(gw.http + "/noindex/")[0] == 403
    assert curl(gw.http + "/noindex/a.txt")[0] == 200
    assert curl(gw.http + "/index.html/")[0] == 404
    assert curl(gw.http + "/missing.html")[0] == 404
    assert curl(gw.http + "/missing/deeper.html")[0] == 404
    status, headers, _ = curl(gw.http + "/app")
    assert status == 301 and headers["location"] == "/app/"
    status, _, body = curl(gw.http + "/app/")
    assert status == 200 and body == b"<p>sub</p>\n"
    # The health check is exact and wins over the / route.
    assert curl(gw.http + "/healthz")[0] == 200


def test_stats_and_access_log(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    curl(gw.http + "/data.bin")
    curl(gw.http + "/missing")

    def counted():
        t = totals(gw)
        return (t["static_requests"] == 2 and t["static_bytes_out"] == len(DATA)
                and t["static_errors"] == 1 and t["static_transfers_active"] == 0)
    gw.wait_for(counted, 10, message="static counters")
    gw.assert_logged('request="GET /data.bin" status=200 route=/', name="access.log")
    gw.assert_logged(f"bytes_out={len(DATA)}", name="access.log")
    gw.assert_logged('request="GET /missing" status=404 route=/', name="access.log")


# -- a page and its WebSocket ---------------------------------------------------

def page_routes(tmp_path):
    chat = tmp_path / "chat"
    chat.mkdir()
    (chat / "index.html").write_text(
        "<!doctype html><title>waiting</title><script>\n"
        "const ws = new WebSocket('ws://' + location.host + location.pathname);\n"
        "ws.onopen = () => ws.send('ping');\n"
        "ws.onmessage = (e) => { document.title = 'echo:' + e.data; ws.close(1000); };\n"
        "ws.onerror = () => { document.title = 'error'; };\n"
        "</script>\n")
    return [{"path": "/chat/", "relay": "static", "static": {"root": str(chat)}},
            {"path": "/chat/", "relay": "echo"}]


def test_upgrade_and_page_share_a_path(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path, extra_routes=page_routes(tmp_path))
    status, headers, body = curl(gw.http + "/chat/")
    assert status == 200 and b"new WebSocket" in body
    assert echo(gw.url("/chat/"), ["hello"]) == ["hello"]
    # An Upgrade to something else (curl --http2 asks for h2c) gets the page.
    client = RawClient(gw.port)
    client.send(b"GET /chat/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")
    status, _, body = client.read_http_response()
    assert status == 200 and b"new WebSocket" in body
    # An upgrade to a path only a static route covers: no WebSocket route.
    client = RawClient(gw.port)
    client.send(upgrade_request("/index.html"))
    assert client.read_http_response()[0] == 404


def test_chromium_loads_a_static_page_that_round_trips_on_its_websocket(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path, extra_routes=page_routes(tmp_path))
    code, out, err = run_in_chromium("chromium_page.js", [gw.http + "/chat/"], tmp_path)
    assert code == 0, out + err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["title"] == "echo:ping", result
    assert result["status"] == 200
    assert result["contentType"] == "text/html; charset=utf-8"
    gw.assert_logged('request="GET /chat/" status=200 route=/chat/', name="access.log")
    gw.assert_logged("status=101 route=/chat/", name="access.log")


# -- big files, leaving and stalling clients -----------------------------------

def worker_rss(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def test_64_mib_over_tls_has_the_right_sha256_and_bounded_worker_memory(gateway, tmp_path):
    kit = CertKit(str(tmp_path / "certs"))
    cert, key = kit.leaf("localhost", ["localhost"])
    big = os.urandom(1 << 20) * 64
    gw = static_gateway(gateway, tmp_path, listen=[
        {"address": "127.0.0.1:0", "tls": {"certificates": [{"certificate": cert, "key": key}]}}])
    (gw.www / "big.bin").write_bytes(big)
    pids = gw.worker_pids()
    assert len(pids) == 1
    before = worker_rss(pids[0])
    out_path = tmp_path / "downloaded.bin"
    download = subprocess.Popen(
        ["curl", "-s", "--max-time", "120", "--cacert", kit.ca_cert, "--resolve",
         f"localhost:{gw.port}:127.0.0.1", "-o", str(out_path), "-w", "%{http_code}",
         f"https://localhost:{gw.port}/big.bin"], stdout=subprocess.PIPE, text=True)
    peak = before
    deadline = time.monotonic() + 150
    while download.poll() is None and time.monotonic() < deadline:
        peak = max(peak, worker_rss(pids[0]))
        time.sleep(0.02)
    if download.poll() is None:
        download.kill()
    status = download.communicate()[0]
    assert status == "200"
    assert hashlib.sha256(out_path.read_bytes()).hexdigest() == hashlib.sha256(big).hexdigest()
    # One chunk plus the client's queue (and TLS buffers), not the file.
    # Under ASan (scripts/test sets ASAN_OPTIONS for that build) freed
    # memory sits in the allocator's 256 MiB quarantine, so RSS grows with
    # the bytes that passed, not with what is held: only the bytes are
    # checked there.
    if "ASAN_OPTIONS" not in os.environ:
        assert peak - before < 16 << 20, (before, peak)
    gw.wait_for(lambda: totals(gw)["static_bytes_out"] == len(big), 10, message="bytes counted")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_client_leaving_mid_download_is_cancelled_cleanly(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    (gw.www / "big.bin").write_bytes(b"\xab" * (32 << 20))
    worker = gw.worker_pids()[0]
    fds_before = open_fds(worker)
    for linger in (False, True):
        client = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        got = 0
        while got < (1 << 20):  # bounded: recv times out after 5 s, EOF fails
            chunk = client.recv(65536)
            assert chunk, "closed before 1 MiB arrived"
            got += len(chunk)
        if linger:  # a reset rather than a FIN
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    gw.wait_for(lambda: totals(gw)["static_transfers_active"] == 0, 10,
                message="transfers ended")
    # Every file and socket of the two downloads is closed.
    gw.wait_for(lambda: open_fds(worker) == fds_before, 10, message="fds back to before")
    status, _, body = curl(gw.http + "/index.html")
    assert status == 200 and body == INDEX
    assert totals(gw)["static_bytes_out"] < 2 * (32 << 20)
    gw.wait_for(lambda: totals(gw)["connections_active"] == 0, 10, message="connections freed")


def test_client_that_stops_reading_is_closed_as_a_slow_consumer(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path, limits={"write_queue_timeout": "1s"})
    (gw.www / "big.bin").write_bytes(b"\xcd" * (64 << 20))
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", gw.port))
    client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    gw.wait_for(lambda: totals(gw)["closes_slow_consumer"] == 1, 15, message="slow consumer")
    gw.wait_for(lambda: totals(gw)["static_transfers_active"] == 0, 10, message="ended")
    client.close()
    assert totals(gw)["static_bytes_out"] < (8 << 20)
    assert curl(gw.http + "/index.html")[0] == 200


def test_stop_during_a_download_exits_cleanly(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    (gw.www / "big.bin").write_bytes(b"\xef" * (64 << 20))
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", gw.port))
    client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    gw.wait_for(lambda: totals(gw)["static_transfers_active"] == 1, 10, message="download on")
    assert gw.stop() == 0
    client.close()


def test_reload_lets_a_download_finish(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    data = os.urandom(1 << 20) * 16
    (gw.www / "big.bin").write_bytes(data)
    out_path = tmp_path / "downloaded.bin"
    download = subprocess.Popen(["curl", "-s", "--max-time", "60", "--limit-rate", "8M", "-o",
                                 str(out_path), "-w", "%{http_code}", gw.http + "/big.bin"],
                                stdout=subprocess.PIPE, text=True)
    try:
        gw.wait_for(lambda: totals(gw)["static_transfers_active"] == 1, 10, message="download on")
        gw.ctl("reload", check=True)
        assert download.wait(timeout=60) == 0
    finally:
        if download.poll() is None:
            download.kill()
    assert download.communicate()[0] == "200"
    assert out_path.read_bytes() == data


def test_reload_serves_the_new_root(gateway, tmp_path):
    gw = static_gateway(gateway, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_bytes(b"<p>new</p>\n")
    gw.write_config({"routes": [{"path": "/", "relay": "static", "static": {"root": str(other)}}]})
    gw.ctl("reload", check=True)
    wait_for(lambda: curl(gw.http + "/")[2] == b"<p>new</p>\n", 10, message="new root served")


# -- config errors ---------------------------------------------------------------

def check_config(tmp_path, routes):
    path = tmp_path / "wsgate.yaml"
    path.write_text(json.dumps({"listen": [{"address": "127.0.0.1:0"}], "routes": routes}))
    return subprocess.run([WSGATED, "-t", "-c", str(path)], capture_output=True, text=True,
                          timeout=30)


def test_config_errors_name_the_file_line_and_key(tmp_path):
    result = check_config(tmp_path, [{"path": "/", "relay": "static",
                                      "static": {"root": str(tmp_path / "absent")}}])
    assert result.returncode == 1
    assert re.search(r"wsgate\.yaml:\d+:\d+: routes\[0\]\.static\.root: does not exist",
                     result.stderr), result.stderr
    result = check_config(tmp_path, [{"path": "/", "relay": "static"}])
    assert result.returncode == 1
    assert "routes[0].static.root: is required by a relay: static route" in result.stderr
    result = check_config(tmp_path, [{"path": "/app", "relay": "static",
                                      "static": {"root": str(tmp_path)}}])
    assert result.returncode == 1
    assert "routes[0].path: must end with / on a static route" in result.stderr
    result = check_config(tmp_path, [{"path": "/", "relay": "static",
                                      "static": {"root": str(tmp_path)}},
                                     {"path": "/", "relay": "echo"}])
    assert result.returncode == 0, result.stderr
