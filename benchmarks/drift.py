#!/usr/bin/env python3
"""Benchmark of drift detection (issue 17). A script, not a test: it prints figures.

Without a lab: the occ host's side of `nuagerie drift` on N generated spaces - the module's
mode drift (plugins/modules/nuagerie_nextcloud_spaces.py, run_drift) with a FAKE occ that prints
a converged space's `config:list --private --output=json` (so it measures our code and the
process fan-out, not Nextcloud's PHP start), plus building the desired states
(nuagerie_nextcloud_drift_spaces) and the report lines (nuagerie_nextcloud_drift_lines). It
counts the occ calls: the goal is one per active space, never one per key.

With --occ-host <container> --slug <slug>: also times K real `nuagerie-occ <slug> config:list
--private --output=json` calls of the stand-in inside that lab container (one after the other),
and extrapolates the wall time of N spaces at the module's parallelism.

Run from the repository root:
  .venv/bin/python benchmarks/drift.py [--sizes 100,1000] [--parallelism 4]
      [--occ-host h17-web1 --slug alpha --calls 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "plugins"), os.path.join(ROOT, "filter_plugins")]

import nuagerie_names  # noqa: E402
import nuagerie_nextcloud_occ as occf  # noqa: E402
from modules import nuagerie_nextcloud_spaces as m  # noqa: E402

KEY = "bench-master-key-0123456789abcdef0123456789"
SETTINGS = {
    "farm_name": "nuagerie-occ", "spaces_root": "/srv/nextcloud/spaces", "releases_dir": "/srv/nextcloud/releases",
    "farm_config_file": "/etc/nextcloud/farm.config.php", "web_user": "www-data", "web_group": "www-data",
    "db": {"host": "pg1", "port": 5432, "ssl_mode": "verify-full", "ssl_rootcert": "/ca.crt"},
    "redis": {"host": "redis1", "port": 6379, "tls": True, "cafile": "/ca.crt"},
    "s3": {"hostname": "s3", "port": 9000, "use_ssl": True, "region": "us-east-1"},
    "trusted_proxies": [], "overwriteprotocol": "https", "maintenance_hours": [1, 2, 3, 4], "mail": {},
    "apps": ["calendar", "contacts", "deck", "circles", "collectives", "spreed", "forms", "tables",
             "notifications", "activity", "text", "viewer"],
    "admin_user": "admin",
    "collabora": {"url": "https://collabora.example.test/", "wopi_allowlist": ["10.0.0.0/8"]},
    "onlyoffice": {"url": "https://onlyoffice.example.test", "internal_url": "", "jwt_header": "Authorization"},
}

FAKE_OCC = """#!{python}
import os, sys
with open(os.path.join(os.environ["BENCH_DIR"], "calls.log"), "a") as log:
    log.write(sys.argv[1] + " " + " ".join(sys.argv[2:]) + "\\n")
