"""Integration-test harness: starts the real wsgated with a temporary config
on 127.0.0.1, drives it with wsgatectl and real WebSocket clients, and kills
and reaps every process it started, even when a test fails.

Binaries come from the environment: WSGATED and WSGATECTL (set by
tests/integration/CMakeLists.txt for ctest).
"""

import asyncio
import copy
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import websockets

WSGATED = os.environ.get("WSGATED", "")
WSGATECTL = os.environ.get("WSGATECTL", "")

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
# Lines ASan, LSan and UBSan print; a sanitizer build fails the test on them.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def deep_merge(base, extra):
    """Returns base with extra merged in: dicts merge key by key, anything
    else (lists included) is replaced."""
    result = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def wait_for(predicate, timeout, interval=0.05, message=None):
    """Polls predicate() until it returns something truthy and returns that.
    An exception inside predicate counts as "not yet". Raises AssertionError
    after timeout seconds, naming the last exception if any."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - polled conditions may fail transiently
            last_error = error
        if time.monotonic() >= deadline:
            text = message or getattr(predicate, "__name__", "condition")
            if last_error is not None:
                text += f" (last error: {last_error!r})"
            raise AssertionError(f"timed out after {timeout}s waiting for {text}")
        time.sleep(interval)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def run_in_chromium(script, args, profile_dir, timeout=90):
    """Runs the node script (beside this file) that drives headless
    Chromium, with the browser's profile under profile_dir; returns
    (exit code, stdout, stderr). Every process of the browser is killed
    afterwards, found by its profile path (puppeteer starts the browser in
    a process group of its own), whatever happened to node."""
    here = os.path.dirname(os.path.abspath(__file__))
    profile = os.path.join(str(profile_dir), "chromium-profile")
    env = dict(os.environ, NODE_PATH=os.path.join(here, "node_modules"), CHROMIUM_PROFILE=profile)
    node = subprocess.Popen(["node", os.path.join(here, script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = node.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(node.pid, signal.SIGKILL)
        out, err = node.communicate()
    finally:
        for entry in [e for e in os.listdir("/proc") if e.isdigit()]:
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if profile.encode() in cmdline.read():
                        os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    return node.returncode, out, err


def processes_with_arg(needle):
    """Pids of live processes whose command line contains needle (workers
    are forks of wsgated, so they carry the supervisor's -c CONFIG)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                args = cmdline.read().split(b"\0")
        except OSError:
            continue
        if needle.encode() in args and pid_alive(int(entry)):
            found.append(int(entry))
    return found


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


async def ws_echo(url, messages, timeout=10.0):
    """Opens one connection to url, sends each message and waits for its
    echo; returns the replies in order. Raises on any failure."""
    replies = []
    async with websockets.connect(url, open_timeout=timeout, close_timeout=timeout) as ws:
        for message in messages:
            await ws.send(message)
            replies.append(await asyncio.wait_for(ws.recv(), timeout))
    return replies


def echo(url, messages, timeout=10.0):
    """Synchronous ws_echo."""
    return asyncio.run(ws_echo(url, messages, timeout))


class Gateway:
    """One wsgated under test. See the `gateway` fixture."""

    def __init__(self, workers=2, config=None, extra=None, daemon=False, nofile=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="wsg-")
        self.config_path = os.path.join(self.dir, "wsgate.yaml")
        self.socket_path = os.path.join(self.dir, "wsgated.sock")
        self.pid_file = os.path.join(self.dir, "wsgated.pid")
        self.daemon = daemon
        self.nofile = nofile  # RLIMIT_NOFILE (soft = hard) for wsgated, or None
        self.env = env  # variables added to wsgated's environment, or None
        self.workers_count = workers
        self.process = None  # Popen of the foreground supervisor
        self.pid = None
        self.port = None
        self.launch = None  # CompletedProcess of the daemon launcher
        self.seen_pids = set()
        self.base = {
            "daemon": bool(daemon),
            "workers": workers,
            "pid_file": self.pid_file,
            "control_socket": self.socket_path,
            "log": {
                "level": "info",
                "file": os.path.join(self.dir, "error.log"),
                "access_log": os.path.join(self.dir, "access.log"),
            },
            "listen": [{"address": "127.0.0.1:0"}],
            "routes": [{"path": "/echo", "relay": "echo"}],
            "stats_interval": "200ms",
            "timeouts": {"worker_start": "10s", "stop": "5s"},
        }
        self.config = config
        self.write_config(extra)

    # -- configuration ----------------------------------------------------

    def write_config(self, extra=None, text=None):
        """Rewrites the config file (for reloads): the base config (or the
        `config` given to the factory) deep-merged with extra, as JSON (which
        is YAML). With text, writes that string verbatim instead."""
        if text is None and isinstance(self.config, str):
            text = self.config
        if text is None:
            base = self.config if isinstance(self.config, dict) else self.base
            text = json.dumps(deep_merge(base, extra), indent=1) + "\n"
        tmp = self.config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.config_path)

    # -- processes --------------------------------------------------------

    def _limit_fds(self):
        """Runs in the child before exec: applies the fd limit, if any."""
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def start(self, wait_ready=True):
        """Starts wsgated. Foreground: Popen with --foreground. Daemon: runs
        the launcher and waits for it to exit (it exits once workers are
        READY). Then waits until status shows every worker Ready."""
        args = [WSGATED, "-c", self.config_path]
        env = {**os.environ, **self.env} if self.env else None
        if self.daemon:
            self.launch = subprocess.run(args, capture_output=True, text=True, timeout=60,
                                         preexec_fn=self._limit_fds, env=env)
            if self.launch.returncode != 0:
                return self.launch
            self.pid = int(open(self.pid_file, encoding="ascii").read().strip())
        else:
            with open(os.path.join(self.dir, "stderr.log"), "ab") as stderr:
                self.process = subprocess.Popen(
                    args + ["--foreground"], stdin=subprocess.DEVNULL, stdout=stderr,
                    stderr=stderr, preexec_fn=self._limit_fds, env=env)
            self.pid = self.process.pid
        if wait_ready:
            self.wait_ready()
        return self.launch

    def wait_ready(self, timeout=START_TIMEOUT):
        def all_ready():
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"wsgated exited with {self.process.returncode}: {self.stderr_text()}")
            status = self.status()
            workers = self.workers()["workers"]
            ready = [w for w in workers if w["state"] == "Ready"
                     and w["generation"] == status["generation"]]
            return status if len(ready) == status["workers"] else None

        status = wait_for(all_ready, timeout, message="every worker Ready")
        self.port = status["listeners"][0]["port"]
        return status

    def url(self, path="/echo", port=None):
        return f"ws://127.0.0.1:{port or self.port}{path}"

    def signal(self, sig):
        os.kill(self.pid, sig)

    def alive(self):
        if self.process is not None:
            return self.process.poll() is None
        return self.pid is not None and pid_alive(self.pid)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the supervisor to exit; returns its exit code when it
        is our child (foreground), else None."""
        if self.process is not None:
            return self.process.wait(timeout=timeout)
        wait_for(lambda: not pid_alive(self.pid), timeout, message=f"pid {self.pid} to exit")
        return None

    def stop(self):
        """SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit code
        (foreground) or None."""
        if not self.alive():
            return self.process.returncode if self.process is not None else None
        self.signal(signal.SIGTERM)
        try:
            return self.wait_exit(STOP_TIMEOUT)
        except (subprocess.TimeoutExpired, AssertionError):
            self.signal(signal.SIGKILL)
            return self.wait_exit(STOP_TIMEOUT)

    def worker_pids(self):
        """Live processes started from this gateway's config other than the
        supervisor: its workers, including orphans of a dead supervisor."""
        pids = [p for p in processes_with_arg(self.config_path) if p != self.pid]
        self.seen_pids.update(pids)
        return pids

    def cleanup(self):
        """Kills the supervisor and every worker, waits until all are gone,
        and returns the pids that survived (should be none)."""
        if self.pid is not None:
            self.seen_pids.add(self.pid)
        suspects = set(processes_with_arg(self.config_path)) | {
            p for p in self.seen_pids if pid_alive(p)}
        for pid in suspects:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None:
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        survivors = []
        while time.monotonic() < deadline:
            survivors = [p for p in suspects if pid_alive(p)] + [
                p for p in processes_with_arg(self.config_path) if p not in suspects]
            if not survivors:
                break
            time.sleep(0.05)
        return survivors

    # -- wsgatectl --------------------------------------------------------

    def ctl(self, *args, check=False, timeout=60):
        """Runs wsgatectl with --socket (unless -c/--socket is given) and
        returns the CompletedProcess (text)."""
        command = [WSGATECTL]
        if not any(a in ("-c", "--config", "--socket") for a in args):
            command += ["--socket", self.socket_path]
        command += list(args)
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()}")
        return result

    def _json(self, command):
        answer = json.loads(self.ctl(command, "--json", check=True).stdout)
        return answer

    def status(self):
        return self._json("status")

    def workers(self):
        answer = self._json("workers")
        self.seen_pids.update(w["pid"] for w in answer["workers"] if w["pid"])
        return answer

    def stats(self):
        return self._json("stats")

    def wait_for(self, predicate, timeout, interval=0.05, message=None):
        return wait_for(predicate, timeout, interval, message)

    # -- logs -------------------------------------------------------------

    def _read(self, name):
        try:
            with open(os.path.join(self.dir, name), encoding="utf-8", errors="replace") as log:
                return log.read()
        except FileNotFoundError:
            return ""

    def error_log(self):
        return self._read("error.log")

    def assert_logged(self, text, name="error.log", timeout=10):
        """Waits until `text` is in the log file `name`: each process writes
        its log from a thread of its own, a moment after the event."""
        wait_for(lambda: text in self._read(name), timeout,
                 message=f"{text!r} in {name}:\n{self._read(name)[-3000:]}")

    def access_log(self):
        return self._read("access.log")

    def stderr_text(self):
        return self._read("stderr.log")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Records each phase's report on the test item (for teardown)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def gateway(request):
    """Factory: gw = gateway(workers=2, config=None, extra=None, daemon=False, env=None)
    starts wsgated and waits until every worker is Ready. Teardown kills the
    supervisor and every worker and fails the test if any survive."""
    if not WSGATED or not WSGATECTL:
        pytest.fail("set WSGATED and WSGATECTL to the built binaries (ctest does)")
    gateways = []

    def factory(workers=2, config=None, extra=None, daemon=False, start=True, nofile=None,
                env=None):
        gw = Gateway(workers=workers, config=config, extra=extra, daemon=daemon, nofile=nofile,
                     env=env)
        gateways.append(gw)
        if start:
            gw.start()
        return gw

    yield factory

    failed = getattr(request.node, "report_call", None)
    failed = failed is not None and failed.failed
    leftovers = []
    sanitizer_reports = []
    for gw in gateways:
        survivors = gw.cleanup()
        if survivors:
            leftovers.append((gw.dir, survivors))
        stderr = gw.stderr_text()
        if any(marker in stderr for marker in SANITIZER_MARKERS):
            sanitizer_reports.append(stderr[-5000:])
        if failed:
            print(f"--- {gw.dir}/error.log\n{gw.error_log()[-20000:]}")
            print(f"--- {gw.dir}/stderr.log\n{gw.stderr_text()[-5000:]}")
        shutil.rmtree(gw.dir, ignore_errors=True)
    assert not leftovers, f"processes survived teardown: {leftovers}"
    assert not sanitizer_reports, "sanitizer report on stderr:\n" + "\n".join(sanitizer_reports)
