"""scripts/wsgated.init against a temporary install: the built binaries, a
temporary config and pid file, named by a defaults file (WSGATED_DEFAULTS).
LSB exit codes for start, stop, restart, reload, force-reload and status."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import WSGATECTL, WSGATED, echo, pid_alive, processes_with_arg, wait_for
from system_tools import require_tool

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "wsgated.init")


class Install:
    """A temporary install the init script drives; cleanup() kills whatever
    it started."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wsg-init-")
        self.config_path = os.path.join(self.dir, "wsgate.yaml")
        self.pid_file = os.path.join(self.dir, "run", "wsgated.pid")
        self.socket_path = os.path.join(self.dir, "run", "wsgated.sock")
        self.defaults = os.path.join(self.dir, "default-wsgated")
        self.write_config()
        with open(self.defaults, "w", encoding="utf-8") as out:
            out.write(f"DAEMON={WSGATED}\nCTL={WSGATECTL}\nCONFIG={self.config_path}\n"
                      f"PIDFILE={self.pid_file}\n")

    def write_config(self, text=None):
        if text is None:
            text = json.dumps({
                "daemon": True,
                "workers": 2,
                "pid_file": self.pid_file,
                "control_socket": self.socket_path,
                "log": {"level": "info", "file": os.path.join(self.dir, "error.log"),
                        "access_log": os.path.join(self.dir, "access.log")},
                "listen": [{"address": "127.0.0.1:0"}],
                "routes": [{"path": "/echo", "relay": "echo"}],
                "timeouts": {"worker_start": "10s", "stop": "5s"},
            }, indent=1) + "\n"
        with open(self.config_path + ".tmp", "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(self.config_path + ".tmp", self.config_path)

    def run(self, action):
        """Runs the script with /bin/sh (dash on Debian) as an init system would."""
        return subprocess.run(["/bin/sh", SCRIPT, action], capture_output=True, text=True,
                              timeout=90, env={**os.environ, "WSGATED_DEFAULTS": self.defaults})

    def pid(self):
        with open(self.pid_file, encoding="ascii") as pid:
            return int(pid.read().strip())

    def ctl(self, command):
        result = subprocess.run([WSGATECTL, "--socket", self.socket_path, "--json", command],
                                capture_output=True, text=True, timeout=30, check=True)
        return json.loads(result.stdout)

    def cleanup(self):
        survivors = processes_with_arg(self.config_path)
        for pid in survivors:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not processes_with_arg(self.config_path), 10,
                 message="every process of the install to exit")
        shutil.rmtree(self.dir, ignore_errors=True)
        return survivors


@pytest.fixture
def install():
    if not WSGATED or not WSGATECTL:
        pytest.fail("set WSGATED and WSGATECTL to the built binaries")
    require_tool("start-stop-daemon", "dpkg")
    setup = Install()
    yield setup
    survivors = setup.cleanup()
    assert not survivors, f"processes survived the test: {survivors}"


def explain(result):
    return f"exit {result.returncode}; stdout {result.stdout!r}; stderr {result.stderr!r}"


def test_lifecycle_start_status_reload_stop(install):
    result = install.run("status")
    assert result.returncode == 3, explain(result)

    result = install.run("start")
    assert result.returncode == 0, explain(result)
    # start returns once the daemon serves: no waiting here.
    pid = install.pid()
    status = install.ctl("status")
    assert status["pid"] == pid and status["workers_ready"] == 2
    assert echo(f"ws://127.0.0.1:{status['listeners'][0]['port']}/echo", ["init"]) == ["init"]

    result = install.run("start")
    assert result.returncode == 0 and "already running" in result.stdout, explain(result)
    assert install.pid() == pid

    result = install.run("status")
    assert result.returncode == 0 and f"pid {pid}" in result.stdout, explain(result)

    result = install.run("reload")
    assert result.returncode == 0, explain(result)
    assert install.ctl("status")["generation"] == 2
    result = install.run("force-reload")
    assert result.returncode == 0, explain(result)
    assert install.ctl("status")["generation"] == 3

    install.write_config("workers: [\n")
    result = install.run("reload")
    assert result.returncode != 0, explain(result)
    assert "wsgate.yaml" in result.stderr, explain(result)
    assert install.ctl("status")["generation"] == 3 and pid_alive(pid)
    install.write_config()

    result = install.run("stop")
    assert result.returncode == 0, explain(result)
    assert not pid_alive(pid) and not processes_with_arg(install.config_path)
    assert not os.path.exists(install.pid_file)

    result = install.run("status")
    assert result.returncode == 3, explain(result)
    result = install.run("stop")
    assert result.returncode == 0, explain(result)
    result = install.run("reload")
    assert result.returncode == 7, explain(result)


def test_restart_replaces_the_daemon(install):
    assert install.run("start").returncode == 0
    first = install.pid()
    result = install.run("restart")
    assert result.returncode == 0, explain(result)
    second = install.pid()
    assert second != first and not pid_alive(first)
    assert install.ctl("status")["pid"] == second
    assert install.run("stop").returncode == 0


def test_status_dead_with_stale_pid_file_then_start_recovers(install):
    assert install.run("start").returncode == 0
    pid = install.pid()
    os.kill(pid, signal.SIGKILL)
    # Workers exit when their channel to the supervisor reaches EOF.
    wait_for(lambda: not processes_with_arg(install.config_path), 10,
             message="the killed daemon and its workers to be gone")
    # ... and reaped by init (a zombie still counts as running for kill -0).
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10, message=f"init to reap pid {pid}")
    assert os.path.exists(install.pid_file)
    result = install.run("status")
    assert result.returncode == 1, explain(result)

    result = install.run("start")
    assert result.returncode == 0, explain(result)
    assert install.pid() != pid
    assert install.run("stop").returncode == 0
    assert install.run("status").returncode == 3


def test_start_failure_exits_nonzero_with_reason(install):
    install.write_config("workers: [\n")
    result = install.run("start")
    assert result.returncode == 1, explain(result)
    assert "wsgate.yaml" in result.stderr, explain(result)
    assert not processes_with_arg(install.config_path)
    assert install.run("status").returncode == 3


def test_unknown_action_is_a_usage_error(install):
    result = install.run("frobnicate")
    assert result.returncode == 2, explain(result)
    assert "Usage:" in result.stderr
    result = install.run("")
    assert result.returncode == 2, explain(result)


def test_lsb_header_is_complete():
    with open(SCRIPT, encoding="utf-8") as script:
        text = script.read()
    assert text.startswith("#!/bin/sh\n")
    header = text.split("### BEGIN INIT INFO\n", 1)[1].split("### END INIT INFO", 1)[0]
    fields = dict(line[2:].split(":", 1) for line in header.splitlines() if ":" in line[:20])
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    assert fields["Provides"] == "wsgated"
    assert fields["Required-Start"] == "$remote_fs $network"
    assert fields["Default-Start"] == "2 3 4 5"
    assert fields["Default-Stop"] == "0 1 6"
    assert not re.search(r"^\s*\.\s+/lib/lsb/init-functions", text, re.M)
