#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Converge every space's bucket, user and policy on a MinIO deployment in one task."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_minio_spaces
short_description: Converge the S3 side of every space (bucket, versioning, quota, user, policy) in one task
description:
  - Set-based, it reads the whole deployment once (C(mc admin cluster iam export), C(mc admin cluster bucket export),
    C(mc ls)), compares it with the spaces given, and runs C(mc) only for what differs, several spaces in parallel.
  - Per active space, converges a bucket with versioning and a hard quota, a user (access key) with the space's
    secret key, and a policy of the same name as the user that allows object work in that bucket only (no bucket
    creation, no bucket configuration), attached to that user and to nothing else.
  - A disabled space keeps everything, its user is disabled. An absent space loses its user and policy; its bucket
    is removed only with O(remove_buckets=true), otherwise it is kept and listed in RV(kept_buckets).
  - Secret rotation is detected exactly, because the IAM export of an administrator carries each user's secret key, which
    is compared in memory (never returned, logged or written to disk outside a private temporary directory).
  - Secrets reach C(mc) on standard input, never on a command line. All writes use the regular admin and S3 APIs,
    so site replication carries them to the other sites.
  - Per active or disabled space, converges on every site of O(lifecycle_aliases) the bucket's lifecycle (ILM) -
    with O(restore_window_days) > 0, exactly one rule, C(nuagerie-restore-window), that expires noncurrent versions
    O(restore_window_days) days after they stopped being current and removes expired delete markers (what keeps a
    space restorable to any moment of the window, see C(nuagerie_minio_rewind)); with 0, no lifecycle (every version
    kept forever). Site replication does not carry lifecycle rules unless ILM expiry replication was asked for, so
    each site gets its own; the state is read from each site's bucket metadata export (one call per site), and a
    site that cannot be read is skipped with a warning (its rules are converged by the next run).
  - Supports check mode and diff mode. Reports C(changed) only when something was (or would be) changed.
  - Runs on a host where C(mc) has an alias with administrator credentials for the deployment.
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
  spaces:
    description: The desired spaces (see the C(nuagerie_minio_space_specs) filter).
    type: list
    elements: dict
    required: true
    suboptions:
      slug: {description: Space slug (reports only)., type: str, required: true}
      bucket: {description: Bucket name., type: str, required: true}
      access_key: {description: User (access key) name; also the policy name., type: str, required: true}
      secret_key: {description: Secret key of the user (8 to 40 characters; never logged)., type: str, required: true}
      quota_bytes: {description: Hard bucket quota in bytes; 0 removes the quota., type: int, required: true}
      state: {description: Space state., type: str, choices: [active, disabled, absent], default: active}
      versioning: {description: Whether the bucket has versioning enabled., type: bool, default: true}
  remove_buckets:
    description: Remove the buckets of absent spaces, with every object and version in them.
    type: bool
    default: false
  restore_window_days:
    description: Days a noncurrent version is kept after it stopped being current (the restore window); 0 removes
      the lifecycle rule, keeping every version forever.
    type: int
    default: 0
  lifecycle_aliases:
    description: The C(mc) aliases of the sites whose buckets get the lifecycle rule; empty means O(alias) only.
    type: list
    elements: str
    default: []
  parallel:
    description: How many spaces are changed at the same time.
    type: int
    default: 8
  managed_prefix:
    description: Users, policies and buckets starting with this prefix are the farm's; those of no space given are
      reported in RV(unknown) (never removed).
    type: str
    default: nc-
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One line per space that changes - bucket, versioning, quota, user status, policy,
      attachments and lifecycle per site before and after; the secret only as C(current) or C(other).
author: Nuagerie
"""

EXAMPLES = r"""
- name: spaces | Converge every space's bucket, user and policy
  nuagerie_minio_spaces:
    alias: nuagerie
    spaces: "{{ nuagerie_spaces | nuagerie_space_secrets(nuagerie_master_key) | nuagerie_minio_space_specs }}"
"""

RETURN = r"""
created: {description: Slugs of spaces whose bucket or user was created., type: list, elements: str, returned: always}
updated: {description: Slugs of existing spaces where something was changed., type: list, elements: str, returned: always}
removed: {description: "Slugs of absent spaces whose user, policy or bucket was removed.", type: list, elements: str,
          returned: always}
