#!/bin/sh
# Unpack one tarball backup archive into OUT, a new folder (made here, 0700) directly in a run
# folder of the drill's scratch, decrypting it first with gpg when ENCRYPTED is "yes" (with
# GNUPGHOME's keys when one is given) into OUT.tar.gz beside it. A backup's content is not
# trusted: its members come back as the running user's own files, with its umask (077), so no
# setuid or setgid bit and nothing writable by others (--no-same-owner --no-same-permissions;
# as root GNU tar otherwise keeps the archive's mode bits, setuid included), and a "." member
# does not change OUT itself (--no-overwrite-dir). The tar stream is cut at LIMIT bytes (the
# room scratch has): a small archive that unpacks to more (a bomb) must not fill the disk as
# root, so tar reads at most LIMIT bytes and the helper says how much the archive holds. Exit 3:
# OUT is not a new folder in scratch; 5: the archive unpacks to more than LIMIT bytes.
#   archive-unpack.sh ARCHIVE OUT ENCRYPTED LIMIT [GNUPGHOME]
set -eu
umask 077
archive=$1 out=${2%/} encrypted=$3 limit=$4 home=${5:-}
case $limit in
  '' | *[!0-9]*) echo "$4: not a number of bytes" >&2; exit 2 ;;
esac
scratch_run() {  # $1: a run folder the drill made (drill-..., by scratch-root.sh): it and the
  # scratch root above it real folders of the running uid, not writable by group or others (the run
  # folder 0700: what a restore as root brings back, setuid bits included, stays out of reach);
  # every folder above those root's or that uid's, not writable by group or others unless sticky.
  # Else exit 3, naming it.
  me=$(id -u) p=${1%/} n=0
  case $p in /?*/drill-*) ;; *) echo "$1: not a run folder of the drill's scratch" >&2; exit 3 ;; esac
  while [ "$p" != / ]; do
    n=$((n + 1))
    if [ $n -eq 1 ]; then
      ok=$(find -P "$p" -maxdepth 0 -type d -user "$me" ! -perm /077 -print 2>/dev/null) || ok=
    elif [ $n -eq 2 ]; then
      ok=$(find -P "$p" -maxdepth 0 -type d -user "$me" ! -perm /022 -print 2>/dev/null) || ok=
    else
      ok=$(find -P "$p" -maxdepth 0 -type d \( -user 0 -o -user "$me" \) \
           \( ! -perm /022 -o -perm -1000 \) -print 2>/dev/null) || ok=
    fi
    [ -n "$ok" ] || { echo "$p: not a folder of the drill's scratch (a real folder of uid $me," \
                           "not writable by others, not a symlink)" >&2; exit 3; }
    p=$(dirname -- "$p")
  done
}
case ${out##*/} in
  '' | . | ..) echo "$2: not a new folder's name in scratch" >&2; exit 3 ;;
esac
scratch_run "$(dirname -- "$out")"
mkdir -m 0700 -- "$out"
untar() {  # $1: a .tar.gz; its tar stream, at most LIMIT bytes of it, unpacked into OUT
  if gzip -dc -- "$1" | head -c "$limit" | tar --no-same-owner --no-same-permissions \
       --no-overwrite-dir -xf - -C "$out"; then
    return 0
  fi
  # a tar stream longer than LIMIT was cut: say so (the bytes counted stop at LIMIT + 1)
  if [ "$(gzip -dc -- "$1" | head -c "$((limit + 1))" | wc -c)" -gt "$limit" ]; then
    echo "$archive unpacks to more than $limit bytes, the room scratch has: not unpacked" >&2
    exit 5
  fi
  return 1
}
if [ "$encrypted" = yes ]; then
  plain=$out.tar.gz
  if [ -e "$plain" ] || [ -L "$plain" ]; then
    echo "$plain exists already: not a new file in scratch" >&2
    exit 3
  fi
  # gpg's own output is cut at LIMIT too (a few kB of .gpg can decompress to gigabytes)
  if ! said=$(LC_ALL=C gpg ${home:+--homedir "$home"} --batch --quiet --max-output "$limit" \
                --decrypt --output "$plain" -- "$archive" 2>&1); then
    rm -f -- "$plain"
    case $said in
      *"exceeded --max-output limit"*)
        echo "$archive decrypts to more than $limit bytes, the room scratch has: not unpacked" >&2
        exit 5 ;;
    esac
    printf '%s\n' "$said" >&2
    exit 1
  fi
  [ -z "$said" ] || printf '%s\n' "$said" >&2
  untar "$plain"
  rm -f -- "$plain"
else
  untar "$archive"
fi
