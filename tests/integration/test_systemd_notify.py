"""systemd integration: wsgated speaks the notify protocol when NOTIFY_SOCKET
is set (READY/MAINPID, RELOADING/READY around reloads, STOPPING), never
fails because of it, and etc/wsgated.service passes systemd-analyze verify."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import WSGATECTL, WSGATED, echo
from system_tools import require_tool

UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "wsgated.service")
MESSAGE_TIMEOUT = 15.0


class NotifyListener:
    """The service manager's end: an AF_UNIX datagram socket at `address`
    (a path, or "@name" for an abstract socket). Each datagram is parsed
    into a dict of its KEY=VALUE lines."""

    def __init__(self, address):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)

    def next(self, timeout=MESSAGE_TIMEOUT):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            raise AssertionError(f"no notification within {timeout}s") from None
        message = dict(line.split("=", 1) for line in data.split("\n") if line)
        message["_raw"] = data
        return message

    def assert_silent(self, timeout=0.5):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return
        raise AssertionError(f"unexpected notification: {data!r}")

    def close(self):
        self.sock.close()
        if not self.address.startswith("@"):
            try:
                os.unlink(self.address)
            except FileNotFoundError:
                pass


@pytest.fixture
def listener():
    directory = tempfile.mkdtemp(prefix="wsg-notify-")
    notify = NotifyListener(os.path.join(directory, "notify.sock"))
    yield notify
    notify.close()
    os.rmdir(directory)


def monotonic_usec():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_foreground_notifies_ready_reloads_and_stop_in_order(gateway, listener):
    gw = gateway(workers=2, env={"NOTIFY_SOCKET": listener.address})

    ready = listener.next()
    assert ready["READY"] == "1" and ready["MAINPID"] == str(gw.pid), ready["_raw"]
    assert ready["_raw"].startswith("READY=1\nMAINPID="), ready["_raw"]
    assert "generation 1" in ready["STATUS"]
    listener.assert_silent()
    assert echo(gw.url(), ["up"]) == ["up"]

    before = monotonic_usec()
    gw.ctl("reload", check=True)
    reloading = listener.next()
    after = monotonic_usec()
    assert reloading["RELOADING"] == "1", reloading["_raw"]
    assert before <= int(reloading["MONOTONIC_USEC"]) <= after
    reloaded = listener.next()
    assert reloaded["READY"] == "1", reloaded["_raw"]
    assert reloaded["STATUS"] == "reload ok: generation 2"

    gw.write_config(text="workers: [\n")
    failed = gw.ctl("reload")
    assert failed.returncode != 0
    assert listener.next()["RELOADING"] == "1"
    outcome = listener.next()
    assert outcome["READY"] == "1", outcome["_raw"]
    assert outcome["STATUS"].startswith("reload failed: "), outcome["_raw"]
    assert "\n" not in outcome["STATUS"] and "wsgate.yaml" in outcome["STATUS"]
    assert gw.status()["generation"] == 2

    gw.signal(signal.SIGTERM)
    stopping = listener.next()
    assert stopping["STOPPING"] == "1", stopping["_raw"]
    assert "SIGTERM" in stopping["STATUS"]
    assert gw.wait_exit() == 0
    listener.assert_silent()


def test_signal_reload_notifies_too(gateway, listener):
    gw = gateway(workers=1, env={"NOTIFY_SOCKET": listener.address})
    assert listener.next()["READY"] == "1"
    gw.signal(signal.SIGUSR1)
    assert listener.next()["RELOADING"] == "1"
    assert listener.next()["STATUS"] == "reload ok: generation 2"


def test_daemon_mode_reports_daemon_pid_on_abstract_socket(gateway):
    address = f"@wsgate-test-notify-{os.getpid()}-{time.monotonic_ns()}"
    notify = NotifyListener(address)
    try:
        gw = gateway(workers=1, daemon=True, env={"NOTIFY_SOCKET": address})
        ready = notify.next()
        assert ready["READY"] == "1" and ready["MAINPID"] == str(gw.pid), ready["_raw"]
        gw.ctl("graceful-stop", check=True)
        stopping = notify.next()
        assert stopping["STOPPING"] == "1" and "graceful" in stopping["STATUS"]
    finally:
        notify.close()


def test_unreachable_notify_socket_is_logged_once_and_not_fatal(gateway):
    missing = os.path.join(tempfile.gettempdir(), f"wsg-no-such-notify-{os.getpid()}.sock")
    gw = gateway(workers=1, env={"NOTIFY_SOCKET": missing})
    assert echo(gw.url(), ["still serving"]) == ["still serving"]
    gw.ctl("reload", check=True)
    log = gw.error_log()
    line = f"sendto(AF_UNIX, SOCK_DGRAM, NOTIFY_SOCKET={missing}): No such file or directory"
    assert log.count(line) == 1, log[-3000:]
    assert gw.status()["generation"] == 2


def shipped_unit_for(binary_dir):
    """The shipped unit with its binaries replaced by the built ones."""
    with open(UNIT, encoding="utf-8") as unit:
        text = unit.read()
    text = text.replace("/usr/sbin/wsgated", WSGATED).replace("/usr/bin/wsgatectl", WSGATECTL)
    path = os.path.join(binary_dir, "wsgated.service")
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def test_shipped_unit_declares_notify_foreground_and_mixed_kill():
    with open(UNIT, encoding="utf-8") as unit:
        settings = dict(
            line.split("=", 1) for line in unit.read().splitlines()
            if re.match(r"^[A-Za-z]+=", line))
    assert settings["Type"] == "notify"
    assert settings["ExecStart"] == "/usr/sbin/wsgated --foreground -c /etc/wsgate/wsgate.yaml"
    assert settings["ExecReload"] == "/usr/bin/wsgatectl -c /etc/wsgate/wsgate.yaml reload"
    assert settings["KillMode"] == "mixed"
    assert settings["Restart"] == "on-failure"
    assert settings["LimitNOFILE"] == "65536"
    assert settings["RuntimeDirectory"] == "wsgated"
    stop_default_s = 10  # timeouts.stop's default
    assert int(settings["TimeoutStopSec"].rstrip("s")) > stop_default_s


def test_shipped_unit_passes_systemd_analyze_verify():
    analyze = require_tool("systemd-analyze", "systemd")
    directory = tempfile.mkdtemp(prefix="wsg-unit-")
    try:
        path = shipped_unit_for(directory)
        # --man=no: the man pages are not installed where this runs; their
        # names are checked by the man page tests.
        result = subprocess.run([analyze, "verify", "--man=no", path], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})
        output = (result.stdout + result.stderr).strip()
        assert result.returncode == 0, output
        # verify reports some problems as warnings with exit 0: none may
        # concern this unit.
        assert "wsgated.service" not in output, output
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
