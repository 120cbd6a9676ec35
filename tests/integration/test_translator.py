"""The `relay: translator` route (issue 13): the OpenSRF WebSocket
translator through the real wsgated, a real redis-server with the OpenSRF
ACL accounts, and the fake router, listener and drones of spec section 4,
with Python websockets as the browser.

Contract under test (the issue's behaviour list, docs/translator.md):
- One text message is one JSON document; each bus message is one text
  reply {"thread","log_xid","osrf_msg"} in that key order; the reply's
  log_xid is the xid put on the request (the client's when it sent one).
- New threads go to the router with the bare service address; a CONNECTed
  thread goes straight to its drone; DISCONNECT, a keepalive 408 and any
  status >= 400 end the session.
- Replies are relayed as they arrive: streaming, pipelined requests on
  one thread and batches never wait for the client to speak again.
- Two clients sending the same thread id each get their own replies only.
- max_sessions caps the cache (a warning, a counter, the gauge).
- Bad input is dropped with a warning and a counter by reason, the
  connection stays; a message over max_message closes with 1009.
- Activity lines: "[ip] [] service method params", redacted for
  log_protect prefixes; X-Forwarded-For believed from trusted proxies only.
"""
import asyncio
import json
import os
import subprocess

import pytest
import websockets

from conftest import WSGATED
from translator_support import (SERVICE, client, connect, disconnect, envelope, recv_json,
                                recv_until_complete, request, results, route_stats, run,
                                statuses, totals, translator_rig, assert_silent)


@pytest.fixture
def rig(gateway, tmp_path):
    with translator_rig(gateway, tmp_path) as translator:
        yield translator


def test_stateless_request_round_trip(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("T1", request("opensrf.system.echo", ["hi", {"a": 1}, "\u00fc"])))
            raw = await asyncio.wait_for(ws.recv(), 10)
            reply = json.loads(raw)
            return raw, reply

    raw, reply = run(scenario())
    assert list(reply) == ["thread", "log_xid", "osrf_msg"]
    assert raw.startswith('{"thread":"T1","log_xid":"')
    assert reply["thread"] == "T1"
    assert results(reply) == ["hi", {"a": 1}, "\u00fc"]
    assert statuses(reply) == [("1", "205")]
    # The reply names the xid the gateway put on the request, which went
    # to the router with the bare service address.
    sent = rig.fake.received("router")[-1]
    assert sent["to"] == "opensrf:service:_:_:" + SERVICE
    assert sent["from"].startswith("opensrf:client:gateway:localhost:")
    assert reply["log_xid"] == sent["osrf_xid"] and reply["log_xid"].isdigit()
    body = sent["body"][0]["__p"]
    assert body["ingress"] == "ws-translator-v2" and body["threadTrace"] == "1"
    stats = totals(gw)
    assert stats["translator_bus_messages_out"] == 1
    assert stats["translator_bus_messages_in"] == 1
    assert stats["translator_replies_timed"] == 1
    # The reply time is in exactly one latency bucket.
    assert sum(stats[f"translator_reply_{b}"] for b in
               ("under_1ms", "under_10ms", "under_100ms", "under_1s", "over_1s")) == 1
    assert stats["translator_requests_in_flight"] == 0
    assert route_stats(gw)["translator_bus_messages_in"] == 1
    gw.wait_for(lambda: "bus_out=1 bus_in=1 dropped=0 transport_errors=0" in gw.access_log(), 10,
                message="the access log's translator fields")


def test_client_log_xid_is_kept(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("T1", request("wsgate.add", [2, 3]), log_xid="my-xid-42"))
            return await recv_json(ws)

    reply = run(scenario())
    assert reply["log_xid"] == "my-xid-42"
    assert results(reply) == [5]
    assert rig.fake.received("router")[-1]["osrf_xid"] == "my-xid-42"


