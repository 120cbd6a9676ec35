"""Graceful reload through the real binaries: a transaction that keeps the
listen sockets, retires the old generation only once the new one is READY,
and changes nothing when the new config is bad."""
import asyncio
import os
import signal
import socket
import time

import websockets

from conftest import echo, pid_alive


def line_of(path, needle):
    with open(path, encoding="utf-8") as text:
        for number, line in enumerate(text, 1):
            if needle in line:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def generation_pids(gw, generation):
    return [w["pid"] for w in gw.workers()["workers"] if w["generation"] == generation]


def test_reload_under_load_loses_nothing(gateway):
    gw = gateway(workers=2, extra={"timeouts": {"idle_check_interval": "200ms", "drain": "30s"}})
    old_pids = generation_pids(gw, 1)
    retired = []
    counts = {"connects": 0, "failed_connects": 0, "echoes": 0, "lost": 0, "drain_closes": 0}
    errors = []

    async def busy_client(client, stop):
        # Short connections, each a burst of request/echo pairs: never idle,
        # so a drain never cuts one; they end by themselves.
        k = 0
        while not stop.is_set():
            try:
                ws = await websockets.connect(gw.url(), ping_interval=None, open_timeout=5)
            except Exception as error:  # noqa: BLE001 - every failure is counted
                counts["failed_connects"] += 1
                errors.append(f"connect: {error!r}")
                continue
            counts["connects"] += 1
            try:
                for _ in range(20):
                    k += 1
                    message = f"{client}-{k}"
                    await ws.send(message)
                    if await asyncio.wait_for(ws.recv(), 5) != message:
                        counts["lost"] += 1
                        errors.append(f"wrong echo for {message}")
                    else:
                        counts["echoes"] += 1
                await ws.close()
            except Exception as error:  # noqa: BLE001
                counts["lost"] += 1
                errors.append(f"exchange: {error!r}")

    async def idle_client(stop):
        # Connects, echoes once, then idles until the server closes it
        # (1001 once its worker drains); then reconnects.
        while not stop.is_set():
            try:
                ws = await websockets.connect(gw.url(), ping_interval=None, open_timeout=5)
            except Exception as error:  # noqa: BLE001
                counts["failed_connects"] += 1
                errors.append(f"idle connect: {error!r}")
                continue
            counts["connects"] += 1
            await ws.send("idle")
            if await asyncio.wait_for(ws.recv(), 5) == "idle":
                counts["echoes"] += 1
            while not stop.is_set() and ws.open:
                await asyncio.sleep(0.05)
            if not ws.open:
                await asyncio.wait_for(ws.wait_closed(), 5)
            if ws.close_code == 1001:
                counts["drain_closes"] += 1
            elif not stop.is_set():
                errors.append(f"idle connection closed with {ws.close_code}")
            await ws.close()

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(busy_client(i, stop)) for i in range(12)]
        tasks += [asyncio.create_task(idle_client(stop)) for _ in range(4)]
        while counts["echoes"] < 200:
            await asyncio.sleep(0.05)
        # Three reloads in a row, each once the previous old generation is gone.
        for generation in (2, 3, 4):
            retiring = await loop.run_in_executor(None, generation_pids, gw, generation - 1)
            retired.extend(retiring)
            result = await loop.run_in_executor(None, lambda: gw.ctl("reload"))
            assert result.returncode == 0, result.stderr
            assert f"generation {generation}" in result.stdout
            deadline = time.monotonic() + 20
            while any(pid_alive(p) for p in retiring) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            echoes = counts["echoes"]
            while counts["echoes"] < echoes + 200:
                await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)

    asyncio.run(main())
    assert not any(pid_alive(p) for p in retired), "old workers still running"
    assert counts["failed_connects"] == 0 and counts["lost"] == 0, (counts, errors[:5])
    assert counts["drain_closes"] >= 3 * 4, errors[:5]  # idle clients closed by each drain
    assert counts["echoes"] > 800
    assert gw.status()["generation"] == 4
    workers = gw.workers()["workers"]
    assert len(workers) == 2 and all(w["generation"] == 4 and w["state"] == "Ready" for w in workers)
    log = gw.error_log()
    for pid in old_pids:
        assert f"pid {pid} gen 1: Ready -> Draining" in log
        assert f"pid {pid} gen 1 exited with code 0 (was Draining)" in log


