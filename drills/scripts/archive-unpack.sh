#!/bin/sh
# Unpack one tarball backup archive into OUT (made here), decrypting it first with gpg when
# ENCRYPTED is "yes" (with GNUPGHOME's keys when one is given). The archive's members are
# unpacked as the drilling user's own files (--no-same-owner): a backup's content is not trusted.
#   archive-unpack.sh ARCHIVE OUT ENCRYPTED [GNUPGHOME]
set -eu
archive=$1 out=$2 encrypted=$3 home=${4:-}
mkdir -p -- "$out"
if [ "$encrypted" = yes ]; then
  if [ -n "$home" ]; then
    gpg --homedir "$home" --batch --quiet --decrypt --output "$out.tar.gz" -- "$archive"
  else
    gpg --batch --quiet --decrypt --output "$out.tar.gz" -- "$archive"
  fi
  tar --no-same-owner -xzf "$out.tar.gz" -C "$out"
  rm -f -- "$out.tar.gz"
else
  tar --no-same-owner -xzf "$archive" -C "$out"
fi
