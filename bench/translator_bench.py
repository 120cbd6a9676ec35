#!/usr/bin/python3
"""Benchmarks of the translator route (issue 13), each figure beside a
reference measured in the same run (../shared/BENCHMARKING.md):

1. Round trips: K Python websockets clients, each sending wsgate.add
   requests one after another for D seconds through a Release wsgated
   (one worker) to the fake OpenSRF router and drones of the integration
   tests (tests/integration/opensrf_fake.py) on a real redis-server.
   Reported: requests per second, the worker's CPU per request, and, in the
   same run, redis-server's CPU per request and the worker's CPU per
   message of an echo route driven by the same clients with the same
   message: the translator's cost against two references.
   The Python fake services, not wsgated, bound the request rate.
2. Idle: N idle connections (wsgate-loadgen --mode idle) on the translator
   route, then on an echo route, one fresh wsgated each: PSS of the
   supervisor and the worker per connection, and the Redis connections the
   gateway account holds (CLIENT LIST) beside the worker's
   translator_bus_connections.

usage: bench/translator_bench.py [--quick] [--build DIR] [--clients K]
                                 [--seconds D] [--idle N]
Every process it starts is stopped on exit, also on failure and Ctrl-C.
"""
import argparse
import asyncio
import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import websockets  # noqa: E402

from opensrf_bus import redis_server  # noqa: E402
from opensrf_fake import fake_opensrf  # noqa: E402
from run_bench import fd_count, pss_kib, raise_nofile  # noqa: E402
from translator_support import envelope, request  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process):
    """SIGTERM, up to 10 s, then SIGKILL."""
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    if process.poll() is None:
        process.kill()
        process.wait(5)


