#!/usr/bin/env bash
# Make sure a Docker engine answers: use the one that runs, else install Debian's
# docker.io and start dockerd (under systemd when it is PID 1, else in the background).
set -euo pipefail

if docker info >/dev/null 2>&1; then echo "docker engine: running"; exit 0; fi

if ! command -v dockerd >/dev/null; then
  echo "docker engine: installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if [[ $(ps -p 1 -o comm=) == systemd ]]; then
  systemctl start docker
else
  log=${NUAGERIE_DOCKERD_LOG:-/var/log/nuagerie-dockerd.log}
  echo "docker engine: starting dockerd (log: $log)"
  nohup setsid dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "docker engine: running"; exit 0; fi
  sleep 1
done
echo "docker engine: dockerd did not answer within 60 s; see ${log:-journalctl -u docker}" >&2
exit 1
