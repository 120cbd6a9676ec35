"""Failure paths of the process model, driven by the test-only WSGATE_FAULTS
switch (docs/fault-injection.md), issue 10 items 3 and 4: a failed reload
cuts no client and loses nothing queued, and every connection attempt is
served by some live worker while a slot has none."""
import asyncio
import os
import signal
import subprocess

import pytest
import websockets

from conftest import WSGATED, pid_alive, wait_for
from wsraw import RawClient


def slot_pid(gw, slot):
    for worker in gw.workers()["workers"]:
        if worker["slot"] == slot and worker["generation"] == gw.status()["generation"]:
            return worker["pid"]
    raise AssertionError(f"no worker in slot {slot}")


async def open_echoing(url, name, timeout=5):
    ws = await websockets.connect(url, ping_interval=None, open_timeout=timeout)
    await ws.send(name)
    assert await asyncio.wait_for(ws.recv(), timeout) == name
    return ws


async def reload_under_connects(gw, held):
    """Runs `wsgatectl reload` while connections keep being opened (each
    echoes once and stays open); returns the reload's result and the
    connections opened during it."""
    loop = asyncio.get_running_loop()
    reload = loop.run_in_executor(None, lambda: gw.ctl("reload"))
    during = []
    k = 0
    while not reload.done():
        during.append(await open_echoing(gw.url(), f"during {k}"))
        k += 1
        await asyncio.sleep(0.01)
    return await reload, during


@pytest.mark.parametrize("fault", ["new_worker_never_ready", "new_worker_exit_before_ready"])
def test_a_failed_reload_cuts_no_client(gateway, fault):
    # 4 workers, the reload asks for 6: slots 4 and 5 get sockets bound for
    # the reload, and the last new worker fails. Before the fix the new
    # workers that were READY accepted (and were then SIGKILLed with their
    # clients), and the rollback closed the new sockets with connections
    # queued on them.
    gw = gateway(workers=4, env={"WSGATE_FAULTS": fault},
                 extra={"timeouts": {"worker_start": "2s"}})
    gw.assert_logged(f"WSGATE_FAULTS={fault}: TEST-ONLY FAULT INJECTION IS ACTIVE")
    old_pids = sorted(w["pid"] for w in gw.workers()["workers"])

    async def main():
        held = [await open_echoing(gw.url(), f"before {i}") for i in range(40)]
        gw.write_config({"workers": 6, "timeouts": {"worker_start": "2s"}})
        result, during = await reload_under_connects(gw, held)
        # Every connection, old or opened during the failed reload, is alive.
        dead = 0
        for i, ws in enumerate(held + during):
            try:
                await ws.send(f"after {i}")
                assert await asyncio.wait_for(ws.recv(), 5) == f"after {i}"
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                dead += 1
        for ws in held + during:
            await ws.close()
        return result, len(during), dead

    result, opened_during, dead = asyncio.run(main())
    assert result.returncode == 1, result.stdout
    expected = "not READY after 2000 ms" if fault == "new_worker_never_ready" else \
        "exited with code 1 before READY"
    assert "rollback: worker slot 5" in result.stderr and expected in result.stderr
    if fault == "new_worker_never_ready":
        assert opened_during > 10  # the 2 s the new generation waited
    assert dead == 0, f"{dead} of {40 + opened_during} connections were cut"
    # The old generation serves on, on all of its sockets.
    assert gw.status()["generation"] == 1
    assert sorted(w["pid"] for w in gw.workers()["workers"]) == old_pids
    assert all(w["accepts_for"] == [w["slot"]] for w in gw.workers()["workers"])
    stats = gw.stats()
    new_gen = [w for w in stats["workers"] if w["generation"] != 1]
    assert new_gen == []


