#!/usr/bin/python3
"""no_read.py RELEASE_FILE SIZE: prints "pid PID", then reads nothing from
stdin until RELEASE_FILE exists (at most 120 s), then reads SIZE bytes and
prints "got N SHA256HEX" and exits 0."""
import hashlib
import os
import sys
import time

release, size = sys.argv[1], int(sys.argv[2])
os.write(1, f"pid {os.getpid()}\n".encode())
deadline = time.monotonic() + 120
while not os.path.exists(release) and time.monotonic() < deadline:
    time.sleep(0.02)
digest, got = hashlib.sha256(), 0
while got < size:
    data = os.read(0, 1 << 20)
    if not data:
        break
    digest.update(data)
    got += len(data)
os.write(1, f"got {got} {digest.hexdigest()}\n".encode())
