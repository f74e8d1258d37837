#!/bin/sh
# Per table of DATABASE: "<db>.<table>\t<rows>\t<sum(cityHash64(columns))>", as the backup's
# manifest computes them (the columns in their table order). The database name is a validated
# identifier; values are matched here, never put into SQL (ClickHouse 18 has no query parameters).
#   clickhouse-checksums.sh CLIENT_XML PORT DATABASE
set -eu
client_xml=$1 port=$2 db=$3
ch() { clickhouse-client --config-file="$client_xml" --host 127.0.0.1 --port "$port" "$@"; }
ch -q 'SELECT database, name FROM system.tables ORDER BY name' | awk -F '\t' -v db="$db" '$1 == db {print $2}' |
while read -r t; do
  cols=$(ch -q 'SELECT database, table, name FROM system.columns' |
         awk -F '\t' -v db="$db" -v t="$t" '$1 == db && $2 == t {print "`" $3 "`"}' | paste -sd, -)
  printf '%s\t' "$db.$t"
  ch -q "SELECT count(), sum(cityHash64($cols)) FROM \`$db\`.\`$t\`" || exit 6
done