class Daemon:
    """One foreground wsgated with one worker and the given routes."""

    def __init__(self, build, work, routes, idle_timeout="0", limits=None):
        self.dir = tempfile.mkdtemp(dir=work)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "ctl.sock")
        self.ctl = os.path.join(build, "ctl", "wsgatectl")
        config = {
            "daemon": False, "workers": 1,
            "pid_file": os.path.join(self.dir, "pid"), "control_socket": self.socket,
            "log": {"level": "warn", "file": os.path.join(self.dir, "error.log"),
                    "access_log": "off"},
            "listen": [{"address": f"127.0.0.1:{self.port}"}],
            "limits": {"max_connections": 20000, **(limits or {})},
            "timeouts": {"idle": idle_timeout, "ping_interval": 0, "worker_start": "30s",
                         "stop": "5s"},
            "stats_interval": "200ms",
            "routes": routes,
        }
        path = os.path.join(self.dir, "wsgate.yaml")
        with open(path, "w") as out:
            json.dump(config, out)
        self.process = subprocess.Popen([os.path.join(build, "supervisor", "wsgated"), "-c", path],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.dir, "stderr"), "w"))
        self.wait(lambda: self.worker_pid() is not None, 20, "wsgated ready")

    def query(self, command):
        done = subprocess.run([self.ctl, "--socket", self.socket, "--json", command],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            return None
        return json.loads(done.stdout)

    def worker_pid(self):
        answer = self.query("workers")
        if not answer:
            return None
        pids = [w["pid"] for w in answer["workers"] if w.get("pid") and w.get("state") == "Ready"]
        return pids[0] if pids else None

    def totals(self):
        return self.query("stats")["totals"]

    def pids(self):
        return [self.process.pid, self.worker_pid()]

    @staticmethod
    def wait(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if predicate():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


async def drive(url, clients, seconds, text):
    """K clients, each sending `text` and awaiting one reply, for seconds."""
    counts = [0] * clients
    stop_at = time.monotonic() + seconds

    async def one(i):
        async with websockets.connect(url, max_size=None) as ws:
            while time.monotonic() < stop_at:
                await ws.send(text)
                await ws.recv()
                counts[i] += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    return sum(counts)


def round_trips(args, build, work, bus, password_file):
    routes = [{"path": "/osrf", "relay": "translator",
               "translator": {"domain": "localhost", "port": bus.port,
                              "password_file": password_file}},
              {"path": "/echo", "relay": "echo"}]
    daemon = Daemon(build, work, routes)
    try:
        daemon.wait(lambda: daemon.totals()["translator_bus_connections"] >= 2, 20, "bus up")
        text = envelope("bench-thread", request("wsgate.add", [2, 3]))
        results = {}
        for path in ("/osrf", "/echo"):
            url = f"ws://127.0.0.1:{daemon.port}{path}"
            asyncio.run(drive(url, args.clients, 1.0, text))  # warm-up
            worker = daemon.worker_pid()
            w0, r0, t0 = cpu_seconds(worker), cpu_seconds(bus.process.pid), time.monotonic()
            n = asyncio.run(drive(url, args.clients, args.seconds, text))
            w1, r1, t1 = cpu_seconds(worker), cpu_seconds(bus.process.pid), time.monotonic()
            results[path] = {"n": n, "rate": n / (t1 - t0), "worker_us": (w1 - w0) / n * 1e6,
                             "redis_us": (r1 - r0) / n * 1e6}
        return results
    finally:
        daemon.stop()


def idle(args, build, work, bus, password_file, path):
    routes = [{"path": "/osrf", "relay": "translator",
               "translator": {"domain": "localhost", "port": bus.port,
                              "password_file": password_file}},
              {"path": "/echo", "relay": "echo"}]
    daemon = Daemon(build, work, routes)
    loadgen = None
    try:
        daemon.wait(lambda: daemon.totals()["translator_bus_connections"] >= 2, 20, "bus up")
        time.sleep(1.0)  # let the worker's memory settle after start
        pids = daemon.pids()
        base_pss, base_fds = pss_kib(pids), fd_count([daemon.worker_pid()])
        argv = [os.path.join(build, "bench", "wsgate-loadgen"), "--url",
                f"ws://127.0.0.1:{daemon.port}{path}", "--mode", "idle", "-c", str(args.idle),
                "-d", "600", "--connect-concurrency", "500"]
        loadgen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        daemon.wait(lambda: fd_count([daemon.worker_pid()]) - base_fds >= args.idle,
                    60 + args.idle / 200, f"{args.idle} idle connections")
        time.sleep(1.0)
        after = pss_kib(pids)
        gateway = [c for c in bus.client("opensrf").client_list() if c.get("user") == "gateway"]
        return {"per_conn": (after - base_pss) * 1024 / args.idle, "base_kib": base_pss,
                "after_kib": after, "bus_connections": daemon.totals()["translator_bus_connections"],
                "redis_gateway_connections": len(gateway), "argv": " ".join(argv)}
    finally:
        if loadgen is not None:
            stop_process(loadgen)
        daemon.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    parser.add_argument("--clients", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--idle", type=int)
    args = parser.parse_args()
    args.clients = args.clients or (8 if args.quick else 20)
    args.seconds = args.seconds or (3 if args.quick else 10)
    args.idle = args.idle or (1000 if args.quick else 10000)
    nofile = raise_nofile()
    if args.idle + 200 > nofile:
        args.idle = nofile - 200
    work = tempfile.mkdtemp(prefix="wsg-tbench-")
    try:
        with redis_server(pathlib.Path(work)) as bus:
            password_file = os.path.join(work, "password")
            with open(password_file, "w") as out:
                out.write(bus.gateway_password + "\n")
            with fake_opensrf(bus, drones=4):
                rt = round_trips(args, args.build, work, bus, password_file)
                osrf_idle = idle(args, args.build, work, bus, password_file, "/osrf")
                echo_idle = idle(args, args.build, work, bus, password_file, "/echo")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t, e = rt["/osrf"], rt["/echo"]
    print(json.dumps({"round_trips": rt, "idle_translator": osrf_idle, "idle_echo": echo_idle,
                      "clients": args.clients, "seconds": args.seconds, "idle": args.idle},
                     indent=1))
    print(f"translator: {t['rate']:.0f} req/s, worker {t['worker_us']:.1f} us/req, "
          f"redis {t['redis_us']:.1f} us/req, worker/redis {t['worker_us'] / t['redis_us']:.2f}")
    print(f"echo: {e['rate']:.0f} msg/s, worker {e['worker_us']:.1f} us/msg; "
          f"translator/echo worker CPU {t['worker_us'] / e['worker_us']:.2f}")
    print(f"idle: translator {osrf_idle['per_conn']:.0f} B/conn, echo {echo_idle['per_conn']:.0f} "
          f"B/conn; {args.idle} translator connections: bus_connections "
          f"{osrf_idle['bus_connections']}, Redis gateway connections "
          f"{osrf_idle['redis_gateway_connections']}")


if __name__ == "__main__":
    main()
