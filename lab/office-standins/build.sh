#!/usr/bin/env bash
# Build the office STAND-IN packages (Nuagerie tests, NOT Collabora nor OnlyOffice) and a signed
# flat apt repository serving them, as the vendors' repositories serve the real ones:
#   coolwsd, code-brand               version 24.04.13.2-1+standin  (coolwsd_standin.py)
#   onlyoffice-documentserver         version 9.0.4-1+standin       (documentserver_standin.py)
# Output (argument 1): repo/ (the .debs, Packages, Release, InRelease signed by a throwaway key),
# keyring.gpg (binary) and keyring.asc (armored) of that key, and manifest.yml:
#   {repository, version_collabora, version_onlyoffice, keyring_gpg: {src, sha256}, keyring_asc: {...}}
# Only tests use it (molecule/platform/office-standin-repo.yml); staging and production name the
# vendors' repositories. Idempotent: when the inputs (this directory) did not change since the
# last build, nothing is rewritten and it prints "unchanged" (a signature is not reproducible).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh <output dir>}
mkdir -p "$out"
out=$(cd "$out" && pwd)
collabora_version=24.04.13.2-1+standin
onlyoffice_version=9.0.4-1+standin

inputs=$(cd "$here" && sha256sum build.sh standin_common.py coolwsd_standin.py documentserver_standin.py | sha256sum | cut -d' ' -f1)
if [[ -f $out/manifest.yml && "$(cat "$out/inputs.sha256" 2>/dev/null)" == "$inputs" ]]; then
  echo unchanged
  exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
export SOURCE_DATE_EPOCH=946684800
rm -rf "$out/repo"
mkdir -p "$out/repo"

package() { # <dir>: build <dir> into the repository
  find "$1" -exec touch -h -d @"$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zgzip --build "$1" "$out/repo/" >/dev/null
}

# ---------------------------------------------------------------- coolwsd
p=$stage/coolwsd
install -d "$p/DEBIAN" "$p/usr/lib/coolwsd-standin" "$p/usr/bin" "$p/lib/systemd/system" "$p/etc/coolwsd"
install -m 0644 "$here/standin_common.py" "$here/coolwsd_standin.py" "$p/usr/lib/coolwsd-standin/"
printf '#!/bin/sh\nexec /usr/bin/python3 /usr/lib/coolwsd-standin/coolwsd_standin.py "$@"\n' >"$p/usr/bin/coolwsd"
chmod 0755 "$p/usr/bin/coolwsd"
cat >"$p/etc/coolwsd/coolwsd.xml" <<'EOF'
<config><!-- stand-in default: no WOPI host allowed until the farm renders this file -->
<storage><wopi allow="true"><alias_groups mode="groups"></alias_groups></wopi></storage>
<ssl><enable>false</enable></ssl></config>
EOF
cat >"$p/lib/systemd/system/coolwsd.service" <<'EOF'
[Unit]
Description=Collabora Online STAND-IN (Nuagerie tests, not coolwsd)
After=network.target

[Service]
User=cool
Group=cool
ExecStart=/usr/bin/coolwsd
Restart=always
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
EOF
cat >"$p/DEBIAN/control" <<EOF
Package: coolwsd
Version: $collabora_version
Architecture: all
Maintainer: Nuagerie tests <tests@nuagerie.invalid>
Depends: python3, adduser
Description: STAND-IN for Collabora Online (Nuagerie tests only)
 Reads /etc/coolwsd/coolwsd.xml and enforces its WOPI alias groups; not Collabora Online.
EOF
echo /etc/coolwsd/coolwsd.xml >"$p/DEBIAN/conffiles"
cat >"$p/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent group cool >/dev/null || addgroup --system cool >/dev/null
  getent passwd cool >/dev/null || adduser --system --ingroup cool --home /opt/cool --no-create-home cool >/dev/null
  chgrp cool /etc/coolwsd/coolwsd.xml
  systemctl daemon-reload >/dev/null 2>&1 || true
  systemctl enable coolwsd >/dev/null 2>&1 || true
fi
EOF
chmod 0755 "$p/DEBIAN/postinst"
package "$p"

