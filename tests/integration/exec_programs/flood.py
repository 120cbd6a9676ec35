#!/usr/bin/python3
"""flood.py TOTAL LINE: prints "pid PID", then writes TOTAL bytes of lines
of LINE bytes each ("%09d " + x's + "\n", numbered from 0) to stdout with
plain write(2) calls of 64 KiB, as fast as stdout takes them; exits 0.
What it has written so far is wchar in /proc/PID/io."""
import os
import sys

total, size = int(sys.argv[1]), int(sys.argv[2])
os.write(1, f"pid {os.getpid()}\n".encode())
per_chunk = max(1, 65536 // size)
written, number = 0, 0
while written < total:
    chunk = b"".join(b"%09d " % (number + i) + b"x" * (size - 11) + b"\n"
                     for i in range(per_chunk))
    number += per_chunk
    view = memoryview(chunk)
    while view:
        n = os.write(1, view)
        view = view[n:]
    written += len(chunk)
