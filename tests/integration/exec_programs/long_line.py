#!/usr/bin/python3
"""long_line.py N: prints "short", then one line of N "y", then waits for
stdin to end."""
import sys

sys.stdout.write("short\n" + "y" * int(sys.argv[1]) + "\n")
sys.stdout.flush()
sys.stdin.read()
