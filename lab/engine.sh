#!/usr/bin/env bash
# Make sure a Docker engine answers: use the one that runs, else install Debian's
# docker.io and start dockerd (under systemd when it is PID 1, else in the background).
set -euo pipefail

# Every lab container runs systemd, which takes several inotify instances; the kernel's default
# of 128 per user (all containers run as root) stops the 3rd scenario's containers at boot
# (they exit 255 without a log). Raised, never lowered; a host that refuses keeps its value.
raise_sysctl() { # <key> <minimum>
  local now
  now=$(sysctl -n "$1" 2>/dev/null || echo 0)
  if ((now < $2)); then
    sysctl -qw "$1=$2" 2>/dev/null || echo "lab engine: could not raise $1 to $2 (now $now)" >&2
  fi
}
raise_sysctl fs.inotify.max_user_instances 1024
raise_sysctl fs.inotify.max_user_watches 524288

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
