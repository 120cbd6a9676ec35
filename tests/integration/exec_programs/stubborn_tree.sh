#!/bin/sh
# A child and a grandchild that both ignore SIGINT, SIGTERM and SIGHUP and
# never end by themselves; both carry this script's arguments in argv.
# Prints "child PID grandchild PID".
trap '' INT TERM HUP
/usr/bin/python3 -c 'import time; time.sleep(300)' grandchild "$@" </dev/null >/dev/null 2>&1 &
echo "child $$ grandchild $!"
while :; do sleep 0.1; done
