"""Drain after a reload: idle connections are closed with 1001 at the next
idle check, busy ones stay until they go idle or the drain timeout ends."""
import asyncio
import time

import websockets


def reload_ok(gw):
    out = gw.ctl("reload")
    assert out.returncode == 0, out.stdout + out.stderr


def test_drain_closes_idle_with_1001_and_keeps_busy_until_idle(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "300ms", "drain": "30s",
                                                "ping_interval": 0}})

    async def main():
        idle = await websockets.connect(gw.url(), ping_interval=None)
        busy = await websockets.connect(gw.url(), ping_interval=None)

        async def keep_busy(seconds):
            # One message every 50 ms, each echoed: never idle at a check.
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                await busy.send(f"m{i}")
                assert await asyncio.wait_for(busy.recv(), 5) == f"m{i}"
                i += 1
                await asyncio.sleep(0.05)

        traffic = asyncio.create_task(keep_busy(2.0))
        await asyncio.get_running_loop().run_in_executor(None, reload_ok, gw)
        started = time.monotonic()
        await asyncio.wait_for(idle.wait_closed(), 5)
        idle_closed_after = time.monotonic() - started
        await traffic  # raises if the busy connection was closed meanwhile
        assert busy.open
        # Once it goes quiet it is closed at a later check.
        await asyncio.wait_for(busy.wait_closed(), 5)
        return idle.close_code, idle.close_reason, idle_closed_after, busy.close_code

    idle_code, idle_reason, idle_after, busy_code = asyncio.run(main())
    assert idle_code == 1001 and idle_reason == "server reloading"
    assert idle_after < 2
    assert busy_code == 1001
    # The old worker exits once its connections are gone.
    gw.wait_for(lambda: all(w["generation"] == 2 for w in gw.workers()["workers"]), 10)
    assert gw.wait_for(lambda: gw.stats()["totals"]["closes_drain"] >= 2, 5)


def test_drain_timeout_closes_busy_connections_with_1001(gateway):
    gw = gateway(workers=1, extra={"timeouts": {"idle_check_interval": "200ms", "drain": "1s",
                                                "ping_interval": 0}})

    async def main():
        busy = await websockets.connect(gw.url(), ping_interval=None)
        await asyncio.get_running_loop().run_in_executor(None, reload_ok, gw)
        started = time.monotonic()
        try:
            while time.monotonic() - started < 10:
                await busy.send("x")
                await asyncio.wait_for(busy.recv(), 5)
                await asyncio.sleep(0.02)
        except websockets.ConnectionClosed:
            pass
        return busy.close_code, time.monotonic() - started

    code, after = asyncio.run(main())
    assert code == 1001
    # Not before timeouts.drain (1 s, counted from before the reload's
    # answer); how much later depends on the machine, and the loop above
    # bounds it.
    assert after > 0.8, after
