#!/bin/sh
# Stop the process group whose leader's pid is in GROUP_FILE (a scratch server started with
# setsid): TERM, up to 30 s for it to go, then KILL. Nothing to do without the file, or when it
# does not hold one pid above 1 (the file is in scratch, where a server's user may write: "1"
# or "-1" there must never signal every process).
#   process-group-stop.sh GROUP_FILE
set -u
g=$(cat -- "$1" 2>/dev/null) || exit 0
case $g in
  '' | *[!0-9]* | 0* | 1) echo "process-group-stop: $1 holds no process group: $g" >&2; exit 0 ;;
esac
kill -TERM -"$g"
for _ in $(seq 150); do
  kill -0 -"$g" 2>/dev/null || exit 0
  sleep 0.2
done
kill -KILL -"$g"
