#!/bin/sh
# Remove one scratch folder a killed run left, after stopping any process still writing there.
# The folder's name comes split in two (its first character, the rest) and is matched as
# "[d]rill-...": neither this script's command line nor the pattern itself matches, so pkill
# stops the leftover's processes and never this one.
#   sweep.sh ROOT FIRST REST      (the name FIRST+REST is [A-Za-z0-9_-] only)
set -u
root=$1 first=$2 rest=$3
case $first$rest in
  '' | *[!A-Za-z0-9_-]*) echo "sweep: not a scratch folder's name: $first$rest" >&2; exit 2 ;;
esac
pkill -f -- "[$first]$rest"
sleep 0.5
pkill -KILL -f -- "[$first]$rest"
rm -rf --one-file-system -- "${root:?}/$first$rest"