kept_buckets: {description: Buckets of absent spaces kept because O(remove_buckets) is false., type: list, elements: str,
               returned: always}
unknown:
  description: Managed-prefix (O(managed_prefix)) C(users), C(policies) and C(buckets) that belong to no space given.
  type: dict
  returned: always
  contains:
    users: {description: User names., type: list, elements: str, returned: always}
    policies: {description: Policy names., type: list, elements: str, returned: always}
    buckets: {description: Bucket names., type: list, elements: str, returned: always}
lifecycle_unread: {description: "Aliases of O(lifecycle_aliases) whose state could not be read (skipped).", type: list,
                   elements: str, returned: always}
actions: {description: Number of mc calls made (or that would be made in check mode)., type: int, returned: always}
spaces: {description: Number of spaces given., type: int, returned: always}
errors: {description: One message per space whose mc calls failed., type: list, elements: str, returned: failure}
"""

import json
import os
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

#: Actions a space's user may do on its bucket, and on the objects in it. No CreateBucket,
#: no bucket policy/versioning/lifecycle changes: Nextcloud only needs object work.
BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"]
OBJECT_ACTIONS = [
    "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject",
    "s3:GetObjectVersion", "s3:ListMultipartUploadParts", "s3:PutObject",
]


def policy_document(bucket):
    """The IAM policy of a space: object work in its own bucket only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": BUCKET_ACTIONS, "Resource": [f"arn:aws:s3:::{bucket}"]},
            {"Effect": "Allow", "Action": OBJECT_ACTIONS, "Resource": [f"arn:aws:s3:::{bucket}/*"]},
        ],
    }


def _as_list(value):
    if value is None:
        return []
    return sorted(value) if isinstance(value, list) else [value]


def canonical_policy(doc):
    """Order-free form of a policy document, to compare what MinIO returns with what is wanted."""
    if not doc:
        return None
    statements = []
    for st in doc.get("Statement") or []:
        statements.append(json.dumps({
            "Effect": st.get("Effect"),
            "Action": _as_list(st.get("Action")),
            "NotAction": _as_list(st.get("NotAction")),
            "Resource": _as_list(st.get("Resource")),
            "NotResource": _as_list(st.get("NotResource")),
            "Condition": st.get("Condition") or {},
        }, sort_keys=True))
    return sorted(statements)


#: The one lifecycle rule of every space's bucket (see lifecycle_document).
LIFECYCLE_RULE_ID = "nuagerie-restore-window"


def lifecycle_document(window_days):
    """The lifecycle (``mc ilm import`` JSON) of a space's bucket, or None for no lifecycle (window 0).

    Noncurrent versions expire ``window_days`` days after they stopped being current (MinIO counts from the
    successor's time and rounds up to the next midnight UTC), and a delete marker left alone once every older
    version expired is removed: any moment of the last ``window_days`` days can be restored.
    """
    if window_days <= 0:
        return None
    return {"Rules": [{"ID": LIFECYCLE_RULE_ID, "Status": "Enabled",
                       "Expiration": {"ExpiredObjectDeleteMarker": True},
                       "NoncurrentVersionExpiration": {"NoncurrentDays": int(window_days)}}]}


def _leaves(node, path=""):
    """(path, text) of every leaf of a JSON-like dict, booleans as lower-case text, empty values dropped."""
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{path}/{key}" if path else key)]
    text = str(node).lower() if isinstance(node, bool) else str(node)
    return [(path, text)] if text != "" else []


def canonical_lifecycle_json(doc):
    """Order-free form of a lifecycle given as ``mc ilm`` JSON: a sorted list of rules, each a sorted leaf list."""
    if not doc or not doc.get("Rules"):
        return None
    return sorted(sorted(_leaves(rule)) for rule in doc["Rules"])


def _xml_leaves(elem, path=""):
    """(path, text) of every leaf element below ``elem`` (namespaces dropped, empty leaves dropped)."""
    leaves = []
    for child in elem:
        tag = child.tag.rsplit("}", 1)[-1]
        sub = f"{path}/{tag}" if path else tag
        if len(child):
            leaves.extend(_xml_leaves(child, sub))
        elif (child.text or "").strip():
            text = child.text.strip()
            leaves.append((sub, text.lower() if text.lower() in ("true", "false") else text))
    return leaves


