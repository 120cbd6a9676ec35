#!/bin/sh
# One line, then kills itself with signal $1 (a name: KILL, TERM, ...).
echo "before signal"
kill -s "$1" $$
sleep 5
