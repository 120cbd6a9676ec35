#!/bin/sh
# "pid PID" on stdout, two lines on stderr, "done" on stdout, exit 0.
echo "pid $$"
echo "first complaint on stderr" >&2
echo "second complaint on stderr" >&2
sleep 0.2
echo done
