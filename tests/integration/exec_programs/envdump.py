#!/usr/bin/python3
"""Prints the environment exactly as it was exec'd, one NAME=value line per
variable (read from /proc/self/environ, so the variables Python adds for
itself, such as LC_CTYPE by locale coercion, do not show), then lines
starting with '#' (never a variable name): argv, cwd, rlimits. Exits 0."""
import os
import resource
import sys

with open("/proc/self/environ", "rb") as environ:
    for item in environ.read().split(b"\0"):
        if item:
            print(item.decode("utf-8", "replace").replace("\n", "\\n"))
print("#ARGV=" + "\t".join(sys.argv))
print("#CWD=" + os.getcwd())
for name in ("NOFILE", "NPROC", "AS", "CPU"):
    soft, hard = resource.getrlimit(getattr(resource, "RLIMIT_" + name))
    print(f"#RLIMIT_{name}={soft} {hard}")
