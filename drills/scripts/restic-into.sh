#!/bin/sh
# restic restore of snapshot ID into RUN/ID: a folder of a drill's run folder that only ever
# receives that one snapshot. sudoers lets the drilling user restore any snapshot into any run
# folder at any time, and restic 0.14 (Debian 12) writes a restored file through a symlink an
# earlier restore left at its path: a link to /etc/sudoers.d/x from one snapshot and a file of
# the same name from another gave root. So RUN must be a run folder of this uid (a real
# directory, not a symlink, mode 0700) holding nothing but RUN/ID, and
# the restores of one RUN take turns (flock). Exit 3 otherwise, before restic runs. Restores of
# the same snapshot (the rotation's batches) agree on every path's type: none writes through
# another's link. Every refusal is one line beginning "restic-into: ".
#   restic-into.sh RUN REPOSITORY ID [RESTORE-OPTIONS...]
set -u
run=${1%/} repo=$2 id=$3
shift 3
me=$(id -u)
case $id in
  '' | *[!0-9a-f]*) echo "restic-into: not a snapshot ID: $id" >&2; exit 3 ;;
esac
case $run in
  /?*/drill-*) ;;
  *) echo "restic-into: $run: not a run folder of the drill's scratch" >&2; exit 3 ;;
esac
ok=$(find -P "$run" -maxdepth 0 -type d -user "$me" ! -perm /077 -print 2>/dev/null) || ok=
if [ -z "$ok" ]; then
  echo "restic-into: $run: not a run folder of the drill's scratch (a real folder of uid $me, mode" \
    "0700, not a symlink)" >&2
  exit 3
fi
exec 9<"$run"
flock -n 9 || { echo "restic-into: $run: another restore is writing there" >&2; exit 3; }
for entry in "$run"/* "$run"/.[!.]* "$run"/..?*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  if [ "$entry" != "$run/$id" ] || [ -L "$entry" ] || [ ! -d "$entry" ]; then
    echo "restic-into: $run holds ${entry#"$run"/}: a run folder receives one snapshot's restores only" >&2
    exit 3
  fi
done
exec restic -r "$repo" --no-lock restore "$id" --target "$run/$id" "$@"
