#!/usr/bin/env python3
"""Benchmark of the catalogue data layer (issues 3 and 15). A script, not a test: it prints
figures.

For 1,000 and 10,000 generated spaces (slugs of every length, a third with aliases, all
options used) it times, on the real code paths:

  load     read every file of the directory and parse it (action plugin read_catalogue)
  validate validate every field and the cross-file rules, build the records (resolve_catalogue;
           this includes deriving the names, which validation checks for collisions)
  catalogue  load + validate: validation and derivation of the whole catalogue, what the
           catalogue role's action (load_catalogue) costs; the median of the runs is the figure
  names    derive the names of every space again on their own (space_names)
  secrets  derive the four secrets of every space (space_secrets)

and how long a hostile file takes to be refused (a "billion laughs" of 9 levels of 9 aliases).

Run from the repository root:  .venv/bin/python benchmarks/catalogue.py [--sizes 1000,10000]
Target (issue 15): validation and derivation of 10,000 spaces within 1 s (median).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "plugins"), os.path.join(ROOT, "filter_plugins")]

from action import nuagerie_catalogue as action  # noqa: E402
import nuagerie_names  # noqa: E402
import nuagerie_secrets  # noqa: E402

FARM = {"domain": "bench.nuagerie.test", "default_release": "33.0.8",
        "releases": ["33.0.8", "32.0.11"], "reserved": ["billing", "pg1"]}
MASTER_KEY = "f534f0320bed4463ff4219cde2aa53167220346fb32a1194c7c1990781f5e93c"
WORDS = ("asso", "club", "amicale", "velo", "echecs", "jardin", "partage", "theatre", "lyon",
         "quartier", "sport", "musique", "ecole", "parents", "eleves", "solidarite", "culture")


def generate(directory: str, count: int, seed: int = 42) -> None:
    """Write ``count`` valid space files into ``directory``."""
    rng = random.Random(seed)
    slugs: set[str] = set()
    while len(slugs) < count:
        slug = "-".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        slug = f"{slug}-{rng.randint(1, 99999)}"[:63].strip("-")
        if nuagerie_names.is_valid_slug(slug) and slug not in {"billing", "pg1"}:
            slugs.add(slug)
    for index, slug in enumerate(sorted(slugs)):
        lines = [
            "---",
            f"slug: {slug}",
            f'display_name: "Association {slug.replace("-", " ").title()}"',
            f"admin_email: admin@{slug}.example.org",
            f"office: {rng.choice(['collabora', 'onlyoffice'])}",
            f"quota_gb: {rng.randint(1, 40)}",
            f"max_accounts: {rng.randint(1, 50)}",
            f"state: {rng.choice(['active'] * 8 + ['disabled', 'absent'])}",
            f"created: 2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        ]
        if index % 3 == 0:
            lines.append(f"aliases: [cloud.{slug}.example.org, nc.{slug}.example.net]")
        if index % 5 == 0:
            lines.append('nextcloud_release: "32.0.11"')
        if index % 7 == 0:
            lines.append("rotation: {db_password: 1, admin_password: 2}")
        with open(os.path.join(directory, f"{slug}.yml"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


def run_once(directory: str) -> dict[str, float]:
    """Time one full pass; returns wall seconds per phase, plus the pass's CPU seconds."""
    times = {}
    cpu = time.process_time()
    start = time.perf_counter()
    documents, errors = action.read_catalogue(directory)
    times["load"] = time.perf_counter() - start

    start = time.perf_counter()
    records, found = action.catalogue_library().resolve_catalogue(documents, FARM)
    times["validate"] = time.perf_counter() - start
    if errors or found:
        raise SystemExit(f"generated catalogue is invalid: {(errors + found)[:3]}")

    start = time.perf_counter()
    for record in records:
        nuagerie_names.space_names(record["slug"])
    times["names"] = time.perf_counter() - start

    start = time.perf_counter()
    nuagerie_secrets.space_secrets(records, MASTER_KEY)
    times["secrets"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    times["catalogue"] = times["load"] + times["validate"]
    times["cpu"] = time.process_time() - cpu
    return times


def bomb_seconds() -> float:
    """Seconds to refuse a catalogue whose one file is a "billion laughs" (9**9 strings)."""
    lines = ["lol: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    with tempfile.TemporaryDirectory(prefix="nuagerie-bench-") as directory:
        with open(os.path.join(directory, "bomb.yml"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        start = time.perf_counter()
        _, errors = action.load_catalogue(directory, FARM)
        seconds = time.perf_counter() - start
    if not errors or "YAML aliases" not in str(errors[0]):
        raise SystemExit(f"the billion laughs was not refused: {errors}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma separated space counts")
    parser.add_argument("--repeat", type=int, default=7,
                        help="runs per size: the median of validation + derivation is the "
                             "figure; the best run's phases show where the time goes")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, PyYAML C loader: "
          f"{hasattr(action.catalogue_library().yaml, 'CSafeLoader')}, runs per size: {args.repeat}")
    print("columns: the best run's phases, then validation + derivation (load + validate) as "
          "median and best, the whole pass (+ names again + secrets) median, the best pass's CPU")
    print(f"{'spaces':>7} {'load':>8} {'validate':>9} {'names':>8} {'secrets':>8} "
          f"{'catalogue':>10} {'(best)':>8} {'total':>8} {'cpu':>8}")
    target = None
    for size in (int(item) for item in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="nuagerie-bench-") as directory:
            generate(directory, size)
            runs = [run_once(directory) for _ in range(args.repeat)]
        best = min(runs, key=lambda run: run["catalogue"])
        median = statistics.median(run["catalogue"] for run in runs)
        total = statistics.median(run["total"] for run in runs)
        print(f"{size:>7} {best['load']:>7.3f}s {best['validate']:>8.3f}s "
              f"{best['names']:>7.3f}s {best['secrets']:>7.3f}s {median:>9.3f}s "
              f"{best['catalogue']:>7.3f}s {total:>7.3f}s {best['cpu']:>7.3f}s")
        if size == 10000:
            target = median
    print(f"hostile file: a billion laughs (9 levels of 9 aliases) refused in "
          f"{bomb_seconds() * 1000:.1f} ms")
    load = os.getloadavg()[0]
    print(f"load average while measuring: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPU(s)")
    if target is not None:
        verdict = "OK" if target <= 1.0 else "OVER"
        print(f"target: validation + derivation of 10,000 spaces within 1 s -> {verdict} "
              f"(median {target:.3f} s)")
    if load > (os.cpu_count() or 1):
        print("note: the machine was busier than its CPU count; wall times include waiting "
              "for a CPU, the CPU time is what the catalogue itself costs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
