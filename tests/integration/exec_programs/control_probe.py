#!/usr/bin/python3
"""Tries to use wsgated's control socket ($CONTROL_SOCKET): prints one line,
"answer: <the daemon's reply>" or "refused: <the error>", then exits 0."""
import os
import socket

try:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(os.environ["CONTROL_SOCKET"])
    sock.sendall(b"status\n")
    reply = sock.recv(65536).decode("utf-8", "replace").strip()
    print(f"answer: {reply}" if reply else "refused: no answer", flush=True)
except OSError as e:
    print(f"refused: {e}", flush=True)
print(f"uid {os.getuid()} gid {os.getgid()}", flush=True)
