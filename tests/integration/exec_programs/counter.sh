#!/bin/sh
# The counter: 1..10, one every 100 ms, then exit 0.
for i in $(seq 1 10); do echo $i; sleep 0.1; done
