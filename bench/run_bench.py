#!/usr/bin/python3
"""End-to-end benchmarks of wsgated beside a raw TCP echo (the floor), Node
`ws`, Python `websockets` and websocketd+cat, measured in the same run.
scripts/bench installs the peers, builds Release and runs this; it can also
be run by hand once everything is built.

Method (../shared/BENCHMARKING.md): every server and the load generator run
in a private network namespace when possible (root: unshare -n, lo up), the
server pinned to CPU 0 and the generator to CPU 1, the server in its own
cgroup so its CPU time per message can be read (cgroup v1 cpuacct or v2
cpu.stat). Each scenario runs a few times (full: 3 runs, 2 s warm-up, 10 s
measured; --quick: 1 run, 0.2 s warm-up, 0.5 s measured, 250 instead of
1000 connections, 1000 idle (500 TLS), so that it takes under a minute on a
2-core box); tables give medians and min-max.

TLS (issue 4): full and resumed wss:// handshakes per second next to the
bound `openssl speed` gives on the server's core in the same run (one ECDSA
P-256 sign + two X25519 ops per full handshake), wss:// echo as a ratio of
ws:// echo on the same wsgated, and memory per idle wss:// connection with
release_buffers on and off (plain ws:// beside it).

Proxy relay (issue 11): wsgate's relay: proxy beside Debian's websockify,
both in front of the same raw TCP echo upstream (wsgate-tcp-echo, pinned to
the server CPU but in its own cgroup, so server CPU per message excludes
it), echoes checked as a byte stream (wsgate-loadgen --stream); idle
proxied connections are counted open once the upstream holds them.

Exec relay (issue 12): wsgate's relay: exec beside Debian's websocketd, both
running /bin/cat once per connection in line/text mode, pinned to the server
CPU with their programs, which inherit the server's cgroup (so server CPU
per message or per connection includes the children; each run checks that
they are in it). exec32: 32 B echo; exec_connect: connect, one message,
close, by `run_bench.py connect1` (a small epoll driver: wsgate-loadgen's
connect mode closes right after the 101); exec_idle: PSS per idle connection
of the whole process tree, split into the programs' and the server's own.
The generated section of BENCHMARKS.md (between <!-- bench:begin --> and
<!-- bench:end -->) is rewritten with the tables, the exact command of every
figure and the machine. Every process started here is stopped on exit, also
on failure and Ctrl-C.

Issue 16: callgrind-q16 counts the worker's user-space instructions per
message under valgrind (two runs, N1 and N2 echoes, difference over
difference); idle10k holds 10 000 idle connections and gives PSS and
anonymous bytes per connection. --baseline-build DIR runs the wsgate of
another build (an earlier commit's) beside this one in every wsgate echo,
idle and callgrind scenario, alternating which goes first, and adds an A/B
table: the same-run comparison every performance change is judged by.

usage: bench/run_bench.py [--quick] [--only SCENARIO[,SCENARIO...]] [--build DIR]
                          [--baseline-build DIR] [--callgrind-messages N1,N2]
                          [--callgrind-profiles DIR]
                          [--generator PATH] [--wsbench PATH] [--tcp-echo PATH]
                          [--no-write] [--no-netns] [--runs N] [--list]
       bench/run_bench.py connect1 --url ws://HOST:PORT/PATH [-c N] [-s BYTES]
                          [-w SEC] [-d SEC] [--cpu-counter PATH]

--only with writing on replaces the whole generated section with the chosen
scenarios' tables: use --no-write to measure a few.
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
HOST = "127.0.0.1"
SERVER_CPU = 0
GENERATOR_CPU = 1


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

STARTED = []  # every Popen we started, each in its own session
TMPDIRS = []
CGROUPS = []


def spawn(argv, **kw):
    proc = subprocess.Popen(argv, start_new_session=True, **kw)
    STARTED.append(proc)
    return proc


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def tree_pids(root):
    """root and every live descendant of it."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = parent_of(entry)
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def stop_process(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signals proc's process group and every descendant, waits, then
    SIGKILLs whatever is left."""
    if proc is None:
        return
    pids = tree_pids(proc.pid) if proc.poll() is None else []
    for target in [("pg", proc.pid)] + [("p", p) for p in pids]:
        try:
            if target[0] == "pg":
                os.killpg(target[1], sig)
            else:
                os.kill(target[1], sig)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and not zombie(p)
                                              for p in pids):
        time.sleep(0.05)
    for target in [("pg", proc.pid)] + [("p", p) for p in pids]:
        try:
            if target[0] == "pg":
                os.killpg(target[1], signal.SIGKILL)
            else:
                os.kill(target[1], signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def cleanup_all():
    for proc in reversed(STARTED):
        if proc.poll() is None:
            stop_process(proc, timeout=5)
    for group in CGROUPS:
        remove_cgroup(group)
    for path in TMPDIRS:
        shutil.rmtree(path, ignore_errors=True)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# -------------------------------------------------------------- environment

def enter_netns():
    """Moves this process into a new network namespace with lo up. Returns
    a description of the network used."""
    if os.geteuid() != 0:
        return "plain loopback (not root, so no private network namespace)"
    ip = shutil.which("ip")
    if not ip:
        return "plain loopback (no ip(8) to bring lo up in a namespace)"
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    if libc.unshare(clone_newnet) != 0:
        return f"plain loopback (unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())})"
    if subprocess.run([ip, "link", "set", "lo", "up"]).returncode != 0:
        raise SystemExit("ip link set lo up failed in the new network namespace")
    # Per-namespace settings: more ports per source address, deep accept queues.
    for key, value in (("net/ipv4/ip_local_port_range", "1024 65535"),
                       ("net/core/somaxconn", "65535"),
                       ("net/ipv4/tcp_max_syn_backlog", "65535")):
        try:
            with open(f"/proc/sys/{key}", "w") as f:
                f.write(value)
        except OSError:
            pass
    return "private network namespace (unshare -n, lo up, only 127.0.0.1)"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard
    if os.geteuid() == 0:
        try:
            want = max(hard, int(open("/proc/sys/fs/nr_open").read()))
        except (OSError, ValueError):
            pass
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pinning():
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:
        cpus = set()
    if shutil.which("taskset") and {SERVER_CPU, GENERATOR_CPU} <= cpus:
        return True
    return False


class Cgroups:
    """Per-server CPU accounting: cgroup v1 cpuacct (cpuacct.usage, ns) or
    cgroup v2 (cpu.stat, usage_usec). None when neither is writable."""

    def __init__(self):
        self.kind = None
        self.base = None
        candidates = [("v1 cpuacct", "/sys/fs/cgroup/cpuacct", "cpuacct.usage"),
                      ("v1 cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "cpuacct.usage"),
                      ("v2", "/sys/fs/cgroup", "cpu.stat"),
                      ("v2", "/sys/fs/cgroup/unified", "cpu.stat")]
        for kind, base, counter in candidates:
            if not os.path.exists(os.path.join(base, "cgroup.procs")):
                continue
            if kind == "v2" and not os.path.exists(os.path.join(base, "cgroup.controllers")):
                continue
            probe = os.path.join(base, f"wsgate-bench-probe-{os.getpid()}")
            try:
                os.mkdir(probe)
            except OSError:
                continue
            ok = os.path.exists(os.path.join(probe, counter))
            os.rmdir(probe)
            if ok:
                self.kind, self.base, self.counter = kind, base, counter
                break

    def describe(self):
        if not self.kind:
            return "none (no writable cgroup with a CPU counter)"
        return f"cgroup {self.kind} ({self.base}/<server>/{self.counter})"

    def create(self, name):
        if not self.kind:
            return None
        path = os.path.join(self.base, f"wsgate-bench-{os.getpid()}-{name}")
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError:
            return None
        CGROUPS.append(path)
        return path

    def counter_path(self, group):
        return os.path.join(group, self.counter) if group else None


def remove_cgroup(path):
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def join_cgroup(group):
    """preexec_fn: puts the child (before exec) into group."""
    def apply():
        if group:
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
    return apply


def read_cpu_ns(path):
    """Total CPU of a cgroup in ns from cpuacct.usage or cpu.stat."""
    try:
        text = open(path).read()
    except (OSError, TypeError):
        return None
    if path.endswith("cpu.stat"):
        m = re.search(r"^usage_usec (\d+)", text, re.M)
        return int(m.group(1)) * 1000 if m else None
    return int(text.split()[0])


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def anon_kib(pids):
    """Sum of Pss_Anon (anonymous memory: heap, stacks, buffers; Private_Dirty
    on kernels without the field) over pids. Unlike the whole PSS (and even
    Private_Clean, which holds a library's pages while no one else maps
    them), it does not move when other processes start or stop sharing a
    library; an exec'd program shares no anonymous page with its parent."""
    total = 0
    for pid in pids:
        try:
            fields = {}
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(("Pss_Anon:", "Private_Dirty:")):
                        fields[line.split(":")[0]] = int(line.split()[1])
            total += fields.get("Pss_Anon", fields.get("Private_Dirty", 0))
        except OSError:
            pass
    return total


def fd_count(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return total


# ------------------------------------------------------------------ servers

class Server:
    """One echo server under test, pinned to the server CPU, in its own cgroup."""
    name = ""
    label = ""
    raw = False        # raw TCP (no WebSocket)
    binary_ok = True   # can echo binary messages
    idle_cap = None    # most idle connections it is asked to hold, with why

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.port = None
        self.group = None
        self.argv = []
        self.dir = tempfile.mkdtemp(prefix=f"wsgate-bench-{self.name}-")
        TMPDIRS.append(self.dir)

    @property
    def cpu_counter(self):
        return self.ctx.cgroups.counter_path(self.group)

    def prefix(self):
        return ["taskset", "-c", str(SERVER_CPU)] if self.ctx.pin else []

    def launch(self, argv, env=None):
        self.group = self.group or self.ctx.cgroups.create(self.name)
        self.argv = self.prefix() + argv
        out = open(os.path.join(self.dir, "output.log"), "ab")
        self.proc = spawn(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                          preexec_fn=join_cgroup(self.group), env=env)
        out.close()

    def output(self):
        try:
            return open(os.path.join(self.dir, "output.log"), errors="replace").read()[-3000:]
        except OSError:
            return ""

    def start(self):
        raise NotImplementedError

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, fast=False):
        stop_process(self.proc, signal.SIGKILL if fast else signal.SIGTERM)
        self.proc = None

    def pids(self):
        return tree_pids(self.proc.pid) if self.alive() else []

    def target(self):
        return {"raw": self.raw, "host": HOST, "port": self.port, "path": "/"}

    def command(self):
        return shlex.join(self.argv)


class WsgateServer(Server):
    label = "wsgate"

    def __init__(self, ctx, workers=1, extra=None, name="wsgate", label=None, tls=None,
                 build=None, wrapper=None):
        """tls: None, or {"release_buffers": bool}: a second listener, wss://
        with the run's ECDSA P-256 certificate (ctx.certificate) and X25519.
        build: None (the run's --build) or ctx.base (--baseline-build): whose
        wsgated and wsgatectl run. wrapper: argv put before wsgated (the
        callgrind scenario's valgrind)."""
        self.name = name
        Server.__init__(self, ctx)
        build = build or ctx.main
        self.wsgated, self.wsgatectl = build["wsgated"], build["wsgatectl"]
        self.wrapper = list(wrapper or [])
        self.start_timeout = 60 if self.wrapper else 20
        self.workers = workers
        self.tls = tls
        self.tls_port = None
        self.label = label or (f"wsgate ({workers} workers)" if workers > 1 else "wsgate")
        self.config = os.path.join(self.dir, "wsgate.json")
        config = {
            "daemon": False, "workers": workers,
            "pid_file": os.path.join(self.dir, "wsgated.pid"),
            "control_socket": os.path.join(self.dir, "wsgated.sock"),
            "log": {"level": "warn", "file": os.path.join(self.dir, "error.log"),
                    "access_log": "off"},
            "listen": [{"address": f"{HOST}:0", "backlog": 65535}],
            "limits": {"max_connections": 200000},
            "timeouts": {"idle": 0, "ping_interval": 0, "worker_start": "30s", "stop": "5s"},
            "routes": [{"path": "/echo", "relay": "echo"}],
        }
        if tls is not None:
            cert, key = ctx.certificate
            config["listen"].append({
                # Port 0 twice is "the same address" to the config check.
                "address": f"{HOST}:{free_port()}", "backlog": 65535,
                "tls": {"certificates": [{"certificate": cert, "key": key, "names": ["localhost"]}],
                        "groups": "X25519",
                        "release_buffers": bool(tls.get("release_buffers", True))}})
        for key, value in (extra or {}).items():
            if isinstance(value, dict):
                config.setdefault(key, {}).update(value)
            else:
                config[key] = value
        self.config_doc = config
        with open(self.config, "w") as f:
            json.dump(config, f, indent=1)

    def ctl(self, *args, timeout=30):
        return subprocess.run([self.wsgatectl, "-c", self.config, "--json", *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self):
        self.launch(self.wrapper + [self.wsgated, "--foreground", "-c", self.config])
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"wsgated exited: {self.output()} {self.error_log()}")
            try:
                status = json.loads(self.ctl("status", timeout=5).stdout)
                if status.get("workers_ready") == status.get("workers") and status["listeners"]:
                    self.port = status["listeners"][0]["port"]
                    if self.tls is not None:
                        self.tls_port = status["listeners"][1]["port"]
                    return
            except (ValueError, KeyError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"wsgated: workers not ready within {self.start_timeout} s")

    def error_log(self):
        try:
            return open(os.path.join(self.dir, "error.log"), errors="replace").read()[-3000:]
        except OSError:
            return ""

    def stop(self, fast=False):
        if self.alive():
            # Under valgrind a worker's drain and callgrind's dump take longer.
            stop_process(self.proc, signal.SIGKILL if fast else signal.SIGTERM,
                         timeout=60 if self.wrapper else 10)
        # Workers are forks carrying -c CONFIG: make sure none outlives us.
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    args = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
                except OSError:
                    continue
                if self.config.encode() in args:
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.proc = None

    def target(self):
        return {"raw": False, "host": HOST, "port": self.port, "path": "/echo"}

    def tls_target(self):
        cert = self.ctx.certificate[0]
        return {"raw": False, "tls": True, "host": HOST, "port": self.tls_port, "path": "/echo",
                "ca": cert, "servername": "localhost"}

    def command(self):
        text = (shlex.join(self.argv) + "   # wsgate.json: "
                + json.dumps(self.config_doc, separators=(",", ":")))
        text = text.replace(self.dir + "/", "")
        if self.tls is not None:
            text = text.replace(os.path.dirname(self.ctx.certificate[0]) + "/", "")
        return text


class TcpEchoServer(Server):
    name = "tcp"
    label = "raw TCP echo"
    raw = True

    def start(self):
        self.port = free_port()
        self.launch([self.ctx.tcp_echo, str(self.port), HOST])
        if not wait_port(self.port, self.proc):
            raise RuntimeError(f"tcp echo did not listen: {self.output()}")


class NodeServer(Server):
    name = "node"
    label = "node ws"

    def start(self):
        self.port = free_port()
        self.launch(["node", os.path.join(PEERS, "node_ws_echo.js"), str(self.port), HOST])
        if not wait_port(self.port, self.proc):
            raise RuntimeError(f"node ws echo did not listen: {self.output()}")


class PythonServer(Server):
    name = "python"
    label = "python websockets"

    def start(self):
        self.port = free_port()
        self.launch(["/usr/bin/python3", os.path.join(PEERS, "python_websockets_echo.py"),
                     str(self.port), HOST])
        if not wait_port(self.port, self.proc):
            raise RuntimeError(f"python websockets echo did not listen: {self.output()}")


class WebsocketdServer(Server):
    name = "websocketd"
    label = "websocketd + cat"
    binary_ok = False  # line mode: cat echoes lines; binary payloads contain newlines

    def start(self):
        self.port = free_port()
        self.launch(["websocketd", f"--port={self.port}", f"--address={HOST}", "--binary=false",
                     "--loglevel=fatal", "cat"])
        if not wait_port(self.port, self.proc):
            raise RuntimeError(f"websocketd did not listen: {self.output()}")


class TcpEchoUpstream(TcpEchoServer):
    """The TCP echo behind the proxy servers: on the server CPU, in a cgroup
    of its own, so the proxies' CPU per message does not include it."""
    name = "upstream"
    label = "TCP echo upstream"


class WsgateProxyServer(WsgateServer):
    """wsgated with a relay: proxy route /p to the upstream, beside /echo."""

    def __init__(self, ctx, upstream_port):
        WsgateServer.__init__(self, ctx, name="wsgate-proxy", label="wsgate (relay: proxy)", extra={
            "routes": [{"path": "/echo", "relay": "echo"},
                       {"path": "/p", "relay": "proxy",
                        "proxy": {"upstream": f"tcp://{HOST}:{upstream_port}"}}]})

    def target(self):
        return {"raw": False, "host": HOST, "port": self.port, "path": "/p"}


class WebsockifyServer(Server):
    name = "websockify"
    label = "websockify"

    def __init__(self, ctx, upstream_port):
        Server.__init__(self, ctx)
        self.upstream_port = upstream_port

    def start(self):
        # Defaults: one forked process per client, no subprotocol required
        # (binary when none is offered).
        self.port = free_port()
        self.launch(["websockify", f"{HOST}:{self.port}", f"{HOST}:{self.upstream_port}"])
        if not wait_port(self.port, self.proc):
            raise RuntimeError(f"websockify did not listen: {self.output()}")


# The exec scenarios' program, the same file for both servers: a line echo
# (websocketd's line mode and wsgate's mode: text both write message + "\n"
# and send back each line).
EXEC_PROGRAM = "/bin/cat"
EXEC_COMM = "cat"  # its /proc/PID/comm once running (wsgate's launcher execs into it)


class WsgateExecServer(WsgateServer):
    """wsgated with a relay: exec route /exec running EXEC_PROGRAM in text
    mode, beside /echo. max_processes is raised from its default 256 so that
    the idle scenario's N (and connections still closing in exec_connect) are
    not answered 429."""

    def __init__(self, ctx):
        WsgateServer.__init__(self, ctx, name="wsgate-exec", label="wsgate (relay: exec)", extra={
            "routes": [{"path": "/echo", "relay": "echo"},
                       {"path": "/exec", "relay": "exec",
                        "exec": {"command": [EXEC_PROGRAM], "mode": "text",
                                 "max_processes": 100000}}]})

    def target(self):
        return {"raw": False, "host": HOST, "port": self.port, "path": "/exec"}


class WebsocketdExecServer(WebsocketdServer):
    """Debian's websocketd running EXEC_PROGRAM (by absolute path, so both
    servers run the same file) in line mode; no --maxforks (unlimited)."""
    name = "websocketd-exec"
    label = "websocketd + /bin/cat"

    def start(self):
        self.port = free_port()
        self.launch(["websocketd", f"--port={self.port}", f"--address={HOST}", "--binary=false",
                     "--loglevel=fatal", EXEC_PROGRAM])
        if not wait_port(self.port, self.proc):
            raise RuntimeError(f"websocketd did not listen: {self.output()}")


def comm_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def cgroup_of(pid, cgroups):
    """pid's cgroup path (relative to the hierarchy's root) in the hierarchy
    that run_bench reads CPU from, or None."""
    try:
        lines = open(f"/proc/{pid}/cgroup").read().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if cgroups.kind == "v2" and hierarchy == "0":
            return path
        if cgroups.kind and cgroups.kind.startswith("v1") and "cpuacct" in controllers.split(","):
            return path
    return None


CLOCK_TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")


def proc_cpu_ns(pid):
    """(own CPU, reaped children's CPU) of pid in ns, or None. Own: the sum
    of its threads' /proc/PID/task/TID/schedstat run time (ns, exact; a
    short-lived program's CPU is far below one clock tick) plus nothing for
    threads that already exited; reaped: cutime + cstime from
    /proc/PID/stat (clock ticks, but summed over many children)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            f = stat.read().rsplit(")", 1)[1].split()
        reaped = (int(f[13]) + int(f[14])) * CLOCK_TICK_NS
        own = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as sched:
                own += int(sched.read().split()[0])
        return own, reaped
    except (OSError, IndexError, ValueError):
        return None


def tree_sample(srv, cgroups):
    """What srv's process tree holds now: processes, EXEC_COMM programs, how
    many of each are in srv's cgroup (children must inherit it for the CPU
    figures to include them; a process that exits while this runs counts in
    neither), and CPU in ns: the live programs' own, the rest's own, and
    what the rest reaped from exited children."""
    want = "/" + os.path.relpath(srv.group, cgroups.base) if srv.group else None
    r = {"procs": 0, "procs_in_cgroup": 0, "programs": 0, "programs_in_cgroup": 0, "zombies": 0,
         "program_ns": 0, "server_ns": 0, "reaped_ns": 0,
         "cgroup_ns": read_cpu_ns(cgroups.counter_path(srv.group)), "t": time.monotonic()}
    for pid in srv.pids():
        comm, group, cpu = comm_of(pid), cgroup_of(pid, cgroups), proc_cpu_ns(pid)
        if comm is None or group is None or cpu is None:
            continue  # gone meanwhile
        program = comm == EXEC_COMM
        if zombie(pid):
            # Exited, not reaped yet: cgroup v1 moves an exiting task to the
            # root cgroup (after charging its CPU), so it is not checked.
            # Its run time still counts until its parent reaps it.
            r["zombies"] += 1
            r["program_ns" if program else "server_ns"] += cpu[0]
            r["reaped_ns"] += cpu[1]
            continue
        r["procs"] += 1
        r["procs_in_cgroup"] += group == want
        r["programs"] += program
        r["programs_in_cgroup"] += program and group == want
        r["program_ns" if program else "server_ns"] += cpu[0]
        r["reaped_ns"] += cpu[1]
    return r


def sample_text(sample):
    return (f"in the cgroup: {sample['procs_in_cgroup']}/{sample['procs']} processes, "
            f"{sample['programs_in_cgroup']}/{sample['programs']} programs; "
            f"{sample['zombies']} exited, not reaped")


def cpu_split(first, last):
    """Between two tree_samples: the children's share of the tree's CPU
    (live programs' own plus what was reaped; a program that exited in
    between brings its whole life, a little from before first), the CPU
    counted, and the cgroup's over the same span."""
    if not first or not last or first is last:
        return None
    children = (last["program_ns"] - first["program_ns"]
                + last["reaped_ns"] - first["reaped_ns"])
    own = last["server_ns"] - first["server_ns"]
    total = children + own
    if total <= 0:
        return None
    cg = (last["cgroup_ns"] - first["cgroup_ns"]
          if last["cgroup_ns"] is not None and first["cgroup_ns"] is not None else None)
    return {"children_share": children / total, "counted_s": total / 1e9,
            "cgroup_s": cg / 1e9 if cg else None, "span_s": last["t"] - first["t"]}


