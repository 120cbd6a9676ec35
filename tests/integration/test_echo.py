"""Echo through the real wsgated with independent clients: Python's
websockets and Node's ws."""
import asyncio
import json
import os
import subprocess

import pytest
import websockets

HERE = os.path.dirname(os.path.abspath(__file__))


async def python_echo(url, messages, **kwargs):
    async with websockets.connect(url, ping_interval=None, max_size=2**24, **kwargs) as ws:
        for m in messages:
            await ws.send(m)
        got = [await asyncio.wait_for(ws.recv(), 10) for _ in messages]
        return got, ws.subprotocol


def test_python_websockets_echo_text_and_binary(gateway):
    gw = gateway(workers=2)
    messages = ["hello", "", "é" * 1000, b"\x00\x01\xff", b"x" * 200000, "z" * 65536]
    got, _ = asyncio.run(python_echo(gw.url(), messages))
    assert got == messages


def test_node_ws_echo(gateway):
    gw = gateway(workers=2)
    env = dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules"))
    out = subprocess.run(["node", os.path.join(HERE, "node_echo_client.js"), gw.url(), "40"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["received"] == 80 and result["code"] == 1000


def test_WS_SP_01_subprotocol_selected_from_route_list(gateway):
    gw = gateway(workers=1, extra={"routes": [
        {"path": "/echo", "relay": "echo", "subprotocols": ["chat.v2", "chat.v1"]}]})
    _, protocol = asyncio.run(python_echo(gw.url(), ["x"], subprotocols=["chat.v1", "chat.v2"]))
    assert protocol == "chat.v2"  # the route's preference order wins
    # No match: a 400 naming what the route serves, never a 101 without
    # Sec-WebSocket-Protocol, which the client would fail (issue 10 item 11).
    with pytest.raises(websockets.InvalidStatusCode) as refused:
        asyncio.run(python_echo(gw.url(), ["x"], subprotocols=["other"]))
    assert refused.value.status_code == 400
    # Offering nothing still gets a 101 without the header.
    _, protocol = asyncio.run(python_echo(gw.url(), ["x"]))
    assert protocol is None


def test_many_concurrent_clients_all_echo(gateway):
    gw = gateway(workers=2)

    async def main():
        async def one(i):
            msgs = [f"{i}-{k}" for k in range(20)]
            got, _ = await python_echo(gw.url(), msgs)
            return got == msgs
        return await asyncio.gather(*(one(i) for i in range(50)))

    assert all(asyncio.run(main()))
    stats = gw.wait_for(lambda: (s := gw.stats()["totals"])["messages_in"] >= 1000 and s, 5)
    assert stats["messages_out"] >= 1000
    assert stats["handshakes_ok"] >= 50


def test_access_log_line_per_closed_connection(gateway):
    gw = gateway(workers=1)
    asyncio.run(python_echo(gw.url(), ["abc", b"12345"]))
    line = gw.wait_for(lambda: next((l for l in gw.access_log().splitlines()
                                     if "route=/echo" in l), None), 5)
    assert "messages_in=2" in line and "bytes_in=8" in line
    assert "messages_out=2" in line and "close_code=1000" in line
    assert "closed_by=client" in line and "status=101" in line
