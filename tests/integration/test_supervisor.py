"""Supervisor behaviour through the real binaries: daemon readiness, the
lock file, respawn, watchdog, signals and logs (issue: "Tests through the
real binaries prove at least ...")."""
import asyncio
import os
import signal
import socket
import subprocess
import time

import pytest
import websockets

from conftest import WSGATED, echo, parent_of, pid_alive, wait_for


def line_of(path, needle):
    """1-based number of the first line of `path` containing `needle`."""
    with open(path, encoding="utf-8") as text:
        for number, line in enumerate(text, 1):
            if needle in line:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def occupied_port():
    """A listening socket without SO_REUSEPORT: binding its port fails."""
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    return blocker, blocker.getsockname()[1]


def workers_by_slot(gw):
    return {w["slot"]: w for w in gw.workers()["workers"] if w["generation"] == gw.status()["generation"]}


def test_foreground_start_serves_and_reports_workers(gateway):
    gw = gateway(workers=2)
    assert echo(gw.url(), ["hello", "world"]) == ["hello", "world"]
    status = gw.status()
    assert status["pid"] == gw.pid and status["generation"] == 1 and status["state"] == "running"
    [listener] = status["listeners"]
    assert listener["address"] == "127.0.0.1:0" and listener["port"] > 0 and listener["sockets"] == 2
    workers = gw.workers()["workers"]
    assert sorted(w["slot"] for w in workers) == [0, 1]
    assert len({w["pid"] for w in workers}) == 2
    for worker in workers:
        assert worker["state"] == "Ready" and worker["generation"] == 1 and worker["restarts"] == 0
        assert parent_of(worker["pid"]) == gw.pid
    log = gw.error_log()
    assert f"[pid {gw.pid} supervisor]" in log
    for worker in workers:
        assert f"worker slot {worker['slot']} pid {worker['pid']} gen 1: Starting -> Ready" in log


def test_logs_carry_pid_role_slot_and_generation(gateway):
    gw = gateway(workers=1)
    pid = gw.workers()["workers"][0]["pid"]
    gw.wait_for(lambda: f"[pid {pid} worker 0 gen 1]" in gw.error_log(), 5,
                message="a worker line with its pid, slot and generation")


def test_daemon_launcher_exits_zero_only_once_workers_are_ready(gateway):
    gw = gateway(workers=2, daemon=True, start=False)
    launch = gw.start(wait_ready=False)
    assert launch.returncode == 0, launch.stderr
    # No waiting: when the launcher is gone, every worker already serves.
    workers = gw.workers()["workers"]
    assert len(workers) == 2 and all(w["state"] == "Ready" for w in workers)
    status = gw.status()
    assert status["pid"] == gw.pid
    assert os.getsid(gw.pid) != os.getsid(0)  # detached into its own session
    assert parent_of(gw.pid) != os.getpid()
    gw.port = status["listeners"][0]["port"]
    assert echo(gw.url(), ["daemon"]) == ["daemon"]
    assert gw.stop() is None and not os.path.exists(gw.pid_file)


def test_daemon_failing_start_exits_nonzero_with_reason(gateway):
    blocker, port = occupied_port()
    with blocker:
        gw = gateway(workers=2, daemon=True, start=False,
                     extra={"listen": [{"address": f"127.0.0.1:{port}"}]})
        launch = gw.start(wait_ready=False)
    assert launch.returncode == 1
    assert f"wsgated: 127.0.0.1:{port} is already in use" in launch.stderr
    assert gw.worker_pids() == []
    assert not os.path.exists(gw.pid_file) and not os.path.exists(gw.socket_path)


def test_foreground_failing_start_exits_nonzero_with_reason(gateway):
    blocker, port = occupied_port()
    with blocker:
        gw = gateway(workers=1, start=False, extra={"listen": [{"address": f"127.0.0.1:{port}"}]})
        gw.start(wait_ready=False)
        assert gw.wait_exit() == 1
    gw.assert_logged(f"wsgated: 127.0.0.1:{port} is already in use", "stderr.log")


