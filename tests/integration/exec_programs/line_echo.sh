#!/bin/sh
# Echoes every stdin line back on stdout, until stdin ends.
while IFS= read -r line; do
  printf '%s\n' "$line"
done
