#!/usr/bin/python3
"""Measures how evenly wsgated spreads a burst of connections over its
workers: starts wsgated with W workers on 127.0.0.1:0, opens N WebSocket
connections as fast as possible, then reads each worker's
connections_accepted from `wsgatectl stats --json` and prints
busiest/mean. Everything it starts is stopped before it exits.

usage: bench/accept_balance.py BUILD_DIR [--workers 4] [--connections 4000]
"""
import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

REQUEST = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def ctl(build, config, *args):
    out = subprocess.run([f"{build}/ctl/wsgatectl", "-c", config, "--json", *args],
                         capture_output=True, text=True, timeout=10)
    return json.loads(out.stdout) if out.returncode == 0 else None


async def burst_and_count(build, config, port, count):
    """Opens `count` upgraded connections at once, then returns each
    worker's connections_accepted while they are all still open."""
    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        await reader.readuntil(b"\r\n\r\n")
        return writer
    writers = await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(0.5)  # one stats_interval and then some
    stats = ctl(build, config, "stats")
    for w in writers:
        w.close()
    return [w["connections_accepted"] for w in stats["workers"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--connections", type=int, default=4000)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix="wsgate-balance-")
    config = os.path.join(work, "wsgate.json")
    with open(config, "w") as f:
        json.dump({"daemon": False, "workers": args.workers, "pid_file": "wsgated.pid",
                   "control_socket": "wsgated.sock", "log": {"file": "error.log"},
                   "listen": [{"address": "127.0.0.1:0", "backlog": 4096}],
                   "limits": {"max_connections": args.connections * 2},
                   "timeouts": {"ping_interval": 0, "idle": 0},
                   "stats_interval": "200ms",
                   "routes": [{"path": "/echo", "relay": "echo"}]}, f)
    daemon = subprocess.Popen([f"{args.build}/supervisor/wsgated", "--foreground", "-c", config],
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline:
            status = ctl(args.build, config, "status")
            if status and status.get("ok"):
                break
            time.sleep(0.1)
        port = status["listeners"][0]["port"]
        accepted = asyncio.run(burst_and_count(args.build, config, port, args.connections))
        mean = sum(accepted) / len(accepted)
        print(f"workers={args.workers} connections={args.connections} "
              f"per_worker={accepted} busiest/mean={max(accepted) / mean:.3f}")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()


if __name__ == "__main__":
    sys.exit(main())
