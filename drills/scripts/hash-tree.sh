#!/bin/sh
# List a tree (type, size, mtime, path, link target; NUL-separated), then the separator, then
# "SHA-256  name" NUL-terminated (sha256sum -z's format) for each of its files, on every core:
# files over 1 MiB one by one, each read on stdin by `openssl dgst -sha256` (several times
# faster than sha256sum where the CPU has SHA extensions; sha256sum where openssl is missing or
# fails), the small ones by sha256sum -z in batches of 256; PARALLEL of each at a time (0: one
# per core of the host). Each batch writes its own temp file (parallel writers on one pipe
# interleave), concatenated at the end, in no particular order. Names reach no shell text: they
# are the batches' positional parameters, printed back with printf '%s'. Exit 44: no ROOT,
# 45: a PATH out of ROOT, 46: the restored ROOT is a symlink (or below one). With MISSING_OK "yes" (the restored side), a missing ROOT or PATH is
# simply absent; else an error.
#   hash-tree.sh ROOT PARALLEL MISSING_OK SEPARATOR PATH...   (each PATH "." or "./<relative>")
set -u
root=$1 parallel=$2 missing_ok=$3 separator=$4
shift 4
cd -- "$root" 2>/dev/null || exit 44
# The restored side: a snapshot may record the tree's own folder (or one above it) as a symlink,
# to the live source or to /root; following it would hash what is not in the backup (a false
# green) or list a root-only tree. Exit 46 when ROOT is not its own real path.
if [ "$missing_ok" = yes ] && [ "$(pwd -P)" != "$(cd -- "$root" && pwd -L)" ]; then
  echo "hash-tree: $root leads elsewhere through a symlink, to $(pwd -P)" >&2
  exit 46
fi
# Hashing runs as root: a PATH out of ROOT would hand out the digest of a file the caller cannot
# read. Each PATH must be "." or "./" and components that are neither empty, "." nor "..", and
# its folder ROOT or a real folder below it (no symlink on the way; find never follows the last
# component). Exit 45 otherwise, before anything is read.
for p; do
  case $p in
    .) ;;
    ./*) case /${p#./}/ in */./*|*/../*|*//*) echo "hash-tree: a PATH has an empty, . or .. component" >&2; exit 45 ;; esac ;;
    *) echo "hash-tree: a PATH is neither . nor ./<relative>" >&2; exit 45 ;;
  esac
done
out=$(printf '%s\0' "$@" | sed -z 's|/[^/]*$||' |
      xargs -0 -r realpath -z -m -P --relative-base=. -- | tr '\n\0' '_\n' | grep -c '^/')
[ "$out" = 0 ] || { echo "hash-tree: $out PATH(s) lead out of $root through a symlink" >&2; exit 45; }
[ "$parallel" -gt 0 ] 2>/dev/null || parallel=$(nproc 2>/dev/null) || parallel=2
d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT || exit 2
found() {  # find "$@" with the caller's tests, quiet about missing paths when they may be missing
  if [ "$missing_ok" = yes ]; then
    find "$@" 2>/dev/null
  else
    find "$@"
  fi
}
found "$@" \( -type f -o -type l -o -type d \) -printf '%y\0%s\0%T@\0%p\0%l\0'
lrc=$?
[ "$missing_ok" = yes ] || [ $lrc -eq 0 ] || exit $lrc
printf '%s\0' "$separator"
# shellcheck disable=SC2016  # the batches' own "$@", $0 and variables, expanded by their sh
small='sha256sum -z "$@" > "$(mktemp "$0/h.XXXXXX")"'
# shellcheck disable=SC2016
large='out=$(mktemp "$0/h.XXXXXX") || exit 2
for f; do
  h=$(openssl dgst -sha256 -r < "$f" 2>/dev/null) && h=${h%% *} && [ ${#h} -eq 64 ] ||
    { h=$(sha256sum < "$f") && h=${h%% *}; } || continue
  printf "%s  %s\0" "$h" "$f" >> "$out"
done'
command -v openssl > /dev/null 2>&1 || large=$small
found "$@" -type f -size +1024k -print0 | xargs -0 -r -P "$parallel" -n 1 sh -c "$large" "$d" &
big=$!
found "$@" -type f ! -size +1024k -print0 | xargs -0 -r -P "$parallel" -n 256 sh -c "$small" "$d"
rc=$?
wait "$big"
brc=$?
cat "$d"/h.* 2>/dev/null
for r in $rc $brc; do
  [ "$r" -eq 0 ] || [ "$r" -eq 123 ] || exit "$r"
done
