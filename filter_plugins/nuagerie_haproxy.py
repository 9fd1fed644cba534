"""Nuagerie HAProxy filters: the statistics CSV of a frontend's S3 endpoint in, its node states out.

Pure functions (no I/O, no Ansible state), unit-tested in ``tests/unit/test_nuagerie_haproxy.py``.

* :func:`up_servers` names the servers of the endpoint (or of one backend, ``site_a``) that pass
  their health check, read from HAProxy's ``show stat`` CSV (``curl --unix-socket <stats> 'http://x/;csv'``).
  ``roles/s3_balancer/tasks/reresolve.yml`` and ``playbooks/storage-failover.yml`` both read it.

The columns are found by the CSV's own header (``# pxname,svname,...,status,...``), not by position:
HAProxy documents the order as stable, but a header read costs nothing and fails loudly.
"""

from __future__ import annotations

import csv

from ansible.errors import AnsibleFilterError

#: Rows that are a proxy's totals, not a server.
_AGGREGATE_ROWS = frozenset({"FRONTEND", "BACKEND"})


def up_servers(stats_csv: str, backend: str | None = None) -> list[str]:
    """Return the servers whose status is UP, in the order HAProxy lists them.

    A server counts as UP when its status starts with ``UP``: ``UP`` and ``UP 1/3`` (still up,
    failing checks that have not yet reached the fall count). ``DOWN``, ``DOWN 1/2`` (coming
    back, not yet trusted), ``MAINT``, ``NOLB`` and ``no check`` do not.

    :param stats_csv: the whole CSV HAProxy's statistics page returns (header first).
    :param backend: only servers of this backend (``pxname``), e.g. ``site_a``; all when None.
    :returns: server names (``svname``), e.g. ``['pf-minio-a1', 'pf-minio-a2']``.
    :raises AnsibleFilterError: if the text is not a statistics CSV (no header with ``pxname``,
        ``svname`` and ``status``).
    """
    if not isinstance(stats_csv, str):
        raise AnsibleFilterError(
            f"nuagerie_haproxy_up_servers: expected HAProxy's statistics CSV as text, got {type(stats_csv).__name__}")
    lines = stats_csv.splitlines()
    if not lines or not lines[0].startswith("#"):
        raise AnsibleFilterError(
            "nuagerie_haproxy_up_servers: not HAProxy's statistics CSV (its first line is the "
            f"'# pxname,svname,...' header): {(lines[0] if lines else '')[:80]!r}")
    header = [name.strip() for name in lines[0].lstrip("#").split(",")]
    try:
        col_proxy, col_server, col_status = (header.index(n) for n in ("pxname", "svname", "status"))
    except ValueError:
        raise AnsibleFilterError(
            "nuagerie_haproxy_up_servers: the CSV header lacks pxname, svname or status: "
            f"{lines[0][:80]!r}") from None
    servers = []
    for row in csv.reader(lines[1:]):
        if len(row) <= max(col_proxy, col_server, col_status):
            continue
        if row[col_server] in _AGGREGATE_ROWS:
            continue
        if backend is not None and row[col_proxy] != backend:
            continue
        if row[col_status].startswith("UP"):
            servers.append(row[col_server])
    return servers


class FilterModule:
    """Ansible entry point: project-prefixed names of the functions above."""

    def filters(self) -> dict:
        return {
            "nuagerie_haproxy_up_servers": up_servers,
        }
