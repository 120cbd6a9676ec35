#!/bin/sh
# One line, then exit with status $1.
echo "before exit"
exit "$1"
