#!/bin/sh
# Create DATABASE and each table from the backup's metadata, copy its frozen parts into the
# table's detached/ and attach them one by one (exit 4: a table not created, 5: a part refused).
#   clickhouse-attach.sh CLIENT_XML PORT BACKUP HOME DATABASE OWNER
set -eu
client_xml=$1 port=$2 backup=$3 home=$4 db=$5 owner=$6
ch() { clickhouse-client --config-file="$client_xml" --host 127.0.0.1 --port "$port" "$@"; }
ch -q "CREATE DATABASE \`$db\`"
for sql in "$backup/metadata/$db"/*.sql; do
  [ -e "$sql" ] || continue
  t=$(basename "$sql" .sql)
  ch < "$sql" || exit 4
  parts="$backup/shadow/$db/$t"
  [ -d "$parts" ] || continue
  detached="$home/data/data/$db/$t/detached"
  { cp -a "$parts"/. "$detached"/ && chown -R "$owner": "$detached"; } || exit 5
  for part in "$parts"/*; do
    ch -q "ALTER TABLE \`$db\`.\`$t\` ATTACH PART '$(basename "$part")'" || exit 5
  done
done