def test_stateful_session_pinned_to_one_drone(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("S1", connect("0")))
            connected = await recv_json(ws)
            await ws.send(envelope("S1", request("wsgate.whoami", [], "1")))
            first = await recv_until_complete(ws)
            await ws.send(envelope("S1", request("wsgate.whoami", [], "2")))
            second = await recv_until_complete(ws)
            sessions = totals(gw)["translator_sessions_cached"]
            await ws.send(envelope("S1", disconnect("3")))
            await assert_silent(ws, 0.5)
            after = totals(gw)["translator_sessions_cached"]
            return connected, first, second, sessions, after

    connected, first, second, sessions, after = run(scenario())
    assert statuses(connected) == [("0", "200")]
    drone = results(first[-1])[0]
    assert results(second[-1]) == [drone], "both requests served by the CONNECTed drone"
    assert sessions == 1 and after == 0
    # Only the CONNECT went through the router; the rest went to the drone.
    routed = [e for e in rig.fake.received("router") if e["thread"].startswith("S1")]
    assert [e["body"][0]["__p"]["type"] for e in routed] == ["CONNECT"]
    direct = [e["body"][0]["__p"]["type"] for e in rig.fake.received(drone)
              if e["thread"].startswith("S1")]
    assert direct == ["CONNECT", "REQUEST", "REQUEST", "DISCONNECT"]


def test_keepalive_408_ends_the_session(gateway, tmp_path):
    with translator_rig(gateway, tmp_path, keepalive=1.0) as rig:
        gw = rig.start()

        async def scenario():
            async with client(gw) as ws:
                await ws.send(envelope("K1", connect("0")))
                await recv_json(ws)
                timeout = await recv_json(ws, 5)  # no client message needed to get it
                cached = totals(gw)["translator_sessions_cached"]
                await ws.send(envelope("K1", request("wsgate.add", [1, 1])))
                again = await recv_until_complete(ws)
                return timeout, cached, again

        timeout, cached, again = run(scenario())
        assert statuses(timeout) == [("0", "408")]
        assert cached == 0
        assert results(again[-1]) == [2]
        # The request after the 408 went through the router again.
        assert rig.fake.received("router")[-1]["body"][0]["__p"]["type"] == "REQUEST"


def test_unknown_service_gets_the_routers_404(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("U1", request("x.y"), service="no.such.service"))
            reply = await recv_json(ws)
            # The connection goes on.
            await ws.send(envelope("U2", request("wsgate.add", [1, 2])))
            return reply, await recv_until_complete(ws)

    reply, after = run(scenario())
    assert statuses(reply) == [("1", "404")]
    assert reply["osrf_msg"][0]["__p"]["payload"]["__c"] == "osrfServiceException"
    sent = [e for e in rig.fake.received("router") if e["thread"].startswith("U1")][0]
    # The router's 404 has osrf_xid null: the reply names the request's xid.
    assert reply["log_xid"] == sent["osrf_xid"]
    assert results(after[-1]) == [3]
    assert totals(gw)["translator_requests_in_flight"] == 0


def test_unknown_method_404(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("M1", request("wsgate.nope")))
            return await recv_json(ws)

    reply = run(scenario())
    assert statuses(reply) == [("1", "404")]
    assert "wsgate.nope" in json.dumps(reply)


def test_streaming_results_arrive_as_they_come(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("R1", request("wsgate.stream", [4, 0.2])))
            return await recv_until_complete(ws, 5)

    replies = run(scenario())
    assert len(replies) == 5, "four RESULT messages and the final 205, one frame each"
    assert [r for reply in replies[:4] for r in results(reply)] == [0, 1, 2, 3]
    assert statuses(replies[-1]) == [("1", "205")]


