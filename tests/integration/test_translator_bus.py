"""The translator's bus side and its timeouts (issue 13), through the real
wsgated, redis-server and the fake OpenSRF services:
- a worker holds at most two Redis connections per bus domain whatever
  its WebSocket count, and uses only AUTH, RPUSH, BLPOP, LPOP and DEL;
- replies for a connection that is gone are dropped and counted, and the
  bus address is DELeted at exit: nothing piles up in Redis;
- Redis unreachable at start, restarted mid-session, or refusing AUTH:
  reconnect with backoff, one log line per state change, transport_error
  replies instead of silence, the account named;
- the idle timeout waits for requests in flight, up to max_request_wait
  of silence, after which they are treated as dead; a drain (reload) lets
  a slow request finish, then closes with 1001;
- two daemons on one Redis never see each other's replies.
"""
import asyncio
import time

import pytest
import websockets

from opensrf_bus import redis_server
from opensrf_fake import fake_opensrf
from translator_support import (PRIVATE, PUBLIC, SERVICE, Translator, client, connect,
                                envelope, recv_json, recv_until_complete, request, results, run,
                                totals, translator_rig, wait_bus_up)


@pytest.fixture
def rig(gateway, tmp_path):
    with translator_rig(gateway, tmp_path) as translator:
        yield translator


def gateway_connections(bus):
    """Redis connections of the gateway account (CLIENT LIST, as opensrf)."""
    return [c for c in bus.client("opensrf").client_list() if c.get("user") == "gateway"]


def test_many_websockets_share_two_connections_per_domain(rig):
    gw = rig.start(workers=1)

    async def scenario():
        sockets = [await client(gw).__aenter__() for _ in range(30)]
        try:
            # Stateless requests use the primary domain only.
            for i, ws in enumerate(sockets):
                await ws.send(envelope(f"N{i}", request("wsgate.add", [i, 1])))
            for i, ws in enumerate(sockets):
                assert results((await recv_until_complete(ws))[-1]) == [i + 1]
            primary = len(gateway_connections(rig.bus))
            # A CONNECTed session talks to the drone's (private) domain:
            # one more sending connection, opened on first use.
            await sockets[0].send(envelope("S0", connect()))
            await recv_json(sockets[0])
            await sockets[0].send(envelope("S0", request("wsgate.add", [1, 1], "1")))
            await recv_until_complete(sockets[0])
            both = len(gateway_connections(rig.bus))
            gauge = totals(gw)["translator_bus_connections"]
            return primary, both, gauge
        finally:
            for ws in sockets:
                await ws.close()

    primary, both, gauge = run(scenario())
    assert primary == 2
    assert both == 3 and gauge == 3


def test_only_the_gateway_acl_commands_are_used(rig):
    with rig.bus.monitor() as seen:
        gw = rig.start()

        async def scenario():
            async with client(gw) as ws:
                await ws.send(envelope("C1", connect()))
                await recv_json(ws)
                await ws.send(envelope("C1", request("wsgate.add", [1, 1], "1")))
                await recv_until_complete(ws)
                await ws.send(envelope("R1", request("wsgate.stream", [3, 0])))
                await recv_until_complete(ws)

        run(scenario())
        # The gateway keeps its connections for its whole life.
        seen.note_gateway_connections()
        gw.stop()
        commands = seen.commands_of_others()
    assert commands, "MONITOR saw the gateway"
    assert set(commands) <= {"AUTH", "RPUSH", "BLPOP", "LPOP", "DEL"}, set(commands)
    # The exit DELs the worker's bus address.
    deleted = [line.split(" ", 2)[2] for line in seen.lines if " DEL " in f" {line} "]
    assert any(key.startswith("opensrf:client:gateway:localhost:") for key in deleted), deleted


def test_replies_for_a_gone_connection_are_dropped_and_the_address_deleted(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("G1", request("wsgate.slow", [0.5])))
        # The client left before the reply.

    run(scenario())
    gw.wait_for(lambda: totals(gw)["translator_replies_orphaned"] == 1, 10,
                message="the late reply dropped and counted")
    # The worker keeps popping its address: the late reply did not stay.
    assert not [k for k in rig.fake.client_keys() if ":gateway:" in k]


def test_redis_unreachable_at_start_then_up(gateway, tmp_path):
    with redis_server(tmp_path) as bus:
        bus.stop()
        rig = Translator(gateway, tmp_path, bus, None)
        gw = rig.start(start=False)
        gw.start()

        async def early():
            async with client(gw) as ws:
                await ws.send(envelope("E1", request("wsgate.add", [1, 1])))
                return await recv_json(ws)

        reply = run(early())
        assert reply["transport_error"] is True and reply["osrf_msg"] == []
        assert reply["thread"] == "E1"
        time.sleep(1.2)  # several retries while Redis is down
        bus.start()
        with fake_opensrf(bus, public=PUBLIC, private=PRIVATE, services=(SERVICE,)):
            wait_bus_up(gw)

            async def later():
                async with client(gw) as ws:
                    await ws.send(envelope("E2", request("wsgate.add", [2, 2])))
                    return await recv_until_complete(ws)

            assert results(run(later())[-1]) == [4]
        log = gw.error_log()
        # One line per state change, not one per retry.
        assert log.count("(receiver): unreachable") == 1
        assert log.count("(receiver): connected again") == 1
        assert totals(gw)["translator_transport_errors"] == 1


