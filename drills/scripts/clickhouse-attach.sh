#!/bin/sh
# Run by the throwaway user: create DATABASE and each table from the backup's metadata (already
# checked by the drill: one ATTACH/CREATE TABLE each), copy its frozen parts into the table's
# detached/ and attach them one by one. Names reach SQL only if they match ClickHouse's grammar
# (tables: identifiers; parts: partition_min_max_level[_mutation]), quoted (exit 4: a table not
# created, 5: a part refused, 7: a name outside the grammar).
#   clickhouse-attach.sh CLIENT_XML PORT BACKUP HOME DATABASE
set -eu
client_xml=$1 port=$2 backup=$3 home=$4 db=$5
ch() { clickhouse-client --config-file="$client_xml" --host 127.0.0.1 --port "$port" "$@"; }
named() { printf %s "$2" | grep -Eqx "$1" || { echo "refusing the name $2" >&2; exit 7; }; }
named '[A-Za-z0-9_][A-Za-z0-9_-]*' "$db"
ch -q "CREATE DATABASE \`$db\`"
for sql in "$backup/metadata/$db"/*.sql; do
  [ -e "$sql" ] || continue
  t=$(basename "$sql" .sql)
  named '[A-Za-z_][A-Za-z0-9_]*' "$t"
  ch < "$sql" || exit 4
  parts="$backup/shadow/$db/$t"
  [ -d "$parts" ] || continue
  for part in "$parts"/*; do
    named '[A-Za-z0-9-]+(_[0-9]+){3,4}' "$(basename "$part")"
  done
  detached="$home/data/data/$db/$t/detached"
  cp -R -P -- "$parts"/. "$detached"/ || exit 5
  for part in "$parts"/*; do
    ch -q "ALTER TABLE \`$db\`.\`$t\` ATTACH PART '$(basename "$part")'" || exit 5
  done
done
