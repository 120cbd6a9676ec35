"""wsgatectl and the control socket: every command, human and JSON output,
exit codes, stats that add up and survive reloads, and access control."""
import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import time

import pytest
import websockets

from conftest import WSGATECTL, WSGATED, echo, pid_alive

COUNTERS = ("connections_accepted", "handshakes_ok", "messages_in", "messages_out", "bytes_in",
            "bytes_out", "closes_client")
GAUGES = ("connections_active", "write_queue_bytes", "rss_bytes", "report_time_ms")


def raw_request(path, data, timeout=10):
    """Sends raw bytes to the control socket and returns all it answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(path)
        client.sendall(data)
        chunks = []
        while True:
            chunk = client.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_status_json_is_complete(gateway):
    gw = gateway(workers=2)
    status = gw.status()
    for key, kind in (("ok", bool), ("pid", int), ("version", str), ("generation", int),
                      ("uptime_s", int), ("config", str), ("listeners", list), ("workers", int),
                      ("state", str), ("workers_ready", int), ("unserved_sockets", int)):
        assert isinstance(status[key], kind), key
    assert status["ok"] is True and status["config"] == gw.config_path
    assert status["workers"] == 2 and status["workers_ready"] == 2
    assert status["unserved_sockets"] == 0
    assert status["listeners"] == [{"address": "127.0.0.1:0", "port": gw.port, "sockets": 2}]


def test_human_tables(gateway):
    gw = gateway(workers=2)
    status = gw.ctl("status", check=True).stdout
    assert f"pid {gw.pid}" in status and "generation 1" in status and str(gw.port) in status
    workers = gw.ctl("workers", check=True).stdout.splitlines()
    assert workers[0].split() == ["SLOT", "PID", "GEN", "STATE", "UPTIME", "LAST-REPORT",
                                  "RESTARTS", "ACCEPTS-FOR"]
    assert len(workers) == 3 and all(" Ready " in line for line in workers[1:])
    # Columns line up: every row starts its PID column where the header does.
    column = workers[0].index("PID")
    assert all(line[column - 1] == " " and line[column] != " " for line in workers[1:])
    stats = gw.ctl("stats", check=True).stdout
    assert "messages_in" in stats and "MSG-IN" in stats


def test_workers_json(gateway):
    gw = gateway(workers=2)
    workers = gw.workers()["workers"]
    assert [w["slot"] for w in workers] == [0, 1]
    for worker in workers:
        assert set(worker) == {"slot", "pid", "generation", "state", "uptime_s",
                               "last_report_age_ms", "restarts", "accepts_for"}
        assert worker["accepts_for"] == [worker["slot"]]
        assert worker["last_report_age_ms"] < 5000  # reports every 200 ms


def test_stats_counters_add_up_and_survive_reload_and_respawn(gateway):
    gw = gateway(workers=2, extra={"timeouts": {"idle_check_interval": "200ms"}})
    n = 60

    async def send(count, prefix):
        for c in range(6):
            async with websockets.connect(gw.url(), ping_interval=None) as ws:
                for i in range(count // 6):
                    await ws.send(f"{prefix}{c}.{i}")
                    await ws.recv()

    asyncio.run(send(n, "a"))
    stats = gw.wait_for(lambda: (s := gw.stats())["totals"]["messages_in"] >= n and s, 5)
    totals = stats["totals"]
    assert totals["messages_out"] >= n and totals["handshakes_ok"] >= 6
    assert totals["connections_accepted"] >= 6 and totals["closes_client"] >= 6
    for name in COUNTERS:  # nothing has exited yet: totals are the sum of the workers
        assert totals[name] == sum(w[name] for w in stats["workers"]), name
    assert set(GAUGES) <= set(totals) and totals["rss_bytes"] > 0
    assert {w["slot"] for w in stats["workers"]} == {0, 1}

    assert gw.ctl("reload").returncode == 0
    gw.wait_for(lambda: all(w["generation"] == 2 for w in gw.workers()["workers"]), 10)
    after_reload = gw.stats()
    assert after_reload["generation"] == 2
    for name in COUNTERS:
        assert after_reload["totals"][name] >= totals[name], name
    assert all(w[name] == 0 for w in after_reload["workers"] for name in ("messages_in",))

    asyncio.run(send(n, "b"))
    gw.wait_for(lambda: gw.stats()["totals"]["messages_in"] >= 2 * n, 5)
    before_kill = gw.stats()["totals"]
    victim = gw.workers()["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    gw.wait_for(lambda: (w := gw.workers()["workers"][0])["pid"] != victim and w["state"] == "Ready",
                10)
    after_kill = gw.stats()["totals"]
    for name in COUNTERS:  # what the killed worker had reported is kept
        assert after_kill[name] >= before_kill[name], name


def test_stats_watch_repeats_until_interrupted(gateway):
    gw = gateway(workers=1)
    watcher = subprocess.Popen([WSGATECTL, "--socket", gw.socket_path, "stats", "--json",
                                "--watch", "0.2"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [watcher.stdout.readline() for _ in range(3)]
        assert all(json.loads(line)["ok"] for line in lines)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=5) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        watcher.stdout.close()
    human = subprocess.Popen([WSGATECTL, "--socket", gw.socket_path, "stats", "--watch", "0.2"],
                             stdout=subprocess.PIPE, text=True)
    try:
        seen = 0
        while seen < 2:
            if human.stdout.readline().startswith("--- "):
                seen += 1
        human.send_signal(signal.SIGTERM)
        assert human.wait(timeout=5) == 0
    finally:
        if human.poll() is None:
            human.kill()
            human.wait()
        human.stdout.close()


def test_version_and_reopen_logs(gateway):
    gw = gateway(workers=1)
    version = gw.ctl("version", check=True).stdout.splitlines()
    assert version[0].startswith("wsgatectl ") and version[1].startswith("wsgated ")
    assert json.loads(gw.ctl("version", "--json").stdout)["version"] == version[1].split()[1]
    os.rename(os.path.join(gw.dir, "error.log"), os.path.join(gw.dir, "error.log.1"))
    assert gw.ctl("reopen-logs", check=True).stdout.strip() == "log files reopened"
    gw.assert_logged("log files reopened")


def test_exit_codes(gateway):
    missing = subprocess.run([WSGATECTL, "--socket", "/nonexistent/wsgated.sock", "status"],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 3 and "cannot connect" in missing.stderr
    for args in (["bogus"], [], ["status", "--watch", "1"], ["--nope", "status"],
                 ["stats", "--watch", "-1"]):
        usage = subprocess.run([WSGATECTL, "--socket", "/tmp/x.sock"] + args,
                               capture_output=True, text=True, timeout=30)
        assert usage.returncode == 2, args
    gw = gateway(workers=1)
    gw.write_config({"workers": 0})
    assert gw.ctl("reload").returncode == 1


def test_ctl_finds_the_socket_through_the_config_file(gateway):
    gw = gateway(workers=1)
    result = gw.ctl("-c", gw.config_path, "status", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["pid"] == gw.pid
    # Even when the file no longer validates, its control_socket is used.
    gw.write_config({"workers": 0})
    result = gw.ctl("-c", gw.config_path, "reload")
    assert result.returncode == 1 and f"{gw.config_path}:" in result.stderr


def test_ctl_reaches_the_daemon_through_a_config_with_a_syntax_error(gateway):
    # Issue 10 item 6: a file that is not YAML used to end in exit 2
    # "cannot tell where the control socket is". Its control_socket line is
    # found by a scan, here a non-default path.
    gw = gateway(workers=1)
    assert not gw.socket_path.endswith("/run/wsgated.sock")
    text = open(gw.config_path, encoding="utf-8").read()
    text = "\n".join(line for line in text.splitlines()
                     if '"control_socket"' not in line)
    broken = f"control_socket: '{gw.socket_path}'  # quoted\n" + text.replace(
        '"routes": [', '"routes": [[', 1)
    gw.write_config(text=broken)
    status = gw.ctl("-c", gw.config_path, "status")
    assert status.returncode == 0, status.stderr
    assert str(gw.pid) in status.stdout
    as_json = gw.ctl("-c", gw.config_path, "status", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["pid"] == gw.pid
    reload = gw.ctl("-c", gw.config_path, "reload")
    assert reload.returncode == 1
    assert "reload failed" in reload.stderr and f"{gw.config_path}:" in reload.stderr
    assert "cannot tell" not in reload.stderr
    # A plain value (JSON style) is found too.
    gw.write_config(text=text.replace('"routes": [', '"routes": [[', 1)
                    + f'\n "control_socket": "{gw.socket_path}",\n')
    assert gw.ctl("-c", gw.config_path, "status").returncode == 0
    # The old generation serves on.
    assert echo(gw.url(), ["still here"]) == ["still here"]


def test_ctl_reaches_the_daemon_when_the_config_is_deleted(gateway):
    # With no file to read, the compiled default (run/wsgated.sock next to
    # the file) is tried: a daemon started without control_socket is there.
    gw = gateway(workers=1, start=False)
    del gw.base["control_socket"]
    gw.socket_path = os.path.join(gw.dir, "run", "wsgated.sock")
    gw.write_config()
    gw.start()
    os.unlink(gw.config_path)
    status = gw.ctl("-c", gw.config_path, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["pid"] == gw.pid
    reload = gw.ctl("-c", gw.config_path, "reload")
    assert reload.returncode == 1 and gw.config_path in reload.stderr
    # A daemon whose socket is elsewhere cannot be found: exit 3 says where
    # wsgatectl looked and why.
    other = gateway(workers=1)
    os.unlink(other.config_path)
    lost = other.ctl("-c", other.config_path, "status")
    assert lost.returncode == 3
    assert os.path.join(other.dir, "run", "wsgated.sock") in lost.stderr
    assert "cannot be read" in lost.stderr
    assert other.status()["pid"] == other.pid


def test_ctl_stop_answers_once_stopped(gateway):
    gw = gateway(workers=2)
    workers = [w["pid"] for w in gw.workers()["workers"]]
    result = gw.ctl("stop")
    assert result.returncode == 0 and "stopped" in result.stdout
    assert not any(pid_alive(p) for p in workers)
    assert not os.path.exists(gw.pid_file)
    assert gw.wait_exit(5) == 0


def test_ctl_graceful_stop_drains_first(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "200ms"}})

    async def main():
        ws = await websockets.connect(gw.url(), ping_interval=None)
        await ws.send("x")
        await ws.recv()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, lambda: gw.ctl("graceful-stop"))
        await asyncio.wait_for(ws.wait_closed(), 5)
        return result, ws.close_code

    result, code = asyncio.run(main())
    assert result.returncode == 0 and code == 1001
    assert gw.wait_exit(5) == 0


def test_control_socket_mode_and_protocol_errors(gateway):
    gw = gateway(workers=1)
    assert stat.S_IMODE(os.stat(gw.socket_path).st_mode) == 0o660
    answer = json.loads(raw_request(gw.socket_path, b"bogus\n"))
    assert answer["ok"] is False and "unknown command" in answer["error"]
    answer = json.loads(raw_request(gw.socket_path, b"x" * 2000))
    assert answer == {"ok": False, "error": "request longer than 1024 bytes"}
    # A command without a newline, then EOF, is still served.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(gw.socket_path)
        client.sendall(b"version")
        client.shutdown(socket.SHUT_WR)
        assert json.loads(client.recv(4096))["ok"] is True


def test_silent_control_client_is_cut_after_five_seconds(gateway):
    gw = gateway(workers=1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(gw.socket_path)
        started = time.monotonic()
        assert client.recv(1) == b""
        assert 4 < time.monotonic() - started < 8
    assert gw.status()["ok"]


def ctl_as(gw, user, group, extra_groups=()):
    return subprocess.run([WSGATECTL, "--socket", gw.socket_path, "status", "--json"],
                          capture_output=True, text=True, timeout=30, user=user, group=group,
                          extra_groups=list(extra_groups))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users")
def test_peer_credentials_decide_access(gateway):
    """Issue 10, item 9: after the drop to nobody:nogroup, the workers' own
    uid and group are refused; root, control_users and members (primary or
    supplementary) of control_groups are admitted."""
    gw = gateway(workers=1, start=False)
    os.chmod(gw.dir, 0o711)
    gw.write_config(extra={"user": "nobody", "group": "nogroup",
                           "control_users": ["65533"], "control_groups": ["65532"]})
    gw.start()
    info = os.stat(gw.socket_path)
    # control_users need not be in the socket's group: 0666, SO_PEERCRED decides.
    assert stat.S_IMODE(info.st_mode) == 0o666 and info.st_gid == 65532
    assert ctl_as(gw, 0, 0).returncode == 0
    # The workers' account: a worker (or an exec program) must not stop the daemon.
    denied = ctl_as(gw, 65534, 65534)
    assert denied.returncode == 1
    assert json.loads(denied.stdout) == {"ok": False, "error": "permission denied"}
    gw.assert_logged("control: permission denied for pid")
    assert ctl_as(gw, 65533, 65533).returncode == 0          # a control user
    assert ctl_as(gw, 65531, 65532).returncode == 0          # primary group listed
    assert ctl_as(gw, 65531, 65531, [65532]).returncode == 0  # supplementary group listed
    assert ctl_as(gw, 65531, 65531, [65530]).returncode == 1  # neither


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_socket_of_a_group_only_config_is_0660_and_unknown_names_fail(gateway):
    gw = gateway(workers=1, start=False)
    os.chmod(gw.dir, 0o711)
    gw.write_config(extra={"user": "nobody", "group": "nogroup", "control_groups": ["65532"]})
    gw.start()
    info = os.stat(gw.socket_path)
    assert stat.S_IMODE(info.st_mode) == 0o660 and info.st_gid == 65532
    bad = gateway(workers=1, start=False)
    bad.write_config(extra={"control_users": ["no-such-user-xyz"]})
    result = subprocess.run([WSGATED, "-t", "-c", bad.config_path], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert "control_users" in result.stderr and "no-such-user-xyz" in result.stderr
    assert f"{bad.config_path}:" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_pid_file_that_is_a_symlink_or_hard_link_is_refused(gateway):
    for kind in ("symlink", "hardlink"):
        gw = gateway(workers=1, daemon=True, start=False)
        target = os.path.join(gw.dir, "precious")
        with open(target, "w", encoding="utf-8") as out:
            out.write("keep me\n")
        (os.symlink if kind == "symlink" else os.link)(target, gw.pid_file)
        result = gw.start(wait_ready=False)
        assert result.returncode == 1, (kind, result.stderr)
        assert gw.pid_file in result.stderr, (kind, result.stderr)
        with open(target, encoding="utf-8") as text:
            assert text.read() == "keep me\n"


def test_programs_of_a_build_tree_default_to_the_checkouts_sample_config():
    """Issue 10, item 12: without -c, wsgatectl (and wsgated) run from the
    build tree look at the checkout's etc/wsgate.yaml, the file scripts/run
    serves, not at the installed /etc path; from any working directory."""
    source = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    sample = os.path.join(source, "etc", "wsgate.yaml")
    for program in (WSGATECTL, WSGATED):
        if not os.path.realpath(program).startswith(source + os.sep):
            pytest.skip("the programs under test are not in this checkout's build tree")
        usage = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=30,
                               cwd="/")
        assert f"={sample}" in usage.stdout, usage.stdout
    result = subprocess.run([WSGATECTL, "status"], capture_output=True, text=True, timeout=30,
                            cwd="/")
    if result.returncode == 0:
        pytest.skip("a wsgated of scripts/run is serving this checkout")
    assert result.returncode == 3, result.stderr
    assert os.path.join(source, "etc", "run", "wsgated.sock") in result.stderr
