#!/usr/bin/env python3
"""What consistent hashing of documents does when office servers are added (issue 13). A script,
not a test: it prints figures.

nginx's ``hash $key consistent`` (nginx/nginx src/http/modules/ngx_http_upstream_hash_module.c,
ngx_http_upstream_init_chash and find_chash_point; ketama): each server
``host:port`` gets 160 points per weight on a ring of CRC32 values, point j being
``crc32(host "\\0" port prev)`` where ``prev`` is the previous point (4 bytes, little-endian,
0 for the first); a request goes to the first point at or after ``crc32(key)``, wrapping
around. This script reimplements that ring (the same arithmetic as the C source) and routes
document keys shaped like the farm's (``<fileid>_<instanceid>`` for Collabora) to measure:

  balance   the share of documents each server gets (2, 3, 4 servers)
  moved     the share of documents that change server when one server is added (ideal 1/n)
            or removed; every other document keeps its server: no coordination, no state

The platform's verification measures the real routers (molecule/platform/verify-office.yml:
stickiness ratio 1.0 through both routers).

Run from the repository root:  .venv/bin/python benchmarks/office_routing.py [--documents 100000]
"""

from __future__ import annotations

import argparse
import bisect
import random
import string
import struct
import sys
import zlib


def ring(servers: list[str], weight: int = 1) -> tuple[list[int], list[str]]:
    """The sorted points of nginx's consistent-hash ring for ``host:port`` servers."""
    points = []
    for server in servers:
        host, _, port = server.rpartition(":")
        base = host.encode() + b"\0" + port.encode()
        prev = 0
        for _ in range(160 * weight):
            value = zlib.crc32(base + struct.pack("<I", prev))
            points.append((value, server))
            prev = value
    points.sort()
    return [p[0] for p in points], [p[1] for p in points]


def route(points: tuple[list[int], list[str]], key: str) -> str:
    """The server of a key (first point at or after crc32(key), wrapping around)."""
    hashes, servers = points
    index = bisect.bisect_left(hashes, zlib.crc32(key.encode()))
    return servers[index % len(servers)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    instances = ["oc" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=10)) for _ in range(1000)]
    keys = [f"{rng.randrange(1, 10**7)}_{rng.choice(instances)}" for _ in range(args.documents)]
    names = [f"office{i}.nuagerie.example:9980" for i in range(1, 6)]
    print(f"{args.documents} documents, keys <fileid>_<instanceid>")
    print(f"{'servers':>8} {'min share':>9} {'max share':>9} {'moved when one is added':>24} {'ideal':>6}")
    for count in (2, 3, 4):
        before = ring(names[:count])
        after = ring(names[:count + 1])
        owners = [route(before, k) for k in keys]
        shares = [owners.count(s) / len(keys) for s in names[:count]]
        moved = sum(1 for k, o in zip(keys, owners) if route(after, k) != o) / len(keys)
        wrong = sum(1 for k, o in zip(keys, owners) if route(after, k) not in (o, names[count]))
        assert wrong == 0, "a document moved between two old servers"
        print(f"{count:>8} {min(shares):>9.3f} {max(shares):>9.3f} {moved:>24.3f} {1 / (count + 1):>6.3f}")
    two, three = ring(names[:2]), ring(names[:3])
    back = sum(1 for k in keys if route(three, k) == names[2] and route(two, k) not in names[:2])
    print(f"removing the third server again: {back} documents without a server (0 expected)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