def canonical_lifecycle_xml(data):
    """The form of :func:`canonical_lifecycle_json` for a bucket's stored ``lifecycle.xml`` (None when empty)."""
    if not data or not data.strip():
        return None
    root = ET.fromstring(data)
    rules = [sorted(_xml_leaves(rule)) for rule in root if rule.tag.rsplit("}", 1)[-1] == "Rule"]
    return sorted(rules) or None


def lifecycle_status(current, window_days):
    """``current``, ``absent`` or ``other``: a bucket's lifecycle (canonical form) against the wanted one."""
    if current == canonical_lifecycle_json(lifecycle_document(window_days)):
        return "current"
    return "absent" if current is None else "other"


class McError(Exception):
    """An mc call failed; the message never contains a secret."""


class Mc:
    """Thin runner of mc with --json (secrets only ever on stdin)."""

    def __init__(self, module, path, config_dir, alias):
        self.module = module
        self.base = [path, "--json", "--no-color", "--quiet"]
        if config_dir:
            self.base += ["--config-dir", config_dir]
        self.alias = alias

    def run(self, args, stdin=None, cwd=None, ok_codes=()):
        """Run mc; returns the list of JSON lines; raises McError with mc's own message."""
        cmd = self.base + list(args)
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise McError(f"mc {' '.join(args[:3])}: {exc}") from None
        lines = []
        for line in proc.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        if proc.returncode != 0:
            for item in lines:
                if item.get("status") == "error":
                    err = item.get("error") or {}
                    code = ((err.get("cause") or {}).get("error") or {}).get("Code", "")
                    if code in ok_codes:
                        return lines
                    cause = (err.get("cause") or {}).get("message", "")
                    raise McError(f"mc {' '.join(args[:4])}: {err.get('message', '')} {cause} [{code}]".strip())
            raise McError(f"mc {' '.join(args[:4])}: exit {proc.returncode}: {proc.stderr.strip()[:500]}")
        return lines

    def export(self, kind, workdir, alias=None):
        """Run `mc admin cluster <kind> export` (of ``alias``, default this alias) in workdir; return the opened zip."""
        lines = self.run(["admin", "cluster", kind, "export", alias or self.alias], cwd=workdir)
        name = next((item["file"] for item in lines if "file" in item), None)
        if not name:
            raise McError(f"mc admin cluster {kind} export: no file reported")
        return zipfile.ZipFile(os.path.join(workdir, name))


def read_state(mc, workdir, lifecycle_aliases=()):
    """Read users (with secrets), policies, mappings, buckets, versioning, quotas and lifecycles in three calls,
    plus one bucket metadata export per other site of ``lifecycle_aliases`` (for their lifecycles only).

    ``state["lifecycle"]`` maps each alias read to {bucket: canonical lifecycle}; the aliases whose export
    failed are in ``state["lifecycle_unread"]``.
    """
    sites = list(dict.fromkeys(lifecycle_aliases or [mc.alias]))
    others = [a for a in sites if a != mc.alias]
    with ThreadPoolExecutor(max_workers=3 + len(others)) as pool:
        iam_f = pool.submit(mc.export, "iam", workdir)
        meta_f = pool.submit(mc.export, "bucket", workdir)
        ls_f = pool.submit(mc.run, ["ls", mc.alias + "/"])
        other_f = {a: pool.submit(mc.export, "bucket", workdir, a) for a in others}
        iam, meta, listing = iam_f.result(), meta_f.result(), ls_f.result()
        site_meta, unread = ({mc.alias: meta} if mc.alias in sites else {}), []
        for alias, future in other_f.items():
            try:
                site_meta[alias] = future.result()
            except McError:
                unread.append(alias)

    def load(zf, name, default):
        try:
            return json.loads(zf.read(name) or b"null") or default
        except KeyError:
            return default

    state = {
        "users": load(iam, "iam-assets/users.json", {}),
        "policies": load(iam, "iam-assets/policies.json", {}),
        "mappings": {u: [p for p in (m.get("policy") or "").split(",") if p]
                     for u, m in load(iam, "iam-assets/user_mappings.json", {}).items()},
        "buckets": {item["key"].rstrip("/") for item in listing if item.get("type") == "folder"},
        "versioning": {},
        "quota": {},
        "lifecycle": {},
        "lifecycle_unread": unread,
    }
    for alias, zf in site_meta.items():
        state["lifecycle"][alias] = {name.partition("/")[0]: canonical_lifecycle_xml(zf.read(name))
                                     for name in zf.namelist() if name.partition("/")[2] == "lifecycle.xml"}
    for alias, zf in site_meta.items():
        if zf is not meta:
            zf.close()
    for name in meta.namelist():
        bucket, _, leaf = name.partition("/")
        if leaf == "versioning.xml":
            state["versioning"][bucket] = b"<Status>Enabled</Status>" in meta.read(name)
        elif leaf == "quota.json":
            quota = json.loads(meta.read(name) or b"{}")
            state["quota"][bucket] = int(quota.get("quota") or quota.get("size") or 0)
    iam.close()
    meta.close()
    return state


