#!/usr/bin/python3
"""Worker instructions per WebSocket connection (callgrind), for builds side
by side: each build's wsgated (1 worker) runs under valgrind --tool=callgrind
twice, serving N1 and then, on a fresh server, N2 sequential connections
(upgrade, Close, EOF), and the difference of the worker's instruction counts
over N2 - N1 cancels start-up and shutdown. Callgrind simulates the CPU, so
the figure does not depend on what else the machine is doing.

    bench/connection_callgrind.py [--counts 500,2500] BUILD_DIR [BUILD_DIR...]

BUILD_DIR holds supervisor/wsgated and ctl/wsgatectl (a Release build tree,
or a copy of one). Prints one line per build; runs alternate between the
builds so that drift affects each alike.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REQUEST = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
# A masked Close with code 1000 (mask 01 02 03 04).
CLOSE = bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session(port):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(REQUEST)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed before the 101")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"no 101: {head[:80]!r}")
        sock.sendall(CLOSE)
        while sock.recv(4096):
            pass


def callgrind_total(path):
    with open(path, encoding="utf-8", errors="replace") as profile:
        for line in profile:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no total in {path}")


def worker_instructions(build, connections):
    work = tempfile.mkdtemp(prefix="wsgate-conn-cg-")
    try:
        port = free_port()
        config = os.path.join(work, "wsgate.yaml")
        with open(config, "w", encoding="utf-8") as out:
            out.write(f"daemon: false\nworkers: 1\npid_file: {work}/pid\n"
                      f"control_socket: {work}/sock\n"
                      f"log: {{level: warn, file: {work}/error.log, access_log: {work}/access.log}}\n"
                      f"listen: [{{address: \"127.0.0.1:{port}\"}}]\n"
                      "routes: [{path: /echo, relay: echo}]\n"
                      "timeouts: {watchdog: 0s, worker_start: 60s}\n")
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={work}/cg.%p",
             os.path.join(build, "supervisor", "wsgated"), "-c", config],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ctl = [os.path.join(build, "ctl", "wsgatectl"), "--socket", f"{work}/sock"]
        deadline = time.monotonic() + 120
        while subprocess.run(ctl + ["status"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("wsgated did not start under valgrind")
            time.sleep(0.5)
        for _ in range(connections):
            session(port)
        subprocess.run(ctl + ["stop"], capture_output=True, timeout=300)
        server.wait(timeout=300)
        totals = [callgrind_total(os.path.join(work, name)) for name in os.listdir(work)
                  if name.startswith("cg.") and int(name[3:]) != server.pid]
        if len(totals) != 1:
            raise RuntimeError(f"expected one worker profile, found {len(totals)}")
        return totals[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="500,2500", help="N1,N2 (default 500,2500)")
    parser.add_argument("--runs", type=int, default=2, help="runs per build (default 2)")
    parser.add_argument("builds", nargs="+")
    args = parser.parse_args()
    n1, n2 = (int(n) for n in args.counts.split(","))
    if n2 <= n1:
        parser.error("N2 must be larger than N1")
    figures = {build: [] for build in args.builds}
    for run in range(args.runs):
        order = args.builds if run % 2 == 0 else list(reversed(args.builds))
        for build in order:
            low, high = worker_instructions(build, n1), worker_instructions(build, n2)
            figures[build].append((high - low) / (n2 - n1))
            print(f"run {run + 1} {build}: {figures[build][-1]:.0f} instructions/connection",
                  file=sys.stderr)
    for build, values in figures.items():
        print(f"{build}: {sum(values) / len(values):.0f} worker instructions per connection "
              f"(runs: {', '.join(f'{v:.0f}' for v in values)})")


if __name__ == "__main__":
    main()
