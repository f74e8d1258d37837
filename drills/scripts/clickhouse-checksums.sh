#!/bin/sh
# Run by the throwaway user: per table of DATABASE, "<db>.<table>\t<rows>\t<sum(cityHash64(columns))>",
# as the backup's manifest computes them (the columns in their table order). Names come from
# the scratch server, which took them from the backup: a table or column name outside
# ClickHouse's identifier grammar is refused (exit 7), never put into SQL; values are matched
# here, not in SQL (ClickHouse 18 has no query parameters).
#   clickhouse-checksums.sh CLIENT_XML PORT DATABASE
set -eu
client_xml=$1 port=$2 db=$3
ch() { clickhouse-client --config-file="$client_xml" --host 127.0.0.1 --port "$port" "$@"; }
ch -q 'SELECT database, name FROM system.tables ORDER BY name' | awk -F '\t' -v db="$db" '$1 == db {print $2}' |
while read -r t; do
  printf %s "$t" | grep -Eqx '[A-Za-z_][A-Za-z0-9_]*' || { echo "refusing the table name $t" >&2; exit 7; }
  cols=$(ch -q 'SELECT database, table, name FROM system.columns' |
         awk -F '\t' -v db="$db" -v t="$t" '$1 == db && $2 == t {print $3}')
  if printf '%s\n' "$cols" | grep -Evqx '[A-Za-z_][A-Za-z0-9_.]*'; then
    echo "refusing a column name of $t outside the identifier grammar" >&2
    exit 7
  fi
  list=$(printf '%s\n' "$cols" | awk '{print "`" $0 "`"}' | paste -sd, -)
  printf '%s\t' "$db.$t"
  ch -q "SELECT count(), sum(cityHash64($list)) FROM \`$db\`.\`$t\`" || exit 6
done
