#!/usr/bin/python
"""Module ``nuagerie_nextcloud_spaces``: the occ steps of every space, in bounded parallel.

Runs on the first web host. The desired state of each space comes from the filter
``nuagerie_nextcloud_occ_spaces`` (``filter_plugins/nuagerie_nextcloud_occ.py``).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_nextcloud_spaces
short_description: Install and configure every space's Nextcloud with occ, a few spaces at a time
description:
  - For each C(active) space, in up to C(parallelism) parallel workers, makes occ state match the
    desired state - C(maintenance:install) if not installed (after checking its database holds
    no installation), C(upgrade) if the release changed, C(app:enable)/C(app:disable) of the
    farm's app set and office app, and C(config:import) of the app values that differ (from a
    file in the space's tmp dir; upstream reads stdin non-blocking).
  - A per-space stamp (C(state_dir)/<slug>.json, root only) records what was applied; a space
    whose stamp matches its desired state is not probed at all, so an unchanged farm costs no
    occ run (C(verify=true) probes every space anyway, e.g. to repair manual changes).
  - C(disabled) spaces get no occ run (their database role cannot log in); C(absent) spaces lose
    their stamp and hand-over file. The other tiers remove everything else.
  - One space failing does not stop the others; it is reported in C(failed_spaces) and the
    module itself succeeds, so the play can sync what worked and then fail with a summary. A
    re-run retries exactly the spaces whose stamp is missing or stale.
  - C(mode=office_check) runs each active space's office check instead (Collabora -
    C(richdocuments:activate-config), which fetches the server's discovery; OnlyOffice -
    C(onlyoffice:documentserver --check)) and reports the spaces whose suite does not answer.
  - C(mode=drift) reads each selected active space with ONE C(occ config:list --private
    --output=json) (system config as Nextcloud reads it, every app value, each app's C(enabled)
    key) and reports what differs from the desired state (C(system) from the filter
    C(nuagerie_nextcloud_drift_spaces)); it changes nothing, in check mode too, and ignores the stamps.
  - C(mode=plan), and check mode, only classify spaces from their stamps (create, change, enable,
    disable, delete, pending, unchanged) and change nothing.
options:
  spaces:
    description: Desired states (filter C(nuagerie_nextcloud_occ_spaces)); hold secrets.
    type: list
    elements: dict
    required: true
  mode:
    description: C(plan) classifies only; C(apply) converges; C(office_check) checks the office
      wiring; C(drift) reports what differs from the desired state.
    type: str
    choices: [plan, apply, office_check, drift]
    default: apply
  selection:
    description: True when C(spaces) is a selection of the catalogue (-e spaces=...); stamps of
      other spaces are then not reported as unknown.
    type: bool
    default: false
  occ:
    description: The occ wrapper (C(<occ> <slug> <arguments>)).
    type: path
    required: true
  spaces_root:
    description: Parent of every space's directory (config.php is hashed for the frontends' sync).
    type: path
    required: true
  state_dir:
    description: Where the per-space stamps are kept.
    type: path
    default: /var/lib/nuagerie/nextcloud-spaces
  handover_dir:
    description: Where each new space's first-account credentials are written (root only).
    type: path
    default: /var/lib/nuagerie/handover
  parallelism:
    description: Spaces converged at once.
    type: int
    default: 4
  timeout:
    description: Seconds one occ command may run.
    type: int
    default: 900
  verify:
    description: Probe every active space with occ even when its stamp matches.
    type: bool
    default: false
  db_ssl_mode:
    description: libpq sslmode of the database probe run before an install ("" = none).
    type: str
    default: ""
  db_ssl_rootcert:
    description: CA file of that probe.
    type: str
    default: ""
  db_table_prefix:
    description: Nextcloud's table prefix (the probe looks for C(<prefix>appconfig)).
    type: str
    default: oc_
attributes:
  check_mode:
    support: full
    details: In check mode, O(mode=apply) only classifies the spaces from their stamps, like O(mode=plan).
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: spaces | Install and configure every active space
  nuagerie_nextcloud_spaces:
    spaces: "{{ nuagerie_spaces | nuagerie_nextcloud_occ_spaces(__nextcloud_occ_settings, nextcloud_master_key) }}"
    occ: /usr/local/bin/nuagerie-occ
    spaces_root: /srv/nextcloud/spaces
  no_log: true
"""

