#!/bin/sh
# Start a throwaway clickhouse-server run by the throwaway USER, its data in HOME (the user's,
# 0700), on 127.0.0.1 only, its one user's password made here (never an argument: the client
# reads it from CLIENT_XML, the user's, mode 0600). The server leads its own process group (its
# id in TARGET/clickhouse.group, where the user cannot write) and dies after LIMIT seconds even
# if the drill is killed. Its port is the first of PORT..PORT+19 where nothing listens (a
# server another run left must not stop this one), put for @PORT@ in CONFIG and printed on
# success; exit 2 if every port answers, 3 if the server does not start.
#   clickhouse-start.sh TARGET HOME CLIENT_XML PORT USER LIMIT CONFIG USERS_TEMPLATE CLIENT_TEMPLATE
set -eu
target=$1 home=$2 client_xml=$3 first=$4 user=$5 limit=$6 config=$7 users=$8 client=$9
port=
for p in $(seq "$first" $((first + 19))); do
  if clickhouse-client --host 127.0.0.1 --port "$p" -q 'SELECT 1' 2>&1 | grep -q 'Connection refused'; then
    port=$p
    break
  fi
done
if [ -z "$port" ]; then
  echo "something already answers on every port of 127.0.0.1:$first-$((first + 19))" >&2
  exit 2
fi
cd /
umask 077
# the throwaway user passes through TARGET to HOME: first strip the setuid and setgid bits and
# remove the device nodes a restore as root brought back (a run folder is opened only here;
# ClickHouse is not drilled on sudo: exact hosts, where the drilling user could restore again)
find -P "$target" -xdev \( -type f -perm /6000 -exec chmod ug-s -- {} + \) -o \
  \( \( -type b -o -type c \) -exec rm -f -- {} + \)
chmod 0711 "$target"
install -d -o "$user" -g "$user" -m 0700 "$home" "$home/data" "$home/tmp" "$home/user_files" \
  "$home/format_schemas" "$home/access"
printf %s "$config" | sed "s/@PORT@/$port/g" > "$home/config.xml"
pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# shellcheck disable=SC2059  # the templates are the format: one %s, the password
printf "$users" "$pw" > "$home/users.xml"
# shellcheck disable=SC2059
printf "$client" "$pw" > "$client_xml"
chown "$user:$user" "$home/config.xml" "$home/users.xml" "$client_xml"
setsid timeout -k 5 "$limit" runuser -u "$user" -- clickhouse-server \
  --config-file="$home/config.xml" </dev/null >/dev/null 2>&1 &
echo $! > "$target/clickhouse.group"
for _ in $(seq 300); do
  clickhouse-client --config-file="$client_xml" --host 127.0.0.1 --port "$port" -q 'SELECT 1' \
    >/dev/null 2>&1 && echo "$port" && exit 0
  kill -0 -"$(cat "$target/clickhouse.group")" 2>/dev/null || exit 3  # the server exited
  sleep 0.2
done
exit 3
