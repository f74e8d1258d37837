#!/bin/sh
# Run a command with the credentials of a systemd service unit, as the unit's own processes see
# them: each one decrypted by systemd-creds (with the host's key or TPM) or copied into a private
# folder in /run (a tmpfs, as systemd's own /run/credentials), named by $CREDENTIALS_DIRECTORY;
# the folder is removed when the command ends.
#   unit-credentials.sh UNIT [KIND NAME SOURCE]... -- COMMAND...
# KIND: load (LoadCredential=), load-encrypted (LoadCredentialEncrypted=), set-encrypted
# (SetCredentialEncrypted=: SOURCE is the encrypted blob, base64). A SOURCE that is not an
# absolute path is looked up in systemd's credstore folders.
set -u
unit=$1
shift
umask 077
# named by this helper's PID and start, so the next drill's sweep finds one a killed drill left
dir=$(mktemp -d "/run/backup-drill-credentials.$$-$(date +%s).XXXXXX") || exit 96
trap 'rm -rf -- "$dir"' EXIT
trap 'exit 143' HUP INT TERM
refuse() {
  echo "backup-drills: unit $unit: cannot load its credential $name: $1" >&2
  exit 96
}
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  kind=$1 name=$2 source=$3
  shift 3
  case $kind in
    load) stores="/etc/credstore /run/credstore /usr/local/lib/credstore /usr/lib/credstore" ;;
    *) stores="/etc/credstore.encrypted /run/credstore.encrypted /usr/local/lib/credstore.encrypted /usr/lib/credstore.encrypted" ;;
  esac
  if [ "$kind" != set-encrypted ]; then
    case $source in
      /*) ;;
      *) found=""
         for store in $stores; do
           if [ -f "$store/$source" ]; then found=$store/$source; break; fi
         done
         [ -n "$found" ] || refuse "no $source in $stores"
         source=$found ;;
    esac
    [ -f "$source" ] || refuse "$source is not a file"
  fi
  # systemd-creds' warnings (a host key not on encrypted media) are said only when it fails
  case $kind in
    load) said=$(cp -- "$source" "$dir/$name" 2>&1) ;;
    load-encrypted) said=$(systemd-creds decrypt --name="$name" -- "$source" "$dir/$name" 2>&1) ;;
    set-encrypted) said=$(printf '%s' "$source" | base64 -d |
                          systemd-creds decrypt --name="$name" - "$dir/$name" 2>&1) ;;
    *) said="unknown kind $kind"; false ;;
  esac || refuse "$(printf '%s' "$said" | tail -n 1)"
done
shift
CREDENTIALS_DIRECTORY=$dir
export CREDENTIALS_DIRECTORY
"$@"
