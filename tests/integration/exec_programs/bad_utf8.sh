#!/bin/sh
# A good line, a line that is not UTF-8, another good line; then waits for stdin to end.
printf 'ok\n\377\376 not utf-8\nafter\n'
cat >/dev/null
