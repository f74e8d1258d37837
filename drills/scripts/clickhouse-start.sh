#!/bin/sh
# Start a throwaway clickhouse-server with its data in scratch, on 127.0.0.1 only, its one user's
# password made here (never an argument: the client reads it from CLIENT_XML, mode 0600). The
# server leads its own process group (its id in HOME/group) and dies after LIMIT seconds even if
# the drill is killed. Refused if anything answers on PORT already; exit 3 if it does not start.
#   clickhouse-start.sh TARGET HOME CLIENT_XML PORT OWNER LIMIT CONFIG USERS_TEMPLATE CLIENT_TEMPLATE
set -eu
target=$1 home=$2 client_xml=$3 port=$4 owner=$5 limit=$6 config=$7 users=$8 client=$9
if clickhouse-client --host 127.0.0.1 --port "$port" -q 'SELECT 1' >/dev/null 2>&1; then
  echo "something already answers on 127.0.0.1:$port" >&2
  exit 2
fi
cd /
umask 077
chmod 0711 "$target"
install -d -o "$owner" -m 0700 "$home" "$home/data" "$home/tmp"
printf %s "$config" > "$home/config.xml"
pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# shellcheck disable=SC2059  # the templates are the format: one %s, the password
printf "$users" "$pw" > "$home/users.xml"
# shellcheck disable=SC2059
printf "$client" "$pw" > "$client_xml"
chown "$owner" "$home/config.xml" "$home/users.xml"
setsid timeout -k 5 "$limit" runuser -u "$owner" -- clickhouse-server \
  --config-file="$home/config.xml" </dev/null >/dev/null 2>&1 &
echo $! > "$home/group"
for _ in $(seq 300); do
  clickhouse-client --config-file="$client_xml" --host 127.0.0.1 --port "$port" -q 'SELECT 1' \
    >/dev/null 2>&1 && exit 0
  kill -0 -"$(cat "$home/group")" 2>/dev/null || exit 3  # the server exited
  sleep 0.2
done
exit 3