def test_two_requests_on_one_thread_and_a_batch_do_not_stall(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            # Pipelined on one thread: upstream answers the second only when
            # the client speaks again (spec 3.6).
            await ws.send(envelope("P1", request("wsgate.slow", [0.3], "1")))
            await ws.send(envelope("P1", request("wsgate.add", [1, 2], "2")))
            got = [await recv_json(ws, 5), await recv_json(ws, 5)]
            # A batch: two requests in one message, answered per request.
            await ws.send(envelope("P2", request("wsgate.add", [1, 1], "1"),
                                   request("wsgate.add", [2, 2], "2")))
            batch = [await recv_json(ws, 5)]
            while sum(1 for r in batch for s in statuses(r) if s[1] == "205") < 2:
                batch.append(await recv_json(ws, 5))
            return got, batch

    got, batch = run(scenario())
    by_trace = {s[0]: results(r) for r in got for s in statuses(r)}
    assert by_trace == {"1": [0.3], "2": [3]}
    assert sorted(r for reply in batch for r in results(reply)) == [2, 4]
    assert totals(gw)["translator_requests_in_flight"] == 0


def test_same_thread_from_two_clients_is_never_crossed(rig):
    gw = rig.start(workers=1)

    async def one(ws, n):
        await ws.send(envelope("SHARED", request("wsgate.add", [n, 0])))
        return await recv_until_complete(ws)

    async def scenario():
        async with client(gw) as a, client(gw) as b:
            # Another client's thread with the bus suffix appended still
            # reaches only the sender.
            first = await asyncio.gather(one(a, 100), one(b, 200))
            await a.send(envelope("SHARED/1", request("wsgate.add", [7, 0])))
            spoof = await recv_until_complete(a)
            await assert_silent(b, 0.5)
            return first, spoof

    (a_replies, b_replies), spoof = run(scenario())
    assert [results(r) for r in a_replies] == [[100]]
    assert [results(r) for r in b_replies] == [[200]]
    assert spoof[-1]["thread"] == "SHARED/1" and results(spoof[-1]) == [7]


def test_session_cap_goes_stateless_with_a_warning(gateway, tmp_path):
    with translator_rig(gateway, tmp_path, drones=4) as rig:
        session_cap(rig)


def session_cap(rig):
    gw = rig.start(max_sessions=2)

    async def scenario():
        async with client(gw) as ws:
            for thread in ("C1", "C2", "C3"):
                await ws.send(envelope(thread, connect("0")))
                assert statuses(await recv_json(ws)) == [("0", "200")]
            stats = totals(gw)
            # The uncached session still works, through the router.
            await ws.send(envelope("C3", request("wsgate.add", [3, 3])))
            reply = await recv_until_complete(ws)
            return stats, reply

    stats, reply = run(scenario())
    assert stats["translator_sessions_cached"] == 2
    assert stats["translator_session_cache_full"] == 1
    assert route_stats(gw)["translator_session_cache_full"] == 1
    assert results(reply[-1]) == [6]
    gw.assert_logged("max_sessions")


BAD_INPUTS = [
    ("not json at all", "invalid_json"),
    ('["an", "array"]', "invalid_json"),
    (envelope("x" * 65, request("wsgate.add", [1])), "bad_thread"),
    (envelope("", request("wsgate.add", [1])), "bad_thread"),
    (envelope("T", request("wsgate.add", [1]), log_xid="9" * 65), "bad_log_xid"),
    (envelope("T", request("wsgate.add", [1]), service="s" * 129), "bad_service"),
    (envelope("T", request("wsgate.add", [1]), service="bad:service"), "bad_service"),
    (json.dumps({"service": SERVICE, "thread": "T"}), "bad_osrf_msg"),
    (json.dumps({"service": SERVICE, "thread": "T", "osrf_msg": {"a": 1}}), "bad_osrf_msg"),
    (json.dumps({"service": SERVICE, "thread": "T", "osrf_msg": [1, 2]}), "bad_osrf_msg"),
    (json.dumps({"service": SERVICE, "thread": "T", "osrf_msg": []}), "bad_osrf_msg"),
    (envelope("T", request("wsgate.add", [1]), service=None), "no_recipient"),
    ("[" * 200 + "]" * 200, "invalid_json"),
]


def test_bad_inputs_are_dropped_and_counted_the_connection_stays(rig):
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            for text, _ in BAD_INPUTS:
                await ws.send(text)
            # A 64-byte thread is valid.
            await ws.send(envelope("t" * 64, request("wsgate.add", [1, 1])))
            return await recv_until_complete(ws)

    replies = run(scenario())
    assert replies[0]["thread"] == "t" * 64 and results(replies[-1]) == [2]
    stats = totals(gw)
    expected = {}
    for _, reason in BAD_INPUTS:
        expected[reason] = expected.get(reason, 0) + 1
    for reason, count in expected.items():
        assert stats["translator_dropped_" + reason] == count, reason
        assert route_stats(gw)["translator_dropped_" + reason] == count, reason
    log = gw.error_log()
    assert log.count("dropped a message") == len(BAD_INPUTS)
    assert stats["translator_bus_messages_out"] == 1


def test_message_over_max_message_closes_1009(rig):
    gw = rig.start(max_message="2KiB")

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("B1", request("opensrf.system.echo", ["x" * 1500])))
            ok = await recv_until_complete(ws)
            await ws.send(envelope("B2", request("opensrf.system.echo", ["x" * 3000])))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv_json(ws)
            return ok, closed.value

    ok, closed = run(scenario())
    assert results(ok[-1]) == ["x" * 1500]
    assert closed.rcvd.code == 1009


