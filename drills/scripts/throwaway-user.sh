#!/bin/sh
# The drill's throwaway OS user, for the scratch servers that read backup content: no home, no
# shell, no password, neither root nor the database's owner. "add" creates it (idempotent: an
# existing user of that name and label is kept, any other is refused); "remove" stops whatever
# still runs as it and deletes it and its group. Names are "drill-" and ten hex digits; the label
# (the GECOS field) is the run's scratch label, by which the next run sweeps a leftover.
#   throwaway-user.sh add NAME LABEL | throwaway-user.sh remove NAME
set -u
action=$1 name=$2 label=${3:-}
case $name in
  drill-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
  *) echo "refusing the user name $name: expected drill- and ten hex digits" >&2; exit 2 ;;
esac
found=$(awk -F: -v n="$name" '$1 == n {print $5}' /etc/passwd)
if [ "$action" = add ]; then
  if [ -n "$found" ]; then
    [ "$found" = "$label" ] && exit 0
    echo "a user $name already exists and is not this drill's" >&2
    exit 2
  fi
  shell=/usr/sbin/nologin
  [ -x "$shell" ] || shell=/bin/false
  for _ in 1 2 3 4 5; do  # another useradd may hold /etc/passwd's lock for a moment
    useradd --system --no-create-home --home-dir /nonexistent --shell "$shell" --user-group \
      --comment "$label" "$name" && exit 0
    sleep 1
  done
  exit 1
fi
[ -n "$found" ] || exit 0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pkill -KILL -u "$name" 2>/dev/null
  sleep 0.2
  userdel "$name" 2>/dev/null && break
done
getent group "$name" >/dev/null 2>&1 && groupdel "$name" 2>/dev/null
! awk -F: -v n="$name" '$1 == n {found = 1} END {exit !found}' /etc/passwd
