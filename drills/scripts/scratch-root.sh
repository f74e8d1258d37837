#!/bin/sh
# Check the scratch root, making it (0700) when it is missing, then make one run folder in it
# (mkdir -m 0700, no -p: an existing name fails), or with RUN '-' check it only (a missing root is
# not made: nothing to sweep). The root must be a real directory, not a symlink, owned by the uid
# running this script (root under sudo) and not writable by group or others; every folder above
# it a real directory owned by root or that uid, not writable by group or others unless sticky
# (/var/tmp). With MODE exact (a sudo: exact host) a sticky folder above it is refused too:
# sudoers lets the drilling user write into ROOT/drill-... as root at any time, so anyone able to
# make the root's name first (in /var/tmp, /tmp) could plant symlinks before any drill checks it.
# Exit 3 naming the path, its owner and mode, and what is expected: any local user could otherwise
# plant symlinks where the drill writes as root.
#   scratch-root.sh ROOT RUN [exact]      (RUN one name, [A-Za-z0-9_-], or -)
set -u
root=$1 run=$2 mode=${3:-}
me=$(id -u)
who="uid $me (the drilling user, without sudo)"
above="root or $who"
[ "$me" -ne 0 ] || who=root above=root
unless=" unless sticky"
case $mode in
  '') ;;
  exact) unless=", sticky or not (sudo: exact: anyone able to make the root's name there could plant symlinks before a drill)" ;;
  *) echo "scratch-root: not a mode: $mode (expected exact or nothing)" >&2; exit 2 ;;
esac
refuse() {  # PATH WHAT-IS-EXPECTED
  found=$(stat -c 'owned by %U (uid %u), mode %04a, %F' -- "$1" 2>/dev/null) || found="missing"
  echo "$1: $found; expected $2" >&2
  exit 3
}
trusted() {  # every folder above $1: a real directory of root or me, not writable by others
  # (unless sticky, and not in exact mode)
  p=$1
  if [ "$mode" = exact ]; then open='-perm /022'; else open='-perm /022 ! -perm -1000'; fi
  while [ "$p" != / ]; do
    p=$(dirname -- "$p")
    # shellcheck disable=SC2086  # $open: find's own words, chosen above
    [ -n "$(find -P "$p" -maxdepth 0 -type d \( -user 0 -o -user "$me" \) ! \( $open \) \
            -print 2>/dev/null)" ] ||
      refuse "$p" "a folder (not a symlink) owned by $above, not writable by group or others$unless"
  done
}
case $root in
  /*) ;;
  *) echo "scratch-root: not an absolute path: $root" >&2; exit 2 ;;
esac
case $run in
  -) ;;
  '' | *[!A-Za-z0-9_-]*) echo "scratch-root: not a scratch folder's name: $run" >&2; exit 2 ;;
esac
root=${root%/}
[ -n "$root" ] || { echo "scratch-root: / is not a scratch root" >&2; exit 2; }
trusted "$root"
if [ ! -e "$root" ] && [ ! -L "$root" ]; then
  [ "$run" != - ] || exit 0
  mkdir -m 0700 -- "$root" || refuse "$root" "a folder this drill can make"
fi
[ -n "$(find -P "$root" -maxdepth 0 -type d -user "$me" ! -perm /022 -print 2>/dev/null)" ] ||
  refuse "$root" "owned by $who, mode 0700 or stricter (not writable by group or others), not a symlink"
[ "$run" = - ] || mkdir -m 0700 -- "$root/$run"
