#!/usr/bin/python3
"""Prints "spinning", then burns CPU until a CPU rlimit stops it (at most 60 s)."""
import time

print("spinning", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    pass
