#!/bin/sh
# Hand a file fetched into scratch (a dump, an RDB, a backup tar) to the throwaway user: it must
# be a regular file inside TARGET once symlinks are resolved (a backup may hold a link to
# anything); it is moved, never copied or followed, into HOME (made here, 0700, with no -p: an
# existing HOME fails) as NAME, the user's and readable only by it. HOME is given to the user
# only once NAME is in place: while the user owns nothing here, it cannot swap NAME for a link
# (to /etc) for the move and the chown to follow. The scratch root and TARGET are opened for
# passing through (0711), nothing more. Exit 4 if the file is not one to hand over.
#   scratch-hand-over.sh TARGET FILE HOME NAME USER
set -eu
target=$1 file=$2 home=$3 name=$4 user=$5
cd /
# restic restores each file's mode as root, setuid and setgid bits included: strip them before
# the throwaway user (and so anyone) may pass through scratch to its home
find -P "$target" -xdev -type f -perm /6000 -exec chmod ug-s -- {} +
chmod 0711 "$target"
# the scratch root (checked by scratch-root: root's, not a symlink) may be 0700: the throwaway
# user only passes through it to HOME
chmod go+x -- "$(dirname -- "$target")"
mkdir -m 0700 -- "$home"
root=$(realpath -e -- "$target")
real=$(realpath -e -- "$file") || { echo "$file is missing" >&2; exit 4; }
case $real in
  "$root"/*) ;;
  *) echo "$file leads outside scratch, to $real" >&2; exit 4 ;;
esac
if [ ! -f "$real" ] || [ -L "$real" ]; then
  echo "$file is not a regular file" >&2
  exit 4
fi
mv -T -- "$real" "$home/$name"
chmod 0400 -- "$home/$name"
chown -h "$user:" -- "$home/$name"
chown -h "$user:" -- "$home"
