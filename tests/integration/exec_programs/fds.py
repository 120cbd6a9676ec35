#!/usr/bin/python3
"""Prints "fds A B C" (the descriptors open in this process, the ones
Python used to list them left out), then one "fd N -> target" line each.
Exits 0."""
import os

listed = sorted(int(name) for name in os.listdir("/proc/self/fd"))
fds = []
for fd in listed:
    try:
        fds.append((fd, os.readlink(f"/proc/self/fd/{fd}")))
    except FileNotFoundError:
        pass  # the directory listing's own descriptor, closed by now
print("fds " + " ".join(str(fd) for fd, _ in fds), flush=True)
for fd, target in fds:
    print(f"fd {fd} -> {target}")
