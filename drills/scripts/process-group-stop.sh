#!/bin/sh
# Stop the process group whose leader's pid is in GROUP_FILE (a scratch server started with
# setsid): TERM, up to 30 s for it to go, then KILL. Nothing to do without the file.
#   process-group-stop.sh GROUP_FILE
set -u
g=$(cat "$1" 2>/dev/null) || exit 0
kill -TERM -"$g"
for _ in $(seq 150); do
  kill -0 -"$g" 2>/dev/null || exit 0
  sleep 0.2
done
kill -KILL -"$g"
