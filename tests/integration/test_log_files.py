"""Issue 10, items 1 and 2: log files after the privilege drop, and logging
that never blocks a worker.

Started as root with `user: nobody`, every process logs to the configured
files: they belong to nobody:nogroup with mode 0640, a missing log directory
is created for that account, and rotation by a bare `mv` plus `wsgatectl
reopen-logs`, or by logrotate's `create 0640 nobody nogroup`, keeps the
workers' lines coming. `wsgated -t` warns about a log directory the account
cannot write. A log destination that stops reading (a FIFO) costs lines,
counted in log_lines_dropped, and never an echo."""
import fcntl
import grp
import os
import pwd
import socket
import subprocess
import threading

import pytest

from conftest import WSGATED, echo
from system_tools import require_tool
from test_logrotate import logrotate, read, rotation_config

NOBODY = pwd.getpwnam("nobody")
# Test-only: a 16 KiB log queue instead of 1 MiB (docs/fault-injection.md).
SMALL_QUEUE = {"WSGATE_FAULTS": "log_queue_bytes:16384"}
NOGROUP = grp.getgrnam("nogroup")


def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges")


def unprivileged_gateway(gateway):
    """A gateway started as root that drops to nobody:nogroup, logging into
    its directory's logs/ (which wsgated creates); returns it and logs/."""
    gw = gateway(workers=2, start=False)
    logs = os.path.join(gw.dir, "logs")
    os.chmod(gw.dir, 0o755)  # nobody must reach the files below it
    gw.write_config(extra={"user": "nobody", "group": "nogroup",
                           "log": {"file": os.path.join(logs, "error.log"),
                                   "access_log": os.path.join(logs, "access.log")}})
    gw.start()
    return gw, logs


def assert_owned_by_nobody(path, mode):
    status = os.stat(path)
    assert (status.st_uid, status.st_gid) == (NOBODY.pw_uid, NOGROUP.gr_gid), path
    assert oct(status.st_mode & 0o7777) == oct(mode), path


def worker_lines(text):
    return [line for line in text.splitlines() if " worker " in line and " gen " in line]


def test_logs_belong_to_the_user_and_survive_mv_and_reopen(gateway):
    needs_root()
    gw, logs = unprivileged_gateway(gateway)
    error_log, access_log = os.path.join(logs, "error.log"), os.path.join(logs, "access.log")
    assert_owned_by_nobody(logs, 0o750)
    assert_owned_by_nobody(error_log, 0o640)
    assert_owned_by_nobody(access_log, 0o640)
    # Both workers opened the files after the drop and log into them.
    gw.wait_for(lambda: len([l for l in worker_lines(read(error_log)) if "worker ready" in l]) == 2,
                10, message="both workers' ready lines in error.log")
    assert echo(gw.url(), ["one"]) == ["one"]
    gw.wait_for(lambda: "status=101" in read(access_log), 10, message="the access line")

    os.rename(error_log, error_log + ".old")
    os.rename(access_log, access_log + ".old")
    result = gw.ctl("reopen-logs")
    assert result.returncode == 0, result.stdout + result.stderr
    # The unprivileged supervisor created the new files, and the workers
    # (nobody too) opened them.
    gw.wait_for(lambda: len([l for l in worker_lines(read(error_log))
                             if "log files reopened" in l]) == 2,
                10, message="both workers' reopen lines in the new error.log")
    assert_owned_by_nobody(error_log, 0o640)
    assert_owned_by_nobody(access_log, 0o640)
    assert echo(gw.url(), ["two"]) == ["two"]
    gw.wait_for(lambda: "status=101" in read(access_log), 10, message="an access line after mv")
    assert "cannot log" not in read(error_log)
    old = read(error_log + ".old")
    assert len([l for l in worker_lines(old) if "worker ready" in l]) == 2
    assert "log files reopened" not in old


def test_logrotate_create_with_owner_and_mode(gateway):
    needs_root()
    require_tool("logrotate", "logrotate")
    gw, logs = unprivileged_gateway(gateway)
    error_log = os.path.join(logs, "error.log")
    config, state = rotation_config(gw.dir, gw.config_path)
    with open(config, encoding="utf-8") as text:
        snippet = text.read()
    with open(config, "w", encoding="utf-8") as out:
        out.write(snippet.replace("\tcreate\n", "\tcreate 0640 nobody nogroup\n"))
    result = logrotate(config, state)
    assert result.returncode == 0, result.stdout + result.stderr
    gw.wait_for(lambda: len([l for l in worker_lines(read(error_log))
                             if "log files reopened" in l]) == 2,
                10, message="both workers' reopen lines in the rotated-to file")
    assert_owned_by_nobody(error_log, 0o640)
    assert echo(gw.url(), ["after rotation"]) == ["after rotation"]
    assert "cannot log" not in read(error_log) + read(error_log + ".1")


