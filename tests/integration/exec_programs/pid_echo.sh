#!/bin/sh
# "pid PID" first, then echoes every stdin line, until stdin ends.
echo "pid $$"
while IFS= read -r line; do
  printf '%s\n' "$line"
done
