"""Nuagerie restore filters: the moment of a one-space restore (playbooks/space-restore.yml).

Pure functions (no I/O, no Ansible state), unit-tested in ``tests/unit/test_nuagerie_restore.py``.

* :func:`restore_moment` reads the operator's ``at`` (ISO 8601) into a UTC moment and refuses a
  moment that is not one, or is in the future.
* :func:`dump_moment` reads the moment a nightly dump of ``nuagerie-pg-dump-spaces`` was taken
  from its file name (``<db>-<YYYYmmddTHHMMSSZ>.dump``).
* :func:`restore_dump` picks the dump a restore to ``at`` uses: the newest taken at or before
  ``at``. The files are then rewound to that dump's own moment (the end of the second its name
  records: pg_dump takes its snapshot just after the name's ``date``), so that the database and
  the files describe the same moment; an object written in that last fraction of a second after
  the snapshot stays as an orphan (no row refers to it), never a row without its object.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Iterable

from ansible.errors import AnsibleFilterError

_MOMENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_DUMP = re.compile(r"-(\d{8}T\d{6}Z)\.dump$")


def _parse(text: str) -> datetime | None:
    match = _MOMENT.match(str(text).strip())
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    tz = timezone.utc
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        tz = timezone((1 if zone[0] == "+" else -1) * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                          int((frac or "0").ljust(6, "0")[:6]), tzinfo=tz)
    except ValueError:
        return None
    return moment.astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def restore_moment(text: object, now: str) -> str:
    """The moment of ``at``, in UTC ISO 8601 with a ``Z`` (seconds).

    :param text: the operator's ``at``: ``2026-12-03T02:30:00Z``, with an offset (``+01:00``), or with
        no zone (read as UTC).
    :param now: the current time, ISO 8601 (e.g. ``ansible_date_time.iso8601`` or ``now(utc=true)``).
    :returns: e.g. ``2026-12-03T02:30:00Z``.
    :raises AnsibleFilterError: naming ``at`` and the expected format, or saying it is in the future.
    """
    moment, current = _parse(str(text or "")), _parse(str(now))
    if moment is None:
        raise AnsibleFilterError(
            f"at: '{text}' is not a moment; write it as ISO 8601, e.g. -e at=2026-12-03T02:30:00Z (UTC) "
            "or 2026-12-03T03:30:00+01:00")
    if current is None:
        raise AnsibleFilterError(f"now: '{now}' is not a moment")
    if moment > current:
        raise AnsibleFilterError(f"at: {_iso(moment)} is in the future (now {_iso(current)}); give a past moment")
    return _iso(moment)


def dump_moment(path: str) -> str:
    """The moment a dump was taken, from its name ``<db>-<YYYYmmddTHHMMSSZ>.dump``, as ISO 8601 UTC.

    :raises AnsibleFilterError: when the name carries no such moment.
    """
    match = _DUMP.search(os.path.basename(str(path)))
    if not match:
        raise AnsibleFilterError(f"dump {path}: its name does not end in -<YYYYmmddTHHMMSSZ>.dump")
    stamp = match.group(1)
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def restore_dump(paths: Iterable[str], at: str) -> dict:
    """The dump a restore to ``at`` uses: the newest taken at or before ``at``.

    :param paths: the space's dump files (other names are ignored).
    :param at: the moment (as returned by :func:`restore_moment`).
    :returns: ``{"path": ..., "moment": ..., "files_moment": ...}``: the dump, the second its name records,
        and the moment to rewind the files to (the last millisecond of that second).
    :raises AnsibleFilterError: when no dump is at or before ``at``, naming the oldest and newest kept.
    """
    moment = _parse(at)
    if moment is None:
        raise AnsibleFilterError(f"at: '{at}' is not a moment")
    dumps = sorted((_parse(dump_moment(p)), p) for p in paths if _DUMP.search(os.path.basename(str(p))))
    if not dumps:
        raise AnsibleFilterError("no dump of this space: run the dump service (nuagerie-pg-dump-spaces) first; "
                                 "there is nothing to restore")
    eligible = [d for d in dumps if d[0] <= moment]
    if not eligible:
        raise AnsibleFilterError(
            f"at: no dump taken at or before {_iso(moment)}; the oldest kept is {_iso(dumps[0][0])} "
            f"(newest {_iso(dumps[-1][0])}): give a later moment")
    chosen = eligible[-1]
    files = chosen[0] + timedelta(milliseconds=999)
    return {"path": chosen[1], "moment": _iso(chosen[0]),
            "files_moment": files.strftime("%Y-%m-%dT%H:%M:%S.") + f"{files.microsecond // 1000:03d}Z"}


class FilterModule:
    """Restore filters."""

    def filters(self) -> dict:
        return {
            "nuagerie_restore_moment": restore_moment,
            "nuagerie_restore_dump_moment": dump_moment,
            "nuagerie_restore_dump": restore_dump,
        }