def test_translator_max_message_replaces_the_websocket_limit(rig):
    # limits.max_message and max_frame (1MiB by default) do not cap a
    # translator route, whose default is 8MiB.
    gw = rig.start()

    async def scenario():
        async with client(gw) as ws:
            big = "y" * (3 << 20)
            await ws.send(envelope("L1", request("opensrf.system.echo", [big])))
            reply = await recv_until_complete(ws, 20)
            return results(reply[-1])[0] == big

    assert run(scenario())


def test_activity_log_and_redaction(rig):
    gw = rig.start(log_protect=["open-ils.auth"])

    async def scenario():
        async with client(gw) as ws:
            await ws.send(envelope("A1", request("opensrf.system.echo", [1, {"k": "v"}])))
            await recv_until_complete(ws)
            await ws.send(envelope("A2", request("open-ils.auth.authenticate.init", ["secret"])))
            await recv_until_complete(ws)

    run(scenario())
    log = gw.error_log()
    assert '[127.0.0.1] [] wsgate.test opensrf.system.echo 1, {"k":"v"}' in log
    assert "[127.0.0.1] [] wsgate.test open-ils.auth.authenticate.init **PARAMS REDACTED**" in log
    assert "secret" not in log


def test_forwarded_for_only_from_trusted_proxies(gateway, tmp_path):
    with translator_rig(gateway, tmp_path) as rig:
        trusted = rig.start(trusted_proxies=["127.0.0.0/8"])
        untrusted = rig.start(trusted_proxies=["10.0.0.0/8"])

        async def send(gw, thread):
            headers = {"X-Forwarded-For": "203.0.113.9, 127.0.0.5"}
            async with client(gw, extra_headers=headers) as ws:
                await ws.send(envelope(thread, request("wsgate.add", [1])))
                await recv_until_complete(ws)

        run(send(trusted, "F1"))
        run(send(untrusted, "F2"))
        # From the right, trusted hops are skipped: 127.0.0.5 is a proxy.
        trusted.assert_logged("[203.0.113.9] [] wsgate.test wsgate.add 1")
        untrusted.assert_logged("[127.0.0.1] [] wsgate.test wsgate.add 1")
        assert "203.0.113.9" not in untrusted.error_log()


def test_config_check_reads_the_password_file(rig):
    gw = rig.start(start=False)
    ok = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True, text=True,
                        timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    os.unlink(rig.password_file)
    missing = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                             text=True, timeout=30)
    output = missing.stdout + missing.stderr
    assert missing.returncode == 1, output
    assert rig.password_file in output and "routes[0].translator.password_file" in output, output


def test_node_ws_client_session(rig):
    gw = rig.start()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_translator_client.js")
    out = subprocess.run(["node", script, gw.url("/osrf"), SERVICE], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = json.loads(out.stdout)["seen"]
    session = [s for s in seen if s[0] == "node-session"]
    assert ["node-session", "0", "200"] in session
    assert ["node-session", "2", 42] in session
    drone = [s[2] for s in session if s[1] == "1" and s[2] != "205"][0]
    assert drone in rig.fake.drone_addresses, "whoami answered by the CONNECTed drone"
    assert ["node-other", "1", "h\u00e9"] in seen
    # After the 200, the pipelined requests went to the drone, not through
    # the router.
    routed = [e["body"][0]["__p"]["type"] for e in rig.fake.received("router")
              if e["thread"].startswith("node-session")]
    assert routed == ["CONNECT"]


def test_compression_on_a_translator_route(rig):
    """The translator's JSON is what permessage-deflate is for: with it on
    the route, a large reply goes back compressed several times over."""
    route = dict(rig.route(), compression={"enabled": True})
    gw = rig.start(extra={"routes": [route]})
    params = [{"__c": "aou", "__p": [i, "Branch %d" % i, "BR%d" % i]} for i in range(300)]

    async def scenario():
        async with client(gw) as ws:
            answer = ws.response_headers.get("Sec-WebSocket-Extensions")
            await ws.send(envelope("T1", request("opensrf.system.echo", params)))
            return answer, json.loads(await asyncio.wait_for(ws.recv(), 10))

    answer, reply = run(scenario())
    assert answer.startswith("permessage-deflate")
    assert results(reply) == params
    gw.wait_for(lambda: totals(gw)["compressed_bytes_out"] > 0, 10, message="reply compressed")
    stats = totals(gw)
    assert stats["compressed_bytes_out"] * 4 < stats["deflated_bytes_out"], stats
    assert stats["compressed_bytes_in"] * 4 < stats["inflated_bytes_in"], stats
