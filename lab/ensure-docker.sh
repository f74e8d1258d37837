#!/usr/bin/env bash
# Make sure a Docker engine answers. When none does and we are root on Debian, start the
# `dockerd` from Debian's docker.io package in the background and wait for it (60 s at most).
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "no Docker engine answers and this user cannot start one: ask for access to the" \
       "docker group, or run as root" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "dockerd is not installed (Debian package docker.io); run 'make setup' as root" >&2
  exit 1
fi
if pgrep -x dockerd >/dev/null; then
  echo "[setup] dockerd is running but does not answer yet; waiting"
else
  echo "[setup] starting dockerd (log: /var/log/backup-drills-dockerd.log)"
  setsid nohup dockerd >>/var/log/backup-drills-dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd did not answer within 60 s; see /var/log/backup-drills-dockerd.log" >&2
exit 1
