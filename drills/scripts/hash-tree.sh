#!/bin/sh
# List a tree (type, size, mtime, path, link target; NUL-separated), then the separator, then
# sha256sum -z of its files in PARALLEL batches: each batch writes its own temp file (parallel
# writers on one pipe interleave), concatenated at the end. Exit 44: no ROOT. With MISSING_OK
# "yes" (the restored side), a missing ROOT or PATH is simply absent; else it is an error.
#   hash-tree.sh ROOT PARALLEL MISSING_OK SEPARATOR PATH...   (each PATH "." or "./<relative>")
set -u
root=$1 parallel=$2 missing_ok=$3 separator=$4
shift 4
cd -- "$root" 2>/dev/null || exit 44
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
# shellcheck disable=SC2016  # the batch's own "$@" and $0, expanded by the batch's sh
batch='sha256sum -z "$@" > "$(mktemp "$0/h.XXXXXX")"'
found "$@" -type f -print0 | xargs -0 -r -P "$parallel" -n 256 sh -c "$batch" "$d"
rc=$?
cat "$d"/h.* 2>/dev/null
[ $rc -eq 0 ] || [ $rc -eq 123 ] || exit $rc
