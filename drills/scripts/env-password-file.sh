#!/bin/sh
# The password file an env file names for restic (RESTIC_PASSWORD_FILE), as the tool would read
# it after sourcing the file; only that path is printed, never a value of the file.
# $1: the env file.
set -a
# shellcheck disable=SC1090
. "$1" >/dev/null 2>&1 </dev/null
printf '%s' "${RESTIC_PASSWORD_FILE-}"
