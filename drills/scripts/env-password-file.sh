#!/bin/sh
# The password file an env file names for restic (RESTIC_PASSWORD_FILE), as the tool would read
# it after sourcing the file, with its mode and owner: on a sudo: exact host the drilling user
# may not stat a file of root's itself. Prints nothing when the file names none; else one line,
# "MODE OWNER" (stat -c '%a %U', the link itself if it is one) or "missing: " and stat's reason,
# then the path, as is (a name may end in a newline). Never a value of either file.
#   env-password-file.sh ENV_FILE
[ -e "$1" ] || exit 0  # a missing env file is the verdict's to name, by its own stat
set -a
# shellcheck disable=SC1090
. "$1" >/dev/null 2>&1 </dev/null
path=${RESTIC_PASSWORD_FILE-}
[ -n "$path" ] || exit 0
cd /
found=$(LC_ALL=C stat -c '%a %U' -- "$path" 2>&1) || found="missing: $(printf '%s' "$found" | tail -n 1)"
printf '%s\n%s' "$found" "$path"
