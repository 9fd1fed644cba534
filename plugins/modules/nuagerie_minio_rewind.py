#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Rewind one versioned bucket to its state at one moment (restore of one space's files)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_minio_rewind
short_description: Make one versioned bucket's current objects what they were at one moment
description:
  - Lists every version of the bucket once (C(mc ls --versions --recursive --json)) and computes, per key, the
    version that was current at O(at) (the newest version written at or before O(at)).
  - An object whose current version differs from that one gets it back as a new current version (a server-side
    copy of the old version id, C(mc cp --version-id)); an object that did not exist at O(at) (or was deleted then)
    but exists now is removed with a delete marker (C(mc rm --stdin), batched); an object deleted since comes back.
    Nothing is ever deleted for good (every version written since O(at) stays), so a rewind can itself be undone.
  - Refuses (before any change) a moment in the future, before the bucket was created, or older than the retention
    window of noncurrent versions (O(window_days)), when versions it would need may already be expired.
  - Check mode reports the plan (counts and the first keys) without changing anything.
  - After the changes, the bucket is listed again and every planned key is checked (existence and size).
  - Runs on a host where C(mc) has an alias with administrator credentials for the deployment; site replication
    carries the copies and the delete markers to the other sites.
options:
  alias:
    description: The C(mc) alias of the deployment (administrator credentials).
    type: str
    required: true
  mc_path:
    description: Path of the C(mc) binary (or a compatible client).
    type: path
    default: /usr/local/bin/mc
  mc_config_dir:
    description: C(mc) configuration directory holding the alias; C(mc)'s default when unset.
    type: path
  bucket:
    description: The bucket to rewind (one space's bucket).
    type: str
    required: true
  at:
    description: The moment, ISO 8601 (C(2026-12-03T02:30:00Z), an offset, or no zone for UTC).
    type: str
    required: true
  window_days:
    description: Days noncurrent versions are kept (the bucket's lifecycle rule); 0 means kept forever.
    type: int
    default: 0
  parallel:
    description: How many copies run at the same time.
    type: int
    default: 8
  max_listed:
    description: How many keys of each kind the result lists (the counts are always complete).
    type: int
    default: 20
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: Rewind the bucket of space asso-velo to the moment of its database dump
  nuagerie_minio_rewind:
    alias: nuagerie
    bucket: nc-asso-velo
    at: "2026-12-03T02:31:07Z"
    window_days: 30
"""

RETURN = r"""
at: {description: The moment the bucket was rewound to (UTC ISO 8601)., type: str, returned: always}
keys: {description: Number of keys the bucket has ever held (within its kept versions)., type: int, returned: success}
restore: {description: Number of objects given back their version at O(at)., type: int, returned: success}
remove: {description: Number of objects removed (delete marker) because they did not exist at O(at)., type: int,
         returned: success}
unchanged: {description: Number of objects already as they were at O(at) (or absent then and now)., type: int,
            returned: success}
restore_keys: {description: The first O(max_listed) keys to restore., type: list, elements: str, returned: success}
remove_keys: {description: The first O(max_listed) keys to remove., type: list, elements: str, returned: success}
seconds: {description: "Wall time of the listing, the changes and the check.", type: float, returned: success}
errors: {description: "One message per failed copy, removal or check.", type: list, elements: str, returned: failure}
"""

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from ansible.module_utils.basic import AnsibleModule

_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 moment (``Z``, ``+01:00``, or no zone meaning UTC) into an aware UTC datetime.

    :param text: e.g. ``2026-12-03T02:30:00Z``, ``2026-12-03 03:30+01:00``, ``2026-12-03T02:30:05.1Z``.
    :returns: the moment in UTC (microsecond precision).
    :raises ValueError: with the expected format, when ``text`` is not such a moment.
    """
    match = _TIME.match(str(text).strip())
    if not match:
        raise ValueError(f"'{text}' is not a moment: write it as 2026-12-03T02:30:00Z (ISO 8601, UTC or an offset)")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    tz = timezone.utc
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz)
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` and milliseconds, as S3 listings print them."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def versions_by_key(lines: list) -> dict:
    """Group the JSON lines of ``mc ls --versions --recursive --json`` by key, newest version first.

    :param lines: decoded JSON objects; only ``type: file`` entries are kept.
    :returns: key -> list of ``{version_id, mtime, etag, size, delete_marker}``, newest first (ties keep
        the listing's order, which S3 gives newest first).
    """
    grouped: dict = {}
    for index, item in enumerate(lines):
        if item.get("status") != "success" or item.get("type") != "file":
            continue
        grouped.setdefault(item["key"], []).append((index, {
            "version_id": item.get("versionId") or "null",
            "mtime": parse_time(item["lastModified"]),
            "etag": (item.get("etag") or "").strip('"'),
            "size": int(item.get("size") or 0),
            "delete_marker": bool(item.get("isDeleteMarker")),
        }))
    return {key: [v for _, v in sorted(entries, key=lambda e: (-e[1]["mtime"].timestamp(), e[0]))]
            for key, entries in grouped.items()}


def version_at(versions: list, at: datetime) -> dict | None:
    """The version of one key that was current at ``at`` (newest first list), or None if none was written yet."""
    return next((v for v in versions if v["mtime"] <= at), None)


def _live(version: dict | None) -> bool:
    return version is not None and not version["delete_marker"]


def rewind_plan(by_key: dict, at: datetime) -> dict:
    """What to change so that every key's current version is what it was at ``at``.

    :param by_key: the output of :func:`versions_by_key`.
    :param at: the moment (aware datetime).
    :returns: ``{"restore": [(key, version_id)], "remove": [key], "unchanged": n}``, keys sorted. A key is
        restored when an object existed at ``at`` and its current version is another one (a delete marker, or
        other bytes: another ETag or size; a multipart ETag never equals its copy's, so such an object is copied
        again on a second run, harmlessly); removed when no object existed at ``at`` but one exists now.
    """
    restore, remove, unchanged = [], [], 0
    for key in sorted(by_key):
        versions = by_key[key]
        then, now = version_at(versions, at), versions[0]
        if _live(then):
            if _live(now) and (now["version_id"] == then["version_id"]
                               or (now["etag"] == then["etag"] and now["size"] == then["size"])):
                unchanged += 1
            else:
                restore.append((key, then["version_id"]))
        elif _live(now):
            remove.append(key)
        else:
            unchanged += 1
    return {"restore": restore, "remove": remove, "unchanged": unchanged}


def check_rewound(by_key: dict, at: datetime, plan: dict) -> list:
    """Problems left after a rewind: each planned key must now exist (with the size it had) or not, as at ``at``.

    :returns: one message per key that is not as it was at ``at``; empty when the rewind is complete.
    """
    problems = []
    for key, _ in plan["restore"]:
        versions = by_key.get(key) or []
        then = version_at(versions, at)
        now = versions[0] if versions else None
        if not _live(now) or not _live(then) or now["size"] != then["size"]:
            problems.append(f"{key}: not restored (now {'absent' if not _live(now) else str(now['size']) + ' bytes'})")
    for key in plan["remove"]:
        versions = by_key.get(key) or []
        if versions and _live(versions[0]):
            problems.append(f"{key}: still present")
    return problems


def refusal(at: datetime, now: datetime, window_days: int, created: datetime | None) -> str | None:
    """Why the bucket cannot be rewound to ``at``, or None.

    :param at: the moment asked for.
    :param now: the current time.
    :param window_days: days noncurrent versions are kept (0: forever).
    :param created: when the bucket was created (None: unknown, not checked).
    :returns: a message naming the field and the fix, or None when ``at`` is restorable.
    """
    if at > now:
        return f"at {format_time(at)} is in the future (now {format_time(now)}): give a past moment"
    if created is not None and at < created:
        return (f"at {format_time(at)} is before the bucket was created ({format_time(created)}): "
                "there is nothing to restore from then")
    if window_days > 0 and now - at >= timedelta(days=window_days):
        return (f"at {format_time(at)} is older than the retention window of {window_days} days "
                f"(oldest restorable moment: {format_time(now - timedelta(days=window_days))}): versions it needs "
                "may be expired")
    return None


class McError(Exception):
    """An mc call failed."""


def run_mc(base: list, args: list, stdin: str | None = None) -> list:
    """Run mc --json; return the decoded JSON lines; raise McError with mc's message."""
    try:
        proc = subprocess.run(base + args, input=stdin, capture_output=True, text=True, timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise McError(f"mc {' '.join(args[:2])}: {exc}") from None
    lines = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    errors = [item for item in lines if item.get("status") == "error"]
    if proc.returncode != 0 or errors:
        err = (errors[0].get("error") or {}) if errors else {}
        cause = (err.get("cause") or {}).get("message", "")
        raise McError(f"mc {' '.join(args[:2])}: {err.get('message', '')} {cause} {proc.stderr.strip()[:300]}".strip())
    return lines


def main():
    module = AnsibleModule(
        argument_spec={
            "alias": {"type": "str", "required": True},
            "mc_path": {"type": "path", "default": "/usr/local/bin/mc"},
            "mc_config_dir": {"type": "path"},
            "bucket": {"type": "str", "required": True},
            "at": {"type": "str", "required": True},
            "window_days": {"type": "int", "default": 0},
            "parallel": {"type": "int", "default": 8},
            "max_listed": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    p = module.params
    base = [p["mc_path"], "--json", "--no-color", "--quiet"] + (["--config-dir", p["mc_config_dir"]] if p["mc_config_dir"] else [])
    target = f"{p['alias']}/{p['bucket']}"
    try:
        at = parse_time(p["at"])
    except ValueError as exc:
        module.fail_json(msg=f"at: {exc}")
    result = {"changed": False, "at": format_time(at)}
    started = time.monotonic()
    try:
        buckets = run_mc(base, ["ls", p["alias"] + "/"])
        created = next((parse_time(b["lastModified"]) for b in buckets
                        if b.get("type") == "folder" and b.get("key", "").rstrip("/") == p["bucket"]), None)
        if created is None:
            module.fail_json(msg=f"bucket {p['bucket']} does not exist on {p['alias']}", **result)
        why = refusal(at, datetime.now(timezone.utc), p["window_days"], created)
        if why:
            module.fail_json(msg=f"bucket {p['bucket']}: {why}. Nothing was changed.", **result)
        by_key = versions_by_key(run_mc(base, ["ls", "--versions", "--recursive", target + "/"]))
    except McError as exc:
        module.fail_json(msg=f"cannot read bucket {p['bucket']}: {exc}", **result)
    plan = rewind_plan(by_key, at)
    result.update(keys=len(by_key), restore=len(plan["restore"]), remove=len(plan["remove"]),
                  unchanged=plan["unchanged"], restore_keys=[k for k, _ in plan["restore"][:p["max_listed"]]],
                  remove_keys=plan["remove"][:p["max_listed"]], changed=bool(plan["restore"] or plan["remove"]))
    if module.check_mode or not result["changed"]:
        result["seconds"] = round(time.monotonic() - started, 3)
        module.exit_json(**result)

    def copy(item):
        key, version_id = item
        try:
            run_mc(base, ["cp", "--version-id", version_id, f"{target}/{key}", f"{target}/{key}"])
        except McError as exc:
            return f"{key}: copy of version {version_id}: {exc}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, p["parallel"])) as pool:
        errors = [e for e in pool.map(copy, plan["restore"]) if e]
    single = [k for k in plan["remove"] if "\n" in k]  # --stdin reads one name a line
    for start in range(0, len(plan["remove"]), 1000):
        batch = [k for k in plan["remove"][start:start + 1000] if "\n" not in k]
        if batch:
            try:
                run_mc(base, ["rm", "--force", "--stdin"], stdin="".join(f"{target}/{k}\n" for k in batch))
            except McError as exc:
                errors.append(f"removal of {len(batch)} objects: {exc}")
    for key in single:
        try:
            run_mc(base, ["rm", f"{target}/{key}"])
        except McError as exc:
            errors.append(f"{key!r}: removal: {exc}")
    if not errors:
        try:
            errors = check_rewound(versions_by_key(run_mc(base, ["ls", "--versions", "--recursive", target + "/"])),
                                   at, plan)
        except McError as exc:
            errors = [f"check after the rewind: {exc}"]
    result["seconds"] = round(time.monotonic() - started, 3)
    if errors:
        module.fail_json(msg=f"bucket {p['bucket']}: {len(errors)} problem(s) rewinding to {result['at']}: "
                         + "; ".join(errors[:10]), errors=errors, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