def plan_space(space, state, remove_buckets, window_days=0):
    """Return (actions, before, after) for one space; actions are (label, mc args, stdin-or-None, ok_codes).

    ``window_days`` is the restore window of the bucket's lifecycle, converged on every site of
    ``state["lifecycle"]`` (see :func:`lifecycle_document`).
    """
    bucket, user, secret = space["bucket"], space["access_key"], space["secret_key"]
    have_bucket = bucket in state["buckets"]
    have_user = user in state["users"]
    have_policy = user in state["policies"]
    before = {
        "bucket": "present" if have_bucket else "absent",
        "versioning": state["versioning"].get(bucket, False) if have_bucket else None,
        "quota_bytes": state["quota"].get(bucket, 0) if have_bucket else None,
        "user": (state["users"][user].get("status", "enabled") if have_user else "absent"),
        "secret": ("current" if have_user and state["users"][user].get("secretKey") == secret
                   else ("other" if have_user else None)),
        "policy": ("current" if have_policy and canonical_policy(state["policies"][user])
                   == canonical_policy(policy_document(bucket)) else ("other" if have_policy else "absent")),
        "attached": sorted(state["mappings"].get(user, [])),
        "lifecycle": {site: lifecycle_status(buckets.get(bucket) if have_bucket else None, window_days)
                      for site, buckets in sorted((state.get("lifecycle") or {}).items())},
    }
    actions = []
    if space["state"] == "absent":
        after = dict(before, user="absent", secret=None, policy="absent", attached=[])
        if have_user:
            actions.append(("remove user", ["admin", "user", "rm", "{alias}", user], None, ("XMinioAdminNoSuchUser",)))
        if have_policy:
            actions.append(("remove policy", ["admin", "policy", "rm", "{alias}", user], None, ("XMinioAdminNoSuchPolicy",)))
        if have_bucket and remove_buckets:
            # Every object version first, then the empty bucket: MinIO refuses a forced bucket
            # delete (`rb --force` on a bucket with objects) once site replication has given the
            # bucket its replication rules (MethodNotAllowed, cmd/bucket-handlers.go).
            actions.append(("remove objects", ["rm", "--recursive", "--versions", "--force", "{alias}/" + bucket],
                            None, ("NoSuchBucket",)))
            actions.append(("remove bucket", ["rb", "{alias}/" + bucket], None, ("NoSuchBucket",)))
            after.update(bucket="absent", versioning=None, quota_bytes=None)
        return actions, before, after

    want_status = "enabled" if space["state"] == "active" else "disabled"
    after = {
        "bucket": "present",
        "versioning": bool(space["versioning"]) or bool(before["versioning"]),
        "quota_bytes": int(space["quota_bytes"]),
        "user": want_status,
        "secret": "current",
        "policy": "current",
        "attached": [user],
        "lifecycle": {site: "current" for site in before["lifecycle"]},
    }
    if not have_bucket:
        args = ["mb", "--ignore-existing"] + (["--with-versioning"] if space["versioning"] else []) + ["{alias}/" + bucket]
        actions.append(("create bucket", args, None, ()))
    elif space["versioning"] and not before["versioning"]:
        actions.append(("enable versioning", ["version", "enable", "{alias}/" + bucket], None, ()))
    if before["quota_bytes"] != after["quota_bytes"]:
        if after["quota_bytes"] > 0:
            actions.append(("set quota", ["quota", "set", "{alias}/" + bucket, "--size", str(after["quota_bytes"])], None, ()))
        elif have_bucket:
            actions.append(("clear quota", ["quota", "clear", "{alias}/" + bucket], None, ()))
    document = lifecycle_document(window_days)
    for site, status in before["lifecycle"].items():
        if status == "current":
            continue
        if document:
            actions.append(("set lifecycle", ["ilm", "import", f"{site}/{bucket}"], json.dumps(document), ()))
        else:
            actions.append(("remove lifecycle", ["ilm", "rule", "rm", "--all", "--force", f"{site}/{bucket}"], None,
                            ("NoSuchLifecycleConfiguration",)))
    if before["policy"] != "current":
        actions.append(("write policy", ["admin", "policy", "create", "{alias}", user, "{policy_file}"],
                        json.dumps(policy_document(bucket)), ()))
    if before["secret"] != "current":
        # `mc admin user add` reads the secret from stdin when it is not on the command line.
        actions.append(("set user", ["admin", "user", "add", "{alias}", user], secret + "\n", ()))
    # (Re-)adding a user enables it. MinIO refuses to attach or detach policies of a disabled
    # user ("user does not exist"), so such a user is enabled for the change and the wanted
    # status is set last.
    status = "enabled" if before["secret"] != "current" else before["user"]
    mapping = []
    if user not in before["attached"]:
        mapping.append(("attach policy", ["admin", "policy", "attach", "{alias}", user, "--user", user], None, ()))
    for other in before["attached"]:
        if other != user:
            mapping.append(("detach policy", ["admin", "policy", "detach", "{alias}", other, "--user", user], None, ()))
    if mapping and status == "disabled":
        actions.append(("enable user", ["admin", "user", "enable", "{alias}", user], None, ()))
        status = "enabled"
    actions.extend(mapping)
    if status != want_status:
        actions.append((f"{want_status[:-1]} user", ["admin", "user", want_status[:-1], "{alias}", user], None, ()))
    return actions, before, after