def test_redis_restart_mid_session_answers_requests_in_flight(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("X1", request("wsgate.slow", [30])))
            await asyncio.sleep(0.3)
            assert totals(gw)["translator_requests_in_flight"] == 1
            rig.bus.restart()
            lost = await recv_json(ws, 15)
            in_flight = totals(gw)["translator_requests_in_flight"]
            # The fake reconnects too; so does the gateway, then it serves.
            wait_bus_up(gw)
            rig.fake.wait_ready(15)
            await ws.send(envelope("X2", request("wsgate.add", [5, 5])))
            return lost, in_flight, await recv_until_complete(ws, 15)

    lost, in_flight, after = run(scenario())
    assert lost["thread"] == "X1" and lost["transport_error"] is True
    assert in_flight == 0
    assert results(after[-1]) == [10]
    stats = totals(gw)
    assert stats["translator_bus_reconnects"] >= 2
    gw.assert_logged("connection lost")


def test_auth_refused_names_the_account(gateway, tmp_path):
    with translator_rig(gateway, tmp_path) as rig:
        with open(rig.password_file, "w", encoding="ascii") as out:
            out.write("wrong-password\n")
        gw = rig.start(start=False)
        gw.start()
        gw.wait_for(lambda: "AUTH as user 'gateway' refused" in gw.error_log(), 10,
                    message="the refused AUTH logged")

        async def scenario():
            async with client(gw) as ws:
                await ws.send(envelope("A1", request("wsgate.add", [1, 1])))
                return await recv_json(ws)

        assert run(scenario())["transport_error"] is True
        gw.assert_logged("redis localhost:")


def test_idle_timeout_waits_for_a_slow_request(rig):
    gw = rig.start(timeouts={"idle": "1s", "idle_check_interval": "100ms",
                             "max_request_wait": "30s"})

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("W1", request("wsgate.slow", [2.5])))
            reply = await recv_until_complete(ws, 10)  # idle would have closed it at 1 s
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv_json(ws, 10)
            return reply, closed.value, time.monotonic() - started

    reply, closed, waited = run(scenario())
    assert results(reply[-1]) == [2.5]
    assert closed.rcvd.code == 1001
    assert waited < 5


def test_max_request_wait_treats_requests_as_dead(rig):
    gw = rig.start(timeouts={"idle": "500ms", "idle_check_interval": "100ms",
                             "max_request_wait": "2s"})

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("D1", request("wsgate.slow", [20])))
            await ws.send(envelope("D2", request("wsgate.slow", [20])))
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv_json(ws, 15)
            return closed.value, time.monotonic() - started

    closed, waited = run(scenario())
    assert closed.rcvd.code == 1001
    assert waited > 1.5, waited  # not before max_request_wait; recv_json bounds the rest
    gw.assert_logged("2 requests in flight; they are treated as dead")
    assert totals(gw)["translator_requests_dead"] == 2


def test_reload_lets_a_slow_request_finish_then_1001(rig):
    gw = rig.start(timeouts={"idle_check_interval": "100ms"})

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("L1", request("wsgate.slow", [1.5])))
            await asyncio.sleep(0.2)
            gw.ctl("reload", check=True)
            reply = await recv_until_complete(ws, 10)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv_json(ws, 10)
            return reply, closed.value

    reply, closed = run(scenario())
    assert results(reply[-1]) == [1.5]
    assert closed.rcvd.code == 1001


def test_two_daemons_on_one_bus_never_cross(gateway, tmp_path):
    with translator_rig(gateway, tmp_path) as rig:
        first = rig.start()
        second = rig.start()

        async def ask(gw, n):
            async with client(gw) as ws:
                replies = []
                for i in range(5):
                    # The same thread ids on both nodes.
                    await ws.send(envelope(f"T{i}", request("wsgate.add", [n, i])))
                    replies.append(await recv_until_complete(ws))
                return replies

        async def scenario():
            return await asyncio.gather(ask(first, 1000), ask(second, 2000))

        a, b = run(scenario())
        assert [results(r[-1]) for r in a] == [[1000 + i] for i in range(5)]
        assert [results(r[-1]) for r in b] == [[2000 + i] for i in range(5)]
        senders = {e["from"] for e in rig.fake.received("router") if "router_command" not in e}
        assert len(senders) == 2, "one bus address per node and worker"
        for gw in (first, second):
            assert totals(gw)["translator_replies_orphaned"] == 0


def test_routes_on_one_bus_share_its_connections(rig):
    second = dict(rig.route(max_sessions=4), path="/osrf2")
    gw = rig.factory(workers=1, extra={"routes": [rig.route(), second]})
    wait_bus_up(gw)

    async def scenario():
        for path in ("/osrf", "/osrf2"):
            async with websockets.connect(gw.url(path), open_timeout=10) as ws:
                await ws.send(envelope("B1", request("wsgate.add", [1, 2])))
                assert results((await recv_until_complete(ws))[-1]) == [3]

    run(scenario())
    assert len(gateway_connections(rig.bus)) == 2
    assert totals(gw)["translator_bus_connections"] == 2
