#!/bin/sh
# Hand a file fetched into scratch (a dump, an RDB, a backup tar) to the throwaway user: it must
# be a regular file inside TARGET, a run folder, once symlinks are resolved (a backup may hold a
# link to anything); it is moved, never copied or followed, into HOME, which must be TARGET-home:
# beside the run folder, never inside it. HOME is made here (0700, no -p: an existing HOME fails)
# as root's; NAME is moved in (mv -T), made 0400 (no setuid bit survives) and the user's, and
# only then is HOME given to the user: while the user owns nothing here, it cannot swap NAME for
# a link (to /etc) for the move and the chown to follow. The run folder itself is never opened:
# sudoers lets the drilling user restore into any run folder as root at any time, and restic and
# borg restore setuid files and device nodes as recorded, so a run folder others could pass
# through would hand them a setuid-root file of the backup. Only the scratch root is opened for
# passing through (0711) to HOME; nothing in it can be listed. Exit 4 if the file is not one to
# hand over, 2 for a TARGET or HOME that is not a run folder and its home.
#   scratch-hand-over.sh TARGET FILE HOME NAME USER
set -eu
target=$1 file=$2 home=$3 name=$4 user=$5
cd /
if [ "$home" != "$target-home" ]; then
  echo "scratch-hand-over: $home is not the home of $target (expected $target-home)" >&2
  exit 2
fi
if [ -L "$target" ] || [ ! -d "$target" ] || [ "$(stat -c %u -- "$target")" != "$(id -u)" ]; then
  echo "scratch-hand-over: $target is not a run folder of uid $(id -u)" >&2
  exit 2
fi
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
mkdir -m 0700 -- "$home"
# the scratch root (checked by scratch-root: root's, not a symlink) may be 0700: the throwaway
# user only passes through it to HOME (every run folder in it stays 0700), opened only once the
# file is one to hand over and HOME is new
chmod go+x -- "$(dirname -- "$target")"
mv -T -- "$real" "$home/$name"
# HOME is root's 0700 until the end: nobody can swap NAME now, but a link moved in (swapped in
# after the checks above) must not lead the chmod and chown elsewhere
if [ -L "$home/$name" ] || [ ! -f "$home/$name" ]; then
  echo "$file is not a regular file" >&2
  exit 4
fi
chmod 0400 -- "$home/$name"
chown -h "$user:" -- "$home/$name"
chown -h "$user:" -- "$home"