# ---------------------------------------------------------------- generator

class Generator:
    """wsgate-loadgen (the project's generator) or wsbench (the neutral one
    in ../shared/tools, for cross-checks and before wsgate-loadgen exists).
    Every method returns (argv, result-dict-or-None, failure-reason)."""

    def __init__(self, path, kind, pin):
        self.path = path
        self.kind = kind
        self.pin = pin

    def prefix(self):
        return ["taskset", "-c", str(GENERATOR_CPU)] if self.pin else []

    def describe(self):
        return f"{self.kind} ({os.path.relpath(self.path, ROOT) if self.path.startswith(ROOT) else self.path})"

    def lacks(self, feature):
        """Why this generator cannot do feature, or None."""
        if self.kind == "wsbench" and feature in ("connect", "reconnect", "sources"):
            return f"n/a: wsbench has no {feature} mode; needs wsgate-loadgen"
        if self.kind == "wsbench" and feature == "raw-connect":
            return "n/a: wsbench has no connect mode"
        if self.kind == "wsbench" and feature == "tls":
            return "n/a: wsbench has no wss://; needs wsgate-loadgen"
        if self.kind == "wsbench" and feature == "stream":
            return "n/a: wsbench checks one echo per message; needs wsgate-loadgen --stream"
        if self.kind == "loadgen" and feature in ("raw-idle", "raw-connect"):
            return "n/a: wsgate-loadgen runs only echo mode over raw TCP"
        return None

    # argv builders ------------------------------------------------------
    def _target_args(self, t):
        if self.kind == "loadgen":
            if t["raw"]:
                return ["--raw", f"{t['host']}:{t['port']}"]
            if t.get("tls"):
                return ["--url", f"wss://{t['host']}:{t['port']}{t['path']}", "--ca", t["ca"],
                        "--servername", t["servername"]]
            return ["--url", f"ws://{t['host']}:{t['port']}{t['path']}"]
        args = ["-H", t["host"], "-p", str(t["port"])]
        return args + (["-m", "tcp"] if t["raw"] else ["-u", t["path"]])

    def echo_argv(self, t, conns, size, depth, binary, warmup, duration, cpu_counter,
                  reconnect=False, stream=False):
        if self.kind == "loadgen":
            argv = [self.path] + self._target_args(t) + [
                "--mode", "echo", "-c", str(conns), "-s", str(size), "-q", str(depth),
                "-w", fmt_s(warmup), "-d", fmt_s(duration), "--json"]
            if binary:
                argv.append("--binary")
            if stream:
                argv.append("--stream")
            if reconnect:
                argv.append("--reconnect")
            if cpu_counter:
                argv += ["--cpu-counter", cpu_counter]
            if conns > 200:
                argv += ["--connect-concurrency", "200"]
        else:
            argv = [self.path] + self._target_args(t) + [
                "-c", str(conns), "-s", str(size), "-q", str(depth), "-w", fmt_s(warmup),
                "-d", fmt_s(duration), "-k", "200"]
            if binary:
                argv.append("-b")
            if cpu_counter and cpu_counter.endswith("cpuacct.usage"):
                argv += ["-C", cpu_counter]
        return self.prefix() + argv

    def connect_argv(self, t, conns, warmup, duration, cpu_counter, resume=False):
        argv = [self.path] + self._target_args(t) + [
            "--mode", "connect", "-c", str(conns), "--connect-concurrency", str(conns),
            "-w", fmt_s(warmup), "-d", fmt_s(duration), "--json"]
        if resume:
            argv.append("--resume")
        if cpu_counter:
            argv += ["--cpu-counter", cpu_counter]
        return self.prefix() + argv

    def idle_argv(self, t, conns, hold, sources):
        if self.kind == "loadgen":
            argv = [self.path] + self._target_args(t) + [
                "--mode", "idle", "-c", str(conns), "-d", fmt_s(hold),
                "--connect-concurrency", "500", "--json"]
            if sources > 1:
                argv += ["--sources", str(sources)]
        else:
            argv = [self.path] + self._target_args(t) + [
                "-i", "-c", str(conns), "-d", fmt_s(hold), "-k", "500"]
        return self.prefix() + argv

    # running ------------------------------------------------------------
    def run(self, argv, timeout):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"generator timed out after {timeout:.0f} s"
        return self.parse(done.returncode, done.stdout, done.stderr)

    def parse(self, rc, stdout, stderr):
        """Normalizes the generator's report: msgs_per_s, bytes_per_s, p50,
        p99, cpu_us_per_msg, handshakes_per_s, handshakes_failed, lost,
        errors, reconnects, open_at_end, closes. Returns (dict, failure)."""
        if self.kind == "loadgen":
            doc = None
            for line in reversed(stdout.strip().splitlines()):
                line = line.strip()
                if line.startswith("{"):
                    try:
                        doc = json.loads(line)
                        break
                    except ValueError:
                        pass
            if doc is None:
                try:
                    doc = json.loads(stdout)
                except ValueError:
                    return None, f"exit {rc}, no JSON: {tail(stderr or stdout)}"
            lat = doc.get("latency_us") or {}
            errors = doc.get("errors") or {}
            r = {
                "msgs_per_s": doc.get("msgs_per_s"), "bytes_per_s": doc.get("bytes_per_s"),
                "p50": lat.get("p50"), "p99": lat.get("p99"), "max": lat.get("max"),
                "cpu_us_per_msg": doc.get("server_cpu_us_per_msg"),
                "handshakes": doc.get("handshakes"),
                "handshakes_per_s": doc.get("handshakes_per_s"),
                "handshakes_failed": doc.get("handshakes_failed") or 0,
                "lost": doc.get("lost") or 0,
                "errors": sum(v for v in errors.values() if isinstance(v, (int, float))),
                "error_kinds": errors,
                "reconnects": doc.get("reconnects"), "open_at_end": doc.get("open_at_end"),
                "closes": doc.get("closes") or {}, "crossed_close": doc.get("crossed_close"),
                "messages": doc.get("messages"), "connections": doc.get("connections"),
                "resumed": doc.get("resumed"), "connect_s": doc.get("connect_s"),
                "interrupted": doc.get("interrupted"),
            }
            if r["cpu_us_per_msg"] is not None and r["cpu_us_per_msg"] <= 0:  # 0: no counter
                r["cpu_us_per_msg"] = None
            if rc != 0:
                return r, (f"exit {rc}: errors={errors} lost={r['lost']} "
                           f"handshakes_failed={r['handshakes_failed']} {tail(stderr, 200)}")
            return r, None
        m = re.search(r"^RESULT (.*)$", stdout, re.M)
        if not m:
            idle = re.search(r"^IDLE (.*)$", stdout, re.M)
            if idle:
                kv = dict(p.split("=", 1) for p in idle.group(1).split())
                return {"open_at_end": int(kv["alive"])}, None
            return None, f"exit {rc}, no RESULT line: {tail(stderr or stdout)}"
        kv = dict(p.split("=", 1) for p in m.group(1).split())
        num = lambda k: float(kv[k].rstrip("%"))  # noqa: E731
        r = {
            "msgs_per_s": num("rate"), "bytes_per_s": num("rate") * num("size"),
            "p50": num("p50_us"), "p99": num("p99_us"), "max": num("max_us"),
            "cpu_us_per_msg": num("srv_us_per_msg") if num("srv_us_per_msg") >= 0 else None,
            "errors": num("bad") + num("closed") + num("proto"),
            "error_kinds": {k: kv[k] for k in ("bad", "closed", "proto")},
            "lost": num("conns") - num("alive"), "handshakes_failed": 0,
            "open_at_end": int(num("alive")), "messages": int(num("msgs")),
        }
        if rc != 0 or r["errors"] or r["lost"]:
            return r, f"exit {rc}: bad={kv['bad']} closed={kv['closed']} proto={kv['proto']} alive={kv['alive']}/{kv['conns']}"
        return r, None


def fmt_s(seconds):
    return f"{seconds:g}"


def tail(text, n=300):
    text = (text or "").strip().replace("\n", " | ")
    return text[-n:]


# ------------------------------------------------- one-message connect driver

# wsgate-loadgen's connect mode closes right after the 101; an exec route's
# setup cost is the program's start, so exec_connect needs a cycle that
# proves the program runs: connect, upgrade, one text message and its echo,
# Close 1000, the server's Close and FIN, close. This driver does that with
# non-blocking sockets on epoll (one Python process, pinned to the generator
# CPU): `bench/run_bench.py connect1 --help`.

CONNECT1_KEY = "dGhlIHNhbXBsZSBub25jZQ=="           # RFC 6455's example key,
CONNECT1_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # and its accept value


def ws_client_frame(opcode, payload, mask):
    """One masked, final client frame."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0xFE]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0xFF]) + n.to_bytes(8, "big")
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


def ws_server_frame(buf):
    """(opcode, payload, bytes used) of the first complete unmasked frame in
    buf, or None when it is incomplete. Raises ValueError on a masked or
    fragmented frame (the server must send neither here)."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    if b1 & 0x80:
        raise ValueError("masked server frame")
    if not b0 & 0x80:
        raise ValueError("fragmented server frame")
    n, at = b1 & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, at = int.from_bytes(buf[2:4], "big"), 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, at = int.from_bytes(buf[2:10], "big"), 10
    if len(buf) < at + n:
        return None
    return b0 & 0x0F, bytes(buf[at:at + n]), at + n


