#!/bin/sh
# Load HOME/dump.rdb (handed to the throwaway USER, in its HOME) into a redis-server run by that
# user on a unix socket in HOME, then print its key count and DEBUG DIGEST. The wait watches
# the server: it writes its pid file before it loads, so a server that exits while loading ends
# the wait at once (10 s without a pid file), and a load error in its log ends it too.
#   redis-load.sh HOME USER LOAD_FAILED_PHRASE
set -eu
home=$1 user=$2 failed=$3
cli() { runuser -u "$user" -- redis-cli -s "$home/redis.sock" "$@"; }
cd "$home"
runuser -u "$user" -- redis-server --port 0 --unixsocket "$home/redis.sock" --unixsocketperm 700 \
  --dir "$home" --dbfilename dump.rdb --save '' --appendonly no --enable-debug-command local \
  --daemonize yes --pidfile "$home/redis.pid" --logfile "$home/server.log"
n=0
until [ "$(cli ping 2>/dev/null)" = PONG ]; do
  sleep 0.1
  n=$((n + 1))
  pid=$(cat "$home/redis.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill -0 "$pid" 2>/dev/null || exit 3
  elif [ "$n" -gt 100 ]; then
    exit 3
  fi
  if grep -qs "$failed" "$home/server.log"; then exit 3; fi
done
cli dbsize
cli debug digest
