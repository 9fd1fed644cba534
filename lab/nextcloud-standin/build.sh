#!/usr/bin/env bash
# Build the Nextcloud STAND-IN release (Nuagerie tests, not Nextcloud) the way upstream ships
# one: the server archive, WITHOUT the apps upstream does not ship (core/shipped.json), plus one
# archive per such app, as the app store serves them:
#   $NUAGERIE_ARTIFACT_DIR/nextcloud-standin/<version>/nextcloud-standin-<version>.tar.bz2
#   $NUAGERIE_ARTIFACT_DIR/nextcloud-standin/<version>/apps/<app>-<app version>.tar.gz
# The server archive comes with .sha256 (sha256sum format, like download.nextcloud.com) and
# .asc (a detached GPG signature by a throwaway lab key, like upstream's .asc; the public key is
# nextcloud-standin/signing-key.asc). Each app archive (from lab/nextcloud-standin/apps/<app>,
# top-level dir <app>/ like upstream's) gets .sha256 too; its appinfo/info.xml says
# <nextcloud min-version="MAJOR" max-version="MAJOR"/> for the MAJOR built here, so an app
# archive of another major is refused by occ app:enable, like upstream. Every archive is
# deterministic: sorted names, fixed mtime, owner root:root, gzip without name or time stamp.
# Then it records `nextcloud-<version>: {path, sha256, version, signature, signing_key,
# standin, apps: [{name, version, src, sha256}]}` in $NUAGERIE_ARTIFACT_DIR/lab-artifacts.yml,
# and also `nextcloud:` for the lab's pinned release (replacing older entries of the same
# names; other versions stay, for upgrade tests). `apps` has the shape of the role's
# nextcloud_releases[].apps, so inventories pass it through as is.
#
# Usage: lab/nextcloud-standin/build.sh [version]
#   version: MAJOR.MINOR.PATCH, default nuagerie_nextcloud_release of the lab inventory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${NUAGERIE_ARTIFACT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nuagerie/artifacts}

pinned=$(sed -n 's/^nuagerie_nextcloud_release: *"\{0,1\}\([0-9.]*\)"\{0,1\}.*/\1/p' "$root/inventories/lab/group_vars/all/farm.yml")
version=${1:-$pinned}
if [[ ! $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "build.sh: version must be MAJOR.MINOR.PATCH, got '$version'" >&2
  exit 2
fi
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}

out=$dir/nextcloud-standin/$version
name=nextcloud-standin-$version.tar.bz2
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cp -a "$here/nextcloud" "$stage/nextcloud"
mkdir -p "$stage/nextcloud/config"   # empty: config comes from NEXTCLOUD_CONFIG_DIR
sed -i \
  -e "s/^\$OC_Version = .*/\$OC_Version = [$major, $minor, $patch, 0];/" \
  -e "s/^\$OC_VersionString = .*/\$OC_VersionString = '$version-standin';/" \
  "$stage/nextcloud/version.php"
find "$stage/nextcloud" -type d -exec chmod 0755 {} +
find "$stage/nextcloud" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/nextcloud/occ"

deterministic_tar() { # <dir> <top-level name>: a tar stream on stdout
  tar -C "$1" --sort=name --format=gnu --mtime='2000-01-01 00:00:00Z' \
    --owner=0 --group=0 --numeric-owner -cf - "$2"
}
deterministic_tar "$stage" nextcloud | bzip2 -9 >"$stage/$name"
mv "$stage/$name" "$out/$name"
(cd "$out" && sha256sum "$name" >"$name.sha256")
sha=$(cut -d' ' -f1 "$out/$name.sha256")

# One archive per app upstream does not ship, built for this major.
rm -rf "$out/apps"
mkdir -p "$out/apps" "$stage/apps"
app_entries=""
for src in "$here"/apps/*/; do
  app=$(basename "$src")
  app_version=$(sed -n 's:.*<version>\([^<]*\)</version>.*:\1:p' "$src/appinfo/info.xml" | head -n 1)
  cp -a "$src" "$stage/apps/$app"
  sed -i "s/@NEXTCLOUD_MAJOR@/$major/g" "$stage/apps/$app/appinfo/info.xml"
  find "$stage/apps/$app" -type d -exec chmod 0755 {} +
  find "$stage/apps/$app" -type f -exec chmod 0644 {} +
  archive=$app-$app_version.tar.gz
  deterministic_tar "$stage/apps" "$app" | gzip -n -9 >"$out/apps/$archive"
  (cd "$out/apps" && sha256sum "$archive" >"$archive.sha256")
  app_entries+=$(printf '      - name: %s\n        version: "%s"\n        src: %s\n        sha256: %s' \
    "$app" "$app_version" "$out/apps/$archive" "$(cut -d' ' -f1 "$out/apps/$archive.sha256")")$'\n'
done

signature="" signing_key=""
if command -v gpg >/dev/null; then
  # The lab key lives in the artifact dir; gpg runs in a short throwaway home (its agent
  # socket path must stay short) and its agent is stopped afterwards.
  keys_dir=$dir/nextcloud-standin
  GNUPGHOME=$(mktemp -d /tmp/nc-gpg.XXXXXX)
  export GNUPGHOME
  trap 'gpgconf --kill gpg-agent 2>/dev/null || true; rm -rf "$stage" "$GNUPGHOME"' EXIT
  if [[ ! -s $keys_dir/signing-secret.asc ]]; then
    gpg --batch --quiet --passphrase '' --quick-gen-key 'Nuagerie lab stand-in signing <standin@nuagerie.invalid>' ed25519 sign never
    (umask 077 && gpg --batch --armor --export-secret-keys >"$keys_dir/signing-secret.asc")
    gpg --batch --armor --export >"$keys_dir/signing-key.asc"
  else
    gpg --batch --quiet --import "$keys_dir/signing-secret.asc"
  fi
  gpg --batch --yes --quiet --armor --detach-sign --output "$out/$name.asc" "$out/$name"
  signature=$out/$name.asc signing_key=$keys_dir/signing-key.asc
fi

manifest=$dir/lab-artifacts.yml
tmp=$(mktemp "$dir/.lab-artifacts.XXXXXX")
keys=("nextcloud-$version")
[[ $version == "$pinned" ]] && keys+=(nextcloud)
if [[ -s $manifest ]]; then
  # Drop older entries of these names (the key line and its indented fields).
  awk -v drop=" ${keys[*]} " '/^  [^ ]/ { k = $1; sub(/:$/, "", k); skip = index(drop, " " k " ") > 0 } !skip' "$manifest" >"$tmp"
else
  printf '%s\n' "# Written by lab/artifacts.sh: the lab's artifacts (controller-side path + sha256)." \
    "nuagerie_lab_artifacts:" >"$tmp"
fi
for key in "${keys[@]}"; do
  printf '  %s:\n    path: %s\n    sha256: %s\n    version: "%s"\n' "$key" "$out/$name" "$sha" "$version"
  [[ -n $signature ]] && printf '    signature: %s\n    signing_key: %s\n' "$signature" "$signing_key"
  printf '    standin: true\n    apps:\n%s' "$app_entries"
done >>"$tmp"
mv "$tmp" "$manifest"
echo "artifacts: nextcloud stand-in $version sha256 $sha, $(find "$out/apps" -name '*.tar.gz' | wc -l) app archives"
