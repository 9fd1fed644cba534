"""Nuagerie MinIO filters: inventory and space records in, MinIO's own notations out.

Pure functions (no I/O, no Ansible state), unit-tested in ``tests/unit/test_nuagerie_minio.py``.

* :func:`ellipsis` compresses a sequential list of names into MinIO's ``{a...b}`` notation
  (``minio-a1 .. minio-a4`` -> ``minio-a{1...4}``) and refuses anything MinIO could not
  expand back to the same list, so that the ``MINIO_VOLUMES`` of every node agree.
* :func:`volumes` builds the whole ``MINIO_VOLUMES`` value of one server pool.
* :func:`space_specs` turns space records (``docs/space-record.md``) with their derived
  secrets into the input of the ``nuagerie_minio_spaces`` module.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from ansible.errors import AnsibleFilterError

_DIGITS_RUN = re.compile(r"(\d+)")

#: One GiB: a space's ``quota_gb`` is a hard bucket quota in GiB (as Nextcloud counts "GB").
GIB = 1024 ** 3


def _split(name: str) -> list[str]:
    """Split a name into alternating text and digit runs: 'a1.b2' -> ['a', '1', '.b', '2', '']."""
    return _DIGITS_RUN.split(name)


def ellipsis(names: Sequence[str], what: str = "names") -> str:
    """Compress a list of names differing only in one number into ``prefix{a...b}suffix``.

    The numbers must form a run of consecutive integers (in any order in the input). When
    they are zero-padded they must all have the same width (``disk{01...12}``). A single
    name is returned unchanged.

    :param names: e.g. ``['minio-a2', 'minio-a1', 'minio-a3']``.
    :param what: what the names are, for error messages (``'site-A hosts'``).
    :returns: e.g. ``'minio-a{1...3}'``.
    :raises AnsibleFilterError: if the list is empty, has duplicates, or the names do not
        follow one sequential pattern (the message says which names break it).
    """
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise AnsibleFilterError(f"nuagerie_minio_ellipsis: {what} must be a list, got {type(names).__name__}")
    names = [str(n) for n in names]
    if not names:
        raise AnsibleFilterError(f"nuagerie_minio_ellipsis: no {what} given")
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise AnsibleFilterError(f"nuagerie_minio_ellipsis: duplicate {what}: {', '.join(dups)}")
    if len(names) == 1:
        return names[0]
    parts = [_split(n) for n in names]
    shape = len(parts[0])
    if any(len(p) != shape for p in parts):
        raise AnsibleFilterError(
            f"nuagerie_minio_ellipsis: {what} {names} do not share one pattern; MinIO needs names "
            "that differ only in one number, e.g. minio-a1, minio-a2, ... (rename them or set the "
            "volumes explicitly)")
    varying = [i for i in range(shape) if len({p[i] for p in parts}) > 1]
    # Digit runs sit at odd indexes of re.split with one capture group.
    if len(varying) != 1 or varying[0] % 2 == 0:
        raise AnsibleFilterError(
            f"nuagerie_minio_ellipsis: {what} {names} differ in more than one place or not in a "
            "number; MinIO's {a...b} expansion needs names that differ only in one number")
    pos = varying[0]
    numbers = sorted(int(p[pos]) for p in parts)
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers != expected:
        missing = sorted(set(expected) - set(numbers))
        raise AnsibleFilterError(
            f"nuagerie_minio_ellipsis: {what} {sorted(names)} are not sequential (numbers "
            f"{numbers}, missing {missing}); MinIO's {{a...b}} expansion covers every number in between")
    texts = [p[pos] for p in parts]
    padded = any(len(t) > 1 and t.startswith("0") for t in texts)
    if padded and len({len(t) for t in texts}) != 1:
        raise AnsibleFilterError(
            f"nuagerie_minio_ellipsis: {what} {names} mix zero-padded numbers of different widths")
    width = len(texts[0]) if padded else 0
    low, high = str(numbers[0]).zfill(width), str(numbers[-1]).zfill(width)
    first = parts[0]
    return "".join(first[:pos]) + "{" + low + "..." + high + "}" + "".join(first[pos + 1:])


def volumes(hosts: Sequence[str], disks: Sequence[str], port: int = 9000, scheme: str = "https") -> str:
    """Build the ``MINIO_VOLUMES`` value of one server pool.

    Several hosts give a distributed pool (``https://minio-a{1...4}:9000/srv/minio/disk{1...2}``);
    one host gives a single-node pool of local paths (``/srv/minio/disk{1...4}``).

    :param hosts: the pool's inventory host names (resolvable, same order-free pattern).
    :param disks: the data directories, the same on every host.
    :param port: the S3 API port of every node.
    :param scheme: ``https`` (TLS) or ``http``.
    :returns: the value for ``MINIO_VOLUMES``.
    :raises AnsibleFilterError: on an unknown scheme or names that do not compress.
    """
    if scheme not in ("http", "https"):
        raise AnsibleFilterError(f"nuagerie_minio_volumes: scheme must be http or https, not {scheme!r}")
    if isinstance(disks, str):
        disks = [disks]
    for disk in disks:
        if not str(disk).startswith("/"):
            raise AnsibleFilterError(f"nuagerie_minio_volumes: data directory {disk!r} is not an absolute path")
    disk_part = ellipsis([str(d).rstrip("/") for d in disks], "data directories")
    if isinstance(hosts, str):
        hosts = [hosts]
    if len(hosts) == 1:
        return disk_part
    return f"{scheme}://{ellipsis(hosts, 'hosts')}:{int(port)}{disk_part}"


def space_specs(spaces: Iterable[Mapping], versioning: bool = True) -> list[dict]:
    """Reshape space records with secrets into ``nuagerie_minio_spaces`` ``spaces`` items.

    :param spaces: records of ``nuagerie_spaces | nuagerie_space_secrets(key)``.
    :param versioning: whether every bucket has versioning enabled.
    :returns: one ``{slug, bucket, access_key, secret_key, quota_bytes, state, versioning}``
        per space, in input order.
    :raises AnsibleFilterError: if a record lacks its names, secrets or quota.
    """
    out = []
    for space in spaces or []:
        slug = space.get("slug", "?")
        try:
            names = space["names"]
            item = {
                "slug": slug,
                "bucket": names["bucket"],
                "access_key": names["s3_access_key"],
                "secret_key": space["secrets"]["s3_secret_key"],
                "quota_bytes": int(space["quota_gb"]) * GIB,
                "state": space.get("state", "active"),
                "versioning": bool(versioning),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError(
                f"nuagerie_minio_space_specs: space {slug!r} lacks {exc} (expected a record of "
                "docs/space-record.md passed through nuagerie_space_secrets)") from None
        out.append(item)
    return out


class FilterModule:
    """Ansible entry point: project-prefixed names of the functions above."""

    def filters(self) -> dict:
        return {
            "nuagerie_minio_ellipsis": ellipsis,
            "nuagerie_minio_volumes": volumes,
            "nuagerie_minio_space_specs": space_specs,
        }