# Steps MinIO may answer too early, each with the error that says so, are tried again a few
# times with a growing wait; any other error, or the same one after the last try, stands.
# - A user just added may not be visible yet to the next admin call (seen once in CI: "attach
#   policy ... XMinioAdminNoSuchUser" right after "set user" on a 4-node site).
# - A bucket emptied with `rm --versions` may still be refused by `rb` (seen once in CI:
#   BucketNotEmpty "You must delete all versions" right after the rm on a site-replicated
#   bucket): the deletes of versions are replicated to the other site asynchronously.
IAM_LAG_STEPS = ("attach policy", "detach policy", "enable user")
IAM_LAG_ERROR = "XMinioAdminNoSuchUser"
IAM_LAG_TRIES = 5
IAM_LAG_DELAY = 1.0
PURGE_LAG_STEP = "remove bucket"
PURGE_LAG_ERROR = "BucketNotEmpty"
PURGE_LAG_TRIES = 8   # waits 1 + 2 + ... + 7 = 28 s at most


def lag_retry(label):
    """The (error, tries) with which step ``label`` is tried again, or (None, 1)."""
    if label in IAM_LAG_STEPS:
        return IAM_LAG_ERROR, IAM_LAG_TRIES
    if label == PURGE_LAG_STEP:
        return PURGE_LAG_ERROR, PURGE_LAG_TRIES
    return None, 1


def run_mc_step(mc, label, args, stdin, ok_codes, sleep=time.sleep):
    """Run one mc step; retry it while it fails with its lag error (see lag_retry; raises McError)."""
    error, tries = lag_retry(label)
    for attempt in range(1, tries + 1):
        try:
            return mc.run(args, stdin=stdin, ok_codes=ok_codes)
        except McError as exc:
            if attempt == tries or error not in str(exc):
                raise
            sleep(IAM_LAG_DELAY * attempt)


def run_actions(mc, workdir, space, actions, sleep=time.sleep):
    """Run one space's actions in order; return an error message or None."""
    for label, args, stdin, ok_codes in actions:
        args = [a.replace("{alias}", mc.alias) for a in args]
        if "{policy_file}" in args:
            fd, path = tempfile.mkstemp(dir=workdir, suffix=".json")
            with os.fdopen(fd, "w") as handle:
                handle.write(stdin)
            args = [path if a == "{policy_file}" else a for a in args]
            stdin = None
        try:
            run_mc_step(mc, label, args, stdin, ok_codes, sleep=sleep)
        except McError as exc:
            return f"space {space['slug']}: {label}: {exc}"
    return None


