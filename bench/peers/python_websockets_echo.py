#!/usr/bin/python3
"""Python `websockets` echo server for scripts/bench (Debian's
python3-websockets; run it with /usr/bin/python3). Echoes every message back
with the same type. Compression off, max_size 64 MiB, no keepalive pings,
binds 127.0.0.1 only. Prints "listening HOST:PORT" once it accepts.

usage: python_websockets_echo.py PORT [HOST]
"""
import asyncio
import signal
import sys

import websockets


async def echo(ws, _path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, host, port, compression=None, max_size=64 * 1024 * 1024,
                                max_queue=64, ping_interval=None, close_timeout=1,
                                backlog=4096) as server:
        bound = server.sockets[0].getsockname()
        print(f"listening {bound[0]}:{bound[1]}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