def connect1_main(argv):
    import selectors
    import urllib.parse
    ap = argparse.ArgumentParser(
        prog="run_bench.py connect1",
        description="Connection setup rate with one message per connection: each of -c slots "
                    "loops TCP connect -> upgrade -> one text message -> its echo (checked) -> "
                    "Close 1000 -> the server's Close and FIN -> close. Counts the cycles that "
                    "end inside the measured window; with --cpu-counter, server CPU per cycle. "
                    "Prints one JSON line (wsgate-loadgen's field names where they exist). "
                    "Exit 0 when no cycle failed.")
    ap.add_argument("--url", required=True, help="ws://HOST:PORT/PATH")
    ap.add_argument("-c", "--connections", type=int, default=50, help="slots (default 50)")
    ap.add_argument("-s", "--size", type=int, default=32, help="message bytes (default 32, >= 16)")
    ap.add_argument("-w", "--warmup", type=float, default=2.0)
    ap.add_argument("-d", "--duration", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=5.0, help="most seconds per cycle (default 5)")
    ap.add_argument("--cpu-counter", help="cgroup cpuacct.usage or cpu.stat of the server")
    ap.add_argument("--json", action="store_true", help="accepted for symmetry; output is JSON")
    a = ap.parse_args(argv)
    url = urllib.parse.urlsplit(a.url)
    if url.scheme != "ws" or not url.hostname or not url.port:
        ap.error("--url must be ws://HOST:PORT/PATH")
    if a.size < 16:
        ap.error("--size must be at least 16 (the payload carries a sequence number)")
    addr = (url.hostname, url.port)
    request = (f"GET {url.path or '/'}{'?' + url.query if url.query else ''} HTTP/1.1\r\n"
               f"Host: {url.hostname}:{url.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {CONNECT1_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    close_frame = ws_client_frame(0x8, (1000).to_bytes(2, "big"), os.urandom(4))
    sel = selectors.DefaultSelector()
    errors = {}
    stats = {"cycles": 0, "failed": 0, "no_server_close": 0, "started": 0}
    latencies = []
    seq = [0]
    t_start = time.monotonic()
    t_begin = t_start + a.warmup
    t_end = t_begin + a.duration
    window = {"cpu0": None, "cpu1": None, "own0": None, "own1": None}
    stopping = [False]

    class Slot:
        __slots__ = ("sock", "state", "buf", "out", "t0", "deadline", "payload", "got_close",
                     "retry_at")

    def fail(slot, kind):
        errors[kind] = errors.get(kind, 0) + 1
        stats["failed"] += 1
        finish(slot)
        slot.retry_at = time.monotonic() + 0.01  # as wsgate-loadgen: 10 ms before the next

    def finish(slot):
        if slot.sock is not None:
            try:
                sel.unregister(slot.sock)
            except (KeyError, ValueError):
                pass
            slot.sock.close()
            slot.sock = None
        slot.state = "idle"

    def start(slot):
        slot.retry_at = None
        if stopping[0]:
            slot.state = "done"
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        slot.sock, slot.state, slot.buf, slot.got_close = s, "connecting", bytearray(), False
        slot.t0 = time.monotonic()
        slot.deadline = slot.t0 + a.timeout
        seq[0] += 1
        stats["started"] += 1
        slot.payload = f"{seq[0]:016x}".encode() + b"." * (a.size - 16)
        slot.out = request
        try:
            s.connect(addr)
        except BlockingIOError:
            pass
        except OSError as error:
            sel.register(s, selectors.EVENT_WRITE, slot)
            fail(slot, f"connect: {error.strerror or error}")
            return
        sel.register(s, selectors.EVENT_WRITE, slot)

    def send(slot, data):
        """Sends data now; what the socket does not take is sent on EVENT_WRITE."""
        slot.out = data
        flush(slot)

    def flush(slot):
        try:
            n = slot.sock.send(slot.out)
        except BlockingIOError:
            n = 0
        slot.out = slot.out[n:]
        sel.modify(slot.sock, selectors.EVENT_WRITE if slot.out else selectors.EVENT_READ, slot)

    def on_event(slot, events):
        s = slot.sock
        if slot.state == "connecting":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return fail(slot, f"connect: {os.strerror(err)}")
            slot.state = "upgrade"
            return send(slot, slot.out)
        if events & selectors.EVENT_WRITE and slot.out:
            return flush(slot)
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return
        if not data:
            if slot.state == "closing":
                done = time.monotonic()
                if not slot.got_close:
                    stats["no_server_close"] += 1
                if t_begin <= done < t_end:
                    stats["cycles"] += 1
                    latencies.append(done - slot.t0)
                finish(slot)
                return start(slot)
            return fail(slot, f"EOF during {slot.state}")
        slot.buf += data
        if slot.state == "upgrade":
            end = slot.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(slot.buf) > 16384:
                    return fail(slot, "response head too long")
                return
            head = bytes(slot.buf[:end]).lower()
            del slot.buf[:end + 4]
            status = head.split(b"\r\n", 1)[0]
            if not status.startswith(b"http/1.1 101"):
                return fail(slot, "upgrade answered " + status[9:12].decode(errors="replace"))
            if b"sec-websocket-accept: " + CONNECT1_ACCEPT.lower() not in head:
                return fail(slot, "bad Sec-WebSocket-Accept")
            slot.state = "echo"
            send(slot, ws_client_frame(0x1, slot.payload, os.urandom(4)))
        while True:
            try:
                frame = ws_server_frame(slot.buf)
            except ValueError as error:
                return fail(slot, str(error))
            if frame is None:
                return
            opcode, payload, used = frame
            del slot.buf[:used]
            if slot.state == "echo":
                if opcode == 0x8:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    return fail(slot, f"server Close {code} before the echo")
                if opcode != 0x1 or payload != slot.payload:
                    return fail(slot, "bad echo")
                slot.state = "closing"
                send(slot, close_frame)
            elif slot.state == "closing":
                if opcode == 0x8:
                    slot.got_close = True
                # Anything else after our Close is ignored (RFC 6455 5.5.1).

    slots = [Slot() for _ in range(a.connections)]
    for slot in slots:
        slot.sock = None
        start(slot)
    while True:
        now = time.monotonic()
        if "t0" not in window and now >= t_begin:
            window["cpu0"], window["own0"] = read_cpu_ns(a.cpu_counter), time.process_time()
            window["t0"] = now
        if not stopping[0] and now >= t_end:
            window["cpu1"], window["own1"] = read_cpu_ns(a.cpu_counter), time.process_time()
            window["t1"] = now
            stopping[0] = True
            drain_until = now + a.timeout
        if stopping[0] and (now >= drain_until or all(s.sock is None for s in slots)):
            break
        timeout = 0.05
        for mark in (t_begin, t_end):
            if mark > now:
                timeout = min(timeout, mark - now)
        for key, events in sel.select(timeout):
            slot = key.data
            if slot.sock is not key.fileobj:  # closed (and maybe reopened) earlier in this batch
                continue
            try:
                on_event(slot, events)
            except OSError as error:
                fail(slot, f"{slot.state}: {error.strerror or error}")
        now = time.monotonic()
        for slot in slots:
            if slot.sock is not None and now > slot.deadline:
                fail(slot, f"timeout in {slot.state}")
            elif slot.sock is None and slot.retry_at is not None and now >= slot.retry_at:
                start(slot)
    for slot in slots:
        finish(slot)
    span = window.get("t1", time.monotonic()) - window.get("t0", t_begin)
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e6) if latencies else None
    cpu_ns = (window["cpu1"] - window["cpu0"]
              if window["cpu0"] is not None and window["cpu1"] is not None else None)
    own = window["own1"] - window["own0"] if window["own1"] is not None else None
    doc = {
        "mode": "connect1", "connections": a.connections, "size": a.size,
        "handshakes": stats["cycles"],
        "handshakes_per_s": stats["cycles"] / span if span > 0 else None,
        "handshakes_failed": stats["failed"], "errors": errors,
        "no_server_close": stats["no_server_close"],
        "latency_us": {"p50": pct(0.5), "p99": pct(0.99),
                       "max": round(latencies[-1] * 1e6) if latencies else None},
        "server_cpu_ns": cpu_ns,
        "server_cpu_us_per_msg": cpu_ns / 1e3 / stats["cycles"] if cpu_ns and stats["cycles"] else 0,
        "client_cpu_fraction": own / span if own is not None and span > 0 else None,
        "window_s": span,
    }
    print(json.dumps(doc), flush=True)
    return 0 if stats["failed"] == 0 and stats["cycles"] > 0 else 1


# ---------------------------------------------------------------- scenarios

ECHO_SERVERS = ["wsgate", "tcp", "node", "python", "websocketd"]
PROXY_SERVERS = ["wsgate", "websockify"]  # in front of the TCP echo upstream
EXEC_SERVERS = ["wsgate", "websocketd"]   # both running EXEC_PROGRAM per connection

SCENARIOS = [
    {"id": "echo32-c100", "kind": "echo", "conns": 100, "size": 32, "depth": 1,
     "title": "Echo, 32 B text, 100 connections, ping-pong (1 in flight)",
     "target": ("msgs_per_s", 0.97, "msg/s ≥ 0.97 × raw TCP echo")},
    {"id": "echo32-c100-q16", "kind": "echo", "conns": 100, "size": 32, "depth": 16,
     "title": "Echo, 32 B text, 100 connections, 16 in flight per connection",
     "target": ("msgs_per_s", 0.95, "msg/s ≥ 0.95 × raw TCP echo")},
    {"id": "echo32-c1000", "kind": "echo", "conns": 1000, "quick_conns": 250, "size": 32, "depth": 1,
     "title": "Echo, 32 B text, {conns} connections, ping-pong",
     "target": ("msgs_per_s", 0.97, "msg/s ≥ 0.97 × raw TCP echo")},
    {"id": "echo64k-c10", "kind": "echo", "conns": 10, "size": 65536, "depth": 1, "binary": True,
     "title": "Echo, 64 KiB binary, 10 connections, ping-pong",
     "target": ("bytes_per_s", 0.9, "MB/s ≥ 0.9 × raw TCP echo")},
    {"id": "idle", "kind": "idle",
     "title": "Idle connections: server memory per connection"},
    # Left out of a plain --quick run (its 1000 connections would repeat the
    # idle scenario's); --only idle10k runs it anyway.
    {"id": "idle10k", "kind": "idle", "n": 10000, "quick_n": 1000, "servers": ["wsgate"],
     "full_only": True,
     "title": "{conns} idle connections: wsgate's user-space bytes per connection (PSS and anonymous)"},
    {"id": "callgrind-q16", "kind": "callgrind", "conns": 100, "size": 32, "depth": 16,
     "title": "Worker instructions per message (callgrind), 32 B text, 100 connections, 16 in flight"},
    {"id": "handshakes", "kind": "connect",
     "title": "Handshakes per second, 1 worker"},
    {"id": "reload", "kind": "reload",
     "title": "Reload every 2 s under {conns} connections"},
    {"id": "workers", "kind": "echo", "conns": 100, "size": 32, "depth": 16,
     "servers": ["wsgate", "wsgate-2w"],
     "title": "1 vs 2 workers (32 B text, 100 connections, 16 in flight)"},
    {"id": "tls-handshakes", "kind": "tls_handshakes",
     "title": "TLS handshakes per second (wss://, ECDSA P-256, X25519) against the openssl speed bound"},
    {"id": "tls-echo", "kind": "tls_echo",
     "title": "wss:// echo as a ratio of ws:// echo (same wsgated, two listeners)"},
    {"id": "tls-idle", "kind": "tls_idle",
     "title": "Idle wss:// connections: memory per connection, release_buffers on and off"},
    {"id": "proxy32", "kind": "proxy_echo", "conns": 100, "size": 32, "depth": 1,
     "title": "Proxy relay to a TCP echo, 32 B binary, 100 connections, ping-pong"},
    {"id": "proxy64k", "kind": "proxy_echo", "conns": 10, "size": 65536, "depth": 1,
     "title": "Proxy relay to a TCP echo, 64 KiB binary, 10 connections, ping-pong"},
    {"id": "proxy_idle", "kind": "proxy_idle",
     "title": "Idle proxied connections (each with its upstream): memory per connection"},
    {"id": "exec32", "kind": "exec_echo", "conns": 100, "size": 32, "depth": 1,
     "title": "Exec relay running /bin/cat, 32 B text, 100 connections, ping-pong"},
    {"id": "exec_connect", "kind": "exec_connect", "conns": 50, "size": 32,
     "title": "Exec relay: connection setup with /bin/cat (connect, one 32 B message, close), "
              "{conns} at a time"},
    {"id": "exec_idle", "kind": "exec_idle",
     "title": "Idle exec connections (each with its /bin/cat): memory per connection"},
]

# wss echo workloads of the tls-echo scenario: (key, conns, size, depth, binary, label).
TLS_ECHO = [
    ("32b-c100-q1", 100, 32, 1, False, "32 B text, 100 conns, depth 1"),
    ("32b-c100-q16", 100, 32, 16, False, "32 B text, 100 conns, depth 16"),
    ("64k-c10-q1", 10, 65536, 1, True, "64 KiB binary, 10 conns, depth 1"),
]


class Context:
    certificate = None

    def ensure_certificate(self):
        """(cert, key): a throwaway self-signed ECDSA P-256 certificate for
        localhost and 127.0.0.1 in a temp dir, made once per run."""
        if self.certificate is None:
            directory = tempfile.mkdtemp(prefix="wsgate-bench-tls-")
            TMPDIRS.append(directory)
            cert = os.path.join(directory, "bench.crt")
            key = os.path.join(directory, "bench.key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                            "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", key, "-out", cert], check=True, capture_output=True,
                           timeout=30)
            self.certificate = (cert, key)
        return self.certificate


CERT_COMMAND = ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
                "-keyout bench.key -out bench.crt")


