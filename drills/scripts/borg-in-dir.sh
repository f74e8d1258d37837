#!/bin/sh
# Run borg, with the drill's fixed settings, in DIR: borg extract writes into its working
# directory, so DIR must be a run folder of the drill's scratch (scratch_run below), never a
# symlink or a folder another user could swap. Exit 3 when it is not.
# An extract is never borg's own: borg extract follows a symlink it made earlier from the same
# archive (x -> /etc/sudoers.d, then x/zz: CVE-2026-62268, borg before 1.4.5), and as root that
# writes anywhere. It runs as borg export-tar of the same archive and paths to a pipe, unpacked
# by GNU tar, which makes a link that leads out (absolute, or with ..) only at the end, after
# every member (a member below it fails: "Cannot open: Not a directory"). The exit status is
# borg's when borg failed, else tar's. A borgmatic job's words come whole (borgmatic ... borg
# ... -- extract ...); a sudo: exact host's rule allows borg's only.
#   borg-in-dir.sh DIR [borgmatic WORDS... --] BORG-WORDS...
set -u
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
scratch_run "$1"
cd -- "$1" || exit 2
shift
export TZ=UTC BORG_RELOCATED_REPO_ACCESS_IS_OK=no
[ "${1-}" = borgmatic ] || set -- borg "$@"
# extract --bypass-lock LOCATION [PATH...] becomes export-tar --bypass-lock LOCATION - [PATH...]
seen=no after=0
for word do
  shift
  if [ $seen = no ] && [ "$word" = extract ]; then
    set -- "$@" export-tar
    seen=yes after=2
    continue
  fi
  set -- "$@" "$word"
  if [ $after -gt 0 ]; then
    after=$((after - 1))
    [ $after -gt 0 ] || set -- "$@" -
  fi
done
[ $seen = yes ] || exec "$@"
status=$(mktemp) || exit 2
{ "$@"; echo $? > "$status"; } | tar -x -f -
tarred=$?
exported=$(cat -- "$status")
rm -f -- "$status"
[ "${exported:-2}" -eq 0 ] || exit "${exported:-2}"
exit $tarred
