#!/usr/bin/python3
"""Benchmarks of permessage-deflate (issue 14), each figure beside a
reference measured in the same run (../shared/BENCHMARKING.md):

1. CPU and ratio: C Node `ws` clients (bench/peers/deflate_client.js, one
   message in flight each) echo a corpus of OpenSRF-like JSON replies
   (200 B to 50 KiB, made here from a fixed seed) through each server in
   turn: wsgated (one worker) without compression, with the default policy
   (no context takeover), with context takeover both ways, and with
   takeover and min_size 0 (every message compressed); Node `ws`
   with perMessageDeflate's defaults (takeover) and with no context
   takeover. Reported: server CPU per message (all of the server's
   processes, from /proc), and wire bytes as a share of payload bytes each
   way (the sockets' byte counts, headers included).
2. Idle: N connections that each exchanged one compressed message each way,
   held idle, under each policy (and without compression): PSS of the
   supervisor and the worker per connection, and its anonymous memory; the
   difference to the uncompressed row is what compression costs an idle
   connection.

usage: bench/deflate_bench.py [--quick] [--build DIR] [--clients C]
                              [--rounds R] [--idle N] [--only cpu|idle]
Every process it starts is stopped on exit, also on failure and Ctrl-C.
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
PEERS = HERE / "peers"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from run_bench import anon_kib, pss_kib, raise_nofile  # noqa: E402
from translator_bench import ROOT, Daemon, cpu_seconds, free_port, stop_process  # noqa: E402

POLICIES = {
    "off": None,
    "default": {"enabled": True},
    "server takeover": {"enabled": True, "server_context_takeover": True},
    "client takeover": {"enabled": True, "client_context_takeover": True},
    "both takeover": {"enabled": True, "server_context_takeover": True,
                      "client_context_takeover": True},
}


def corpus(count=120, seed=7):
    """OpenSRF gateway replies: a result of fieldmapper objects, sizes
    spread evenly in log scale from 200 B to 50 KiB."""
    rng = random.Random(seed)
    names = ["Main Library", "Branch", "Bookmobile", "Annex", "Reading Room", "Archive"]
    out = []
    for i in range(count):
        target = int(200 * (250 ** (i / (count - 1))))
        rows = []
        while True:
            content = {"__c": "osrfResult", "__p": {"status": "OK", "statusCode": 200,
                                                    "content": rows}}
            msg = [{"__c": "osrfMessage", "__p": {"threadTrace": "1", "type": "RESULT",
                                                  "payload": content, "locale": "en-US"}}]
            message = json.dumps({"thread": f"{i:08x}", "log_xid": f"1733{i:09d}",
                                  "osrf_msg": msg}, separators=(",", ":"))
            if len(message) >= target:
                break
            n = rng.randrange(1, 100000)
            rows.append({"__c": "aou", "__p": [
                None, n, f"{rng.choice(names)} {n % 97}", f"BR{n}", rng.choice(["t", "f"]),
                rng.randrange(1, 30), None, f"{n}@example.org", "2026-12-0%d" % rng.randrange(1, 9)]})
        out.append(message)
    return out


class NodeWs:
    """bench/peers/node_ws_echo.js with permessage-deflate."""

    def __init__(self, deflate):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["node", str(PEERS / "node_ws_echo.js"), str(self.port), "127.0.0.1", deflate],
            stdout=subprocess.PIPE, text=True, env=dict(os.environ, NODE_PATH=str(PEERS / "node_modules")))
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            raise RuntimeError(f"node ws did not start: {line!r}")

    def pids(self):
        return [self.process.pid]

    def stop(self):
        stop_process(self.process)


def node_client(*args, **popen):
    env = dict(os.environ, NODE_PATH=str(PEERS / "node_modules"))
    return subprocess.Popen(["node", str(PEERS / "deflate_client.js"), *map(str, args)],
                            stdout=subprocess.PIPE, text=True, env=env, **popen)


def drive(server_pids, port, corpus_path, args):
    """One warm-up pass, then the measured one; server CPU over the latter."""
    url = f"ws://127.0.0.1:{port}/echo"
    warm = node_client("drive", url, corpus_path, args.clients, 1)
    warm.communicate(timeout=300)
    before = sum(cpu_seconds(p) for p in server_pids)
    client = node_client("drive", url, corpus_path, args.clients, args.rounds)
    out, _ = client.communicate(timeout=900)
    after = sum(cpu_seconds(p) for p in server_pids)
    result = json.loads(out.splitlines()[-1])
    if not result.get("ok"):
        raise RuntimeError(f"client failed: {result}")
    result["server_us"] = (after - before) / result["messages"] * 1e6
    # The client reads what the server wrote, and the other way round.
    result["out_share"] = result["wire_read"] / result["payload_in"]
    result["in_share"] = result["wire_written"] / result["payload_out"]
    return result


def cpu_and_ratio(args, work, corpus_path):
    rows = {}
    policies = {name: POLICIES[name] for name in ("off", "default", "both takeover")}
    # Node ws compresses every message when context takeover is on (its
    # threshold applies only without); min_size 0 does the same here.
    policies["both takeover, min_size 0"] = dict(POLICIES["both takeover"], min_size=0)
    for name, policy in policies.items():
        route = {"path": "/echo", "relay": "echo"}
        if policy:
            route["compression"] = policy
        daemon = Daemon(args.build, work, [route])
        try:
            rows[f"wsgate, {name}"] = drive(daemon.pids(), daemon.port, corpus_path, args)
        finally:
            daemon.stop()
    for name, deflate in (("takeover", "takeover"), ("no takeover", "no-takeover")):
        node = NodeWs(deflate)
        try:
            rows[f"node ws, {name}"] = drive(node.pids(), node.port, corpus_path, args)
        finally:
            node.stop()
    return rows


def idle(args, work, corpus_path, name):
    """`corpus_path` holds one message, over min_size and ws's threshold."""
    route = {"path": "/echo", "relay": "echo"}
    if POLICIES[name]:
        route["compression"] = POLICIES[name]
    # No bound on zlib memory: with takeover every connection keeps its
    # streams (the default 256 MiB would decline offers past ~1000).
    daemon = Daemon(args.build, work, [route], limits={"compression_memory": 0})
    client = None
    try:
        time.sleep(1.0)  # let the worker's memory settle after start
        pids = daemon.pids()
        base, base_anon = pss_kib(pids), anon_kib(pids)
        client = node_client("idle", f"ws://127.0.0.1:{daemon.port}/echo", corpus_path, args.idle,
                             start_new_session=True)
        line = client.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"idle client: {line!r}")
        time.sleep(1.0)
        after, after_anon = pss_kib(pids), anon_kib(pids)
        totals = daemon.totals()
        return {"per_conn": (after - base) * 1024 / args.idle,
                "negotiated": totals["compression_negotiated"],
                "compressed_in": totals["compressed_bytes_in"],
                "compressed_out": totals["compressed_bytes_out"],
                "anon_per_conn": (after_anon - base_anon) * 1024 / args.idle,
                "extensions": line.split(" ", 1)[1].strip()}
    finally:
        if client is not None:
            stop_process(client)
        daemon.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--idle", type=int)
    parser.add_argument("--only", choices=["cpu", "idle"])
    args = parser.parse_args()
    args.clients = args.clients or (4 if args.quick else 10)
    args.rounds = args.rounds or (2 if args.quick else 20)
    args.idle = args.idle or (500 if args.quick else 5000)
    nofile = raise_nofile()
    args.idle = min(args.idle, nofile - 200)
    work = tempfile.mkdtemp(prefix="wsg-dbench-")
    try:
        corpus_path = os.path.join(work, "corpus.json")
        messages = corpus()
        with open(corpus_path, "w") as out:
            json.dump(messages, out)
        rows = cpu_and_ratio(args, work, corpus_path) if args.only != "idle" else {}
        idle_path = os.path.join(work, "idle.json")
        with open(idle_path, "w") as out:
            json.dump([next(m for m in messages if len(m) >= 4096)], out)
        idle_rows = {} if args.only == "cpu" else {
            name: idle(args, work, idle_path, name) for name in POLICIES}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sizes = [len(m) for m in messages]
    print(json.dumps({"cpu": rows, "idle": idle_rows, "clients": args.clients,
                      "rounds": args.rounds, "idle_connections": args.idle,
                      "corpus": {"messages": len(sizes), "min": min(sizes), "max": max(sizes),
                                 "mean": sum(sizes) / len(sizes)}}, indent=1))
    print(f"corpus: {len(sizes)} messages, {min(sizes)}..{max(sizes)} B, mean "
          f"{sum(sizes) / len(sizes):.0f} B; {args.clients} connections x {args.rounds} rounds")
    print("| server | CPU per message (us) | / wsgate off | wire/payload out | wire/payload in |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        reference = rows["wsgate, off"]["server_us"]
        print(f"| {name} | {r['server_us']:.1f} | {r['server_us'] / reference:.2f} | "
              f"{r['out_share']:.3f} | {r['in_share']:.3f} |")
    print(f"idle ({args.idle} connections, one compressed message each way):")
    print("| policy | PSS per connection (B) | anonymous per connection (B) | negotiated |")
    print("| --- | --- | --- | --- |")
    for name, r in idle_rows.items():
        print(f"| {name} | {r['per_conn']:.0f} | {r['anon_per_conn']:.0f} | {r['negotiated']} |")


if __name__ == "__main__":
    main()
