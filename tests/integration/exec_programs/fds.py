#!/usr/bin/python3
"""Prints "fds A B C" (the open descriptors, the one used to list them left
out), then one "fd N -> target" line each. Exits 0."""
import os

listing = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
fds = sorted(int(name) for name in os.listdir(listing) if int(name) != listing)
os.close(listing)
print("fds " + " ".join(str(fd) for fd in fds), flush=True)
for fd in fds:
    try:
        print(f"fd {fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
    except OSError as error:
        print(f"fd {fd} -> ? {error}")
