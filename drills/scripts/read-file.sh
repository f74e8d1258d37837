#!/bin/sh
# Read a small file the estate writes (a status marker, a metrics textfile, a restore-test
# result) as root without trusting its folder: never through a symbolic link at its place
# (dd opens it O_NOFOLLOW), never a FIFO or a device (refused; O_NONBLOCK should one be
# swapped in), never a file with a second hard link, and never more than CAP + 1 bytes.
#   read-file.sh PATH CAP              the file
#   read-file.sh -newest FOLDER CAP    the newest *.json of FOLDER by its own time (a link's
#                                      own, not its target's), its path first, NUL-ended
# Prints "MODE UID GID" of the file's folder on one line, then the file's bytes.
# Exit 44: no such file; 45: refused, the reason on stderr ("is a symlink", "is not a regular
# file", "has 2 hard links"); anything else: it could not be read.
set -u

read_capped() {  # PATH CAP
  if [ -L "$1" ]; then echo "is a symlink" >&2; return 45; fi
  [ -e "$1" ] || return 44
  if [ ! -f "$1" ]; then echo "is not a regular file" >&2; return 45; fi
  links=$(stat -c %h -- "$1") || return 1
  if [ "$links" != 1 ]; then echo "has $links hard links" >&2; return 45; fi
  stat -c '%a %u %g' -- "${1%/*}/" || return 1
  dd if="$1" iflag=nofollow,nonblock,fullblock bs=$(($2 + 1)) count=1 status=none
}

case ${1:-} in
  -newest)
    folder=$2 newest=
    for f in "$folder"/*.json; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      if [ -z "$newest" ] || [ -n "$(find "$f" -maxdepth 0 -newer "$newest")" ]; then
        newest=$f
      fi
    done
    [ -n "$newest" ] || exit 44
    printf '%s\0' "$newest"
    read_capped "$newest" "$3" ;;
  /*) read_capped "$1" "$2" ;;
  *) echo "read-file: not an absolute path: $1" >&2; exit 2 ;;
esac
