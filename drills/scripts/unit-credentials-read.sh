#!/bin/sh
# The credentials a systemd service unit loads, as systemd itself parsed them (its D-Bus
# properties): four JSON lines from busctl, LoadState, LoadCredential, LoadCredentialEncrypted
# and SetCredentialEncrypted. SetCredential= (a plain value) is never read.
#   unit-credentials-read.sh UNIT
set -eu
path=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
  org.freedesktop.systemd1.Manager LoadUnit s "$1" | sed -n 's/^o "\([A-Za-z0-9_/]*\)"$/\1/p')
[ -n "$path" ] || { echo "systemd does not know the unit $1" >&2; exit 2; }
busctl --json=short get-property org.freedesktop.systemd1 "$path" org.freedesktop.systemd1.Unit LoadState
for property in LoadCredential LoadCredentialEncrypted SetCredentialEncrypted; do
  busctl --json=short get-property org.freedesktop.systemd1 "$path" org.freedesktop.systemd1.Service "$property"
done
