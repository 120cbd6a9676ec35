"""permessage-deflate (RFC 7692) through the real binary, with the clients
that offer it by default: Python websockets and Node ws. The 101 names the
parameters in force, messages echo compressed (RSV1, counted in stats),
small ones go uncompressed, and the inflated size is held to max_message
(1009) however well a message compresses."""
import asyncio
import json
import os
import subprocess

import websockets

from conftest import echo

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def compressing(gateway, compression=None, limits=None, workers=1):
    route = {"path": "/echo", "relay": "echo",
             "compression": {"enabled": True, **(compression or {})}}
    return gateway(workers=workers, extra={"routes": [route], "limits": limits or {}})


def totals(gw):
    return gw.stats()["totals"]


def json_corpus(count):
    """Replies shaped like an OpenSRF gateway's: repetitive JSON."""
    return [json.dumps({"payload": [{"__c": "aou", "__p": [i, f"Branch {i}", "BR" + str(i)] * 80}],
                        "status": "OK", "statusCode": 200}) for i in range(count)]


async def python_echo(url, messages, **options):
    async with websockets.connect(url, open_timeout=10, max_size=None, **options) as ws:
        answer = ws.response_headers.get("Sec-WebSocket-Extensions")
        replies = []
        for message in messages:
            await ws.send(message)
            replies.append(await asyncio.wait_for(ws.recv(), 10))
        return answer, replies


def test_python_websockets_negotiates_and_echoes_compressed(gateway):
    gw = compressing(gateway)
    messages = json_corpus(20) + [b"\x00\x01" * 3000, "small"]
    answer, replies = asyncio.run(python_echo(gw.url(), messages))
    assert answer == DEFAULT_ANSWER
    assert replies == messages
    gw.wait_for(lambda: totals(gw)["compressed_bytes_out"] > 0, 10, message="stats")
    stats = totals(gw)
    assert stats["compression_negotiated"] == 1
    # The JSON compresses several times over, both ways. The client
    # compresses every message; the server leaves "small" (under min_size).
    size = [len(m.encode() if isinstance(m, str) else m) for m in messages]
    assert stats["inflated_bytes_in"] == sum(size)
    assert stats["deflated_bytes_out"] == sum(size[:-1])
    assert stats["compressed_bytes_out"] * 4 < stats["deflated_bytes_out"], stats
    assert stats["compressed_bytes_in"] * 4 < stats["inflated_bytes_in"], stats


def test_route_without_compression_declines(gateway):
    gw = gateway(workers=1)
    answer, replies = asyncio.run(python_echo(gw.url(), ["x" * 5000]))
    assert answer is None and replies == ["x" * 5000]
    assert totals(gw)["compression_negotiated"] == 0


def test_server_max_window_bits_and_takeover_policies(gateway):
    gw = compressing(gateway, {"server_context_takeover": True, "client_context_takeover": True,
                               "server_max_window_bits": 10})
    messages = json_corpus(30)
    answer, replies = asyncio.run(python_echo(gw.url(), messages))
    # Takeover allowed and not refused by the client: only the window.
    assert answer == "permessage-deflate; server_max_window_bits=10"
    assert replies == messages
    # A client that asks for no context takeover gets it.
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    factory = ClientPerMessageDeflateFactory(client_no_context_takeover=True,
                                             server_no_context_takeover=True)
    answer, replies = asyncio.run(python_echo(gw.url(), messages, extensions=[factory]))
    assert answer == ("permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover; server_max_window_bits=10")
    assert replies == messages


def test_node_ws_echoes_compressed(gateway):
    gw = compressing(gateway)
    script = """
const W = require('ws');
const w = new W(process.argv[1], {perMessageDeflate: true});
const text = JSON.stringify({list: Array(400).fill('abcdefgh')});
const bin = Buffer.alloc(8000, 7);
let got = [];
w.on('upgrade', (r) => console.log('ext ' + r.headers['sec-websocket-extensions']));
w.on('open', () => { w.send(text); w.send(bin); });
w.on('message', (data, isBinary) => {
  got.push(isBinary ? data.equals(bin) : data.toString() === text);
  if (got.length === 2) { console.log('ok ' + got.join(',')); w.close(1000); }
});
w.on('close', () => process.exit(0));
w.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
"""
    env = dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules"))
    out = subprocess.run(["node", "-e", script, gw.url()], capture_output=True, text=True,
                         timeout=30, env=env)
    assert out.stdout.splitlines() == ["ext " + DEFAULT_ANSWER, "ok true,true"], \
        out.stdout + out.stderr
    gw.wait_for(lambda: totals(gw)["deflated_bytes_out"] > 0, 10, message="stats")


def test_sixteen_mib_compressed_message_at_and_over_the_limit(gateway):
    limits = {"max_message": "16MiB", "max_frame": "16MiB"}
    gw = compressing(gateway, limits=limits)
    at_limit = "a" * (16 << 20)
    answer, replies = asyncio.run(python_echo(gw.url(), [at_limit]))
    assert answer == DEFAULT_ANSWER and replies == [at_limit]

    async def over():
        async with websockets.connect(gw.url(), open_timeout=10, max_size=None) as ws:
            # ~16 KiB on the wire, one byte over the limit once inflated.
            await ws.send("a" * ((16 << 20) + 1))
            await asyncio.wait_for(ws.wait_closed(), 10)
            return ws.close_code
    assert asyncio.run(over()) == 1009
    gw.wait_for(lambda: totals(gw)["closes_too_big"] == 1, 10, message="counted")
    # The worker served on.
    assert echo(gw.url(), ["after"]) == ["after"]


def test_compression_memory_full_means_no_compression_offered(gateway):
    """With context takeover each connection holds its own streams; a tiny
    limits.compression_memory is full after the first, and the next one is
    answered without the extension (not refused)."""
    gw = compressing(gateway, {"server_context_takeover": True},
                     limits={"compression_memory": "64KiB"})

    async def main():
        first = await websockets.connect(gw.url(), open_timeout=10)
        await first.send("z" * 5000)  # allocates its deflater (~262 KiB)
        assert await asyncio.wait_for(first.recv(), 10) == "z" * 5000
        second = await websockets.connect(gw.url(), open_timeout=10)
        answers = (first.response_headers.get("Sec-WebSocket-Extensions"),
                   second.response_headers.get("Sec-WebSocket-Extensions"))
        await second.send("y" * 5000)
        assert await asyncio.wait_for(second.recv(), 10) == "y" * 5000
        await first.close()
        await second.close()
        return answers
    first, second = asyncio.run(main())
    assert first is not None and second is None
    gw.wait_for(lambda: totals(gw)["compression_declined_memory"] == 1, 10, message="counted")
