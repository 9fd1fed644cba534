#!/usr/bin/env bash
# Build the lab's base image (Debian 12 with systemd as PID 1) from debootstrap and
# import it into the Docker engine. No registry is reachable, so nothing is pulled.
# The tag carries a hash of this recipe: the image is rebuilt only when the recipe
# changes, and `nuagerie-base:bookworm` always points at the current build.
#
# Usage: lab/base-image.sh [--print-tag]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
mirror=${NUAGERIE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-apt,systemd,systemd-sysv,dbus,sudo,ca-certificates,iproute2,iputils-ping,gnupg,procps,less,curl
recipe_hash=$( { cat "$0"; echo "$suite $packages"; } | sha256sum | cut -c1-12)
repo=nuagerie-base
tag="$repo:$suite-$recipe_hash"

if [[ ${1:-} == --print-tag ]]; then echo "$tag"; exit 0; fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag is current"
  docker tag "$tag" "$repo:$suite"
  exit 0
fi

command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

work=$(mktemp -d /var/tmp/nuagerie-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
echo "building $tag with debootstrap (a few minutes)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log"; exit 1; }

# Full bookworm sources, so roles get current security updates.
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SOURCES
# (docker import takes no STOPSIGNAL: the lab sets --stop-signal SIGRTMIN+3 per container.)
# Keep the image small and boot quiet: no recommends, no getty, no udev-triggered units.
echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/90nuagerie-no-recommends"
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-remount-fs.service systemd-firstboot.service sys-kernel-debug.mount \
            sys-kernel-tracing.mount dev-hugepages.mount; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
: >"$rootfs/etc/machine-id"   # generated at first boot, unique per container
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
# An empty index must look stale, or apt modules with cache_valid_time never refresh it.
touch -d @0 "$rootfs"/var/lib/apt/lists

tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV container=docker' \
  --change 'CMD ["/lib/systemd/systemd"]' \
  - "$tag" >/dev/null
docker tag "$tag" "$repo:$suite"
echo "built $tag"
