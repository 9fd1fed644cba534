#!/usr/bin/env python3
"""Benchmark of the office servers' configuration for many spaces (issue 13). A script, not a
test: it prints figures.

For 1,000 and 10,000 generated spaces, a third with an alias, in two mixes: "half" (half on
Collabora, half on OnlyOffice, 5 % disabled) and "all" (every space active on the suite
measured: the worst case of each file), it times, on the real code paths (filter_plugins/nuagerie_office.py):

  alias groups   the Collabora alias groups (one per space)
  coolwsd xml    the <group> elements of coolwsd.xml, and the file's size
  remote json    the remote configuration coolwsd polls (same groups), and its size
  reload         what the Collabora stand-in does on a poll: parse that JSON and build its
                 host -> group table (lab/office-standins/coolwsd: load_remote_groups); the real
                 coolwsd does the same work in RemoteConfigPoll + HostUtil::parseAliases
  oo runtime     the OnlyOffice runtime configuration (allow list), its size, and the time to
                 match one URL against it as upstream does (prefix scan, utils.js)

Run from the repository root:  .venv/bin/python benchmarks/office.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "filter_plugins"), os.path.join(ROOT, "lab", "office-standins")]

import nuagerie_office as office  # noqa: E402
import coolwsd_standin  # noqa: E402

DOMAIN = "bench.nuagerie.test"


def catalogue(count: int, mix: str, seed: int = 13) -> list[dict]:
    """``count`` space records with the fields the office filters read."""
    rng = random.Random(seed)
    spaces = []
    for i in range(count):
        slug = f"space-{i:05d}-{rng.choice(('asso', 'club', 'amicale', 'jardin'))}"
        domains = [f"{slug}.{DOMAIN}"] + ([f"cloud.{slug}.example.org"] if i % 3 == 0 else [])
        if mix == "half":
            spaces.append({"slug": slug, "office": "collabora" if i % 2 else "onlyoffice",
                           "state": "disabled" if i % 20 == 0 else "active", "domains": domains})
        else:  # every space active, on both suites at once: each file at its largest
            spaces.append({"slug": slug, "office": "collabora", "state": "active", "domains": domains})
            spaces.append({"slug": slug + "-oo", "office": "onlyoffice", "state": "active",
                           "domains": [f"{slug}-oo.{DOMAIN}"] + ([f"docs.{slug}.example.org"] if i % 3 == 0 else [])})
    return spaces


def timed(fn, runs: int):
    """Median seconds of ``runs`` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'spaces':>7} {'mix':>4} {'groups':>6} {'alias groups':>12} {'coolwsd xml':>18} {'remote json':>18} "
          f"{'reload':>8} {'oo runtime':>18} {'oo match':>9}")
    for size, mix in ((int(s), m) for s in args.sizes.split(",") for m in ("half", "all")):
        spaces = catalogue(size, mix)
        t_groups, groups = timed(lambda: office.collabora_alias_groups(spaces), args.runs)
        t_xml, xml = timed(lambda: office.coolwsd_alias_groups_xml(spaces), args.runs)
        t_json, remote = timed(lambda: json.dumps(office.collabora_remote_config(spaces), indent=1), args.runs)
        t_reload, table = timed(lambda: coolwsd_standin.load_remote_groups(json.loads(remote)), args.runs)
        assert len(table.groups) == len(groups)
        t_oo, runtime = timed(lambda: json.dumps(office.onlyoffice_runtime_config(spaces), indent=1), args.runs)
        allow = json.loads(runtime)["externalRequest"]["directIfIn"]["allowList"]
        url = allow[-1] + "index.php/apps/onlyoffice/download?doc=x"
        t_match, hit = timed(lambda: any(url.startswith(p) for p in allow), args.runs)
        assert hit
        print(f"{size:>7} {mix:>4} {len(groups):>6} {t_groups * 1000:>10.1f}ms "
              f"{t_xml * 1000:>7.1f}ms {len(xml.encode()) / 1024:>7.0f}KiB "
              f"{t_json * 1000:>7.1f}ms {len(remote.encode()) / 1024:>7.0f}KiB "
              f"{t_reload * 1000:>6.1f}ms {t_oo * 1000:>7.1f}ms {len(runtime.encode()) / 1024:>7.0f}KiB "
              f"{t_match * 1000:>7.2f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