RETURN = r"""
plan:
  description:
    - Slugs by class - C(create), C(change), C(enable), C(disable), C(delete), C(pending),
      C(unchanged), C(unknown) (stamps of spaces not given; empty when O(selection=true)).
  type: dict
  returned: always
outcomes:
  description:
    - Slugs by what happened (or, in plan and check mode, would happen) - C(created),
      C(changed), C(enabled), C(disabled), C(deleted), C(unchanged), C(pending), C(failed).
  type: dict
  returned: always
failed_spaces:
  description:
    - 'Slug -> "<step> (<exit code>): <last lines of output>", secrets redacted.'
    - With O(mode=office_check), the spaces whose office suite does not answer.
  type: dict
  returned: always
steps:
  description: Slug -> occ steps run (install, upgrade, apps, app values), for spaces that changed.
  type: dict
  returned: always
config_php:
  description: Slug -> sha256 of the space's C(config.php) on this host (installed spaces).
  type: dict
  returned: always
drift:
  description: With O(mode=drift), slug -> what differs (secret values never shown).
  type: dict
  returned: when O(mode=drift)
checked:
  description: With O(mode=drift), the number of spaces read.
  type: int
  returned: when O(mode=drift)
occ_calls:
  description: With O(mode=drift), the number of occ commands run (one per active space).
  type: int
  returned: when O(mode=drift)
seconds:
  description: Wall time of the occ work (0 in plan and check mode).
  type: float
  returned: always
"""

import concurrent.futures
import datetime
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time

from ansible.module_utils.basic import AnsibleModule

STAMP_FORMAT = 1
PLAN_CLASSES = ("create", "change", "enable", "disable", "delete", "pending", "unchanged", "unknown")
OUTCOMES = ("created", "changed", "enabled", "disabled", "deleted", "unchanged", "pending", "failed")

# Reads whether the database already holds a Nextcloud installation (its appconfig table).
_PROBE_PHP = r"""
try {
    $pdo = new PDO(getenv('NC_DSN'), getenv('NC_USER'), getenv('NC_PASS'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $n = $pdo->query("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = " . $pdo->quote(getenv('NC_TABLE')))->fetchColumn();
    echo $n > 0 ? "installed\n" : "empty\n";
} catch (PDOException $e) {
    fwrite(STDERR, "database refused: " . $e->getMessage() . "\n");
    exit(3);
}
"""


class SpaceError(Exception):
    """One space's step failed."""

    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step


def classify(space: dict, stamp: dict | None) -> str:
    """Plan class of one space, from its desired state and its stamp.

    :returns: one of :data:`PLAN_CLASSES`.
    """
    state = space["state"]
    if state == "absent":
        return "delete" if stamp else "unchanged"
    if state == "disabled":
        if not stamp:
            return "pending"
        if stamp.get("state") == "active":
            return "disable"
        return "unchanged" if stamp.get("record_hash") == space["record_hash"] else "change"
    if not stamp or not stamp.get("installed"):
        return "create"
    if stamp.get("state") != "active":
        return "enable"
    if stamp.get("record_hash") != space["record_hash"] or stamp.get("desired_hash") != space["desired_hash"]:
        return "change"
    return "unchanged"


def stamp_matches(space: dict, stamp: dict | None) -> bool:
    """Whether the occ state recorded for a space is the desired one (no occ run needed)."""
    return bool(stamp and stamp.get("installed") and stamp.get("format") == STAMP_FORMAT
                and stamp.get("desired_hash") == space["desired_hash"]
                and stamp.get("release") == space["release"])


def app_value_diff(current: dict, desired: dict) -> dict:
    """App values to import: desired values that differ, and keys to delete that exist.

    :param current: ``{app: {key: value}}`` as ``occ config:list`` reports them.
    :param desired: ``{app: {key: str | None}}`` (None: the key must not exist).
    :returns: ``{app: {key: value | None}}``, empty when nothing differs.
    """
    diff: dict = {}
    for app, values in desired.items():
        have = current.get(app) or {}
        for key, value in values.items():
            if value is None:
                if key in have:
                    diff.setdefault(app, {})[key] = None
            elif key not in have or str(have[key]) != value:
                diff.setdefault(app, {})[key] = value
    return diff


#: System keys whose values are never shown in a drift report (they hold secrets).
SECRET_SYSTEM_KEYS = frozenset(("dbpassword", "passwordsalt", "secret", "instanceid", "objectstore", "redis",
                                "mail_smtppassword", "mail_smtpname"))


