#!/bin/sh
# Remove the credentials folders a killed drill left (drills/scripts/unit-credentials.sh makes
# DIR/backup-drill-credentials.PID-EPOCH.XXXXXX and removes it when its command ends), by the
# rule of scratch leftovers: its helper PID no longer runs, or it is older than MAX_AGE seconds
# (a folder named without them, by an older drill: by its modification time). A link is never
# followed. Prints each removed path, NUL-ended.
#   sweep-credentials.sh DIR MAX_AGE
set -u
dir=$1 max=$2
now=$(date +%s)
for folder in "$dir"/backup-drill-credentials.*; do
  if [ ! -d "$folder" ] || [ -L "$folder" ]; then continue; fi
  rest=${folder##*/backup-drill-credentials.}
  case $rest in
    [0-9]*-[0-9]*.*) pid=${rest%%-*} epoch=${rest#*-}; epoch=${epoch%%.*} ;;
    *) pid="" epoch=$(stat -c %Y -- "$folder") || continue ;;
  esac
  case $pid$epoch in '' | *[!0-9]*) continue ;; esac
  if [ $((now - epoch)) -gt "$max" ] || { [ -n "$pid" ] && [ ! -d "/proc/$pid" ]; }; then
    rm -rf --one-file-system -- "$folder" && printf '%s\0' "$folder"
  fi
done
exit 0
