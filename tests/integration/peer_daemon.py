"""Runs a peer daemon (websockify, websocketd) for the compatibility tests:
on a free 127.0.0.1 port, in its own process group, until the test ends."""
import contextlib
import os
import signal
import subprocess
import time

import upstreams
from conftest import wait_for

START_TIMEOUT = 10.0


def group_alive(pgid):
    """True while a process of group `pgid` runs (zombies do not count)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def port_answers(port):
    with contextlib.suppress(OSError):
        upstreams.socket.create_connection((upstreams.HOST, port), timeout=0.5).close()
        return True
    return False


@contextlib.contextmanager
def peer_daemon(name, command_for_port, log_path, cwd=None, env=None):
    """Runs command_for_port(port) on a free port in its own process group
    (its children stay in it), its output appended to log_path; yields the
    port once it answers; then kills the whole group and reaps the daemon.
    A port taken meanwhile (the daemon exits at once) is retried, at most
    three times."""
    process = None
    try:
        for _ in range(3):
            port = upstreams.refused_port()
            with open(log_path, "ab") as log:
                process = subprocess.Popen(command_for_port(port), stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True, cwd=cwd, env=env)
            deadline = time.monotonic() + START_TIMEOUT
            while process.poll() is None and not port_answers(port):
                if time.monotonic() >= deadline:
                    raise AssertionError(f"{name} did not answer on {port} within "
                                         f"{START_TIMEOUT}s")
                time.sleep(0.05)
            if process.poll() is None:
                break
            process.wait()
        else:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                raise AssertionError(f"{name} would not start: " + log.read()[-2000:])
        yield port
    finally:
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            wait_for(lambda: not group_alive(process.pid), 10,
                     message=f"{name} process group {process.pid} to end")
