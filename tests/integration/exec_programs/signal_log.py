#!/usr/bin/python3
"""signal_log.py LOGFILE: logs, with CLOCK_MONOTONIC times (the same clock
as the test's time.monotonic()), when stdin ends and each SIGINT, SIGTERM,
SIGHUP it gets; catches those and goes on, so only SIGKILL ends it. Starts
a grandchild (same file, --grandchild) that logs its signals the same way,
so the log shows whether the process group was signalled. Prints
"ready PID GRANDCHILD_PID" once both are set up."""
import os
import signal
import subprocess
import sys
import threading
import time

role = "grandchild" if sys.argv[1] == "--grandchild" else "child"
log_path = sys.argv[2] if role == "grandchild" else sys.argv[1]
log = open(log_path, "a", buffering=1, encoding="ascii")


def note(event):
    log.write(f"{time.monotonic():.6f} {role} {os.getpid()} {event}\n")


def on_signal(number, _frame):
    note(signal.Signals(number).name)


for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, on_signal)

if role == "grandchild":
    note("start")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(0.01)
    sys.exit(0)

grandchild = subprocess.Popen([sys.executable, __file__, "--grandchild", log_path] + sys.argv[2:],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
started = time.monotonic()
while time.monotonic() - started < 10:  # until the grandchild has its handlers
    with open(log_path, encoding="ascii") as f:
        if f" grandchild {grandchild.pid} start" in f.read():
            break
    time.sleep(0.01)
note("start")
print(f"ready {os.getpid()} {grandchild.pid}", flush=True)


def read_stdin():
    while os.read(0, 65536):
        pass
    note("stdin-eof")


threading.Thread(target=read_stdin, daemon=True).start()
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    time.sleep(0.01)