@pytest.mark.parametrize("daemon", [False, True])
def test_invalid_config_fails_with_file_and_line(gateway, daemon):
    gw = gateway(workers=1, daemon=daemon, start=False, extra={"workers": 0})
    line = line_of(gw.config_path, '"workers"')
    result = subprocess.run([WSGATED, "-c", gw.config_path] + ([] if daemon else ["--foreground"]),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"{gw.config_path}:{line}:" in result.stderr and "workers" in result.stderr


def test_check_config_flag(gateway):
    gw = gateway(workers=1, start=False)
    good = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True, text=True,
                          timeout=30)
    assert good.returncode == 0
    assert f"wsgated: configuration file {gw.config_path} is valid" in good.stdout
    gw.write_config({"timeouts": {"idle": "soon"}})
    line = line_of(gw.config_path, '"idle"')
    bad = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 1
    assert f"{gw.config_path}:{line}:" in bad.stderr and "test failed" in bad.stderr
    assert not os.path.exists(gw.pid_file) and not os.path.exists(gw.socket_path)


def test_print_schema_and_version():
    schema = subprocess.run([WSGATED, "--print-schema"], capture_output=True, text=True, timeout=30)
    assert schema.returncode == 0
    for key in ("listen[].address", "timeouts.watchdog", "control_socket"):
        assert key in schema.stdout
    version = subprocess.run([WSGATED, "-V"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("wsgated ")
    usage = subprocess.run([WSGATED, "--bogus"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2


@pytest.mark.parametrize("daemon", [False, True])
def test_second_instance_is_refused(gateway, daemon):
    gw = gateway(workers=1)
    args = [WSGATED, "-c", gw.config_path] + ([] if daemon else ["--foreground"])
    second = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert f"wsgated: already running (pid {gw.pid})" in second.stderr
    # The first instance is untouched: same pid file, control socket, workers.
    assert open(gw.pid_file, encoding="ascii").read().strip() == str(gw.pid)
    assert gw.status()["pid"] == gw.pid
    assert echo(gw.url(), ["still here"]) == ["still here"]


def free_port():
    """A port nothing listens on (free when this returns; tests bind it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("daemon", [False, True])
def test_second_instance_on_the_same_address_is_refused(gateway, daemon):
    # Issue 10 item 5: the listen sockets have SO_REUSEPORT, so a second
    # wsgated (its own pid file and control socket) used to join the port
    # and take part of the traffic.
    port = free_port()
    listen = {"listen": [{"address": f"127.0.0.1:{port}"}]}
    first = gateway(workers=2, extra=listen)
    second = gateway(workers=1, daemon=daemon, start=False, extra=listen)
    launch = second.start(wait_ready=False)
    if daemon:
        assert launch.returncode == 1
        stderr = launch.stderr
    else:
        assert second.wait_exit() == 1
        stderr = second.stderr_text()
    assert f"wsgated: 127.0.0.1:{port} is already in use" in stderr
    second.assert_logged(f"127.0.0.1:{port} is already in use")
    assert second.worker_pids() == []
    assert not os.path.exists(second.pid_file) and not os.path.exists(second.socket_path)
    # The first keeps serving, and its reloads and respawns (which re-use
    # or add to its own sockets) still work.
    assert echo(first.url(), ["still here"]) == ["still here"]
    generation = first.status()["generation"]
    first.write_config({**listen, "workers": 3})
    assert first.ctl("reload").returncode == 0
    status = first.wait_ready()
    assert status["generation"] == generation + 1 and first.port == port
    victim = workers_by_slot(first)[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    first.wait_for(lambda: workers_by_slot(first)[0]["pid"] != victim
                   and workers_by_slot(first)[0]["state"] == "Ready", 15,
                   message="slot 0 respawned")
    assert echo(first.url(), ["after reload"]) == ["after reload"]


def test_control_socket_in_use_is_refused(gateway):
    first = gateway(workers=1)
    second = gateway(workers=1, start=False, extra={"control_socket": first.socket_path})
    second.start(wait_ready=False)
    assert second.wait_exit() == 1
    second.assert_logged(f"control socket {first.socket_path} is in use", "stderr.log")
    assert first.status()["pid"] == first.pid


def test_start_after_kill9_of_supervisor_and_no_orphans(gateway):
    gw = gateway(workers=2)
    old_workers = [w["pid"] for w in gw.workers()["workers"]]
    gw.signal(signal.SIGKILL)
    gw.wait_exit()
    # Workers notice the closed channel and exit by themselves.
    gw.wait_for(lambda: not any(pid_alive(p) for p in old_workers), 10,
                message="orphaned workers to exit")
    assert gw.worker_pids() == []
    assert os.path.exists(gw.pid_file) and os.path.exists(gw.socket_path)  # stale, left behind
    gw.start()
    assert gw.status()["pid"] == gw.pid
    assert open(gw.pid_file, encoding="ascii").read().strip() == str(gw.pid)
    assert echo(gw.url(), ["again"]) == ["again"]


def test_killed_worker_respawns_and_other_connections_survive(gateway):
    gw = gateway(workers=2)

    async def main():
        conns = []
        per_slot = {}
        # Open connections until both workers hold some (SO_REUSEPORT spreads them).
        for _ in range(60):
            conns.append(await websockets.connect(gw.url(), ping_interval=None))
            if len(conns) >= 4:
                per_slot = {w["slot"]: w["connections_active"] for w in gw.stats()["workers"]}
                if per_slot.get(0, 0) > 0 and per_slot.get(1, 0) > 0:
                    break
        assert per_slot.get(0, 0) > 0 and per_slot.get(1, 0) > 0, per_slot
        assert sum(per_slot.values()) == len(conns)
        victim = workers_by_slot(gw)[0]["pid"]
        survivor = workers_by_slot(gw)[1]["pid"]
        os.kill(victim, signal.SIGKILL)

        async def still_echoes(index, ws):
            try:
                await ws.send(f"after {index}")
                return await asyncio.wait_for(ws.recv(), 5) == f"after {index}"
            except websockets.ConnectionClosed:
                return False

        alive = await asyncio.gather(*(still_echoes(i, ws) for i, ws in enumerate(conns)))
        for ws in conns:
            await ws.close()
        return per_slot, victim, survivor, sum(alive)

    per_slot, victim, survivor, alive = asyncio.run(main())
    assert alive == per_slot[1]  # exactly the other worker's connections live on

    def respawned():
        slots = workers_by_slot(gw)
        return slots[0]["pid"] != victim and slots[0]["state"] == "Ready" and slots
    slots = gw.wait_for(respawned, 10, message="slot 0 to respawn")
    assert slots[0]["restarts"] == 1 and slots[1]["pid"] == survivor and slots[1]["restarts"] == 0
    assert not pid_alive(victim)
    log = gw.error_log()
    assert f"worker slot 0 pid {victim} gen 1 killed by signal 9" in log
    assert "worker slot 0: respawning in 100 ms" in log
    assert echo(gw.url(), ["new"] * 5) == ["new"] * 5


def test_respawn_backoff_doubles(gateway):
    gw = gateway(workers=1)
    for expected_delay in (100, 200, 400):
        pid = workers_by_slot(gw)[0]["pid"]
        os.kill(pid, signal.SIGKILL)
        gw.wait_for(lambda: (w := workers_by_slot(gw)[0])["pid"] != pid and w["state"] == "Ready",
                    10, message="respawn")
        gw.assert_logged(f"worker slot 0: respawning in {expected_delay} ms")
    assert workers_by_slot(gw)[0]["restarts"] == 3


def test_watchdog_replaces_silent_worker(gateway):
    gw = gateway(workers=2, extra={"timeouts": {"watchdog": "1s"}})
    silent = workers_by_slot(gw)[0]["pid"]
    other = workers_by_slot(gw)[1]["pid"]
    os.kill(silent, signal.SIGSTOP)  # alive, but sends no more reports
    gw.wait_for(lambda: (w := workers_by_slot(gw)[0])["pid"] != silent and w["state"] == "Ready",
                15, interval=0.2, message="the silent worker to be replaced")
    assert not pid_alive(silent)
    assert workers_by_slot(gw)[1]["pid"] == other
    log = gw.error_log()
    assert f"worker slot 0 pid {silent} gen 1: no report for" in log and "sending SIGABRT" in log
    assert echo(gw.url(), ["alive"]) == ["alive"]


def test_sighup_reopens_moved_log_files_without_touching_connections(gateway):
    gw = gateway(workers=1)
    pids = [w["pid"] for w in gw.workers()["workers"]]

    async def main():
        ws = await websockets.connect(gw.url(), ping_interval=None)
        await ws.send("before")
        assert await ws.recv() == "before"
        os.rename(os.path.join(gw.dir, "error.log"), os.path.join(gw.dir, "error.log.1"))
        os.rename(os.path.join(gw.dir, "access.log"), os.path.join(gw.dir, "access.log.1"))
        gw.signal(signal.SIGHUP)
        await asyncio.get_running_loop().run_in_executor(None, lambda: gw.wait_for(
            lambda: "log files reopened" in gw.error_log(), 5, message="a reopened error.log"))
        await ws.send("after")
        assert await ws.recv() == "after"
        await ws.close()

    asyncio.run(main())
    with open(os.path.join(gw.dir, "error.log.1"), encoding="utf-8") as old:
        assert "SIGHUP received: reopening log files" in old.read()
    # The worker reopened too: the connection's access line lands in the new file.
    gw.wait_for(lambda: "status=101" in gw.access_log(), 5, message="an access line in the new file")
    assert [w["pid"] for w in gw.workers()["workers"]] == pids
    assert gw.status()["generation"] == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_fast_stop_closes_connections_with_1001_and_exits(gateway, sig):
    gw = gateway(workers=2)
    workers = [w["pid"] for w in gw.workers()["workers"]]

    async def main():
        ws = await websockets.connect(gw.url(), ping_interval=None)
        await ws.send("x")
        await ws.recv()
        started = time.monotonic()
        gw.signal(sig)
        await asyncio.wait_for(ws.wait_closed(), 5)
        return ws.close_code, time.monotonic() - started

    code, after = asyncio.run(main())
    assert code == 1001 and after < 3
    assert gw.wait_exit(5) == 0
    assert not os.path.exists(gw.pid_file) and not os.path.exists(gw.socket_path)
    assert not any(pid_alive(p) for p in workers)
    gw.assert_logged(f"{signal.Signals(sig).name} received: fast stop")


def test_fast_stop_kills_a_stuck_worker_after_the_stop_timeout(gateway):
    gw = gateway(workers=2, extra={"timeouts": {"stop": "1s"}})
    stuck = workers_by_slot(gw)[0]["pid"]
    os.kill(stuck, signal.SIGSTOP)
    started = time.monotonic()
    gw.signal(signal.SIGTERM)
    assert gw.wait_exit(10) == 0
    assert 0.9 < time.monotonic() - started < 4
    assert not pid_alive(stuck)
    gw.assert_logged("sending SIGKILL")


def test_sigquit_stops_accepting_drains_and_exits(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "200ms"}})

    def refused():
        try:
            socket.create_connection(("127.0.0.1", gw.port), timeout=1).close()
            return False
        except ConnectionRefusedError:
            return True

    async def main():
        ws = await websockets.connect(gw.url(), ping_interval=None)
        await ws.send("x")
        await ws.recv()
        gw.signal(signal.SIGQUIT)
        await asyncio.wait_for(ws.wait_closed(), 5)
        return ws.close_code

    assert asyncio.run(main()) == 1001
    assert gw.wait_exit(10) == 0
    assert refused()
    assert not os.path.exists(gw.pid_file) and not os.path.exists(gw.socket_path)
    gw.assert_logged("SIGQUIT received: graceful stop")


def test_sigquit_refuses_new_connections_at_once(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "10s", "drain": "30s"}})

    async def main():
        ws = await websockets.connect(gw.url(), ping_interval=None)
        await ws.send("x")
        await ws.recv()
        gw.signal(signal.SIGQUIT)

        def refused():
            try:
                socket.create_connection(("127.0.0.1", gw.port), timeout=1).close()
                return False
            except ConnectionRefusedError:
                return True
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_for(refused, 5, message="connections to be refused"))
        # The established connection is still served while it drains.
        await ws.send("still")
        reply = await ws.recv()
        await ws.close()
        return reply

    assert asyncio.run(main()) == "still"
    assert gw.wait_exit(10) == 0
