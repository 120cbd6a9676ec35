#!/bin/sh
# Ignores SIGINT, SIGTERM and SIGHUP (its sleeps inherit that), never reads
# stdin: only SIGKILL ends it. Prints "pid PID".
trap '' INT TERM HUP
echo "pid $$"
while :; do sleep 0.1; done
