#!/bin/sh
# Lines 1..$1 as fast as possible, then exit 0.
seq 1 "$1"