def test_config_test_warns_about_a_log_directory_the_user_cannot_write(gateway):
    needs_root()
    gw = gateway(workers=1, start=False)
    logs = os.path.join(gw.dir, "logs")
    os.mkdir(logs, 0o755)  # root's, as a package's mkdir would leave it
    gw.write_config(extra={"user": "nobody",
                           "log": {"file": os.path.join(logs, "error.log"),
                                   "access_log": os.path.join(logs, "access.log")}})
    result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert f"warning: log directory {logs} is not writable by nobody" in result.stderr
    os.chown(logs, NOBODY.pw_uid, NOGROUP.gr_gid)
    result = subprocess.run([WSGATED, "-t", "-c", gw.config_path], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_a_worker_that_cannot_log_tells_the_supervisor(gateway):
    """The log directory is root's (as -t warns): after a bare mv, the
    unprivileged daemon cannot create the file again. reopen-logs fails, and
    each worker's failure reaches the supervisor's log (stderr, its
    fallback)."""
    needs_root()
    gw = gateway(workers=2, start=False)
    os.chmod(gw.dir, 0o755)
    logs = os.path.join(gw.dir, "logs")
    os.mkdir(logs, 0o755)
    error_log = os.path.join(logs, "error.log")
    gw.write_config(extra={"user": "nobody", "group": "nogroup",
                           "log": {"file": error_log, "access_log": "off"}})
    gw.start()
    assert_owned_by_nobody(error_log, 0o640)
    os.rename(error_log, error_log + ".old")
    result = gw.ctl("reopen-logs")
    assert result.returncode != 0, result.stdout
    assert "Permission denied" in result.stdout + result.stderr
    gw.wait_for(lambda: gw.stderr_text().count(" cannot log: cannot open log file ") == 2, 10,
                message="both workers' failures in the supervisor's log")
    gw.assert_logged("Permission denied", "stderr.log")


def http_404(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 404"), answer


def test_a_log_reader_that_stops_never_blocks_a_worker(gateway):
    """The access log is a FIFO whose reader never reads: the worker fills
    the pipe and its queue (16 KiB here, by WSGATE_FAULTS, so that a few
    hundred lines do it), drops and counts the rest, and serves on."""
    gw = gateway(workers=1, start=False, env=SMALL_QUEUE)
    fifo = os.path.join(gw.dir, "access.fifo")
    os.mkfifo(fifo, 0o600)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, and never read
    try:
        fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)
        gw.write_config(extra={"log": {"access_log": fifo}})
        gw.start()
        path = "/" + "x" * 250
        # ~330-byte lines: 400 are six times what the pipe and the queue hold.
        errors = []

        def client(count):
            try:
                for _ in range(count):
                    http_404(gw.port, path)
            except Exception as error:  # reported below, with the others
                errors.append(error)
        threads = [threading.Thread(target=client, args=(100,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors and not any(t.is_alive() for t in threads), errors
        # The worker is not stuck in a write: it still echoes.
        assert echo(gw.url(), ["still here"], timeout=5) == ["still here"]
        gw.wait_for(lambda: gw.stats()["totals"]["log_lines_dropped"] > 0, 10,
                    message="dropped lines counted")
        dropped = gw.stats()["totals"]["log_lines_dropped"]
        assert dropped < 402, dropped
    finally:
        os.close(reader)


@pytest.fixture
def dev_log():
    """A datagram socket bound at /dev/log, as journald or rsyslog hold it;
    skips where a real one exists (it is not ours to replace)."""
    needs_root()
    if os.path.exists("/dev/log"):
        pytest.skip("/dev/log belongs to this machine's syslog daemon")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("/dev/log")
    try:
        yield server
    finally:
        server.close()
        os.unlink("/dev/log")


def test_syslog_lines_are_datagrams_with_facility_daemon(gateway, dev_log):
    gw = gateway(workers=1, extra={"log": {"file": "syslog", "access_log": "syslog"}})
    assert echo(gw.url(), ["to syslog"]) == ["to syslog"]
    dev_log.settimeout(10)
    seen = []
    while not any("status=101" in line for line in seen):
        seen.append(dev_log.recv(65536).decode("utf-8", "replace"))
    worker_pid = gw.workers()["workers"][0]["pid"]
    ready = [l for l in seen if "worker ready" in l]
    # <30> is daemon.info; the tag carries the pid, the text who logs.
    assert ready and ready[0].startswith("<30>"), seen
    assert f"<30>wsgated[{worker_pid}]: [worker 0 gen 1] [info] worker ready" in ready[0], ready
    access = next(l for l in seen if "status=101" in l)
    assert access.startswith("<30>") and f"wsgated[{worker_pid}]: id=" in access and " remote=127.0.0.1:" in access


def test_a_syslog_that_stops_reading_never_blocks_a_worker(gateway, dev_log):
    """journald stalls: its socket's queue fills and sends would block. The
    worker serves on and counts what it drops."""
    gw = gateway(workers=1, extra={"log": {"access_log": "syslog"}}, env=SMALL_QUEUE)
    path = "/" + "y" * 250
    for _ in range(300):  # ~330-byte lines: six times what the queue holds
        http_404(gw.port, path)
    assert echo(gw.url(), ["still here"], timeout=5) == ["still here"]
    gw.wait_for(lambda: gw.stats()["totals"]["log_lines_dropped"] > 0, 10,
                message="dropped lines counted")
