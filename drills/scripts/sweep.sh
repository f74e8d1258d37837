#!/bin/sh
# Remove one scratch folder a killed run left (a run folder or the throwaway user's home beside
# it), after stopping the processes still working there, and only those: a process of this
# script's own user (root under sudo: the drill's restore, borg extract, hashing; never another
# user's, which could name any path) whose command line names the folder's exact path (followed
# by "/", a space or its end: another run's folder whose name begins the same is not this one),
# or whose working directory is in it (borg extract). Another drill's restore into its own
# scratch folder is never matched. The throwaway user's servers are stopped by throwaway-user.sh.
# The folder comes split (the root, its name's first character, the rest), so this script's own
# command line never names its path.
#   sweep.sh ROOT FIRST REST      (the name FIRST+REST is [A-Za-z0-9_-] only)
set -u
root=$1 first=$2 rest=$3
case $first$rest in
  '' | *[!A-Za-z0-9_-]*) echo "sweep: not a scratch folder's name: $first$rest" >&2; exit 2 ;;
esac
folder=${root%/}/$first$rest
real=$(realpath -e -- "$folder" 2>/dev/null) || real=$folder
# the folder's path as an extended regular expression of itself (pkill -f reads one)
exact=$(printf '%s\n' "$folder" | sed 's/[][\.*^$+?(){}|]/\\&/g')

me=$(id -u)

stop() {  # SIGNAL: every process of the folder, of this script's own user
  pkill "-$1" -U "$me" -f -- "(^|[[:space:]=])$exact(/|[[:space:]]|\$)"
  for proc in /proc/[0-9]*; do
    [ "$(stat -c %u -- "$proc" 2>/dev/null)" = "$me" ] || continue
    cwd=$(readlink "$proc/cwd" 2>/dev/null) || continue
    case $cwd in
      "$real" | "$real"/*) kill "-$1" "${proc#/proc/}" 2>/dev/null ;;
    esac
  done
}

stop TERM
sleep 0.5
stop KILL
rm -rf --one-file-system -- "${root:?}/$first$rest"
