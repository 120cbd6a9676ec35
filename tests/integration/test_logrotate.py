"""etc/logrotate.d/wsgated with the real logrotate: rotated files are
reopened through `wsgatectl reopen-logs` without touching a connection, and
the postrotate step does not fail when wsgated is not running."""
import asyncio
import os
import subprocess

import websockets

from conftest import WSGATECTL
from system_tools import require_tool

SNIPPET = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "logrotate.d", "wsgated")


def rotation_config(directory, config_path):
    """The shipped snippet with its log directory and wsgatectl command
    pointed at this test's: written into `directory`, returned with the
    state file to use."""
    with open(SNIPPET, encoding="utf-8") as snippet:
        text = snippet.read()
    shipped_logs = "/var/log/wsgated/*.log"
    shipped_ctl = "/usr/bin/wsgatectl -c /etc/wsgate/wsgate.yaml"
    assert shipped_logs in text and shipped_ctl in text
    logs = os.path.join(directory, "logs")
    text = text.replace(shipped_logs, os.path.join(logs, "*.log"))
    text = text.replace(shipped_ctl, f"{WSGATECTL} -c {config_path}")
    path = os.path.join(directory, "logrotate.conf")
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o644)  # logrotate ignores a config others may write
    return path, os.path.join(directory, "logrotate.state")


def logrotate(config, state):
    tool = require_tool("logrotate", "logrotate")
    return subprocess.run([tool, "-f", "-s", state, config], capture_output=True, text=True,
                          timeout=60)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as text:
        return text.read()


def test_rotation_reopens_logs_and_keeps_connections(gateway):
    require_tool("logrotate", "logrotate")
    gw = gateway(workers=2, start=False)
    logs = os.path.join(gw.dir, "logs")
    error_log = os.path.join(logs, "error.log")
    gw.write_config(extra={"log": {"file": error_log,
                                   "access_log": os.path.join(logs, "access.log")}})
    gw.start()
    config, state = rotation_config(gw.dir, gw.config_path)
    pids_before = sorted(w["pid"] for w in gw.workers()["workers"])

    async def main():
        loop = asyncio.get_running_loop()
        async with websockets.connect(gw.url(), open_timeout=10, close_timeout=10) as ws:
            await ws.send("before")
            assert await asyncio.wait_for(ws.recv(), 10) == "before"
            result = await loop.run_in_executor(None, logrotate, config, state)
            assert result.returncode == 0, result.stdout + result.stderr
            # The daemon writes the "control: status" line to the new file.
            await loop.run_in_executor(None, lambda: gw.ctl("status", check=True))
            fresh = await loop.run_in_executor(None, lambda: gw.wait_for(
                lambda: "control: \"status\"" in read(error_log) and read(error_log), 5,
                message="a control line in the new error.log"))
            await ws.send("after")
            assert await asyncio.wait_for(ws.recv(), 10) == "after"
            return fresh

    fresh = asyncio.run(main())
    rotated = read(error_log + ".1")  # delaycompress: the newest stays plain
    # The request to reopen is the last thing the old file learns of it.
    assert "starting" in rotated and "control: \"reopen-logs\"" in rotated
    assert "log files reopened" in fresh and "starting" not in fresh
    # Reopening is not a reload: same workers, same generation.
    assert sorted(w["pid"] for w in gw.workers()["workers"]) == pids_before
    assert gw.status()["generation"] == 1

    # A second rotation compresses the first one and keeps working.
    result = logrotate(config, state)
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.path.exists(error_log + ".2.gz") and os.path.exists(error_log + ".1")


def test_postrotate_succeeds_when_wsgated_is_not_running(gateway):
    require_tool("logrotate", "logrotate")
    gw = gateway(workers=1, start=False)
    logs = os.path.join(gw.dir, "logs")
    os.mkdir(logs, 0o750)
    with open(os.path.join(logs, "error.log"), "w", encoding="utf-8") as old:
        old.write("a line from before\n")
    config, state = rotation_config(gw.dir, gw.config_path)
    result = logrotate(config, state)
    assert result.returncode == 0, result.stdout + result.stderr
    assert read(os.path.join(logs, "error.log.1")) == "a line from before\n"