def _same(live: object, want: object) -> bool:
    """Whether a value read back through occ's JSON is the rendered one (PHP's empty array is
    ``[]`` whatever it stands for)."""
    if isinstance(want, dict) and isinstance(live, dict):
        return set(want) == set(live) and all(_same(live[k], want[k]) for k in want)
    if isinstance(want, (list, tuple)) and isinstance(live, (list, tuple)):
        return len(want) == len(live) and all(_same(a, b) for a, b in zip(live, want))
    if isinstance(want, (dict, list, tuple)) and not want:
        return live in ({}, [])
    return live == want and type(live) is type(want)


def _show(value: object) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def space_drift(space: dict, current: dict) -> list:
    """What differs between a space's desired state and ``occ config:list --private`` output.

    :param space: the desired state (``system``, ``apps_enabled``, ``apps_disabled``, ``app_values``).
    :param current: ``{"system": {...}, "apps": {app: {key: value}}}`` (an empty part may be ``[]``).
    :returns: short lines, sorted by kind (system, apps, app values); secrets never shown.
    """
    system = current.get("system") or {}
    apps = current.get("apps") or {}
    if not isinstance(system, dict):
        system = {}
    if not isinstance(apps, dict):
        apps = {}
    apps = {app: (values if isinstance(values, dict) else {}) for app, values in apps.items()}
    out = []
    for key, want in sorted((space.get("system") or {}).items()):
        if key not in system:
            out.append(f"system {key}: missing")
        elif not _same(system[key], want):
            shown = "" if key in SECRET_SYSTEM_KEYS else f" {_show(system[key])} (catalogue: {_show(want)})"
            out.append(f"system {key}: differs{shown}")
    # Upstream keeps an app's state in its `enabled` app value: "yes", a JSON list of groups, or "no".
    enabled = {app for app, values in apps.items() if values.get("enabled", "no") != "no"}
    out.extend(f"app {app}: disabled (catalogue: enabled)" for app in space.get("apps_enabled") or []
               if app not in enabled)
    out.extend(f"app {app}: enabled (catalogue: disabled)" for app in space.get("apps_disabled") or []
               if app in enabled)
    secret_values = set(space.get("secrets") or [])
    for app, values in sorted(app_value_diff(apps, space.get("app_values") or {}).items()):
        for key, want in sorted(values.items()):
            have = apps.get(app, {}).get(key)
            if want is None:
                out.append(f"app value {app}.{key}: set (catalogue: unset)")
            elif have is None:
                out.append(f"app value {app}.{key}: missing")
            elif want in secret_values or have in secret_values:
                out.append(f"app value {app}.{key}: differs")
            else:
                out.append(f"app value {app}.{key}: {_show(have)} (catalogue: {_show(want)})")
    return [redact(line, space.get("secrets", [])) for line in out]


def parse_json(text: str):
    """The JSON document in occ's output (upstream may print notices before it)."""
    for index, char in enumerate(text):
        if char in "{[":
            try:
                return json.JSONDecoder().raw_decode(text[index:])[0]
            except ValueError:
                continue
    raise ValueError(f"no JSON in occ output: {text[:200]!r}")


def redact(text: str, secrets: list) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


