#!/bin/sh
# Start a throwaway PostgreSQL cluster in HOME/data, run by the throwaway USER and listening only
# on a socket in HOME/data (0700, the user's), then print the host's psql version. Paths reach
# initdb and pg_ctl relative to HOME (pg_ctl hands its paths to a shell). ADMIN, the cluster's
# superuser, only sets it up: RESTORER, a plain role that can never run a program on the host
# (COPY ... TO PROGRAM needs a superuser), owns DATABASE, and is what the restore and the
# checks connect as. Each of ROLES (one a line: the roles a dump gives objects or rights to)
# is made a plain NOLOGIN role that RESTORER is a member of, so ALTER ... OWNER TO it works.
#   pg-start.sh HOME USER ADMIN RESTORER DATABASE PORT ROLES
set -eu
home=$1 user=$2 admin=$3 restorer=$4 db=$5 port=$6 roles=$7
bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
cd "$home"
runuser -u "$user" -- "$bin/initdb" -D data -U "$admin" --auth=trust -E UTF8 --locale=C.UTF-8 \
  >/dev/null
runuser -u "$user" -- "$bin/pg_ctl" -D data -l server.log -w -t 120 \
  -o "-c listen_addresses='' -k . -p $port -c fsync=off" start >/dev/null
runuser -u "$user" -- "$bin/psql" -X -q -h "$home/data" -p "$port" -U "$admin" -d postgres \
  -v ON_ERROR_STOP=1 -v restorer="$restorer" -v db="$db" -v roles="$roles" <<'SQL' >/dev/null
CREATE ROLE :"restorer" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE DATABASE :"db" OWNER :"restorer";
SELECT format('CREATE ROLE %I NOLOGIN NOSUPERUSER ROLE %I', r, :'restorer')
  FROM unnest(string_to_array(:'roles', E'\n')) AS r
 WHERE r <> '' AND r NOT IN (SELECT rolname FROM pg_roles) \gexec
SQL
"$bin/psql" --version