def test_reload_with_broken_config_changes_nothing(gateway):
    gw = gateway(workers=2)
    before = gw.workers()["workers"]

    async def main():
        ws = await websockets.connect(gw.url(), ping_interval=None)
        await ws.send("before")
        assert await ws.recv() == "before"
        gw.write_config({"workers": 0})
        line = line_of(gw.config_path, '"workers"')
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, lambda: gw.ctl("reload"))
        # The same connection is served by the same worker afterwards.
        await ws.send("after")
        assert await ws.recv() == "after"
        await ws.close()
        return result, line

    result, line = asyncio.run(main())
    assert result.returncode == 1
    assert f"{gw.config_path}:{line}:" in result.stderr and "workers" in result.stderr
    stable = ("slot", "pid", "generation", "state", "restarts")
    assert [{k: w[k] for k in stable} for w in gw.workers()["workers"]] == \
        [{k: w[k] for k in stable} for w in before]
    assert gw.status()["generation"] == 1
    gw.assert_logged(f"reload failed, generation 1 keeps serving: {gw.config_path}:{line}:")

    # The JSON answer carries the same text.
    answer = gw.ctl("reload", "--json")
    assert answer.returncode == 1 and f'"error":"{gw.config_path}:{line}:' in answer.stdout

    # SIGUSR1 with the broken file: logged, nothing changes.
    gw.signal(signal.SIGUSR1)
    gw.wait_for(lambda: gw.error_log().count("reload failed, generation 1 keeps serving") >= 3, 5)
    assert gw.status()["generation"] == 1
    assert sorted(w["pid"] for w in gw.workers()["workers"]) == sorted(w["pid"] for w in before)

    # Fixed, the next reload goes through.
    gw.write_config()
    assert gw.ctl("reload").returncode == 0
    assert gw.status()["generation"] == 2


def test_reload_refuses_a_change_of_a_non_reloadable_key(gateway):
    gw = gateway(workers=1)
    gw.write_config({"pid_file": os.path.join(gw.dir, "other.pid")})
    result = gw.ctl("reload")
    assert result.returncode == 1 and "pid_file" in result.stderr and "restart" in result.stderr
    assert gw.status()["generation"] == 1


def test_reload_keeps_listen_sockets_and_port(gateway):
    gw = gateway(workers=2)
    before = gw.status()["listeners"]
    assert gw.ctl("reload").returncode == 0
    after = gw.status()
    assert after["generation"] == 2
    assert after["listeners"] == before  # same port, same sockets: nothing re-bound
    assert echo(gw.url(), ["same port"]) == ["same port"]
    assert "listening on" not in gw.error_log().split("reload: starting generation 2")[1]


def test_sigusr1_reloads(gateway):
    gw = gateway(workers=1)
    old = generation_pids(gw, 1)
    gw.signal(signal.SIGUSR1)
    gw.wait_for(lambda: gw.status()["generation"] == 2, 10)
    gw.wait_for(lambda: not any(pid_alive(p) for p in old), 10, message="the old worker to exit")
    gw.assert_logged("SIGUSR1 received: graceful reload")
    assert echo(gw.url(), ["usr1"]) == ["usr1"]


def test_reload_adds_and_removes_listeners_and_resizes_workers(gateway):
    gw = gateway(workers=2)
    first_port = gw.port
    second_port = free_port()
    both = [{"address": "127.0.0.1:0"}, {"address": f"127.0.0.1:{second_port}"}]
    gw.write_config({"workers": 3, "listen": both})
    assert gw.ctl("reload").returncode == 0
    listeners = {l["address"]: l for l in gw.status()["listeners"]}
    assert listeners["127.0.0.1:0"]["port"] == first_port
    assert listeners["127.0.0.1:0"]["sockets"] == 3  # one more bound for the new slot
    assert listeners[f"127.0.0.1:{second_port}"]["sockets"] == 3
    assert len(generation_pids(gw, 2)) == 3
    assert echo(gw.url(port=first_port), ["a"]) == ["a"]
    assert echo(gw.url(port=second_port), ["b"]) == ["b"]

    # Drop the first address and shrink to one worker: the first port goes
    # away; the second keeps all three sockets, served by the one worker.
    gw.write_config({"workers": 1, "listen": [{"address": f"127.0.0.1:{second_port}"}]})
    assert gw.ctl("reload").returncode == 0
    gw.wait_for(lambda: refused(first_port), 10, message="the dropped port to refuse")
    [listener] = gw.status()["listeners"]
    assert listener["port"] == second_port and listener["sockets"] == 3
    assert len(generation_pids(gw, 3)) == 1

    async def many():
        return await asyncio.gather(*(asyncio.wait_for(asyncio.create_task(
            one(i)), 10) for i in range(30)))

    async def one(i):
        async with websockets.connect(gw.url(port=second_port), ping_interval=None) as ws:
            await ws.send(str(i))
            return await ws.recv()

    assert asyncio.run(many()) == [str(i) for i in range(30)]


def test_reload_with_a_port_in_use_rolls_back_what_it_bound(gateway):
    gw = gateway(workers=2)
    before = gw.status()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        gw.write_config({"workers": 3, "listen": [{"address": "127.0.0.1:0"},
                                                  {"address": f"127.0.0.1:{busy}"}]})
        result = gw.ctl("reload")
    assert result.returncode == 1
    assert f"127.0.0.1:{busy} is already in use" in result.stderr
    after = gw.status()
    assert after["generation"] == 1
    assert after["listeners"] == before["listeners"]  # the extra socket was closed again
    assert echo(gw.url(), ["ok"]) == ["ok"]