class Farm:
    """occ runs and stamp files of one web host."""

    def __init__(self, params: dict):
        self.p = params
        self.occ_calls = 0   # occ processes started (the drift figure: counted, not assumed)
        self._calls_lock = threading.Lock()

    # -- stamps
    def stamp_path(self, slug: str) -> str:
        return os.path.join(self.p["state_dir"], f"{slug}.json")

    def read_stamp(self, slug: str) -> dict | None:
        try:
            with open(self.stamp_path(slug), encoding="utf-8") as handle:
                return json.load(handle)
        except (FileNotFoundError, ValueError):
            return None

    def stamps_on_disk(self) -> set:
        try:
            return {name[:-5] for name in os.listdir(self.p["state_dir"]) if name.endswith(".json")}
        except FileNotFoundError:
            return set()

    @staticmethod
    def _write_private(path: str, text: str) -> None:
        directory = os.path.dirname(path)
        os.makedirs(directory, 0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            os.write(fd, text.encode("utf-8"))
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def write_stamp(self, space: dict, state: str, installed: bool, desired_hash: str | None) -> None:
        stamp = {"format": STAMP_FORMAT, "slug": space["slug"], "state": state, "installed": installed,
                 "release": space["release"], "record_hash": space["record_hash"],
                 "desired_hash": desired_hash,
                 "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        self._write_private(self.stamp_path(space["slug"]), json.dumps(stamp, sort_keys=True) + "\n")

    def remove_private(self, slug: str) -> bool:
        removed = False
        for path in (self.stamp_path(slug), os.path.join(self.p["handover_dir"], f"{slug}.txt")):
            if os.path.exists(path):
                os.unlink(path)
                removed = True
        return removed

    # -- occ
    def occ(self, space: dict, step: str, *args: str, stdin: str | None = None) -> str:
        with self._calls_lock:
            self.occ_calls += 1
        try:
            proc = subprocess.run([self.p["occ"], space["slug"], *args], input=stdin, capture_output=True,
                                  text=True, timeout=self.p["timeout"], check=False)
        except subprocess.TimeoutExpired:
            raise SpaceError(step, f"occ {args[0]} ran over {self.p['timeout']} s") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-6:])
            raise SpaceError(step, f"occ {args[0]} exited {proc.returncode}: "
                                   f"{redact(tail, space.get('secrets', []))}")
        return proc.stdout

    def import_app_values(self, space: dict, values: dict) -> None:
        """``occ config:import <file>``: upstream reads stdin non-blocking (racy), so a file, in the
        space's own tmp dir, readable by the web user only (it may hold the JWT secret)."""
        tmp_dir = os.path.join(self.p["spaces_root"], space["slug"], "tmp")
        owner = os.stat(tmp_dir)
        fd, path = tempfile.mkstemp(dir=tmp_dir, prefix=".nuagerie-import-", suffix=".json")
        try:
            try:
                os.write(fd, json.dumps({"apps": values}).encode("utf-8"))
                os.fchmod(fd, 0o600)
                os.fchown(fd, owner.st_uid, owner.st_gid)
            finally:
                os.close(fd)
            self.occ(space, "app values", "config:import", path)
        finally:
            os.unlink(path)

    def database_installed(self, space: dict) -> bool:
        inst = space["install"]
        dsn = f"pgsql:host={inst['db_host']};port={inst['db_port']};dbname={inst['db_name']}"
        if self.p["db_ssl_mode"]:
            dsn += f";sslmode={self.p['db_ssl_mode']}"
            if self.p["db_ssl_rootcert"]:
                dsn += f";sslrootcert={self.p['db_ssl_rootcert']}"
        env = {"PATH": "/usr/bin:/bin", "NC_DSN": dsn, "NC_USER": inst["db_user"], "NC_PASS": inst["db_pass"],
               "NC_TABLE": f"{self.p['db_table_prefix']}appconfig"}
        proc = subprocess.run(["php", "-r", _PROBE_PHP], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        if proc.returncode != 0:
            raise SpaceError("database check", redact(proc.stderr.strip() or proc.stdout.strip(),
                                                      space.get("secrets", [])))
        return proc.stdout.strip() == "installed"

    def write_handover(self, space: dict) -> None:
        inst = space["install"]
        self._write_private(os.path.join(self.p["handover_dir"], f"{space['slug']}.txt"), (
            f"Space:            {space['slug']}\n"
            f"URL:              https://{space['domain']}/\n"
            f"First account:    {inst['admin_user']} (e-mail {inst['admin_email']})\n"
            f"Initial password: {inst['admin_pass']}\n\n"
            "Hand this over through a safe channel, then delete this file. The admin should change\n"
            "the password at first login; with the e-mail set, 'Forgot password?' on the login\n"
            "page sends them a reset link too.\n"))

    def converge_active(self, space: dict, stamp: dict | None) -> tuple:
        """Make one active space's occ state the desired one.

        :returns: ``(outcome, steps)``.
        :raises SpaceError: when a step fails.
        """
        if stamp_matches(space, stamp) and not self.p["verify"]:
            if stamp.get("state") != "active" or stamp.get("record_hash") != space["record_hash"]:
                self.write_stamp(space, "active", True, space["desired_hash"])
            return ("enabled" if stamp.get("state") != "active" else "unchanged"), []
        steps = []
        status = parse_json(self.occ(space, "status", "status", "--output=json"))
        if not status.get("installed"):
            if self.database_installed(space):
                raise SpaceError("install", f"database {space['install']['db_name']} already holds a Nextcloud "
                                            "installation but this host's config.php says it is not installed: "
                                            "restore config/config.php of this space (another frontend or the "
                                            "backup) instead of installing over it")
            inst = space["install"]
            self.occ(space, "install", "maintenance:install", "--database=pgsql",
                     f"--database-host={inst['db_host']}", f"--database-port={inst['db_port']}",
                     f"--database-name={inst['db_name']}", f"--database-user={inst['db_user']}",
                     f"--database-pass={inst['db_pass']}", f"--admin-user={inst['admin_user']}",
                     f"--admin-pass={inst['admin_pass']}", f"--admin-email={inst['admin_email']}",
                     f"--data-dir={inst['data_dir']}")
            self.write_handover(space)
            steps.append("install")
        elif status.get("needsDbUpgrade"):
            self.occ(space, "upgrade", "upgrade")
            steps.append("upgrade")
        apps = parse_json(self.occ(space, "apps", "app:list", "--output=json"))
        enabled = set((apps.get("enabled") or {}).keys())
        to_enable = [app for app in space["apps_enabled"] if app not in enabled]
        to_disable = [app for app in space["apps_disabled"] if app in enabled]
        if to_enable:
            self.occ(space, "apps", "app:enable", *to_enable)
        if to_disable:
            self.occ(space, "apps", "app:disable", *to_disable)
        if to_enable or to_disable:
            steps.append("apps")
        current = parse_json(self.occ(space, "app values", "config:list", "--private", "--output=json"))
        diff = app_value_diff(current.get("apps") or {}, space["app_values"])
        if diff:
            self.import_app_values(space, diff)
            steps.append("app values")
        self.write_stamp(space, "active", True, space["desired_hash"])
        if "install" in steps:
            return "created", steps
        if steps:
            return "changed", steps
        return ("enabled" if stamp and stamp.get("state") != "active" else "unchanged"), steps

    def drift(self, space: dict) -> list:
        """One ``occ config:list`` of the space, compared with its desired state."""
        current = parse_json(self.occ(space, "drift", "config:list", "--private", "--output=json"))
        if not isinstance(current, dict):
            raise SpaceError("drift", "occ config:list did not print a JSON object")
        return space_drift(space, current)

    def office_check(self, space: dict) -> tuple:
        """Ask the space's office app whether its server answers (upstream's own checks)."""
        if "richdocuments" in space["apps_enabled"]:
            self.occ(space, "office check", "richdocuments:activate-config")
        else:
            self.occ(space, "office check", "onlyoffice:documentserver", "--check")
        return "unchanged", []

    def converge_other(self, space: dict, stamp: dict | None) -> tuple:
        """Disabled and absent spaces: bookkeeping only (no occ)."""
        if space["state"] == "absent":
            return ("deleted" if self.remove_private(space["slug"]) else "unchanged"), []
        if not stamp:
            return "pending", []
        outcome = "disabled" if stamp.get("state") == "active" else "unchanged"
        if outcome == "disabled" or stamp.get("record_hash") != space["record_hash"]:
            self.write_stamp(space, "disabled", bool(stamp.get("installed")), stamp.get("desired_hash"))
        return outcome, []

    def config_php_hashes(self, spaces: list) -> dict:
        hashes = {}
        for space in spaces:
            if space["state"] == "absent":
                continue
            path = os.path.join(self.p["spaces_root"], space["slug"], "config", "config.php")
            try:
                with open(path, "rb") as handle:
                    hashes[space["slug"]] = hashlib.sha256(handle.read()).hexdigest()
            except FileNotFoundError:
                pass
        return hashes


def plan(farm: Farm, spaces: list, stamps: dict, selection: bool) -> dict:
    classes: dict = {name: [] for name in PLAN_CLASSES}
    for space in spaces:
        classes[classify(space, stamps[space["slug"]])].append(space["slug"])
    if not selection:
        classes["unknown"] = sorted(farm.stamps_on_disk() - {space["slug"] for space in spaces})
    return classes


def run_drift(farm: Farm, spaces: list) -> dict:
    """Read every active space once and report what differs (changes nothing).

    :returns: ``changed`` (false), ``drift``, ``failed_spaces``, ``checked``, ``occ_calls``, ``seconds``,
        ``config_php``.
    """
    started = time.monotonic()
    active = [space for space in spaces if space["state"] == "active"]
    result = {"changed": False, "drift": {}, "failed_spaces": {}, "checked": len(active)}
    calls_before = farm.occ_calls
    with concurrent.futures.ThreadPoolExecutor(max_workers=farm.p["parallelism"]) as pool:
        futures = {pool.submit(farm.drift, space): space for space in active}
        for future in concurrent.futures.as_completed(futures):
            space = futures[future]
            try:
                found = future.result()
            except SpaceError as exc:
                result["failed_spaces"][space["slug"]] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - one space's surprise must not stop the others
                result["failed_spaces"][space["slug"]] = (
                    f"unexpected: {type(exc).__name__}: {redact(str(exc), space.get('secrets', []))}")
                continue
            if found:
                result["drift"][space["slug"]] = found
    result["occ_calls"] = farm.occ_calls - calls_before
    result["seconds"] = round(time.monotonic() - started, 2)
    result["config_php"] = farm.config_php_hashes(spaces)
    return result


def run(farm: Farm, spaces: list, check: bool) -> dict:
    """Plan, then (unless planning or checking) converge every space.

    :returns: the module result (``changed``, ``plan``, ``outcomes``, ``failed_spaces``, ``steps``,
        ``config_php``, ``seconds``).
    """
    stamps = {space["slug"]: farm.read_stamp(space["slug"]) for space in spaces}
    classes = plan(farm, spaces, stamps, farm.p["selection"])
    result = {"plan": classes, "outcomes": {name: [] for name in OUTCOMES}, "failed_spaces": {},
              "steps": {}, "seconds": 0.0}
    if farm.p["mode"] == "plan" or (check and farm.p["mode"] == "apply"):
        would = {"create": "created", "change": "changed", "enable": "enabled", "disable": "disabled",
                 "delete": "deleted", "pending": "pending", "unchanged": "unchanged"}
        for name, outcome in would.items():
            result["outcomes"][outcome] = list(classes[name])
        changing = any(classes[name] for name in ("create", "change", "enable", "disable", "delete"))
        result["changed"] = farm.p["mode"] == "apply" and changing
        result["config_php"] = farm.config_php_hashes(spaces)
        return result

    started = time.monotonic()
    office = farm.p["mode"] == "office_check"
    if not office:
        for space in spaces:
            if space["state"] != "active":
                outcome, _ = farm.converge_other(space, stamps[space["slug"]])
                result["outcomes"][outcome].append(space["slug"])

    def work(space: dict) -> tuple:
        return farm.office_check(space) if office else farm.converge_active(space, stamps[space["slug"]])

    active = [space for space in spaces if space["state"] == "active"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=farm.p["parallelism"]) as pool:
        futures = {pool.submit(work, space): space for space in active}
        for future in concurrent.futures.as_completed(futures):
            space = futures[future]
            try:
                outcome, steps = future.result()
            except SpaceError as exc:
                result["failed_spaces"][space["slug"]] = str(exc)
                result["outcomes"]["failed"].append(space["slug"])
                continue
            except Exception as exc:  # noqa: BLE001 - one space's surprise must not stop the others
                result["failed_spaces"][space["slug"]] = (
                    f"unexpected: {type(exc).__name__}: {redact(str(exc), space.get('secrets', []))}")
                result["outcomes"]["failed"].append(space["slug"])
                continue
            result["outcomes"][outcome].append(space["slug"])
            if steps:
                result["steps"][space["slug"]] = steps
    for slugs in result["outcomes"].values():
        slugs.sort()
    result["seconds"] = round(time.monotonic() - started, 2)
    result["changed"] = not office and any(result["outcomes"][name]
                            for name in ("created", "changed", "enabled", "disabled", "deleted"))
    result["config_php"] = farm.config_php_hashes(spaces)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            # Not no_log here: Ansible would then mask every string of it in the result, slugs
            # included. The task sets no_log; results never carry secrets (they are redacted).
            "spaces": {"type": "list", "elements": "dict", "required": True},
            "mode": {"type": "str", "choices": ["plan", "apply", "office_check", "drift"], "default": "apply"},
            "selection": {"type": "bool", "default": False},
            "occ": {"type": "path", "required": True},
            "spaces_root": {"type": "path", "required": True},
            "state_dir": {"type": "path", "default": "/var/lib/nuagerie/nextcloud-spaces"},
            "handover_dir": {"type": "path", "default": "/var/lib/nuagerie/handover"},
            "parallelism": {"type": "int", "default": 4},
            "timeout": {"type": "int", "default": 900},
            "verify": {"type": "bool", "default": False},
            "db_ssl_mode": {"type": "str", "default": ""},
            "db_ssl_rootcert": {"type": "str", "default": ""},
            "db_table_prefix": {"type": "str", "default": "oc_"},
        },
        supports_check_mode=True,
    )
    if module.params["parallelism"] < 1:
        module.fail_json(msg="parallelism must be at least 1")
    if module.params["mode"] == "drift":
        module.exit_json(**run_drift(Farm(module.params), module.params["spaces"]))
    module.exit_json(**run(Farm(module.params), module.params["spaces"], module.check_mode))


if __name__ == "__main__":
    main()
