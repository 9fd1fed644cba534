#!/usr/bin/env bash
# Build the pinned Go artifacts of lab/artifacts.tsv (all, or the names given), cached by
# version outside the repository, and record each binary's sha256 beside it. Writes
# $NUAGERIE_ARTIFACT_DIR/lab-artifacts.yml, which the lab and molecule read to hand the
# roles an artifact exactly as production does: a controller-side path plus its sha256.
#
# Usage: lab/artifacts.sh [name ...]   (names of lab/artifacts.tsv, or nextcloud: the stand-in)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${NUAGERIE_ARTIFACT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nuagerie/artifacts}
mkdir -p "$dir"

want=("$@")
selected() { ((${#want[@]} == 0)) && return 0; local n; for n in "${want[@]}"; do [[ $n == "$1" ]] && return 0; done; return 1; }

while IFS=$'\t' read -r name pkg version deps; do
  [[ -z $name || $name == \#* ]] && continue
  selected "$name" || continue
  out=$dir/$name/$version
  if [[ ! -x $out/$name || ! -s $out/$name.sha256 ]]; then
    if [[ $deps != - ]]; then
      missing=()
      for d in ${deps//,/ }; do dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'ok installed' || missing+=("$d"); done
      if ((${#missing[@]})); then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      fi
    fi
    echo "artifacts: building $name $version (go install $pkg@$version)"
    start=$SECONDS
    mkdir -p "$out.tmp"
    if ! GOBIN=$out.tmp GOFLAGS=-trimpath go install "$pkg@$version" 2>"$out.tmp/go.log"; then
      cat "$out.tmp/go.log" >&2
      # `go install m@v` also asks the proxy for the module's version list (deprecation
      # notices); where the proxy refuses that list, build the same pinned version from a
      # throwaway module instead.
      echo "artifacts: go install refused; building $pkg@$version from a throwaway module"
      tmpmod=$(mktemp -d)
      (cd "$tmpmod" && go mod init nuagerie.invalid/build >/dev/null 2>&1 &&
        go get "$pkg@$version" && GOFLAGS=-trimpath go build -o "$out.tmp/$name" "$pkg")
      rm -rf "$tmpmod"
    fi
    rm -f "$out.tmp/go.log"
    rm -rf "$out" && mv "$out.tmp" "$out"
    (cd "$out" && sha256sum "$name" | cut -d' ' -f1 >"$name.sha256")
    echo "artifacts: built $name in $((SECONDS - start)) s"
  fi
  echo "artifacts: $name $version sha256 $(cat "$out/$name.sha256")"
done <"$here/artifacts.tsv"

# The manifest lists every artifact present in the cache at its pinned version.
{
  echo "# Written by lab/artifacts.sh: the lab's artifacts (controller-side path + sha256)."
  echo "nuagerie_lab_artifacts:"
  while IFS=$'\t' read -r name pkg version deps; do
    [[ -z $name || $name == \#* ]] && continue
    bin=$dir/$name/$version/$name
    [[ -x $bin ]] || continue
    printf '  %s:\n    path: %s\n    sha256: %s\n    version: "%s"\n' "$name" "$bin" "$(cat "$bin.sha256")" "$version"
  done <"$here/artifacts.tsv"
} >"$dir/lab-artifacts.yml"

# The Nextcloud stand-in release (tests only; the real archive cannot be downloaded here):
# built from lab/nextcloud-standin/, it adds its own entries to the manifest.
# The lab's release, then the two majors before it for the upgrade tests (31 -> 32 -> 33).
if selected nextcloud; then
  NUAGERIE_ARTIFACT_DIR=$dir "$here/nextcloud-standin/build.sh"
  for version in ${NUAGERIE_STANDIN_UPGRADE_FROM:-31.0.12 32.0.6}; do
    NUAGERIE_ARTIFACT_DIR=$dir "$here/nextcloud-standin/build.sh" "$version"
  done
fi