def test_a_second_reload_is_refused_while_one_is_in_progress(gateway):
    gw = gateway(workers=2, env={"WSGATE_FAULTS": "new_worker_never_ready"},
                 extra={"timeouts": {"worker_start": "3s"}})
    first = subprocess.Popen([os.environ["WSGATECTL"], "--socket", gw.socket_path, "reload"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        gw.wait_for(lambda: gw.status()["state"] == "reloading", 5, message="reloading")
        second = gw.ctl("reload")
        assert second.returncode == 1
        assert "reload already in progress" in second.stderr
        _, stderr = first.communicate(timeout=30)
        assert first.returncode == 1 and "not READY after 3000 ms" in stderr
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert gw.status()["generation"] == 1 and gw.status()["state"] == "running"


def connect_many(gw, count):
    """`count` connections in a row, each opened, echoed and closed with a
    5 s bound; returns how many failed."""
    async def main():
        failed = 0
        for i in range(count):
            try:
                ws = await open_echoing(gw.url(), f"n{i}")
                await ws.close()
            except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
                failed += 1
        return failed

    return asyncio.run(main())


def test_every_connect_is_served_while_slots_have_no_worker(gateway):
    # Slot 1's worker is killed and kept from restarting; slot 2's exits
    # with the fatal code, which is never respawned. Their sockets stay in
    # the kernel's SO_REUSEPORT group: before the fix, half of the connects
    # waited on sockets nobody accepted from.
    gw = gateway(workers=4, env={"WSGATE_FAULTS": "no_respawn:1,worker_fatal_exit"})
    killed, fatal = slot_pid(gw, 1), slot_pid(gw, 2)
    os.kill(killed, signal.SIGKILL)
    os.kill(fatal, signal.SIGUSR2)
    wait_for(lambda: not pid_alive(killed) and not pid_alive(fatal), 10, message="both gone")

    def settled():
        workers = {w["slot"]: w for w in gw.workers()["workers"]}
        return (workers[1]["state"] == "Exited" and workers[2]["state"] == "Fatal" and
                gw.status()["unserved_sockets"] == 0)

    gw.wait_for(settled, 10, message="slots 1 and 2 adopted")
    served = sorted(s for w in gw.workers()["workers"] for s in w["accepts_for"])
    assert served == [0, 1, 2, 3]
    log = gw.error_log()
    assert "fault no_respawn:1: slot 1 stays without a worker" in log
    assert "exited with the fatal code 2: not respawning it" in log
    assert "accepts for slot 1 too: slot 1 has no live worker" in log
    assert connect_many(gw, 400) == 0


def test_status_shows_sockets_no_worker_accepts_on(gateway):
    gw = gateway(workers=1, env={"WSGATE_FAULTS": "no_respawn:0"})
    pid = slot_pid(gw, 0)
    os.kill(pid, signal.SIGKILL)
    gw.wait_for(lambda: gw.status()["unserved_sockets"] == 1, 10, message="unserved socket")
    text = gw.ctl("status", check=True).stdout
    assert any(line.split() == ["unserved", "sockets:", "1"] for line in text.splitlines()), text
    gw.assert_logged("no live worker accepts for slots 0")


def test_a_bad_fault_list_stops_the_start(gateway):
    gw = gateway(workers=1, start=False, env={"WSGATE_FAULTS": "worker_fatal_exit,nope"})
    result = subprocess.run([WSGATED, "-c", gw.config_path, "--foreground"], capture_output=True,
                            text=True, timeout=30, env={**os.environ, **gw.env})
    assert result.returncode == 1
    assert 'WSGATE_FAULTS: unknown fault "nope"' in result.stderr


def test_a_throw_while_accepting_drops_that_connection_and_keeps_the_listener(gateway):
    # accept_throw:1: creating the first connection throws std::bad_alloc.
    # That connection is closed (EOF, no answer), and the next one is served
    # by the same listener: the throw does not leave it deaf.
    gw = gateway(workers=1, env={"WSGATE_FAULTS": "accept_throw:1"})
    first = RawClient(gw.port)
    first.sock.settimeout(10)
    assert first.sock.recv(4096) == b""
    first.close()

    async def echo_once():
        ws = await open_echoing(gw.url(), "after the throw")
        await ws.close()

    asyncio.run(echo_once())
    gw.assert_logged("fault accept_throw:1: throwing std::bad_alloc")
    gw.assert_logged("accepting a connection: std::bad_alloc; dropping it")
    totals = gw.stats()["totals"]
    assert totals["connections_shed"] == 1 and totals["connections_accepted"] == 1