def main():
    module = AnsibleModule(
        argument_spec={
            "alias": {"type": "str", "required": True},
            "mc_path": {"type": "path", "default": "/usr/local/bin/mc"},
            "mc_config_dir": {"type": "path"},
            "spaces": {
                "type": "list", "elements": "dict", "required": True,
                "options": {
                    "slug": {"type": "str", "required": True},
                    "bucket": {"type": "str", "required": True},
                    "access_key": {"type": "str", "required": True},
                    "secret_key": {"type": "str", "required": True, "no_log": True},
                    "quota_bytes": {"type": "int", "required": True},
                    "state": {"type": "str", "choices": ["active", "disabled", "absent"], "default": "active"},
                    "versioning": {"type": "bool", "default": True},
                },
            },
            "remove_buckets": {"type": "bool", "default": False},
            "restore_window_days": {"type": "int", "default": 0},
            "lifecycle_aliases": {"type": "list", "elements": "str", "default": []},
            "parallel": {"type": "int", "default": 8},
            "managed_prefix": {"type": "str", "default": "nc-"},
        },
        supports_check_mode=True,
    )
    p = module.params
    spaces = p["spaces"]
    for key in ("bucket", "access_key"):
        seen = {}
        for space in spaces:
            if space[key] in seen:
                module.fail_json(msg=f"spaces {seen[space[key]]} and {space['slug']} share the {key} {space[key]}")
            seen[space[key]] = space["slug"]
    if p["restore_window_days"] < 0:
        module.fail_json(msg="restore_window_days must be 0 (keep every version) or a number of days")
    for space in spaces:
        if space["state"] != "absent" and not 8 <= len(space["secret_key"]) <= 40:
            module.fail_json(msg=f"space {space['slug']}: MinIO secret keys have 8 to 40 characters")

    mc = Mc(module, p["mc_path"], p["mc_config_dir"], p["alias"])
    result = {"changed": False, "created": [], "updated": [], "removed": [], "kept_buckets": [],
              "actions": 0, "spaces": len(spaces)}
    diff_before, diff_after = [], []
    with tempfile.TemporaryDirectory(prefix="nuagerie-minio-") as workdir:  # 0700: the IAM export holds secrets
        try:
            state = read_state(mc, workdir, p["lifecycle_aliases"])
        except McError as exc:
            module.fail_json(msg=f"cannot read the deployment's state: {exc}", **result)
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))  # drop the exports (secrets) as soon as they are parsed

        work = []
        for space in spaces:
            actions, before, after = plan_space(space, state, p["remove_buckets"], p["restore_window_days"])
            if space["state"] == "absent" and before["bucket"] == "present" and not p["remove_buckets"]:
                result["kept_buckets"].append(space["bucket"])
            if not actions:
                continue
            work.append((space, actions))
            result["actions"] += len(actions)
            if space["state"] == "absent":
                result["removed"].append(space["slug"])
            elif before["bucket"] == "absent" or before["user"] == "absent":
                result["created"].append(space["slug"])
            else:
                result["updated"].append(space["slug"])
            label = f"{space['slug']} ({space['bucket']}, {space['access_key']})"
            diff_before.append(f"{label}: {json.dumps(before, sort_keys=True)}\n")
            diff_after.append(f"{label}: {json.dumps(after, sort_keys=True)}\n")

        wanted = {s["bucket"] for s in spaces} | {s["access_key"] for s in spaces}
        prefix = p["managed_prefix"]
        result["unknown"] = {
            kind: sorted(n for n in names if prefix and n.startswith(prefix) and n not in wanted)
            for kind, names in (("users", state["users"]), ("policies", state["policies"]), ("buckets", state["buckets"]))
        }
        result["lifecycle_unread"] = state["lifecycle_unread"]
        for alias in state["lifecycle_unread"]:
            module.warn(f"site {alias}: bucket metadata unreadable, its buckets' lifecycle is left as it is this run")
        result["changed"] = bool(work)
        if module._diff:
            result["diff"] = {"before": "".join(diff_before), "after": "".join(diff_after)}
        if work and not module.check_mode:
            with ThreadPoolExecutor(max_workers=max(1, p["parallel"])) as pool:
                errors = [e for e in pool.map(lambda w: run_actions(mc, workdir, w[0], w[1]), work) if e]
            if errors:
                module.fail_json(msg=f"{len(errors)} space(s) failed: " + "; ".join(errors[:20]), errors=errors, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