sys.stdout.write(open(os.path.join(os.environ["BENCH_DIR"], sys.argv[1] + ".json")).read())
"""


def record(slug: str, index: int) -> dict:
    return {"slug": slug, "state": "active", "office": "collabora" if index % 2 else "onlyoffice",
            "quota_gb": 10, "max_accounts": 50, "nextcloud_release": "33.0.8",
            "domains": [f"{slug}.lab.nuagerie.test"], "admin_email": f"admin@{slug}.example.org", "notes": "",
            "rotation": {"db_password": 0, "s3_secret_key": 0, "redis_password": 0, "admin_password": 0},
            "names": nuagerie_names.space_names(slug)}


def converged(want: dict) -> dict:
    apps = {app: {"enabled": "yes", "installed_version": "1.0", "types": ""} for app in want["apps_enabled"]}
    apps.update({app: {"enabled": "no"} for app in want["apps_disabled"]})
    for app, values in want["app_values"].items():
        for key, value in values.items():
            if value is not None:
                apps.setdefault(app, {})[key] = value
    system = dict(want["system"], installed=True, version="33.0.8.0")
    return {"system": system, "apps": apps}


def bench_fake(size: int, parallelism: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        occ = os.path.join(tmp, "occ")
        with open(occ, "w", encoding="utf-8") as handle:
            handle.write(FAKE_OCC.format(python=sys.executable))
        os.chmod(occ, 0o755)
        os.environ["BENCH_DIR"] = tmp
        records = [record(f"space-{i:05d}", i) for i in range(size)]
        t0 = time.monotonic()
        want = occf.drift_spaces(records, SETTINGS, KEY)
        t_desired = time.monotonic() - t0
        for index, space in enumerate(want):
            live = converged(space)
            if index % 10 == 0:  # one space in ten edited by hand
                live["apps"]["deck"]["enabled"] = "no"
                live["apps"]["files"]["default_quota"] = "99 GB"
            with open(os.path.join(tmp, space["slug"] + ".json"), "w", encoding="utf-8") as handle:
                json.dump(live, handle)
        farm = m.Farm({"occ": occ, "spaces_root": tmp, "state_dir": tmp, "handover_dir": tmp,
                       "parallelism": parallelism, "timeout": 60, "verify": False, "db_ssl_mode": "",
                       "db_ssl_rootcert": "", "db_table_prefix": "oc_", "mode": "drift", "selection": False})
        t0 = time.monotonic()
        result = m.run_drift(farm, want)
        t_module = time.monotonic() - t0
        t0 = time.monotonic()
        lines = occf.drift_lines(result, {"web1": {"files": [], "routes": {}, "config_php": []}}, records)
        t_lines = time.monotonic() - t0
        with open(os.path.join(tmp, "calls.log"), encoding="utf-8") as handle:
            calls = handle.read().splitlines()
        keys = sum(len(s["system"]) + sum(len(v) for v in s["app_values"].values()) + len(s["apps_enabled"])
                   + len(s["apps_disabled"]) for s in want)
        print(f"fake occ, {size} spaces, parallelism {parallelism}: desired states {t_desired:.2f} s, "
              f"module {t_module:.2f} s ({len(calls)} occ calls, {len(set(c.split()[0] for c in calls))} spaces, "
              f"{keys} keys compared), report {t_lines:.3f} s; {len(result['drift'])} drifted; first line: {lines[0]}")


def bench_standin(host: str, slug: str, calls: int, sizes: list, parallelism: int) -> None:
    loop = (f"for i in $(seq {calls}); do nuagerie-occ {shlex.quote(slug)} config:list --private --output=json "
            ">/dev/null || exit 1; done")
    script = f"s=$(date +%s.%N); {loop}; e=$(date +%s.%N); echo \"$s $e\""
    out = subprocess.run(["docker", "exec", host, "bash", "-c", script], capture_output=True, text=True, check=True)
    start, end = (float(x) for x in out.stdout.split())
    per_call = (end - start) / calls
    single = subprocess.run(["docker", "exec", host, "nuagerie-occ", slug, "config:list", "--private",
                             "--output=json"], capture_output=True, text=True, check=True).stdout
    print(f"stand-in on {host}: {calls} x `nuagerie-occ {slug} config:list --private --output=json` in "
          f"{end - start:.2f} s = {per_call * 1000:.0f} ms per call ({len(single)} bytes of JSON, "
          f"{len(json.loads(single[single.index('{'):]).get('apps') or {})} apps)")
    for size in sizes:
        print(f"  extrapolated occ-host side for {size} spaces at parallelism {parallelism}: "
              f"{size * per_call / parallelism:.0f} s ({size} occ calls; one per space, none per key; "
              f"bounded by the host's cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--occ-host")
    parser.add_argument("--slug")
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        bench_fake(size, args.parallelism)
    if args.occ_host:
        bench_standin(args.occ_host, args.slug, args.calls, sizes, args.parallelism)


if __name__ == "__main__":
    main()