p=$stage/code-brand
install -d "$p/DEBIAN" "$p/usr/share/doc/code-brand"
echo "STAND-IN branding package (empty)." >"$p/usr/share/doc/code-brand/README"
cat >"$p/DEBIAN/control" <<EOF
Package: code-brand
Version: $collabora_version
Architecture: all
Maintainer: Nuagerie tests <tests@nuagerie.invalid>
Depends: coolwsd
Description: STAND-IN for the CODE branding (Nuagerie tests only, empty)
 Empty.
EOF
package "$p"

# ---------------------------------------------------------------- onlyoffice-documentserver
p=$stage/onlyoffice
install -d "$p/DEBIAN" "$p/usr/lib/onlyoffice-standin" "$p/lib/systemd/system" "$p/etc/onlyoffice/documentserver"
install -m 0644 "$here/standin_common.py" "$here/documentserver_standin.py" "$p/usr/lib/onlyoffice-standin/"
# Upstream's defaults for the keys the stand-in reads (ONLYOFFICE/server Common/config/default.json).
cat >"$p/etc/onlyoffice/documentserver/default.json" <<'EOF'
{
  "runtimeConfig": {"filePath": ""},
  "rabbitmq": {"url": "amqp://localhost:5672"},
  "externalRequest": {"directIfIn": {"allowList": [], "jwtToken": true},
                      "action": {"allow": true, "blockPrivateIP": true}},
  "services": {"CoAuthoring": {
    "sql": {"type": "postgres", "dbHost": "localhost", "dbPort": 5432, "dbName": "onlyoffice", "dbUser": "onlyoffice", "dbPass": "onlyoffice"},
    "request-filtering-agent": {"allowPrivateIPAddress": false, "allowMetaIPAddress": false},
    "secret": {"browser": {"string": "secret"}, "inbox": {"string": "secret"}, "outbox": {"string": "secret"}, "session": {"string": "secret"}},
    "token": {"enable": {"browser": false, "request": {"inbox": false, "outbox": false}},
              "inbox": {"header": "Authorization", "prefix": "Bearer ", "inBody": false},
              "outbox": {"header": "Authorization", "prefix": "Bearer ", "algorithm": "HS256", "expires": "5m", "inBody": false}}
  }}
}
EOF
for unit in ds-docservice ds-converter; do
  if [[ $unit == ds-docservice ]]; then cmd="/usr/bin/python3 /usr/lib/onlyoffice-standin/documentserver_standin.py"
  else cmd="/bin/sh -c 'exec sleep infinity'"; fi
  cat >"$p/lib/systemd/system/$unit.service" <<EOF
[Unit]
Description=ONLYOFFICE Docs STAND-IN $unit (Nuagerie tests, not the Document Server)
After=network.target

[Service]
User=ds
Group=ds
RuntimeDirectory=$unit
ExecStart=$cmd
Restart=always
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
EOF
done
cat >"$p/DEBIAN/control" <<EOF
Package: onlyoffice-documentserver
Version: $onlyoffice_version
Architecture: all
Maintainer: Nuagerie tests <tests@nuagerie.invalid>
Depends: python3, python3-psycopg2, python3-pika, debconf, adduser
Description: STAND-IN for ONLYOFFICE Docs (Nuagerie tests only)
 Reads local.json and its runtime configuration, checks JWTs, filters private addresses;
 not the Document Server.
EOF
cat >"$p/DEBIAN/templates" <<'EOF'
Template: onlyoffice/ds-port
Type: string
Default: 80
Description: Port of the document server's own site

Template: onlyoffice/db-type
Type: select
Choices: postgres, mariadb, mysql
Default: postgres
Description: Database type

Template: onlyoffice/db-host
Type: string
Default: localhost
Description: Database host

Template: onlyoffice/db-port
Type: string
Default: 5432
Description: Database port

Template: onlyoffice/db-name
Type: string
Default: onlyoffice
Description: Database name

Template: onlyoffice/db-user
Type: string
Default: onlyoffice
Description: Database user

Template: onlyoffice/db-pwd
Type: password
Description: Database password

Template: onlyoffice/rabbitmq-host
Type: string
Default: localhost
Description: RabbitMQ host

Template: onlyoffice/rabbitmq-user
Type: string
Default: guest
Description: RabbitMQ user

Template: onlyoffice/rabbitmq-pwd
Type: password
Description: RabbitMQ password

