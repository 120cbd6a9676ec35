#!/bin/sh
# Starts a grandchild (a Python sleeping 300 s, its argv carrying this
# script's arguments), prints "child PID grandchild PID", then waits for it
# (argument "wait") or exits 0 at once (argument "exit"; the grandchild's
# stdio then goes to /dev/null so only the process group ties it to us).
if [ "$1" = exit ]; then
  /usr/bin/python3 -c 'import time; time.sleep(300)' grandchild "$@" </dev/null >/dev/null 2>&1 &
  echo "child $$ grandchild $!"
  exit 0
fi
/usr/bin/python3 -c 'import time; time.sleep(300)' grandchild "$@" &
echo "child $$ grandchild $!"
wait