def openssl_speed(seconds, pin):
    """The server-side bound of a TLS 1.3 full handshake with an ECDSA P-256
    certificate and X25519 on one core: one ECDSA sign plus one X25519 keygen
    and one derive, each of the latter costed as one `openssl speed` X25519
    op: bound = 1 / (1/sign_per_s + 2/ecdh_per_s). Run on the server's CPU."""
    argv = (["taskset", "-c", str(SERVER_CPU)] if pin else []) + [
        "openssl", "speed", "-seconds", str(seconds), "ecdsap256", "ecdhx25519"]
    r = {"command": shlex.join(argv)}
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=8 * seconds + 30)
    except (OSError, subprocess.TimeoutExpired) as error:
        r["failure"] = f"openssl speed: {error}"
        return r
    sign = re.search(r"ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out.stdout)
    ecdh = re.search(r"ecdh \(X25519\)\s+\S+s\s+([\d.]+)", out.stdout)
    if not sign or not ecdh:
        r["failure"] = f"openssl speed: unexpected output: {tail(out.stdout + out.stderr)}"
        return r
    r["sign_per_s"] = float(sign.group(1))
    r["verify_per_s"] = float(sign.group(2))
    r["ecdh_per_s"] = float(ecdh.group(1))
    r["bound"] = 1.0 / (1.0 / r["sign_per_s"] + 2.0 / r["ecdh_per_s"])
    return r


def median_range(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def human(v, unit=""):
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.2f} M{unit}"
    if a >= 1e4:
        return f"{v / 1e3:.0f} k{unit}"
    if a >= 1e3:
        return f"{v / 1e3:.1f} k{unit}"
    if a >= 100:
        return f"{v:.0f}{unit}"
    if a >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def cell(values, scale=1.0, unit="", fmt=human):
    med, lo, hi = median_range([None if v is None else v * scale for v in values])
    if med is None:
        return "–"
    if len([v for v in values if v is not None]) == 1:
        return fmt(med, unit)
    return f"{fmt(med, unit)} ({fmt(lo)}–{fmt(hi)})"


def mb(v, unit=""):
    return "–" if v is None else f"{v:.0f}{unit}" if v >= 100 else f"{v:.1f}{unit}"


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.runs = args.runs or (1 if self.quick else 3)
        # --quick must finish in under a minute on a 2-core box (build aside):
        # short windows, fewer connections where a slow peer takes seconds
        # just to open them.
        self.warmup = 0.2 if self.quick else 2.0
        self.duration = 0.5 if self.quick else 10.0
        self.idle_n = args.idle_connections or (1000 if self.quick else 50000)
        self.reload_s = 4.0 if self.quick else 30.0
        self.reload_conns = 250 if self.quick else 1000
        self.tls_idle_n = args.idle_connections or (500 if self.quick else 2000)
        self.proxy_idle_n = args.idle_connections or (200 if self.quick else 2000)
        self.exec_idle_n = args.idle_connections or (50 if self.quick else 200)
        self.speed_seconds = 1 if self.quick else 2
        self.results = {}  # (scenario, server) -> list of (result, failure)
        self.commands = {}  # scenario -> list of (label, server cmd, generator cmd)
        self.notes = {}    # scenario -> list of notes
        self.extra = {}    # scenario -> dict
        self.servers = {}

    def conns(self, sc):
        if sc["kind"] == "reload":
            return self.reload_conns
        if sc["kind"] == "idle":
            return self.idle_count(sc)
        return sc.get("quick_conns", sc.get("conns")) if self.quick else sc.get("conns")

    def title(self, sc):
        return sc["title"].replace("{conns}", str(self.conns(sc)))

    def idle_count(self, sc):
        if self.args.idle_connections:
            return self.args.idle_connections
        return sc.get("quick_n" if self.quick else "n", self.idle_n)

    def with_baseline(self, names, run):
        """names, with "wsgate-base" beside "wsgate" when --baseline-build is
        given; the baseline goes first on even runs and second on odd ones, so
        that neither build always runs on a machine warmed by the other."""
        if not self.ctx.base or "wsgate" not in names:
            return list(names)
        out = []
        for name in names:
            if name == "wsgate":
                out += ["wsgate-base", "wsgate"] if run % 2 == 0 else ["wsgate", "wsgate-base"]
            else:
                out.append(name)
        return out

    # servers --------------------------------------------------------------
    def server(self, name):
        if name in self.servers and self.servers[name].alive():
            return self.servers[name]
        ctx = self.ctx
        if name == "wsgate":
            srv = WsgateServer(ctx)
        elif name == "wsgate-base":
            srv = WsgateServer(ctx, name="wsgate-base", label="wsgate (baseline)", build=ctx.base)
        elif name == "wsgate-2w":
            srv = WsgateServer(ctx, workers=2, name="wsgate-2w")
        elif name == "tcp":
            srv = TcpEchoServer(ctx)
        elif name == "node":
            srv = NodeServer(ctx)
        elif name == "python":
            srv = PythonServer(ctx)
        elif name == "websocketd":
            srv = WebsocketdServer(ctx)
        elif name == "upstream":
            srv = TcpEchoUpstream(ctx)
        elif name == "wsgate-proxy":
            srv = WsgateProxyServer(ctx, self.server("upstream").port)
        elif name == "websockify":
            srv = WebsockifyServer(ctx, self.server("upstream").port)
        elif name == "wsgate-exec":
            srv = WsgateExecServer(ctx)
        elif name == "websocketd-exec":
            srv = WebsocketdExecServer(ctx)
        else:
            raise KeyError(name)
        if name in self.servers:
            log(f"  {name} died; restarting. Last output: {tail(self.servers[name].output())}")
            self.servers[name].stop()
        srv.start()
        self.servers[name] = srv
        return srv

    def stop_server(self, name, fast=False):
        srv = self.servers.pop(name, None)
        if srv:
            t = time.monotonic()
            srv.stop(fast)
            if time.monotonic() - t > 2:
                log(f"  stopping {name} took {time.monotonic() - t:.1f} s")

    def record(self, scenario, name, result, failure, server_cmd, gen_cmd):
        server_cmd = server_cmd.replace(ROOT + "/", "")
        gen_cmd = gen_cmd.replace(ROOT + "/", "")
        if failure:
            failure = " ".join(failure.replace("|", "/").split())
        self.results.setdefault((scenario, name), []).append((result, failure))
        cmds = self.commands.setdefault(scenario, [])
        entry = (name, server_cmd, gen_cmd)
        if not any(c[0] == name for c in cmds):
            cmds.append(entry)

    def note(self, scenario, text):
        notes = self.notes.setdefault(scenario, [])
        if text not in notes:
            notes.append(text)

    # scenario kinds ---------------------------------------------------
    def run_echo(self, sc, run):
        for name in self.with_baseline(sc.get("servers", ECHO_SERVERS), run):
            if name.split("-")[0] not in self.enabled_servers:
                continue
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001 - report and go on
                self.record(sc["id"], name, None, f"server did not start: {error}", "", "")
                continue
            if sc.get("binary") and not srv.binary_ok:
                self.record(sc["id"], name, None,
                            "n/a: websocketd runs cat line by line; binary 64 KiB payloads "
                            "contain newlines and would be split", srv.command(), "")
                continue
            argv = self.gen.echo_argv(srv.target(), self.conns(sc), sc["size"], sc["depth"],
                                      sc.get("binary", False), self.warmup, self.duration,
                                      srv.cpu_counter)
            timeout = self.warmup + self.duration + 60 + self.conns(sc) / 50
            t = time.monotonic()
            result, failure = self.gen.run(argv, timeout)
            took = time.monotonic() - t
            self.record(sc["id"], name, result, failure, srv.command(), shlex.join(argv))
            log(f"  [{sc['id']} run {run + 1}] {srv.label:18s} " + (
                f"{human(result['msgs_per_s'])} msg/s  p99 {human(result['p99'])} µs  "
                f"cpu {human(result['cpu_us_per_msg'])} µs/msg"
                if result and result.get("msgs_per_s") is not None else "")
                + (f"  FAILED: {failure}" if failure else "")
                + (f"  [{took:.1f} s, connect {result.get('connect_s') or 0:.1f} s]"
                   if result else f"  [{took:.1f} s]"))

    def run_idle(self, sc, run):
        n_full = self.idle_count(sc)
        fd_cap = self.ctx.nofile - 100  # server and generator each hold one fd per connection
        if n_full > fd_cap:
            self.note(sc["id"], f"Asked for {n_full} connections, held {fd_cap}: the RLIMIT_NOFILE "
                                f"hard limit here is {self.ctx.nofile} and could not be raised "
                                "(raising it needs root with CAP_SYS_RESOURCE).")
            n_full = fd_cap
        for name in self.with_baseline(sc.get("servers", ECHO_SERVERS), run):
            if name.split("-")[0] not in self.enabled_servers:
                continue
            n = n_full
            if name == "websocketd":
                cap = 200 if self.quick else 2000
                if n > cap:
                    n = cap
                    self.note(sc["id"], f"websocketd holds {cap} connections, not {n_full}: it "
                                        "forks one cat per connection (pid_max "
                                        f"{open('/proc/sys/kernel/pid_max').read().strip()}, "
                                        "~150 KB each).")
            if name == "tcp" and self.gen.lacks("raw-idle"):
                self.record(sc["id"], name, None, self.gen.lacks("raw-idle"), "", "")
                continue
            sources = max(1, math.ceil(n / 20000))
            if sources > 1 and self.gen.lacks("sources"):
                self.record(sc["id"], name, None, self.gen.lacks("sources"), "", "")
                continue
            # A fresh server: baseline memory without history of other scenarios.
            self.stop_server(name)
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], name, None, f"server did not start: {error}", "", "")
                continue
            result, failure, argv = self.idle_once(srv, srv.target(), n, sources)
            self.record(sc["id"], name, result, failure, srv.command(), shlex.join(argv))
            self.log_idle(f"idle run {run + 1}", srv.label, n, result, failure)
            self.stop_server(name, fast=True)

    def callgrind_counts(self):
        if self.args.callgrind_messages:
            return self.args.callgrind_messages
        # --quick: valgrind's start-up is most of the time; 10 000 / 30 000
        # came within 0.5 % of the full counts' figure here.
        return (10000, 30000) if self.quick else (100000, 300000)

    def run_callgrind(self, sc, run):
        """Worker instructions per message: wsgated (1 worker) under
        callgrind, echoing N1 and then, on a fresh server, N2 messages; the
        difference of the worker's instruction counts over the difference of
        the echoes cancels start-up, handshakes and shutdown. Callgrind runs
        the code on a simulated CPU, so the count does not depend on what
        else the machine is doing."""
        if "wsgate" not in self.enabled_servers:
            return
        if not shutil.which("valgrind"):
            self.record(sc["id"], "wsgate", None, "n/a: valgrind is not installed", "", "")
            return
        n1, n2 = self.callgrind_counts()
        for name in self.with_baseline(["wsgate"], run):
            build = self.ctx.base if name == "wsgate-base" else self.ctx.main
            counts, failure, srv_cmd, gen_cmd = [], None, "", ""
            for n in (n1, n2):
                ir, echoed, failure, srv_cmd, gen_cmd = self.callgrind_once(sc, name, build, n)
                if failure:
                    break
                counts.append((ir, echoed))
            result = None
            if not failure:
                (ir1, m1), (ir2, m2) = counts
                if m2 <= m1:
                    failure = f"the second run echoed {m2} messages, the first {m1}"
                else:
                    result = {"instr_per_msg": (ir2 - ir1) / (m2 - m1), "ir1": ir1, "ir2": ir2,
                              "messages1": m1, "messages2": m2}
            self.record(sc["id"], name, result, failure, srv_cmd, gen_cmd)
            log(f"  [{sc['id']} run {run + 1}] {name:18s} " + (
                f"{result['instr_per_msg']:.1f} instructions/msg (Ir {ir1} at {m1}, {ir2} at {m2})"
                if result else f"FAILED: {failure}"))

    def callgrind_once(self, sc, name, build, n):
        """One wsgated under callgrind echoing n messages. Returns (worker
        Ir, messages echoed, failure, server command, generator command)."""
        out_dir = tempfile.mkdtemp(prefix="wsgate-bench-cg-")
        TMPDIRS.append(out_dir)
        wrapper = ["valgrind", "--tool=callgrind", "--quiet",
                   f"--callgrind-out-file={out_dir}/cg.%p"]
        srv = WsgateServer(self.ctx, name=name + "-cg", build=build, wrapper=wrapper)
        try:
            srv.start()
        except Exception as error:  # noqa: BLE001 - report and go on
            srv.stop(fast=True)
            return None, None, f"server did not start: {error}", "", ""
        supervisor = srv.proc.pid  # taskset and valgrind exec: the supervisor keeps this pid
        argv = self.gen.echo_argv(srv.target(), sc["conns"], sc["size"], sc["depth"], False,
                                  0, 3600, None)
        argv += ["-n", str(n)]
        result, failure = self.gen.run(argv, 120 + n / 2000)
        srv_cmd, gen_cmd = srv.command().replace(out_dir + "/", ""), shlex.join(argv)
        srv.stop()
        if failure:
            return None, None, failure, srv_cmd, gen_cmd
        totals = {}
        for entry in os.listdir(out_dir):
            pid = entry.rsplit(".", 1)[-1]
            if entry.startswith("cg.") and pid.isdigit() and int(pid) != supervisor:
                totals[entry] = callgrind_total(os.path.join(out_dir, entry))
        if len(totals) != 1 or None in totals.values():
            return None, None, f"expected one worker profile, found {totals}", srv_cmd, gen_cmd
        if self.args.callgrind_profiles:
            # Kept for callgrind_annotate: NAME.N.cg.PID, one per build and count.
            os.makedirs(self.args.callgrind_profiles, exist_ok=True)
            entry = next(iter(totals))
            shutil.copy(os.path.join(out_dir, entry),
                        os.path.join(self.args.callgrind_profiles, f"{name}.{n}.{entry}"))
        return next(iter(totals.values())), result.get("messages"), None, srv_cmd, gen_cmd

    def log_idle(self, what, label, n, result, failure):
        log(f"  [{what}] {label:18s} " + (
            f"{n} conns: PSS {result['base_kib']} -> {result['after_kib']} KiB = "
            f"{result['per_conn']:.0f} B/conn over {result['procs']} processes "
            f"(open in {result['connect_s']:.1f} s)" if result else "")
            + (f" FAILED: {failure}" if failure else ""))

    def idle_once(self, srv, target, n, sources, holder=None, programs=False):
        """Holds n idle connections to target on a fresh srv: PSS summed over
        its processes before and after, per connection. A connection counts
        as open once it holds an fd in holder (default srv; a proxy's
        upstream), or with programs (exec routes) once its EXEC_COMM program
        runs; then the result also splits the PSS after into the programs'
        and the rest's. Returns (result, failure, generator argv)."""
        holder = holder or srv
        # Baseline: once the server's PSS holds still (workers finish starting).
        base_pss, deadline = None, time.monotonic() + 3
        while time.monotonic() < deadline:
            time.sleep(0.15)
            cur = pss_kib(srv.pids())
            if base_pss is not None and abs(cur - base_pss) <= 16:
                break
            base_pss = cur
        pids = srv.pids()
        base_pss, base_fds = pss_kib(pids), fd_count(holder.pids())
        base_anon = anon_kib(pids)
        hold = 600
        argv = self.gen.idle_argv(target, n, hold, sources)
        out = tempfile.TemporaryFile(mode="w+")
        gen = spawn(argv, stdout=out, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        limit = 30 + n / 400
        failure = None
        opened = 0
        while True:
            time.sleep(0.1)
            pids = srv.pids()
            if programs:
                opened = sum(1 for p in pids if comm_of(p) == EXEC_COMM)
            else:
                opened = fd_count(holder.pids()) - base_fds
            if opened >= n:
                break
            if gen.poll() is not None:
                out.seek(0)
                failure = f"generator exited {gen.returncode} with {opened} of {n} open: {tail(out.read())}"
                break
            if not srv.alive():
                failure = f"server died with {opened} of {n} open: {tail(srv.output())}"
                break
            if time.monotonic() - t0 > limit:
                failure = f"only {opened} of {n} connections accepted within {limit:.0f} s"
                break
        connect_s = time.monotonic() - t0
        after = None
        if failure is None:
            # Let handshakes finish and memory settle.
            prev = pss_kib(pids)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                time.sleep(0.3)
                pids = srv.pids()
                cur = pss_kib(pids)
                if abs(cur - prev) <= max(64, prev * 0.002):
                    break
                prev = cur
            pids = srv.pids()
            after = pss_kib(pids)
            after_anon = anon_kib(pids)
            if programs:
                running = [p for p in pids if comm_of(p) == EXEC_COMM]
                program_kib = pss_kib(running)
                program_anon = anon_kib(running)
                server_anon = anon_kib([p for p in pids if p not in running])
                sample = tree_sample(srv, self.ctx.cgroups)
        stop_process(gen, signal.SIGINT, timeout=10)
        out.close()
        result = None
        if after is not None:
            result = {"per_conn": (after - base_pss) * 1024.0 / n, "n": n,
                      "base_kib": base_pss, "after_kib": after, "procs": len(pids),
                      "connect_s": connect_s,
                      "anon_per_conn": (after_anon - base_anon) * 1024.0 / n}
            if programs:
                result.update({"program_kib": program_kib, "programs": len(running),
                               "server_after_kib": after - program_kib,
                               "program_per_conn": program_kib * 1024.0 / n,
                               "server_per_conn": (after - program_kib - base_pss) * 1024.0 / n,
                               "base_anon_kib": base_anon,
                               "program_anon_kib": program_anon,
                               "server_anon_kib": server_anon,
                               "program_anon_per_conn": program_anon * 1024.0 / n,
                               "server_anon_per_conn": (server_anon - base_anon) * 1024.0 / n,
                               "sample": sample})
        return result, failure, argv

    def run_connect(self, sc, run):
        why = self.gen.lacks("connect")
        for name in ["wsgate", "node", "python", "websocketd", "tcp"]:
            if name not in self.enabled_servers:
                continue
            why_here = why or (self.gen.lacks("raw-connect") if name == "tcp" else None)
            if why_here:
                self.record(sc["id"], name, None, why_here, "", "")
                continue
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], name, None, f"server did not start: {error}", "", "")
                continue
            argv = self.gen.connect_argv(srv.target(), 50, self.warmup, self.duration,
                                         srv.cpu_counter)
            result, failure = self.gen.run(argv, self.warmup + self.duration + 60)
            self.record(sc["id"], name, result, failure, srv.command(), shlex.join(argv))
            log(f"  [handshakes run {run + 1}] {srv.label:18s} " + (
                f"{human(result.get('handshakes_per_s'))} conn/s failed {result.get('handshakes_failed')}"
                if result else "") + (f"  FAILED: {failure}" if failure else ""))

    def run_reload(self, sc, run):
        if "wsgate" not in self.enabled_servers:
            return
        why = self.gen.lacks("reconnect")
        if why:
            self.record(sc["id"], "wsgate", None, why, "", "")
            return
        name = "wsgate-reload"
        srv = WsgateServer(self.ctx, workers=1, name=name, label="wsgate",
                           extra={"timeouts": {"drain": "1s", "idle_check_interval": "100ms"}})
        try:
            srv.start()
        except Exception as error:  # noqa: BLE001
            srv.stop()
            self.record(sc["id"], "wsgate", None, f"server did not start: {error}", "", "")
            return
        self.servers[name] = srv
        warmup = 0.2 if self.quick else 2.0
        argv = self.gen.echo_argv(srv.target(), self.reload_conns, 32, 1, False, warmup,
                                  self.reload_s, srv.cpu_counter, reconnect=True)
        out = tempfile.TemporaryFile(mode="w+")
        err = tempfile.TemporaryFile(mode="w+")
        base_fds = fd_count(srv.pids())
        gen = spawn(argv, stdout=out, stderr=err)
        reload_cmd = [srv.wsgatectl, "-c", srv.config, "reload"]
        # Wait for the connections and the warm-up, then reload every 2 s.
        start = None
        deadline = time.monotonic() + 60
        while start is None and time.monotonic() < deadline and gen.poll() is None:
            time.sleep(0.1)
            if fd_count(srv.pids()) - base_fds >= self.reload_conns:
                start = time.monotonic() + warmup
        reloads, reload_failures = 0, []
        if start is not None:
            k = 0
            while gen.poll() is None:
                due = start + 1.0 + 2.0 * k
                if due > start + self.reload_s - 0.5:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                if gen.poll() is not None:
                    break
                answer = subprocess.run(reload_cmd, capture_output=True, text=True, timeout=60)
                reloads += 1
                if answer.returncode != 0:
                    reload_failures.append(tail(answer.stderr or answer.stdout, 120))
                k += 1
        try:
            gen.wait(self.reload_s + warmup + 120)
        except subprocess.TimeoutExpired:
            pass
        stop_process(gen)
        out.seek(0)
        err.seek(0)
        result, failure = self.gen.parse(gen.returncode, out.read(), err.read())
        out.close()
        err.close()
        if result is not None:
            result["reloads"] = reloads
            result["reload_failures"] = len(reload_failures)
        if reload_failures:
            failure = (failure + "; " if failure else "") + f"reload failed: {reload_failures[0]}"
        if start is None and not failure:
            failure = "connections never opened"
        self.record(sc["id"], "wsgate", result, failure,
                    srv.command() + f"   # then every 2 s: {shlex.join(reload_cmd)}",
                    shlex.join(argv))
        log(f"  [reload run {run + 1}] {reloads} reloads; " + (
            f"failed handshakes {result.get('handshakes_failed')}, lost {result.get('lost')}, "
            f"reconnects {result.get('reconnects')}, p99 {human(result.get('p99'))} µs"
            if result else "") + (f"  FAILED: {failure}" if failure else ""))
        self.stop_server(name)

    # proxy relay ----------------------------------------------------------
    def proxy_servers(self):
        """(result key, server name) of the enabled proxy servers."""
        return [(name, "wsgate-proxy" if name == "wsgate" else name)
                for name in PROXY_SERVERS if name in self.enabled_servers]

    def run_proxy_echo(self, sc, run):
        for key, name in self.proxy_servers():
            why = self.gen.lacks("stream")
            if why:
                self.record(sc["id"], key, None, why, "", "")
                continue
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001 - report and go on
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                continue
            argv = self.gen.echo_argv(srv.target(), sc["conns"], sc["size"], sc["depth"], True,
                                      self.warmup, self.duration, srv.cpu_counter, stream=True)
            upstream = self.servers["upstream"]
            before = read_cpu_ns(upstream.cpu_counter)
            result, failure = self.gen.run(argv, self.warmup + self.duration + 60)
            after = read_cpu_ns(upstream.cpu_counter)
            if result and result.get("messages") and before is not None and after is not None:
                # Warm-up and drain included: a rough figure, for scale only.
                result["upstream_cpu_ns"] = after - before
            self.record(sc["id"], key, result, failure,
                        srv.command() + "   # upstream: " + upstream.command(), shlex.join(argv))
            log(f"  [{sc['id']} run {run + 1}] {srv.label:22s} " + (
                f"{human(result['msgs_per_s'])} msg/s ({mb(result['bytes_per_s'] / 1e6)} MB/s) "
                f"p99 {human(result['p99'])} µs cpu {human(result['cpu_us_per_msg'])} µs/msg"
                if result and result.get("msgs_per_s") is not None else "")
                + (f"  FAILED: {failure}" if failure else ""))

    def run_proxy_idle(self, sc, run):
        n_all = min(self.proxy_idle_n, (self.ctx.nofile - 100) // 2)  # wsgated: 2 fds each
        for key, name in self.proxy_servers():
            n = n_all
            if name == "websockify" and n > 500:
                n = 500
                self.note(sc["id"], f"websockify holds 500 connections, not {n_all}: each "
                                    "connection's forked process inherits the parent's fds "
                                    "(about two per live child: 806 with 400 open) and waits in "
                                    "select(), so from about the 508th connection on its socket "
                                    "numbers pass FD_SETSIZE (1024) and the handler fails with "
                                    "\"filedescriptor out of range in select()\".")
            # Fresh server and upstream: no history, no upstream sockets left over.
            self.stop_server(name, fast=True)
            self.stop_server("upstream")
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                continue
            upstream = self.servers["upstream"]
            result, failure, argv = self.idle_once(srv, srv.target(), n, 1, holder=upstream)
            self.record(sc["id"], key, result, failure,
                        srv.command() + "   # upstream: " + upstream.command(), shlex.join(argv))
            self.log_idle(f"proxy_idle run {run + 1}", srv.label, n, result, failure)
            self.stop_server(name, fast=True)

    # exec relay -----------------------------------------------------------
    def exec_servers(self):
        """(result key, server name) of the enabled exec servers."""
        return [(key, "wsgate-exec" if key == "wsgate" else "websocketd-exec")
                for key in EXEC_SERVERS if key in self.enabled_servers]

    def run_sampled(self, argv, timeout, srv, parse):
        """Runs a generator to its end like Generator.run, sampling srv's
        process tree (tree_sample) at 10 %, 50 % and 90 % of the measured
        window (counted from warm-up's end as if connecting took no time);
        returns (result, failure, samples)."""
        out = tempfile.TemporaryFile(mode="w+")
        err = tempfile.TemporaryFile(mode="w+")
        gen = spawn(argv, stdout=out, stderr=err)
        t0 = time.monotonic()
        due = [t0 + self.warmup + f * self.duration for f in (0.1, 0.5, 0.9)]
        samples = []
        while gen.poll() is None and time.monotonic() - t0 < timeout:
            if due and time.monotonic() >= due[0]:
                due.pop(0)
                samples.append(tree_sample(srv, self.ctx.cgroups))
            time.sleep(0.02)
        if gen.poll() is None:
            stop_process(gen)
            out.close()
            err.close()
            return None, f"generator timed out after {timeout:.0f} s", samples
        out.seek(0)
        err.seek(0)
        result, failure = parse(gen.returncode, out.read(), err.read())
        out.close()
        err.close()
        return result, failure, samples

    def attach_samples(self, result, samples):
        """Puts the sample with the most programs and the CPU split between
        the first and last into result."""
        if result is None:
            return
        result["sample"] = max(samples, key=lambda x: x["programs"]) if samples else None
        result["cpu_split"] = cpu_split(samples[0], samples[-1]) if len(samples) >= 2 else None

    def parse_connect1(self, rc, stdout, stderr):
        """connect1's JSON: loadgen's field names, plus its own."""
        result, failure = Generator(self.gen.path, "loadgen", self.gen.pin).parse(rc, stdout, stderr)
        if result is not None:
            try:
                doc = json.loads(stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                doc = {}
            for key in ("client_cpu_fraction", "no_server_close", "server_cpu_ns", "window_s"):
                result[key] = doc.get(key)
        return result, failure

    def run_exec_echo(self, sc, run):
        for key, name in self.exec_servers():
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001 - report and go on
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                continue
            argv = self.gen.echo_argv(srv.target(), self.conns(sc), sc["size"], sc["depth"], False,
                                      self.warmup, self.duration, srv.cpu_counter)
            result, failure, samples = self.run_sampled(
                argv, self.warmup + self.duration + 60 + self.conns(sc) / 50, srv, self.gen.parse)
            self.attach_samples(result, samples)
            sample = result and result.get("sample")
            split = result and result.get("cpu_split")
            self.record(sc["id"], key, result, failure, srv.command(), shlex.join(argv))
            log(f"  [{sc['id']} run {run + 1}] {srv.label:22s} " + (
                f"{human(result['msgs_per_s'])} msg/s p99 {human(result['p99'])} µs "
                f"cpu {human(result['cpu_us_per_msg'])} µs/msg"
                if result and result.get("msgs_per_s") is not None else "")
                + (f"  [{sample_text(sample)}]" if sample else "")
                + (f"  [children {split['children_share'] * 100:.0f} % of {split['counted_s']:.2f} s "
                   f"counted, cgroup {split['cgroup_s'] or 0:.2f} s]" if split else "")
                + (f"  FAILED: {failure}" if failure else ""))

    def run_exec_connect(self, sc, run):
        for key, name in self.exec_servers():
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                continue
            t = srv.target()
            argv = self.gen.prefix() + [
                "/usr/bin/python3", os.path.abspath(__file__), "connect1",
                "--url", f"ws://{t['host']}:{t['port']}{t['path']}", "-c", str(self.conns(sc)),
                "-s", str(sc["size"]), "-w", fmt_s(self.warmup), "-d", fmt_s(self.duration),
                "--json"] + (["--cpu-counter", srv.cpu_counter] if srv.cpu_counter else [])
            result, failure, samples = self.run_sampled(argv, self.warmup + self.duration + 60, srv,
                                                       self.parse_connect1)
            self.attach_samples(result, samples)
            sample = result and result.get("sample")
            split = result and result.get("cpu_split")
            self.record(sc["id"], key, result, failure, srv.command(), shlex.join(argv))
            log(f"  [{sc['id']} run {run + 1}] {srv.label:22s} " + (
                f"{human(result.get('handshakes_per_s'))} conn/s, failed "
                f"{result.get('handshakes_failed')}, server {human(result.get('cpu_us_per_msg'))} "
                f"µs/conn, driver CPU {human((result.get('client_cpu_fraction') or 0) * 100)} %"
                if result else "") + (f"  [{sample_text(sample)}]" if sample else "")
                + (f"  [children {split['children_share'] * 100:.0f} % of {split['counted_s']:.2f} s "
                   f"counted, cgroup {split['cgroup_s'] or 0:.2f} s]" if split else "")
                + (f"  FAILED: {failure}" if failure else ""))

    def run_exec_idle(self, sc, run):
        n = min(self.exec_idle_n, (self.ctx.nofile - 100) // 4)  # wsgated: socket + 3 pipes each
        for key, name in self.exec_servers():
            # A fresh server: no history, no programs left from other scenarios.
            self.stop_server(name, fast=True)
            try:
                srv = self.server(name)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                continue
            result, failure, argv = self.idle_once(srv, srv.target(), n, 1, programs=True)
            self.record(sc["id"], key, result, failure, srv.command(), shlex.join(argv))
            self.log_idle(f"exec_idle run {run + 1}", srv.label, n, result, failure)
            if result:
                log(f"      programs {result['programs']}: {result['program_kib']} KiB "
                    f"({result['program_per_conn']:.0f} B/conn), the server's own "
                    f"{result['server_per_conn']:.0f} B/conn; anonymous: programs "
                    f"{result['program_anon_per_conn']:.0f} B/conn, server "
                    f"{result['base_anon_kib']} -> {result['server_anon_kib']} KiB = "
                    f"{result['server_anon_per_conn']:.0f} B/conn; {sample_text(result['sample'])}")
            self.stop_server(name, fast=True)

    # TLS ------------------------------------------------------------------
    def tls_server(self, key, workers=1, release_buffers=True):
        """A fresh wsgated with a plain and a wss:// listener (registered as
        self.servers[key]; the caller stops it)."""
        self.stop_server(key)
        self.ctx.ensure_certificate()
        srv = WsgateServer(self.ctx, workers=workers, name=key,
                           label=f"wsgate ({workers} worker{'s' if workers > 1 else ''}, wss)",
                           tls={"release_buffers": release_buffers})
        self.servers[key] = srv
        srv.start()
        return srv

    def tls_unavailable(self, sc):
        why = self.gen.lacks("tls")
        if "wsgate" not in self.enabled_servers:
            return "wsgate not among --servers"
        if why:
            self.record(sc["id"], "wsgate", None, why, "", "")
            return why
        return None

    def run_tls_handshakes(self, sc, run):
        if self.tls_unavailable(sc):
            return
        speed = openssl_speed(self.speed_seconds, self.ctx.pin)
        self.results.setdefault((sc["id"], "speed"), []).append((speed, speed.get("failure")))
        log(f"  [tls-handshakes run {run + 1}] openssl speed: "
            f"{human(speed.get('sign_per_s'))} ECDSA P-256 sign/s, "
            f"{human(speed.get('ecdh_per_s'))} X25519 op/s -> bound {human(speed.get('bound'))} "
            f"handshakes/s on one core" + (f" FAILED: {speed['failure']}" if speed.get("failure") else ""))
        for key, workers, resume in (("tls-full-1w", 1, False), ("tls-full-2w", 2, False),
                                     ("tls-resumed-1w", 1, True)):
            try:
                srv = self.tls_server("wsgate-tls", workers=workers)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                self.stop_server("wsgate-tls", fast=True)
                continue
            argv = self.gen.connect_argv(srv.tls_target(), 50, self.warmup, self.duration,
                                         srv.cpu_counter, resume=resume)
            result, failure = self.gen.run(argv, self.warmup + self.duration + 60)
            self.record(sc["id"], key, result, failure, srv.command(), shlex.join(argv))
            log(f"  [tls-handshakes run {run + 1}] {key:16s} " + (
                f"{human(result.get('handshakes_per_s'))} handshakes/s, resumed "
                f"{result.get('resumed')}/{result.get('handshakes')}, failed "
                f"{result.get('handshakes_failed')}, server {human(result.get('cpu_us_per_msg'))} "
                f"µs/handshake" if result else "") + (f"  FAILED: {failure}" if failure else ""))
            self.stop_server("wsgate-tls")

    def run_tls_echo(self, sc, run):
        if self.tls_unavailable(sc):
            return
        try:
            srv = self.tls_server("wsgate-tls")
        except Exception as error:  # noqa: BLE001
            self.record(sc["id"], "ws", None, f"server did not start: {error}", "", "")
            self.stop_server("wsgate-tls", fast=True)
            return
        for key, conns, size, depth, binary, _ in TLS_ECHO:
            for scheme, target in (("ws", srv.target()), ("wss", srv.tls_target())):
                argv = self.gen.echo_argv(target, conns, size, depth, binary, self.warmup,
                                          self.duration, srv.cpu_counter)
                result, failure = self.gen.run(argv, self.warmup + self.duration + 60)
                self.record(sc["id"], f"{scheme}/{key}", result, failure, srv.command(),
                            shlex.join(argv))
                log(f"  [tls-echo run {run + 1}] {scheme:3s} {key:13s} " + (
                    f"{human(result['msgs_per_s'])} msg/s ({mb(result['bytes_per_s'] / 1e6)} MB/s) "
                    f"p99 {human(result['p99'])} µs cpu {human(result['cpu_us_per_msg'])} µs/msg"
                    if result and result.get("msgs_per_s") is not None else "")
                    + (f"  FAILED: {failure}" if failure else ""))
        self.stop_server("wsgate-tls")

    def run_tls_idle(self, sc, run):
        if self.tls_unavailable(sc):
            return
        n = min(self.tls_idle_n, self.ctx.nofile - 100)
        for key, release, tls in (("wss-release", True, True), ("wss-keep", False, True),
                                  ("ws", True, False)):
            try:
                srv = self.tls_server("wsgate-tls", release_buffers=release)
            except Exception as error:  # noqa: BLE001
                self.record(sc["id"], key, None, f"server did not start: {error}", "", "")
                self.stop_server("wsgate-tls", fast=True)
                continue
            target = srv.tls_target() if tls else srv.target()
            result, failure, argv = self.idle_once(srv, target, n, 1)
            self.record(sc["id"], key, result, failure, srv.command(), shlex.join(argv))
            self.log_idle(f"tls-idle run {run + 1}", key, n, result, failure)
            self.stop_server("wsgate-tls", fast=True)

    # --------------------------------------------------------------------
    def run(self):
        if self.args.only:
            chosen = [sc for sc in SCENARIOS if sc["id"] in self.args.only]
        else:
            chosen = [sc for sc in SCENARIOS if not (self.quick and sc.get("full_only"))]
        self.chosen = chosen
        self.load_start = loadavg()
        self.t0 = time.monotonic()
        for run in range(self.runs):
            for sc in chosen:
                log(f"== {sc['id']} (run {run + 1}/{self.runs})")
                t = time.monotonic()
                getattr(self, "run_" + sc["kind"])(sc, run)
                log(f"   {sc['id']}: {time.monotonic() - t:.1f} s")
        for name in list(self.servers):
            self.stop_server(name)
        self.elapsed = time.monotonic() - self.t0
        self.load_end = loadavg()

    # report -------------------------------------------------------------
    def values(self, sc_id, name, key):
        return [r.get(key) if r else None for r, _ in self.results.get((sc_id, name), [])]

    def failures(self, sc_id, name):
        return [f for _, f in self.results.get((sc_id, name), []) if f]

    def label(self, name):
        return {"wsgate": "**wsgate**", "wsgate-2w": "**wsgate, 2 workers**",
                "wsgate-base": "wsgate, baseline build", "tcp": "raw TCP echo",
                "node": "node ws", "python": "python websockets",
                "websocketd": "websocketd + cat", "websockify": "websockify"}.get(name, name)

    def row_failure(self, sc_id, name):
        runs = self.results.get((sc_id, name), [])
        fails = self.failures(sc_id, name)
        if runs and all(r is None for r, _ in runs):
            text = fails[0]
            return text if text.startswith("n/a") else "failed: " + text
        return None

    def flag(self, sc_id, name):
        runs = self.results.get((sc_id, name), [])
        bad = [f for (r, f) in runs if f and r is not None]
        if bad:
            return f" ⚠ {len(bad)}/{len(runs)} runs had errors"
        return ""

    def report_names(self, names):
        """names as tables list them: the baseline's row right after wsgate's."""
        return [n for n in self.with_baseline(names, 1)]

    def report_callgrind(self, sc, body, targets):
        sid = sc["id"]
        n1, n2 = self.callgrind_counts()
        body.append("| server | instructions per message | worker Ir at N1 → N2 | echoes N1 → N2 |")
        body.append("| --- | --- | --- | --- |")
        for name in self.report_names(["wsgate"]):
            if (sid, name) not in self.results:
                continue
            fail = self.row_failure(sid, name)
            if fail:
                body.append(f"| {self.label(name)} | {fail} | | |")
                continue
            last = [r for r, _ in self.results[(sid, name)] if r][-1]
            body.append(f"| {self.label(name)} | "
                        f"{cell(self.values(sid, name, 'instr_per_msg'), fmt=lambda v, u='': f'{v:.1f}')}"
                        f"{self.flag(sid, name)} | {last['ir1']:,} → {last['ir2']:,} | "
                        f"{last['messages1']} → {last['messages2']} |")
        w = median_range(self.values(sid, "wsgate", "instr_per_msg"))[0]
        targets.append((self.title(sc), "≤ 340 (uWebSockets 359; issue 16)",
                        f"{w:.0f}" if w is not None else "–",
                        "not measured" if w is None else ("met" if w <= 340 else "**missed**")))
        self.note(sid, f"wsgated with 1 worker run under `valgrind --tool=callgrind` twice, echoing "
                       f"N1 = {n1} and N2 = {n2} messages (`wsgate-loadgen -n`, no warm-up), each "
                       "on a fresh server; the figure is (worker Ir at N2 − worker Ir at N1) / "
                       "(echoes at N2 − echoes at N1): start-up, handshakes and shutdown cancel. "
                       "Callgrind simulates the CPU, so the count is repeatable on a busy machine "
                       "(within about 1 %: batching, and so the frames per read, still follows "
                       "the timing).")

    def report_ab(self):
        """The A/B table of --baseline-build: each wsgate figure of this run
        next to the baseline build's, medians of the same runs."""
        rows = []
        figures = {"echo": [("cpu_us_per_msg", "server µs/msg", False),
                            ("msgs_per_s", "msg/s", True)],
                   "idle": [("per_conn", "PSS bytes/conn", False),
                            ("anon_per_conn", "anonymous bytes/conn", False)],
                   "callgrind": [("instr_per_msg", "worker instructions/msg", False)]}
        for sc in self.chosen:
            for key, what, higher_better in figures.get(sc["kind"], []):
                if sc["kind"] == "echo" and sc.get("size", 0) >= 1024 and key == "msgs_per_s":
                    key, what = "bytes_per_s", "payload B/s"
                base = self.values(sc["id"], "wsgate-base", key)
                head = self.values(sc["id"], "wsgate", key)
                b, h = median_range(base)[0], median_range(head)[0]
                if b is None or h is None:
                    continue
                digits = {"callgrind": lambda v, u="": f"{v:.1f}",
                          "idle": lambda v, u="": f"{v:.0f}"}.get(sc["kind"], human)
                rows.append(f"| {sc['id']} | {what} | {cell(base, fmt=digits)} | "
                            f"{cell(head, fmt=digits)} | {h / b:.3f} |")
        if not rows:
            return []
        out = [f"### A/B: this build against `--baseline-build {self.ctx.base['dir']}`", "",
               "Medians (min–max) over the runs of this invocation; in every run the two builds "
               "ran back to back, the baseline first on odd-numbered runs.", "",
               "| scenario | figure | baseline | this build | this / baseline |",
               "| --- | --- | --- | --- | --- |"] + rows + [""]
        return out

    def report_tls_handshakes(self, sc, body, targets):
        sid = sc["id"]
        speeds = [r for r, _ in self.results.get((sid, "speed"), []) if r and r.get("bound")]
        bound = median_range([r["bound"] for r in speeds])[0]
        bound_us = 1e6 / bound if bound else None
        if speeds:
            body.append(f"Bound from `{speeds[-1]['command']}` in this run (server's CPU): "
                        f"{cell([r['sign_per_s'] for r in speeds])} ECDSA P-256 signs/s, "
                        f"{cell([r['ecdh_per_s'] for r in speeds])} X25519 ops/s → "
                        f"**bound {cell([r['bound'] for r in speeds])} full handshakes/s on one core** "
                        f"({bound_us:.0f} µs of crypto per handshake). (Client side, for scale: "
                        f"{cell([r['verify_per_s'] for r in speeds])} ECDSA verifies/s.)")
        else:
            fails = self.failures(sid, "speed")
            body.append(f"Bound: not measured ({fails[0] if fails else 'openssl speed did not run'}).")
        body.append("")
        body.append("| handshake | handshakes/s | ÷ bound | server µs/handshake | bound µs ÷ server µs "
                    "| resumed | failed |")
        body.append("| --- | --- | --- | --- | --- | --- | --- |")
        rows = (("tls-full-1w", "full, 1 worker"), ("tls-full-2w", "full, 2 workers"),
                ("tls-resumed-1w", "resumed (--resume), 1 worker"))
        for key, label in rows:
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {label} | {fail} | | | | | |")
                continue
            hs = median_range(self.values(sid, key, "handshakes_per_s"))[0]
            cpu = median_range(self.values(sid, key, "cpu_us_per_msg"))[0]
            runs = [r for r, _ in self.results[(sid, key)] if r]
            resumed = sum(r.get("resumed") or 0 for r in runs)
            total = sum(r.get("handshakes") or 0 for r in runs)
            failed = sum(r.get("handshakes_failed") or 0 for r in runs)
            body.append(f"| {label} | {cell(self.values(sid, key, 'handshakes_per_s'))}"
                        f"{self.flag(sid, key)} | "
                        f"{f'{hs / bound:.2f}' if hs and bound else '–'} | "
                        f"{cell(self.values(sid, key, 'cpu_us_per_msg'))} | "
                        f"{f'{bound_us / cpu:.2f}' if bound_us and cpu else '–'} | "
                        f"{resumed} of {total} | {failed} |")
            targets.append((f"TLS {label}", "report; ratio to the openssl speed bound",
                            (f"{human(hs)}/s, {hs / bound:.2f} × bound" if hs and bound else
                             f"{human(hs)}/s" if hs else "–")
                            + (f"; {human(cpu)} µs server CPU each" if cpu else ""),
                            "reported" if hs else "not measured"))
        self.note(sid, "**Bound's definition**: a TLS 1.3 full handshake costs the server one ECDSA "
                       "P-256 signature (CertificateVerify) plus one X25519 key generation and one "
                       "X25519 derivation; each X25519 step is costed as one `openssl speed` X25519 "
                       "op, so bound = 1 / (1/signs_per_s + 2/x25519_ops_per_s) handshakes/s on one "
                       "core. It leaves out hashing, record encryption, session tickets, the "
                       "WebSocket upgrade and the kernel's TCP work, so no real server reaches it.")
        self.note(sid, "Certificate: self-signed ECDSA P-256 made for this run with "
                       f"`{CERT_COMMAND}` in a temp dir; wsgated's wss listener has groups X25519 "
                       "and default session tickets (two TLS 1.3 tickets per full handshake). "
                       "Connect mode, 50 slots: TCP connect → TLS → upgrade → Close 1000 → close. "
                       "Without `--resume` every handshake is full; with it every connect offers "
                       "the first connection's session.")
        self.note(sid, "Read the server CPU column, not handshakes/s: the generator has one core "
                       "and must verify the server's ECDSA signature and do its own X25519 on every "
                       "full handshake (more crypto than the server's), so it saturates before "
                       "wsgated does. \"bound µs ÷ server µs\" is the fraction of the bound the server "
                       "would reach with its core busy; the 2-worker row shares the same CPU 0 "
                       "(both workers pinned there), so it shows the cost of a second worker, not "
                       "scaling.")

    def report_tls_echo(self, sc, body, targets):
        sid = sc["id"]
        body.append("| workload | ws:// msg/s | wss:// msg/s | **wss ÷ ws** | ws server µs/msg | "
                    "wss server µs/msg | ws p99 µs | wss p99 µs |")
        body.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for key, _, size, _, _, label in TLS_ECHO:
            ws_key, wss_key = f"ws/{key}", f"wss/{key}"
            if (sid, ws_key) not in self.results:
                continue
            fail = self.row_failure(sid, ws_key) or self.row_failure(sid, wss_key)
            if fail:
                body.append(f"| {label} | {fail} | | | | | | |")
                continue
            unit_key = "bytes_per_s" if size >= 1024 else "msgs_per_s"

            def main(k):
                vals = self.values(sid, k, unit_key)
                return (cell(vals, 1e-6, " MB/s", mb) if size >= 1024 else cell(vals)) + self.flag(sid, k)
            a = median_range(self.values(sid, ws_key, "msgs_per_s"))[0]
            b = median_range(self.values(sid, wss_key, "msgs_per_s"))[0]
            ratio = f"{b / a:.2f}" if a and b else "–"
            body.append(f"| {label} | {main(ws_key)} | {main(wss_key)} | {ratio} | "
                        f"{cell(self.values(sid, ws_key, 'cpu_us_per_msg'))} | "
                        f"{cell(self.values(sid, wss_key, 'cpu_us_per_msg'))} | "
                        f"{cell(self.values(sid, ws_key, 'p99'))} | "
                        f"{cell(self.values(sid, wss_key, 'p99'))} |")
            targets.append((f"wss ÷ ws echo, {label}", "report", ratio if a and b else "–",
                            "reported" if a and b else "not measured"))
        self.note(sid, "One wsgated (1 worker) with a plain and a wss:// listener (ECDSA P-256, "
                       "X25519, TLS 1.3 with AES-128-GCM as negotiated by default); each workload "
                       "runs against the plain port, then the TLS port. The generator encrypts and "
                       "decrypts on its one core too, so the server µs/msg ratio is the cleaner "
                       "cost of TLS.")

    def report_tls_idle(self, sc, body, targets):
        sid = sc["id"]
        body.append("| listener | connections | user-space bytes/conn (PSS) | processes | "
                    "PSS before → after |")
        body.append("| --- | --- | --- | --- | --- |")
        labels = {"wss-release": "wss://, release_buffers: true",
                  "wss-keep": "wss://, release_buffers: false",
                  "ws": "ws:// (same config, plain listener)"}
        for key, label in labels.items():
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {label} | {fail} | | | |")
                continue
            runs = [r for r, _ in self.results[(sid, key)] if r]
            last = runs[-1]
            body.append(f"| {label} | {last['n']} | "
                        f"{cell(self.values(sid, key, 'per_conn'), fmt=lambda v, u='': f'{v:.0f}')}"
                        f"{self.flag(sid, key)} | {last['procs']} | "
                        f"{last['base_kib']} → {last['after_kib']} KiB |")
            if key != "ws":
                w = median_range(self.values(sid, key, "per_conn"))[0]
                targets.append((f"idle {label}", "report (PSS per connection)",
                                f"{w:.0f} B" if w is not None else "–",
                                "reported" if w is not None else "not measured"))
        self.note(sid, "A fresh wsgated (1 worker, plain + wss listener) per row; N idle "
                       "connections opened (TLS 1.3 full handshake and upgrade each) and held; sum "
                       "of PSS over the supervisor and worker with them open minus before, ÷ N. "
                       "Kernel socket memory is not included. With release_buffers OpenSSL frees "
                       "each idle connection's read and write record buffers "
                       "(SSL_MODE_RELEASE_BUFFERS).")

    def report_proxy_echo(self, sc, body, targets):
        sid = sc["id"]
        size_mb = sc["size"] >= 1024
        body.append("| server | msg/s | MB/s (payload, each way) | p99 µs | server µs/msg | "
                    "÷ websockify (server µs/msg) | upstream µs/msg (rough) |")
        body.append("|" + " --- |" * 7)
        ref = median_range(self.values(sid, "websockify", "cpu_us_per_msg"))[0]
        for key in PROXY_SERVERS:
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {self.label(key)} | {fail} |" + " |" * 5)
                continue
            cpu = median_range(self.values(sid, key, "cpu_us_per_msg"))[0]
            up = [r["upstream_cpu_ns"] / 1e3 / r["messages"] if r and r.get("upstream_cpu_ns")
                  else None for r, _ in self.results[(sid, key)]]
            body.append(f"| {self.label(key)} | {cell(self.values(sid, key, 'msgs_per_s'))}"
                        f"{self.flag(sid, key)} | "
                        f"{cell(self.values(sid, key, 'bytes_per_s'), 1e-6, '', mb)} | "
                        f"{cell(self.values(sid, key, 'p99'))} | "
                        f"{cell(self.values(sid, key, 'cpu_us_per_msg'))} | "
                        f"{f'{cpu / ref:.2f}' if cpu and ref else '–'} | {cell(up)} |")
        w = median_range(self.values(sid, "wsgate", "cpu_us_per_msg"))[0]
        targets.append((self.title(sc), "report; server µs/msg ÷ websockify",
                        f"{human(w)} µs/msg, {w / ref:.2f} × websockify" if w and ref else "–",
                        "reported" if w else "not measured"))
        self.note(sid, "Both proxies and the upstream (wsgate-tcp-echo) on CPU 0, the generator "
                       "on CPU 1; the upstream has its own cgroup, so server µs/msg is the "
                       "proxy's CPU alone (wsgate: supervisor + worker; websockify: its main "
                       "process + one forked process per connection). Upstream µs/msg is its "
                       "cgroup over the whole generator run (warm-up and drain too) ÷ measured "
                       "echoes: for scale only. The generator runs with --binary --stream: the "
                       "proxy re-frames the upstream's bytes as they are read, so echoes are "
                       "checked as a byte stream." + (
                           " A 64 KiB message may come back as several binary messages."
                           if size_mb else ""))

    def report_proxy_idle(self, sc, body, targets):
        sid = sc["id"]
        body.append("| server | connections | user-space bytes/conn (PSS) | processes | "
                    "PSS before → after |")
        body.append("| --- | --- | --- | --- | --- |")
        for key in PROXY_SERVERS:
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {self.label(key)} | {fail} | | | |")
                continue
            last = [r for r, _ in self.results[(sid, key)] if r][-1]
            body.append(f"| {self.label(key)} | {last['n']} | "
                        f"{cell(self.values(sid, key, 'per_conn'), fmt=lambda v, u='': f'{v:.0f}')}"
                        f"{self.flag(sid, key)} | {last['procs']} | "
                        f"{last['base_kib']} → {last['after_kib']} KiB |")
        w = median_range(self.values(sid, "wsgate", "per_conn"))[0]
        k = median_range(self.values(sid, "websockify", "per_conn"))[0]
        targets.append((self.title(sc), "report (PSS per connection); ÷ websockify",
                        (f"{w:.0f} B" if w is not None else "–")
                        + (f", {w / k:.3f} × websockify" if w is not None and k else ""),
                        "reported" if w is not None else "not measured"))
        self.note(sid, "A fresh proxy and a fresh upstream per row; a connection counts as open "
                       "once the upstream holds its socket. Sum of PSS over the proxy's processes "
                       "(wsgate: supervisor + worker; websockify: its main process and the one it "
                       "forks per connection) with the connections open, minus before, ÷ N. The "
                       "upstream and kernel socket memory are not included.")

    def split_values(self, sid, key, cpu_key="cpu_us_per_msg"):
        """Per run: (children's share of the server CPU, the server's own
        µs per unit = cpu_key x (1 - share))."""
        shares, own = [], []
        for r, _ in self.results.get((sid, key), []):
            split = r.get("cpu_split") if r else None
            share = split["children_share"] if split else None
            shares.append(share)
            own.append(r[cpu_key] * (1 - share) if share is not None and r.get(cpu_key) else None)
        return shares, own

    def exec_label(self, key):
        return {"wsgate": "**wsgate** (relay: exec)",
                "websocketd": "websocketd + /bin/cat"}.get(key, key)

    def exec_cgroup_note(self, sid):
        """Whether every process of each server's tree, programs included,
        was found in its cgroup when sampled."""
        seen = []
        for key in EXEC_SERVERS:
            samples = [r.get("sample") for r, _ in self.results.get((sid, key), []) if r and r.get("sample")]
            if samples:
                s = max(samples, key=lambda x: x["programs"])
                zombies = max(x.get("zombies", 0) for x in samples)
                ratios = [r["cpu_split"]["counted_s"] / r["cpu_split"]["cgroup_s"]
                          for r, _ in self.results.get((sid, key), [])
                          if r and r.get("cpu_split") and r["cpu_split"].get("cgroup_s")]
                seen.append(f"{self.exec_label(key).replace('*', '')}: {s['procs_in_cgroup']} of "
                            f"{s['procs']} processes, {s['programs_in_cgroup']} of {s['programs']} "
                            f"running {EXEC_COMM} programs (at most {zombies} exited and not yet "
                            "reaped in a sample)"
                            + (f", the tree's run time counted process by process "
                               f"{min(ratios):.3f}–{max(ratios):.3f} × the cgroup's over the same "
                               "span" if ratios else ""))
        if seen:
            self.note(sid, "In the server's cgroup when its process tree was sampled during the "
                           "measured window (the sample with the most running programs): "
                           + "; ".join(seen) + ". Exited children waiting to be reaped are not "
                           "checked: cgroup v1 moves an exiting task to the root cgroup once its "
                           "CPU has been charged.")

    def exec_split_note(self, sid):
        self.note(sid, "Programs' (children's) share: every process in the tree read at 10 % and "
                       "90 % of the measured window; the live "
                       f"{EXEC_COMM} processes' own run time (/proc/PID/task/*/schedstat, ns) "
                       "plus what the server reaped from exited children (cutime + cstime of "
                       "/proc/PID/stat), ÷ those plus the server's own run time (wsgate: "
                       "supervisor and worker; websocketd: its one process, all threads). "
                       "A wsgate program's run time includes its `wsgate-exec` launcher (the same "
                       "process before its exec); the fork itself is charged to the parent. The "
                       "server's own µs = server µs × (1 − share), per run.")

    def report_exec_echo(self, sc, body, targets):
        sid = sc["id"]
        body.append("| server | msg/s | p99 µs | server µs/msg (children included) | "
                    "÷ websocketd (µs/msg) | ÷ websocketd (msg/s) | programs' share of it | "
                    "server's own µs/msg |")
        body.append("|" + " --- |" * 8)
        ref_cpu = median_range(self.values(sid, "websocketd", "cpu_us_per_msg"))[0]
        ref_rate = median_range(self.values(sid, "websocketd", "msgs_per_s"))[0]
        for key in EXEC_SERVERS:
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {self.exec_label(key)} | {fail} |" + " |" * 6)
                continue
            cpu = median_range(self.values(sid, key, "cpu_us_per_msg"))[0]
            rate = median_range(self.values(sid, key, "msgs_per_s"))[0]
            shares, own = self.split_values(sid, key)
            body.append(f"| {self.exec_label(key)} | {cell(self.values(sid, key, 'msgs_per_s'))}"
                        f"{self.flag(sid, key)} | {cell(self.values(sid, key, 'p99'))} | "
                        f"{cell(self.values(sid, key, 'cpu_us_per_msg'))} | "
                        f"{f'{cpu / ref_cpu:.2f}' if cpu and ref_cpu else '–'} | "
                        f"{f'{rate / ref_rate:.2f}' if rate and ref_rate else '–'} | "
                        f"{cell(shares, 100, ' %')} | {cell(own)} |")
        w = median_range(self.values(sid, "wsgate", "cpu_us_per_msg"))[0]
        r = median_range(self.values(sid, "wsgate", "msgs_per_s"))[0]
        targets.append((self.title(sc), "report; server µs/msg and msg/s ÷ websocketd",
                        (f"{human(w)} µs/msg, {w / ref_cpu:.2f} × websocketd; "
                         f"{human(r)} msg/s, {r / ref_rate:.2f} ×" if w and ref_cpu and r and ref_rate
                         else f"{human(w)} µs/msg" if w else "–"),
                        "reported" if w else "not measured"))
        self.note(sid, f"Both servers run `{EXEC_PROGRAM}` once per connection and are pinned to "
                       "CPU 0 with their programs; server µs/msg is the server's cgroup, which the "
                       "programs inherit (wsgate: supervisor, worker and one `wsgate-exec` "
                       f"launcher per connection that execs into `{EXEC_PROGRAM}`; websocketd: "
                       "itself and its cat processes), over the measured window ÷ echoes. Text "
                       "mode on both: each 32 B message reaches cat as one line, each line comes "
                       "back as one text message, checked by the generator.")
        self.exec_split_note(sid)
        self.exec_cgroup_note(sid)

    def report_exec_connect(self, sc, body, targets):
        sid = sc["id"]
        body.append("| server | connections/s | failed | server µs/connection (children "
                    "included) | ÷ websocketd (µs/conn) | ÷ websocketd (conn/s) | children's share "
                    "of it | server's own µs/conn | cycle p50 / p99 ms | driver CPU |")
        body.append("|" + " --- |" * 10)
        ref_cpu = median_range(self.values(sid, "websocketd", "cpu_us_per_msg"))[0]
        ref_rate = median_range(self.values(sid, "websocketd", "handshakes_per_s"))[0]
        for key in EXEC_SERVERS:
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {self.exec_label(key)} | {fail} |" + " |" * 8)
                continue
            runs = [r for r, _ in self.results[(sid, key)] if r]
            shares, own = self.split_values(sid, key)
            cpu = median_range(self.values(sid, key, "cpu_us_per_msg"))[0]
            rate = median_range(self.values(sid, key, "handshakes_per_s"))[0]
            failed = sum(r.get("handshakes_failed") or 0 for r in runs)
            p50 = median_range(self.values(sid, key, "p50"))[0]
            p99 = median_range(self.values(sid, key, "p99"))[0]
            body.append(f"| {self.exec_label(key)} | {cell(self.values(sid, key, 'handshakes_per_s'))}"
                        f"{self.flag(sid, key)} | {failed} | "
                        f"{cell(self.values(sid, key, 'cpu_us_per_msg'))} | "
                        f"{f'{cpu / ref_cpu:.2f}' if cpu and ref_cpu else '–'} | "
                        f"{f'{rate / ref_rate:.2f}' if rate and ref_rate else '–'} | "
                        f"{cell(shares, 100, ' %')} | {cell(own)} | "
                        f"{human(p50 / 1e3 if p50 else None)} / {human(p99 / 1e3 if p99 else None)} | "
                        f"{cell(self.values(sid, key, 'client_cpu_fraction'), 100, ' %')} |")
        w = median_range(self.values(sid, "wsgate", "cpu_us_per_msg"))[0]
        r = median_range(self.values(sid, "wsgate", "handshakes_per_s"))[0]
        targets.append((self.title(sc), "report; server µs/connection and conn/s ÷ websocketd",
                        (f"{human(w)} µs/conn, {w / ref_cpu:.2f} × websocketd; "
                         f"{human(r)}/s, {r / ref_rate:.2f} ×" if w and ref_cpu and r and ref_rate
                         else f"{human(w)} µs/conn" if w else "–"),
                        "reported" if w else "not measured"))
        self.note(sid, f"Driver: `bench/run_bench.py connect1` (Python, epoll, non-blocking "
                       f"sockets, on CPU 1): {self.conns(sc)} slots each loop TCP connect → "
                       "upgrade → one 32 B text message → its echo (checked: the program ran) → "
                       "Close 1000 → the server's Close and FIN → close; a cycle counts when it "
                       "ends inside the measured window. wsgate-loadgen's connect mode closes "
                       "right after the 101, which would not prove the program started. Server "
                       "µs/connection is the cgroup (server, launchers, programs: their fork, "
                       "exec, run and exit) over the window ÷ cycles. \"Driver CPU\" is the "
                       "driver's own CPU time over the window: near 100 % the driver, not the "
                       "server, limits connections/s, and only the µs/connection column ranks "
                       "the servers.")
        self.exec_split_note(sid)
        self.exec_cgroup_note(sid)

    def report_exec_idle(self, sc, body, targets):
        sid = sc["id"]
        body.append("| server | connections | bytes/conn, whole tree (PSS) | of which the programs' "
                    "| of which the server's own | anonymous bytes/conn (Pss_Anon): programs' | "
                    "server's own | processes | PSS before → after (programs) |")
        body.append("|" + " --- |" * 9)
        fmt0 = lambda v, u="": f"{v:.0f}"  # noqa: E731
        for key in EXEC_SERVERS:
            if (sid, key) not in self.results:
                continue
            fail = self.row_failure(sid, key)
            if fail:
                body.append(f"| {self.exec_label(key)} | {fail} |" + " |" * 7)
                continue
            last = [r for r, _ in self.results[(sid, key)] if r][-1]
            body.append(f"| {self.exec_label(key)} | {last['n']} | "
                        f"{cell(self.values(sid, key, 'per_conn'), fmt=fmt0)}{self.flag(sid, key)} | "
                        f"{cell(self.values(sid, key, 'program_per_conn'), fmt=fmt0)} | "
                        f"{cell(self.values(sid, key, 'server_per_conn'), fmt=fmt0)} | "
                        f"{cell(self.values(sid, key, 'program_anon_per_conn'), fmt=fmt0)} | "
                        f"{cell(self.values(sid, key, 'server_anon_per_conn'), fmt=fmt0)} | "
                        f"{last['procs']} | {last['base_kib']} → {last['after_kib']} KiB "
                        f"({last['program_kib']} KiB in {last['programs']}) |")
        w = median_range(self.values(sid, "wsgate", "per_conn"))[0]
        k = median_range(self.values(sid, "websocketd", "per_conn"))[0]
        ws = median_range(self.values(sid, "wsgate", "server_anon_per_conn"))[0]
        ks = median_range(self.values(sid, "websocketd", "server_anon_per_conn"))[0]
        targets.append((self.title(sc), "report (PSS per connection of the tree, server's own Pss_Anon); "
                        "÷ websocketd",
                        (f"{w:.0f} B" if w is not None else "–")
                        + (f", {w / k:.2f} × websocketd" if w is not None and k else "")
                        + (f"; server's own anonymous {ws:.0f} B" if ws is not None else "")
                        + (f", {ws / ks:.2f} ×" if ws is not None and ks else ""),
                        "reported" if w is not None else "not measured"))
        self.note(sid, "A fresh server per row; N connections opened by `wsgate-loadgen --mode "
                       f"idle` and held; a connection counts as open once its `{EXEC_COMM}` runs. "
                       "Sum of PSS (/proc/PID/smaps_rollup) over the server's whole process tree "
                       f"with them open, minus before (no programs), ÷ N; \"the programs'\" is "
                       f"the PSS of the {EXEC_COMM} processes alone ÷ N, \"the server's own\" the "
                       "rest of the tree (wsgate: supervisor + worker; websocketd: its one "
                       "process) after minus before ÷ N. PSS splits shared pages (libc, cat's "
                       "text) among the processes mapping them, so the programs' share depends on "
                       "N and on the same pages mapped elsewhere on the box, and the server's "
                       "PSS drops when N programs start sharing its libc (its own PSS figure can "
                       "then be below zero). The anonymous columns (Pss_Anon: heap, stacks, "
                       "buffers) do not move with sharing, since an exec'd program shares no "
                       "anonymous page with its parent: the server's own anonymous growth ÷ N is "
                       "what a connection costs the server process itself, the programs' ÷ N "
                       "what each program holds on top of the file pages it shares. Kernel memory "
                       "(sockets, the three pipes per connection, page tables, task structs) is "
                       "not included.")
        self.exec_cgroup_note(sid)

    def report(self):
        lines = []
        targets = []
        sections = []
        for sc in self.chosen:
            sid = sc["id"]
            body = []
            if sc["kind"] == "echo":
                size_mb = sc["size"] >= 1024
                names = sc.get("servers", ECHO_SERVERS)
                head = ["server", "MB/s (payload, each way)" if size_mb else "msg/s", "p99 µs",
                        "server µs/msg" if not size_mb else "server µs/msg (64 KiB)"]
                if sc.get("target"):
                    head.append("÷ raw TCP")
                if sid == "workers":
                    head.append("÷ 1 worker")
                body.append("| " + " | ".join(head) + " |")
                body.append("|" + " --- |" * len(head))
                key = "bytes_per_s" if size_mb else "msgs_per_s"
                ref_name = "wsgate" if sid == "workers" else "tcp"
                ref = median_range(self.values(sid, ref_name, key))[0]
                for name in self.report_names(names):
                    if (sid, name) not in self.results:
                        continue
                    fail = self.row_failure(sid, name)
                    if fail:
                        body.append(f"| {self.label(name)} | {fail} |" + " |" * (len(head) - 2))
                        continue
                    vals = self.values(sid, name, key)
                    main = cell(vals, 1e-6, "", mb) if size_mb else cell(vals)
                    med = median_range(vals)[0]
                    row = [self.label(name), main + self.flag(sid, name),
                           cell(self.values(sid, name, "p99")),
                           cell(self.values(sid, name, "cpu_us_per_msg"))]
                    if len(head) > 4:
                        row.append(f"{med / ref:.2f}" if ref and med else "–")
                    body.append("| " + " | ".join(row) + " |")
                if sc.get("target"):
                    key_t, factor, text = sc["target"]
                    w = median_range(self.values(sid, "wsgate", key_t))[0]
                    t = median_range(self.values(sid, "tcp", key_t))[0]
                    if w and t:
                        met = w >= factor * t
                        wp = median_range(self.values(sid, "wsgate", "p99"))[0]
                        tp = median_range(self.values(sid, "tcp", "p99"))[0]
                        p99 = (f"; p99 {human(wp)} µs (raw TCP {human(tp)} µs)"
                               if wp is not None and tp is not None and key_t == "msgs_per_s" else "")
                        targets.append((self.title(sc), text, f"{w / t:.2f} × raw TCP{p99}",
                                        "met" if met else "**missed**"))
                    else:
                        targets.append((self.title(sc), text, "–", "not measured"))
                if sid == "workers":
                    one = median_range(self.values(sid, "wsgate", "msgs_per_s"))[0]
                    two = median_range(self.values(sid, "wsgate-2w", "msgs_per_s"))[0]
                    targets.append((self.title(sc), "msg/s ratio: report",
                                    f"{two / one:.2f}" if one and two else "–", "reported"))
                    self.note(sid, "Both configurations run on CPU 0 (the generator has CPU 1), "
                                   "so the second worker shares the first one's core: the ratio "
                                   "shows the cost of more workers than cores, not scaling.")
            elif sc["kind"] == "idle":
                body.append("| server | connections | user-space bytes/conn (PSS) | anonymous bytes/conn | processes | PSS before → after |")
                body.append("| --- | --- | --- | --- | --- | --- |")
                whole = lambda v, u="": f"{v:.0f}"  # noqa: E731
                for name in self.report_names(sc.get("servers", ECHO_SERVERS)):
                    if (sid, name) not in self.results:
                        continue
                    fail = self.row_failure(sid, name)
                    if fail:
                        body.append(f"| {self.label(name)} | {fail} | | | | |")
                        continue
                    runs = [r for r, _ in self.results[(sid, name)] if r]
                    last = runs[-1]
                    body.append(f"| {self.label(name)} | {last['n']} | "
                                f"{cell(self.values(sid, name, 'per_conn'), fmt=whole)}"
                                f"{self.flag(sid, name)} | "
                                f"{cell(self.values(sid, name, 'anon_per_conn'), fmt=whole)} | "
                                f"{last['procs']} | "
                                f"{last['base_kib']} → {last['after_kib']} KiB |")
                w = median_range(self.values(sid, "wsgate", "per_conn"))[0]
                held = [r["n"] for r, _ in self.results.get((sid, "wsgate"), []) if r]
                bound, bound_text = ((450, "≤ 450 B per connection (PSS, user space; issue 16)")
                                     if sid == "idle10k" else
                                     (1024, "≤ 1 KiB per connection (PSS, user space)"))
                targets.append((f"{held[0] if held else self.idle_count(sc)} idle connections", bound_text,
                                f"{w:.0f} B" if w is not None else "–",
                                "not measured" if w is None else ("met" if w <= bound else "**missed**")))
                self.note(sid, "Sum of PSS (/proc/PID/smaps_rollup) over the server's processes "
                               "(wsgate: supervisor + worker; websocketd: itself + its cat "
                               "processes) with the connections open, minus the same sum "
                               "before, divided by the number of connections. Kernel socket "
                               "memory is not included.")
            elif sc["kind"] == "connect":
                body.append("| server | handshakes/s | failed | server µs/handshake |")
                body.append("| --- | --- | --- | --- |")
                for name in ["wsgate", "node", "python", "websocketd", "tcp"]:
                    if (sid, name) not in self.results:
                        continue
                    fail = self.row_failure(sid, name)
                    if fail:
                        body.append(f"| {self.label(name)} | {fail} | | |")
                        continue
                    failed = [r.get("handshakes_failed") for r, _ in self.results[(sid, name)] if r]
                    body.append(f"| {self.label(name)} | {cell(self.values(sid, name, 'handshakes_per_s'))}"
                                f"{self.flag(sid, name)} | {sum(x or 0 for x in failed)} | "
                                f"{cell(self.values(sid, name, 'cpu_us_per_msg'))} |")
                w = median_range(self.values(sid, "wsgate", "handshakes_per_s"))[0]
                nd = median_range(self.values(sid, "node", "handshakes_per_s"))[0]
                targets.append((self.title(sc), "report; ≥ node ws",
                                f"{human(w)}/s, {w / nd:.2f} × node" if w and nd else "–",
                                "not measured" if not (w and nd) else
                                ("met" if w >= nd else "**missed**")))
                if any(r for r, _ in self.results.get((sid, "tcp"), [])):
                    self.note(sid, "raw TCP: a plain TCP connect and close, the floor for the "
                                   "kernel's part.")
            elif sc["kind"] == "reload":
                body.append("| run | reloads (failed) | failed handshakes | lost echoes | errors | "
                            "reconnects | closes | msg/s | p99 µs | steady p99 µs |")
                body.append("|" + " --- |" * 10)
                steady = median_range(self.values("echo32-c1000", "wsgate", "p99"))[0]
                runs = self.results.get((sid, "wsgate"), [])
                fail = self.row_failure(sid, "wsgate")
                if fail:
                    body.append(f"| – | {fail} |" + " |" * 8)
                ok_all = bool(runs) and not fail
                p99s = []
                for i, (r, f) in enumerate(runs):
                    if r is None:
                        continue
                    p99s.append(r.get("p99"))
                    body.append(f"| {i + 1} | {r.get('reloads')} ({r.get('reload_failures')}) | "
                                f"{r.get('handshakes_failed')} | {r.get('lost')} | "
                                f"{int(r.get('errors') or 0)} | {r.get('reconnects')} | "
                                f"{json.dumps(r.get('closes'))} | {human(r.get('msgs_per_s'))} | "
                                f"{human(r.get('p99'))} | {human(steady)} |"
                                + (f" ⚠ {f}" if f else ""))
                    if f or r.get("handshakes_failed") or r.get("lost") or r.get("reload_failures"):
                        ok_all = False
                p99 = median_range(p99s)[0]
                if steady is None:
                    self.note(sid, "Steady p99 comes from the echo32-c1000 scenario of the same "
                                   "run; it was not run, so the p99 bound is not checked.")
                met_p99 = p99 is not None and steady is not None and p99 <= 3 * steady
                if not runs:
                    verdict = "not measured"
                elif fail:
                    verdict = "not measured"
                else:
                    verdict = "met" if ok_all and (met_p99 or steady is None) else "**missed**"
                fh = sum((r or {}).get("handshakes_failed") or 0 for r, _ in runs)
                lo = sum((r or {}).get("lost") or 0 for r, _ in runs)
                targets.append((self.title(sc), "0 failed handshakes, 0 lost, p99 ≤ 3 × steady",
                                f"{fh}, {lo}, " + (f"{p99 / steady:.1f} ×" if p99 and steady else "–"),
                                verdict))
                self.note(sid, f"wsgate with 1 worker, timeouts.drain 1s and idle_check_interval "
                               f"100ms, so each old generation closes its busy connections with 1001 "
                               f"one second after the reload; the generator reconnects (--reconnect) "
                               f"and re-sends messages that crossed the Close. The p99 covers the "
                               f"whole measured window ({fmt_s(self.reload_s)} s, a reload every 2 s); "
                               f"steady p99 is wsgate's median in the "
                               f"{self.conns(SCENARIOS[2])}-connection echo above.")
            elif sc["kind"] == "callgrind":
                self.report_callgrind(sc, body, targets)
            elif sc["kind"] == "tls_handshakes":
                self.report_tls_handshakes(sc, body, targets)
            elif sc["kind"] == "tls_echo":
                self.report_tls_echo(sc, body, targets)
            elif sc["kind"] == "tls_idle":
                self.report_tls_idle(sc, body, targets)
            elif sc["kind"] == "proxy_echo":
                self.report_proxy_echo(sc, body, targets)
            elif sc["kind"] == "proxy_idle":
                self.report_proxy_idle(sc, body, targets)
            elif sc["kind"] == "exec_echo":
                self.report_exec_echo(sc, body, targets)
            elif sc["kind"] == "exec_connect":
                self.report_exec_connect(sc, body, targets)
            elif sc["kind"] == "exec_idle":
                self.report_exec_idle(sc, body, targets)
            sections.append((sc, body))

        build = os.path.abspath(self.args.build)
        cmdline = ("" if build == os.path.join(ROOT, "build", "release") else
                   f"BUILD_DIR={os.path.relpath(build, ROOT)} ")
        cmdline += "scripts/bench" + (" --quick" if self.quick else "") + (
            f" --only {','.join(self.args.only)}" if self.args.only else "") + (
            f" --baseline-build {self.args.baseline_build}" if self.args.baseline_build else "")
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(BEGIN)
        lines.append("<!-- Generated by scripts/bench (bench/run_bench.py); edits between these "
                     "markers are overwritten. -->")
        lines.append("")
        lines.append("## End to end: wsgate beside raw TCP, node ws, python websockets, websocketd "
                     "(issue 5); TLS (issue 4)")
        lines.append("")
        if self.quick:
            lines.append(f"**QUICK RUN, {now}: development figures, not final.** `{cmdline}`: "
                         f"{self.runs} run, {fmt_s(self.warmup)} s warm-up, {fmt_s(self.duration)} s "
                         f"measured per figure, {self.idle_n} idle connections ({self.tls_idle_n} "
                         f"for TLS), {self.conns(SCENARIOS[2])} connections instead of 1000 in the "
                         f"1000-connection scenarios, {self.exec_idle_n} idle exec connections, "
                         f"reload test {fmt_s(self.reload_s)} s, "
                         f"`openssl speed -seconds {self.speed_seconds}`. Run `scripts/bench` (full) "
                         f"for figures to quote.")
        else:
            lines.append(f"Full run, {now}: `{cmdline}`: median of {self.runs} runs (min–max in "
                         f"brackets), {fmt_s(self.warmup)} s warm-up, {fmt_s(self.duration)} s "
                         f"measured per figure.")
        lines.append("")
        lines.append(f"Machine: {self.ctx.machine}.")
        lines.append("")
        lines.append(f"Method (`../shared/BENCHMARKING.md`): {self.ctx.netns}; "
                     + ("server on CPU 0 (`taskset -c 0`, all its processes), generator on CPU 1 "
                        "(`taskset -c 1`)" if self.ctx.pin else "no CPU pinning (fewer than 2 CPUs or no taskset)")
                     + f"; server CPU per message from {self.ctx.cgroups.describe()}"
                     + f"; load generator {self.gen.describe()}, closed loop, every echo checked. "
                     f"Whole run took {self.elapsed:.0f} s; 1-minute load average {self.load_start} "
                     f"at its start and {self.load_end} at its end (this box is shared: anything "
                     f"above ~2 means other work competed for both CPUs and every figure, µs/msg "
                     f"included, is pessimistic). Servers: wsgate 1 worker (unless said), "
                     "access log off, log level warn, pings and idle timeout off; node ws and "
                     "python websockets without permessage-deflate; websocketd in line mode "
                     f"running cat; exec scenarios: wsgate's relay: exec route and websocketd "
                     f"both running {EXEC_PROGRAM} in text/line mode.")
        lines.append("")
        lines.append("### Targets")
        lines.append("")
        lines.append("| scenario | target | wsgate | verdict |")
        lines.append("| --- | --- | --- | --- |")
        for t in targets:
            lines.append("| " + " | ".join(t) + " |")
        lines.append("")
        lines.append(("Verdicts of a quick run come from one short run on a shared machine: "
                      "read them as hints. " if self.quick else "")
                     + "Ratios are of medians measured in the same run; differences under ~5 % "
                     "(100 connections) or ~10 % (1000) are noise on this class of machine.")
        lines.append("")
        if self.ctx.base:
            lines.extend(self.report_ab())
        for sc, body in sections:
            lines.append(f"### {self.title(sc)}")
            lines.append("")
            lines.extend(body)
            lines.append("")
            for n in self.notes.get(sc["id"], []):
                lines.append(n)
                lines.append("")
            cmds = self.commands.get(sc["id"], [])
            if cmds:
                lines.append("Commands (ports were picked at run time):")
                lines.append("")
                lines.append("```sh")
                for name, server_cmd, gen_cmd in cmds:
                    lines.append(f"# {name}")
                    if server_cmd:
                        lines.append(server_cmd)
                    if gen_cmd:
                        lines.append(gen_cmd)
                lines.append("```")
                lines.append("")
        lines.append(END)
        return "\n".join(lines) + "\n"


def write_benchmarks(section):
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# wsgate benchmarks\n"
    if BEGIN in text and END in text:
        before = text[:text.index(BEGIN)]
        after = text[text.index(END) + len(END):].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except (OSError, IndexError):
        return "?"


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine_description(gen):
    model, cores = "?", os.cpu_count()
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    mem = "?"
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    try:
        debian = "Debian " + open("/etc/debian_version").read().strip()
    except OSError:
        debian = "?"
    try:
        ws_version = json.load(open(os.path.join(PEERS, "node_modules", "ws", "package.json")))["version"]
    except (OSError, ValueError, KeyError):
        ws_version = "?"
    libuv = first_line(["pkg-config", "--modversion", "libuv"])
    websockets_v = first_line(["/usr/bin/python3", "-c",
                               "import websockets; print(websockets.__version__)"])
    python_v = first_line(["/usr/bin/python3", "--version"]).replace("Python ", "")
    websocketd_v = "websocketd " + (first_line(["dpkg-query", "-W", "-f=${Version}", "websocketd"])
                                    if shutil.which("websocketd") else "not installed")
    gxx = first_line(["g++", "--version"])
    gxx = re.sub(r"^g\+\+ \(.*?\) ", "g++ ", gxx)
    return (f"{cores} CPU \"{model}\", {mem}, Linux {os.uname().release}, {debian}, {gxx} "
            f"(Release), {' '.join(first_line(['openssl', 'version']).split()[:2])}, libuv {libuv}, "
            f"node {first_line(['node', '--version'])} with ws {ws_version}, "
            f"python {python_v} with websockets {websockets_v}, {websocketd_v}")


def callgrind_total(path):
    """The Ir total of a callgrind profile (its "summary:" or "totals:"
    line), or None when the file has neither (the process did not finish)."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def build_binaries(build):
    """The wsgated and wsgatectl of one build directory, checked to exist."""
    found = {"dir": build, "wsgated": os.path.join(build, "supervisor", "wsgated"),
             "wsgatectl": os.path.join(build, "ctl", "wsgatectl")}
    for key in ("wsgated", "wsgatectl"):
        if not os.access(found[key], os.X_OK):
            raise SystemExit(f"run_bench: {found[key]} is missing; build first (scripts/bench does)")
    return found


def main():
    if sys.argv[1:2] == ["connect1"]:  # the exec_connect driver, run as its own process
        return connect1_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 short run per figure (development)")
    ap.add_argument("--only", type=lambda s: [x for x in s.split(",") if x],
                    help="comma-separated scenario ids (see --list)")
    ap.add_argument("--servers", type=lambda s: [x for x in s.split(",") if x],
                    help="comma-separated subset of: " + ",".join(ECHO_SERVERS + ["websockify"]))
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--baseline-build", metavar="DIR",
                    help="also run wsgate from this build directory (e.g. an earlier commit's "
                         "Release build) in every wsgate echo, idle and callgrind scenario, "
                         "alternating which goes first, and add an A/B table")
    ap.add_argument("--callgrind-profiles", metavar="DIR",
                    help="keep the worker's callgrind profiles in DIR (for callgrind_annotate)")
    ap.add_argument("--callgrind-messages", metavar="N1,N2",
                    type=lambda s: tuple(int(x) for x in s.split(",")),
                    help="message counts of the callgrind scenario's two runs "
                         "(default 100000,300000; --quick 10000,30000)")
    ap.add_argument("--generator", help="wsgate-loadgen binary (default BUILD/bench/wsgate-loadgen)")
    ap.add_argument("--wsbench", help="use this wsbench binary (../shared/tools/wsbench.c) instead")
    ap.add_argument("--tcp-echo", help="raw TCP echo server (default BUILD/bench/wsgate-tcp-echo)")
    ap.add_argument("--runs", type=int, help="override the number of runs")
    ap.add_argument("--idle-connections", type=int, help="override the idle scenario's N")
    ap.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    ap.add_argument("--no-netns", action="store_true", help="stay in the current network namespace")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    args = ap.parse_args()
    if args.list:
        for sc in SCENARIOS:
            print(f"{sc['id']:18s} {sc['title']}")
        return 0
    known = {sc["id"] for sc in SCENARIOS}
    for sid in args.only or []:
        if sid not in known:
            ap.error(f"unknown scenario {sid}; known: {', '.join(sorted(known))}")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    build = os.path.abspath(args.build)
    ctx = Context()
    ctx.main = build_binaries(build)
    ctx.wsgated, ctx.wsgatectl = ctx.main["wsgated"], ctx.main["wsgatectl"]
    ctx.base = build_binaries(os.path.abspath(args.baseline_build)) if args.baseline_build else None
    if args.wsbench:
        gen_path, kind = os.path.abspath(args.wsbench), "wsbench"
    else:
        gen_path, kind = args.generator or os.path.join(build, "bench", "wsgate-loadgen"), "loadgen"
    if not os.access(gen_path, os.X_OK):
        raise SystemExit(f"run_bench: load generator {gen_path} is missing "
                         "(build with -DWSGATE_BENCH=ON, or pass --wsbench PATH)")
    ctx.tcp_echo = args.tcp_echo or os.path.join(build, "bench", "wsgate-tcp-echo")
    enabled = args.servers or ECHO_SERVERS + ["websockify"]
    if not os.access(ctx.tcp_echo, os.X_OK):
        log(f"run_bench: no raw TCP echo server at {ctx.tcp_echo}: raw TCP figures skipped")
        enabled = [s for s in enabled if s != "tcp"]
    if not shutil.which("websocketd") and "websocketd" in enabled:
        log("run_bench: websocketd is not installed: its figures are skipped")
        enabled = [s for s in enabled if s != "websocketd"]
    if not shutil.which("websockify") and "websockify" in enabled:
        log("run_bench: websockify is not installed: its proxy figures are skipped")
        enabled = [s for s in enabled if s != "websockify"]
    if not os.access(ctx.tcp_echo, os.X_OK):
        enabled = [s for s in enabled if s != "websockify"]  # needs the TCP echo upstream
    if not os.path.isdir(os.path.join(PEERS, "node_modules", "ws")) and "node" in enabled:
        log("run_bench: bench/peers/node_modules is missing (npm ci): node figures skipped")
        enabled = [s for s in enabled if s != "node"]

    ctx.nofile = raise_nofile()
    ctx.netns = ("plain loopback (--no-netns)" if args.no_netns else enter_netns())
    ctx.pin = pinning()
    ctx.cgroups = Cgroups()
    bench = Bench(args)
    bench.ctx = ctx
    bench.gen = Generator(gen_path, kind, ctx.pin)
    bench.enabled_servers = enabled
    ctx.machine = machine_description(bench.gen)
    log(f"network: {ctx.netns}")
    log(f"pinning: {'server CPU 0, generator CPU 1' if ctx.pin else 'none'}; "
        f"server CPU counter: {ctx.cgroups.describe()}; RLIMIT_NOFILE {ctx.nofile}")
    log(f"generator: {bench.gen.describe()}; servers: {', '.join(enabled)}")
    try:
        bench.run()
    finally:
        cleanup_all()
    section = bench.report()
    print(section)
    results = os.path.join(build, "bench-results.json")
    try:
        with open(results, "w") as f:
            json.dump({f"{k[0]}/{k[1]}": v for k, v in bench.results.items()}, f, indent=1,
                      default=str)
    except OSError:
        pass
    if not args.no_write:
        log(f"wrote {write_benchmarks(section)} (generated section)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        cleanup_all()
        sys.exit(130)
    finally:
        cleanup_all()