Template: onlyoffice/jwt-enabled
Type: boolean
Default: true
Description: Enable JWT

Template: onlyoffice/jwt-secret
Type: password
Description: JWT secret

Template: onlyoffice/jwt-header
Type: string
Default: Authorization
Description: JWT header
EOF
# Like upstream's postinst (deb/template/postinst.m4): the debconf answers go into local.json
# only where it has no value yet; the farm's role renders local.json whole afterwards.
cat >"$p/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
. /usr/share/debconf/confmodule
if [ "$1" = configure ]; then
  getent group ds >/dev/null || addgroup --system ds >/dev/null   # stdout is debconf's channel
  getent passwd ds >/dev/null || adduser --system --ingroup ds --home /var/www/onlyoffice --no-create-home ds >/dev/null
  install -d -o ds -g ds /var/lib/onlyoffice/documentserver/App_Data/cache/files/data
  for q in ds-port db-host db-port db-name db-user db-pwd rabbitmq-host rabbitmq-user rabbitmq-pwd jwt-enabled jwt-secret jwt-header; do
    db_get onlyoffice/$q || RET=""
    export "ANSWER_$(echo $q | tr a-z- A-Z_)=$RET"
  done
  python3 - <<'PY'
import json, os
conf = "/etc/onlyoffice/documentserver"
json.dump({"port": int(os.environ.get("ANSWER_DS_PORT") or 80)}, open(f"{conf}/standin-ds-port.json", "w"))
path = f"{conf}/local.json"
local = json.load(open(path)) if os.path.exists(path) else {}
co = local.setdefault("services", {}).setdefault("CoAuthoring", {})
sql = co.setdefault("sql", {})
for key, env in (("dbHost", "DB_HOST"), ("dbName", "DB_NAME"), ("dbUser", "DB_USER"), ("dbPass", "DB_PWD")):
    sql.setdefault(key, os.environ.get(f"ANSWER_{env}", ""))
if os.environ.get("ANSWER_JWT_ENABLED") == "true":
    co.setdefault("token", {}).setdefault("enable", {"browser": True, "request": {"inbox": True, "outbox": True}})
    for box in ("browser", "inbox", "outbox", "session"):
        co.setdefault("secret", {}).setdefault(box, {"string": os.environ.get("ANSWER_JWT_SECRET", "")})
if not os.path.exists(path):
    with open(path, "w") as handle:
        json.dump(local, handle, indent=2)
    os.chmod(path, 0o640)
PY
  chgrp ds /etc/onlyoffice/documentserver/local.json
  systemctl daemon-reload >/dev/null 2>&1 || true
  systemctl enable ds-docservice ds-converter >/dev/null 2>&1 || true
fi
EOF
chmod 0755 "$p/DEBIAN/postinst"
package "$p"

# ---------------------------------------------------------------- signed flat repository
export GNUPGHOME=$stage/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "Nuagerie office stand-in repository (tests only)" ed25519 sign never
gpg --batch --export >"$out/keyring.gpg"
gpg --batch --armor --export >"$out/keyring.asc"
(
  cd "$out/repo"
  dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages
  gzip -9nk Packages
  {
    echo "Origin: Nuagerie stand-in"
    echo "Label: Nuagerie office stand-in (tests only)"
    echo "Date: $(LC_ALL=C date -u -d @"$SOURCE_DATE_EPOCH" '+%a, %d %b %Y %H:%M:%S UTC')"
    echo "SHA256:"
    for f in Packages Packages.gz; do
      printf ' %s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
    done
  } >Release
  gpg --batch --yes --clearsign -o InRelease Release
)
cat >"$out/manifest.yml" <<EOF
# Written by lab/office-standins/build.sh: the office stand-in repository (tests only).
repository: $out/repo
version_collabora: "$collabora_version"
version_onlyoffice: "$onlyoffice_version"
keyring_gpg: {src: $out/keyring.gpg, sha256: $(sha256sum "$out/keyring.gpg" | cut -d' ' -f1)}
keyring_asc: {src: $out/keyring.asc, sha256: $(sha256sum "$out/keyring.asc" | cut -d' ' -f1)}
EOF
echo "$inputs" >"$out/inputs.sha256"
echo built
