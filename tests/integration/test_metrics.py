"""The Prometheus endpoint (issue 15): the supervisor serves the text
exposition of its aggregated statistics on metrics.address. promtool (Debian
prometheus) accepts it, a real Prometheus server scrapes it and its HTTP API
returns the counters wsgatectl stats shows, and no counter goes down across
a reload or a killed worker."""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request

import pytest
import websockets

from conftest import WSGATED, wait_for


def metrics_gateway(gateway, workers=2, **metrics):
    extra = {"metrics": {"address": "127.0.0.1:0", **metrics}, "stats_interval": "200ms"}
    gw = gateway(workers=workers, extra=extra)
    gw.metrics_port = gw.status()["metrics_port"]
    assert gw.metrics_port > 0
    return gw


def get(gw, path="/metrics", method="GET"):
    """(status, headers, body) of one request to the metrics listener."""
    request = urllib.request.Request(f"http://127.0.0.1:{gw.metrics_port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def samples(text):
    """{'name{labels}': value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def echo_messages(gw, count):
    async def main():
        async with websockets.connect(gw.url(), ping_interval=None) as ws:
            for i in range(count):
                await ws.send(f"m{i}")
                await ws.recv()
    asyncio.run(main())


def settled_messages_in(gw, at_least):
    """messages_in once wsgatectl stats and the metrics agree on it."""
    def agree():
        stats = gw.stats()["totals"]["messages_in"]
        metric = samples(get(gw)[2])["wsgate_messages_in_total"]
        return stats >= at_least and stats == metric and stats
    return gw.wait_for(agree, 10, message="metrics and stats agree")


def test_endpoint_answers_and_promtool_accepts_it(gateway):
    gw = metrics_gateway(gateway)
    echo_messages(gw, 25)
    settled_messages_in(gw, 25)
    status, headers, body = get(gw)
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    values = samples(body)
    assert values["wsgate_handshakes_ok_total"] == 1
    assert values['wsgate_route_upgrades_total{route="/echo",relay="echo"}'] == 1
    assert values["wsgate_generation"] == 1
    assert values['wsgate_generation_workers{generation="1"}'] == 2
    # Times are in seconds, counters end in _total, nothing is in ms/us/ns.
    assert "wsgate_loop_busy_seconds_total" in values
    assert not [n for n in values if re.search(r"_(ms|us|ns)(_total)?($|{)", n)]

    assert get(gw, "/other")[0] == 404
    status, headers, _ = get(gw, method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    status, headers, body = get(gw, method="HEAD")
    assert status == 200 and body == "" and int(headers["Content-Length"]) > 1000


def test_a_bad_request_head_gets_400_and_a_silent_client_is_dropped(gateway):
    gw = metrics_gateway(gateway, workers=1)
    with socket.create_connection(("127.0.0.1", gw.metrics_port), timeout=10) as raw:
        raw.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        assert raw.recv(65536).startswith(b"HTTP/1.1 400 ")
    # A client that connects and says nothing does not stop the others.
    silent = socket.create_connection(("127.0.0.1", gw.metrics_port), timeout=10)
    try:
        assert get(gw)[0] == 200
    finally:
        silent.close()


def test_metrics_path_is_configurable_and_checked(gateway):
    gw = metrics_gateway(gateway, workers=1, path="/wsgate/metrics")
    assert get(gw, "/wsgate/metrics")[0] == 200
    assert get(gw, "/metrics")[0] == 404
    bad = gateway(workers=1, extra={"metrics": {"address": "127.0.0.1:0", "path": "metrics"}},
                  start=False)
    result = subprocess.run([WSGATED, "-t", "-c", bad.config_path], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0
    assert re.search(re.escape(bad.config_path) + r":\d+:\d+: metrics\.path: must start with /",
                     result.stderr), result.stderr


def test_address_in_use_fails_the_start_naming_it(gateway):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gw = gateway(workers=1, extra={"metrics": {"address": f"127.0.0.1:{port}"}}, start=False)
        gw.start(wait_ready=False)
        assert gw.wait_exit() == 1
    gw.assert_logged(f"metrics.address 127.0.0.1:{port}: bind(127.0.0.1:{port}): "
                     "Address already in use", "stderr.log")


def test_counters_never_go_down_across_a_reload_and_a_killed_worker(gateway):
    gw = metrics_gateway(gateway)
    echo_messages(gw, 30)
    before = settled_messages_in(gw, 30)
    seen = [before]

    def scrape():
        value = samples(get(gw)[2])["wsgate_messages_in_total"]
        seen.append(value)
        return value

    assert gw.ctl("reload").returncode == 0
    gw.wait_for(lambda: scrape() and all(w["generation"] == 2 for w in gw.workers()["workers"]),
                15, message="generation 2 serving")
    echo_messages(gw, 20)
    settled_messages_in(gw, 50)
    victim = gw.workers()["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    gw.wait_for(lambda: scrape() and (w := gw.workers()["workers"][0])["pid"] != victim
                and w["state"] == "Ready", 15, message="the slot respawned")
    echo_messages(gw, 10)
    settled_messages_in(gw, 60)
    scrape()
    assert seen == sorted(seen), seen
    assert seen[-1] == 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus(tmp_path):
    """A real Prometheus server on 127.0.0.1, scraping what the test names."""
    servers = []

    def start(target_port, path="/metrics"):
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "wsgate", "metrics_path": path,
                                "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
        }))
        process = subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))
        servers.append(process)
        return port

    yield start
    for process in servers:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def query(port, expression):
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.request.quote(expression)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_scrapes_the_counters_wsgatectl_shows(gateway, prometheus):
    gw = metrics_gateway(gateway)
    echo_messages(gw, 42)
    expected = settled_messages_in(gw, 42)
    port = prometheus(gw.metrics_port)

    def scraped():
        try:
            result = query(port, 'wsgate_messages_in_total{job="wsgate"}')
        except (OSError, ValueError):
            return None  # not up yet
        return result and float(result[0]["value"][1]) == expected and result
    result = wait_for(scraped, 60, interval=0.5, message="Prometheus has the counter")
    assert result[0]["metric"]["instance"] == f"127.0.0.1:{gw.metrics_port}"
    route = query(port, 'wsgate_route_upgrades_total{route="/echo"}')
    assert route and route[0]["metric"]["relay"] == "echo" and float(route[0]["value"][1]) == 1
    up = query(port, 'up{job="wsgate"}')
    assert float(up[0]["value"][1]) == 1
    # Prometheus takes the histogram as one: its quantile is computable.
    upgrades = query(port, "wsgate_handshake_duration_seconds_count")
    assert float(upgrades[0]["value"][1]) == 1
    quantile = query(port, "histogram_quantile(0.5, wsgate_handshake_duration_seconds_bucket)")
    assert 0 <= float(quantile[0]["value"][1]) <= 1


def test_reload_moves_the_path_but_not_the_address(gateway):
    gw = metrics_gateway(gateway, workers=1)
    gw.write_config({"metrics": {"address": "127.0.0.1:0", "path": "/new"},
                     "stats_interval": "200ms"})
    assert gw.ctl("reload").returncode == 0
    gw.wait_for(lambda: get(gw, "/new")[0] == 200, 15, message="the new path served")
    assert get(gw, "/metrics")[0] == 404
    gw.write_config({"metrics": {"address": f"127.0.0.1:{free_port()}", "path": "/new"}})
    result = gw.ctl("reload")
    assert result.returncode != 0
    assert "metrics.address: cannot change on reload" in result.stdout + result.stderr, result
    assert get(gw, "/new")[0] == 200


def histogram(values, name):
    """{le: count} of one histogram, with its _sum and _count."""
    buckets = {re.search(r'le="([^"]+)"', key).group(1): v for key, v in values.items()
               if key.startswith(name + "_bucket{")}
    return buckets, values[name + "_sum"], values[name + "_count"]


def test_handshake_histogram_counts_every_upgrade(gateway):
    gw = metrics_gateway(gateway, workers=1)
    for _ in range(3):
        echo_messages(gw, 1)
    gw.wait_for(lambda: gw.stats()["totals"]["handshakes_ok"] == 3, 10, message="upgrades")
    values = gw.wait_for(lambda: (v := samples(get(gw)[2]))[
        "wsgate_handshake_duration_seconds_count"] == 3 and v, 10, message="histogram")
    buckets, total, count = histogram(values, "wsgate_handshake_duration_seconds")
    assert list(buckets) == ["0.001", "0.01", "0.1", "1", "+Inf"]
    assert list(buckets.values()) == sorted(buckets.values()) and buckets["+Inf"] == count == 3
    stats = gw.stats()["totals"]
    assert total == stats["handshake_us_total"] / 1e6
    assert sum(stats[f"handshake_{b}"] for b in
               ("under_1ms", "under_10ms", "under_100ms", "under_1s", "over_1s")) == 3
    assert histogram(values, "wsgate_upstream_connect_duration_seconds")[2] == 0


def test_connections_by_state_per_generation(gateway):
    gw = metrics_gateway(gateway, workers=1)

    async def main():
        async with websockets.connect(gw.url(), ping_interval=None) as ws:
            await ws.send("hold")
            await ws.recv()
            # One more connection that has not sent its request head yet.
            with socket.create_connection(("127.0.0.1", gw.port), timeout=10):
                def by_state():
                    values = samples(get(gw)[2])
                    return {s: values.get(f'wsgate_generation_connections{{generation="1",'
                                          f'state="{s}"}}') for s in ("handshake", "open",
                                                                      "closing")}
                return await asyncio.to_thread(
                    gw.wait_for, lambda: (b := by_state()) == {"handshake": 1, "open": 1,
                                                                "closing": 0} and b, 10,
                    message="one connection in each of two states")
    assert asyncio.run(main())
