#!/usr/bin/python
"""Module ``nuagerie_nextcloud_upgrade``: one phase of a fleet upgrade, for a wave of spaces.

Runs on the occ host, a few spaces at a time; ``playbooks/upgrade.yml`` calls it once per phase
and wave, and switches the ``release`` links on every frontend between the phases.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_nextcloud_upgrade
short_description: Pre-flight, prepare, upgrade, roll back or report a wave of spaces
description:
  - C(phase=preflight) - for every space, its enabled apps (C(occ config:list)) must exist in
    every release of its chain (the release's pinned apps or its shipped C(apps/)) and declare
    that release compatible (C(info.xml) C(<nextcloud min-version max-version>)); reports
    C(blocked) spaces with the reason, and the free disk of C(dump_dir). Changes nothing.
  - C(phase=prepare) - records the space's enabled apps with their group restrictions, then turns
    maintenance mode on (C(occ maintenance:mode --on)). The playbook then copies config.php to
    every frontend and switches the release links.
  - C(phase=upgrade) - dumps the database (C(pg_dump -Fc)) and keeps config.php, checks the link
    points at the target, runs C(occ upgrade), C(db:add-missing-indices), C(-columns),
    C(-primary-keys), enables again every app enabled before (with its groups), turns maintenance
    off and checks the space through nginx on this host (C(status.php) shows the target and no
    maintenance, a WebDAV C(PROPFIND) of the first account answers 207).
  - C(phase=rollback) - for the spaces whose upgrade failed - restores the dump (if C(occ upgrade)
    had started) and the kept config.php (maintenance still on). The playbook then switches the
    links back. C(phase=reopen) turns maintenance off and checks the space on its old release.
  - C(phase=served) - once the playbook has given every frontend the wave's config.php - stamps
    each space C(done) or C(rolled_back) for its target with C(served_at) and makes its
    C(downtime_seconds) run from maintenance on to that moment (the occ host alone reopened it
    earlier, kept as C(occ_host_downtime_seconds)). Users reach any frontend, so this is their downtime.
  - C(phase=report) returns every given space's record.
  - Each space's phase is recorded in C(state_dir)/upgrade/<slug>.json (root only) before and
    after each step, so a run killed at any point is finished by the next one - a space C(done)
    for a target is never upgraded twice, one left C(prepared) or C(failed) is taken up again.
  - A space failing does not stop the others; C(failed_spaces) lists them with the step and reason.
options:
  phase:
    description: What to do.
    type: str
    required: true
    choices: [preflight, prepare, upgrade, rollback, reopen, served, report]
  spaces:
    description: Spaces of the wave (filter C(nuagerie_nextcloud_upgrade_wave)), with C(from), C(to) and C(step); hold secrets.
    type: list
    elements: dict
    required: true
  chains:
    description: For C(phase=preflight), C({slug - [release, ...]}), the releases each space goes through.
    type: dict
    default: {}
  occ:
    description: The occ wrapper (C(<occ> <slug> <arguments>)).
    type: path
    required: true
  spaces_root:
    description: Parent of every space's directory.
    type: path
    required: true
  releases_dir:
    description: Parent of every release's code tree.
    type: path
    required: true
  pinned_apps_dir:
    description: Directory of a release's pinned apps, relative to its code tree.
    type: str
    default: apps-pinned
  state_dir:
    description: Where the occ steps keep their stamps; upgrade records go to its C(upgrade/).
    type: path
    required: true
  dump_dir:
    description: Where each space's dump and config.php are kept during its upgrade (root only).
    type: path
    required: true
  parallelism:
    description: Spaces handled at once.
    type: int
    default: 4
  timeout:
    description: Seconds one command (occ, pg_dump, pg_restore) may run.
    type: int
    default: 900
  retry_failed:
    description: Try again the spaces whose record says their upgrade to this target was rolled back.
    type: bool
    default: false
  db_ssl_mode:
    description: libpq sslmode of pg_dump and pg_restore ("" = libpq's default).
    type: str
    default: ""
  db_ssl_rootcert:
    description: CA file of that connection.
    type: str
    default: ""
  ca_file:
    description: CA the smoke check trusts (the farm CA).
    type: path
    default: /usr/local/share/ca-certificates/nuagerie-farm-ca.crt
attributes:
  check_mode:
    support: full
    details: In check mode every phase only reads (C(preflight), C(report)) or reports what it would do.
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: upgrade | Prepare the wave
  nuagerie_nextcloud_upgrade:
    phase: prepare
    spaces: "{{ __upgrade_occ_spaces | nuagerie_nextcloud_upgrade_wave(wave) }}"
    occ: /usr/local/bin/nuagerie-occ
    spaces_root: /srv/nextcloud/spaces
    releases_dir: /srv/nextcloud/releases
    state_dir: /var/lib/nuagerie/nextcloud-spaces
    dump_dir: /var/backups/nuagerie/upgrade
  no_log: true
"""

RETURN = r"""
done:
  description: Slugs for which the phase succeeded (or was already done).
  type: list
  elements: str
  returned: always
failed_spaces:
  description: Slug -> "<step> - <reason>" of the spaces the phase failed for (the module itself
    succeeds, so the play can roll them back).
  type: dict
  returned: always
blocked:
  description: For C(phase=preflight), slug -> why the space cannot move.
  type: dict
  returned: always
records:
  description: Slug -> record after the phase (phase, from, to, timings, error, history).
  type: dict
  returned: always
free_mb:
  description: Free space of C(dump_dir) (preflight).
  type: int
  returned: always
"""

import concurrent.futures
import datetime
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule

#: Phases of a record; ``done`` and ``rolled_back`` are final for their target.
FINAL = ("done", "rolled_back")
#: App ids in appconfig that are not apps a space enables (``core`` keeps the server's values).
ALWAYS_ENABLED = frozenset(("core",))


class StepError(Exception):
    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step


def parse_json(text: str):
    """The JSON document in occ's output (upstream may print notices before it)."""
    for index, char in enumerate(text):
        if char in "{[":
            try:
                return json.JSONDecoder().raw_decode(text[index:])[0]
            except ValueError:
                continue
    raise ValueError(f"no JSON in output: {text[:200]!r}")


def redact(text: str, secrets: list) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def now() -> float:
    return time.time()


def iso(stamp: float) -> str:
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat(timespec="seconds")


def version_parts(version: str, like: str) -> tuple:
    """``version`` cut or padded to as many parts as ``like`` (upstream adjustVersionParts)."""
    parts = [int(p) for p in str(version).split(".") if p.isdigit()]
    want = len(str(like).split("."))
    parts = (parts + [0] * want)[:want]
    return tuple(parts)


def app_compatible(info_path: str, release: str) -> str | None:
    """Why the app of ``info_path`` does not accept ``release`` (None: it does)."""
    try:
        root = ET.parse(info_path).getroot()
    except (OSError, ET.ParseError) as exc:
        return f"its appinfo/info.xml cannot be read ({exc})"
    node = root.find("./dependencies/nextcloud")
    if node is None:
        return "its info.xml declares no <nextcloud> dependency"
    low, high = node.get("min-version"), node.get("max-version")
    if low and version_parts(release, low) < version_parts(low, low):
        return f"it needs Nextcloud >= {low}"
    if high and version_parts(release, high) > version_parts(high, high):
        return f"it supports Nextcloud <= {high} only"
    return None


def enabled_apps(config_list: dict) -> dict:
    """``{app: enabled value}`` ("yes" or a JSON list of groups) from ``occ config:list``."""
    out = {}
    for app, values in (config_list.get("apps") or {}).items():
        value = (values or {}).get("enabled") if isinstance(values, dict) else None
        if value not in (None, "no"):
            out[app] = str(value)
    return out


def groups_of(value: str) -> list:
    """The groups an ``enabled`` value restricts an app to ([] = every account)."""
    if value == "yes":
        return []
    try:
        groups = json.loads(value)
    except ValueError:
        return []
    return [str(g) for g in groups] if isinstance(groups, list) else []


class Upgrade:
    """Records, occ runs and checks of one occ host."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.p = module.params
        self.records_dir = os.path.join(self.p["state_dir"], "upgrade")

    # -- records
    def record_path(self, slug: str) -> str:
        return os.path.join(self.records_dir, f"{slug}.json")

    def read(self, slug: str) -> dict | None:
        try:
            with open(self.record_path(slug), encoding="utf-8") as handle:
                return json.load(handle)
        except (FileNotFoundError, ValueError):
            return None

    def write(self, record: dict) -> None:
        record["updated"] = iso(now())
        os.makedirs(self.records_dir, 0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.records_dir, prefix=".tmp-")
        try:
            os.write(fd, (json.dumps(record, sort_keys=True, indent=1) + "\n").encode("utf-8"))
            os.fchmod(fd, 0o600)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.record_path(record["slug"]))

    # -- commands
    def run(self, space: dict, step: str, argv: list, env: dict | None = None, stdin: str | None = None) -> str:
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env,
                                  timeout=self.p["timeout"], check=False)
        except subprocess.TimeoutExpired:
            raise StepError(step, f"{os.path.basename(argv[0])} ran over {self.p['timeout']} s") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-6:])
            raise StepError(step, f"{' '.join(argv[:3])} exited {proc.returncode}: "
                                  f"{redact(tail, space.get('secrets', []))}")
        return proc.stdout

    def occ(self, space: dict, step: str, *args: str) -> str:
        return self.run(space, step, [self.p["occ"], space["slug"], *args])

    def pg_env(self, space: dict) -> dict:
        inst = space["install"]
        env = {"PATH": "/usr/bin:/bin", "PGHOST": inst["db_host"], "PGPORT": str(inst["db_port"]),
               "PGDATABASE": inst["db_name"], "PGUSER": inst["db_user"], "PGPASSWORD": inst["db_pass"],
               "PGCONNECT_TIMEOUT": "10"}
        if self.p["db_ssl_mode"]:
            env["PGSSLMODE"] = self.p["db_ssl_mode"]
            if self.p["db_ssl_rootcert"]:
                env["PGSSLROOTCERT"] = self.p["db_ssl_rootcert"]
        return env

    def link(self, slug: str) -> str | None:
        try:
            target = os.readlink(os.path.join(self.p["spaces_root"], slug, "release"))
        except OSError:
            return None
        return os.path.basename(target.rstrip("/"))

    def keep_path(self, space: dict, what: str) -> str:
        return os.path.join(self.p["dump_dir"], f"{space['slug']}-{space['from']}.{what}")

    def config_php(self, slug: str) -> str:
        return os.path.join(self.p["spaces_root"], slug, "config", "config.php")

    def smoke(self, space: dict, release: str) -> None:
        """The space through nginx on this host: status.php and a WebDAV read."""
        domain = space["domain"]
        base = ["curl", "-sS", "--max-time", "30", "--cacert", self.p["ca_file"],
                "--resolve", f"{domain}:443:127.0.0.1"]
        status = parse_json(self.run(space, "smoke check", base + [f"https://{domain}/status.php"]))
        if not str(status.get("version", "")).startswith(f"{release}.") and status.get("version") != release:
            raise StepError("smoke check", f"status.php shows version {status.get('version')!r}, not {release}")
        if status.get("maintenance") or status.get("needsDbUpgrade"):
            raise StepError("smoke check", f"status.php shows maintenance {status.get('maintenance')}, "
                                           f"needsDbUpgrade {status.get('needsDbUpgrade')}")
        inst = space["install"]
        code = self.run(space, "smoke check", base + [
            "-o", "/dev/null", "-w", "%{http_code}", "-X", "PROPFIND", "-H", "Depth: 0",
            "-K", "-", f"https://{domain}/remote.php/dav/files/{inst['admin_user']}/"],
            stdin=f'user = "{inst["admin_user"]}:{inst["admin_pass"]}"\n').strip()
        if code != "207":
            raise StepError("smoke check", f"WebDAV PROPFIND of {inst['admin_user']}'s files answered {code}, not 207")

    # -- phases
    def preflight(self, space: dict) -> tuple:
        record = self.read(space["slug"])
        if record and record.get("phase") not in FINAL:
            return "ok", "in flight: passed its pre-flight when it started"
        chain = self.p["chains"].get(space["slug"]) or []
        listing = parse_json(self.occ(space, "apps", "config:list", "--output=json"))
        apps = enabled_apps(listing if isinstance(listing, dict) else {})
        problems = []
        for release in chain:
            tree = os.path.join(self.p["releases_dir"], release)
            if not os.path.isfile(os.path.join(tree, "version.php")):
                problems.append(f"release {release} is not installed on the occ host")
                continue
            for app in sorted(apps):
                if app in ALWAYS_ENABLED or app == "core":
                    continue
                # Shipped with the release (its apps/): compatible by definition, as upstream's
                # checkAppsRequirements() only questions apps that are not shipped.
                if os.path.isfile(os.path.join(tree, "apps", app, "appinfo", "info.xml")):
                    continue
                pinned = os.path.join(tree, self.p["pinned_apps_dir"], app, "appinfo", "info.xml")
                if not os.path.isfile(pinned):
                    problems.append(f"app {app} (enabled) is not in release {release}: pin it there, or disable it")
                    continue
                why = app_compatible(pinned, release)
                if why:
                    problems.append(f"app {app} (enabled) of release {release} is not compatible: {why}")
        if problems:
            return "blocked", "; ".join(problems)
        return "ok", ""

    def prepare(self, space: dict, record: dict | None) -> tuple:
        slug = space["slug"]
        if record and record.get("to") == space["to"]:
            if record["phase"] == "done":
                return "done", "already upgraded to " + space["to"]
            if record["phase"] == "rolled_back" and not self.p["retry_failed"]:
                return "skipped", f"rolled back from {space['to']} earlier: {record.get('error')}"
            if record["phase"] in ("prepared", "upgraded"):
                return "done", "prepared earlier (resumed)"
            if record["phase"] in ("failed", "restored"):
                return "skipped", f"failed earlier, being rolled back: {record.get('error')}"
        if record and record.get("to") == space["from"] and record["phase"] != "done":
            return "skipped", f"did not reach {space['from']} (its previous step: {record['phase']})"
        link = self.link(slug)
        if link != space["from"]:
            raise StepError("prepare", f"runs {link}, not {space['from']}")
        if self.module.check_mode:
            return "done", "would prepare"
        if int(space.get("step", 1)) > 1:
            # Background migrations of the previous major before the next one (upstream asks
            # for cron runs between majors), as the space's own user: the owner of its config
            # dir and config.php (upstream cron.php refuses any other).
            config_dir = os.path.join(self.p["spaces_root"], slug, "config")
            owner = os.stat(config_dir)
            self.run(space, "background jobs", [
                "setpriv", f"--reuid={owner.st_uid}", f"--regid={owner.st_gid}", "--init-groups",
                "env", "-i", "PATH=/usr/bin:/bin", "HOME=/tmp",
                f"NEXTCLOUD_CONFIG_DIR={config_dir}/",
                "/usr/bin/php", "-d", "apc.enable_cli=1", "-f",
                os.path.join(self.p["spaces_root"], slug, "release", "cron.php")])
        listing = parse_json(self.occ(space, "apps", "config:list", "--output=json"))
        record = {"slug": slug, "from": space["from"], "to": space["to"], "step": space.get("step", 1),
                  "phase": "preparing", "apps_before": enabled_apps(listing if isinstance(listing, dict) else {}),
                  "history": (record or {}).get("history", []), "error": ""}
        self.write(record)
        self.occ(space, "maintenance on", "maintenance:mode", "--on")
        record.update(phase="prepared", maintenance_on=now())
        self.write(record)
        return "done", "maintenance on"

    def upgrade(self, space: dict, record: dict | None) -> tuple:
        slug = space["slug"]
        if not record or record.get("to") != space["to"]:
            return "skipped", "not prepared"
        if record["phase"] == "done":
            return "done", "already upgraded"
        if record["phase"] not in ("prepared", "upgraded"):
            return "skipped", f"record says {record['phase']}"
        if self.module.check_mode:
            return "done", "would upgrade"
        link = self.link(slug)
        if link != space["to"]:
            raise StepError("release link", f"points at {link}, not {space['to']}: the links were not switched")
        os.makedirs(self.p["dump_dir"], 0o700, exist_ok=True)
        dump, kept = self.keep_path(space, "dump"), self.keep_path(space, "config.php")
        if not record.get("dump"):
            self.run(space, "dump", ["pg_dump", "--format=custom", "--no-owner", "--file", dump + ".tmp"],
                     env=self.pg_env(space))
            os.replace(dump + ".tmp", dump)
            shutil.copy2(self.config_php(slug), kept)
            os.chmod(kept, 0o600)
            record.update(dump=dump, config_kept=kept)
            self.write(record)
        started = now()
        if record["phase"] == "prepared":
            record["upgrade_started"] = True
            self.write(record)
            status = parse_json(self.occ(space, "status", "status", "--output=json"))
            if status.get("needsDbUpgrade"):
                self.occ(space, "occ upgrade", "upgrade")
            for command in ("db:add-missing-indices", "db:add-missing-columns", "db:add-missing-primary-keys"):
                self.occ(space, command, command)
            record.update(phase="upgraded", occ_upgrade_seconds=round(now() - started, 3))
            self.write(record)
        listing = parse_json(self.occ(space, "apps", "config:list", "--output=json"))
        after = enabled_apps(listing if isinstance(listing, dict) else {})
        for app, value in sorted((record.get("apps_before") or {}).items()):
            if app in ALWAYS_ENABLED or after.get(app) == value:
                continue
            groups = groups_of(value)
            self.occ(space, "apps", "app:enable", app, *[f"--groups={g}" for g in groups])
        self.occ(space, "maintenance off", "maintenance:mode", "--off")
        self.smoke(space, space["to"])
        off = now()
        record.update(phase="done", maintenance_off=off,
                      downtime_seconds=round(off - float(record.get("maintenance_on") or off), 3))
        record["history"] = record.get("history", []) + [
            {"from": space["from"], "to": space["to"], "outcome": "done", "at": iso(off)}]
        self.write(record)
        self.restamp(space)
        for path in (dump, kept):
            if os.path.exists(path):
                os.unlink(path)
        return "done", f"upgraded to {space['to']}"

    def restamp(self, space: dict) -> None:
        """The occ steps' stamp follows the release (else spaces.yml would probe the space again)."""
        path = os.path.join(self.p["state_dir"], f"{space['slug']}.json")
        try:
            with open(path, encoding="utf-8") as handle:
                stamp = json.load(handle)
        except (FileNotFoundError, ValueError):
            return
        stamp["release"] = space["to"]
        fd, tmp = tempfile.mkstemp(dir=self.p["state_dir"], prefix=".tmp-")
        try:
            os.write(fd, (json.dumps(stamp, sort_keys=True) + "\n").encode("utf-8"))
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def rollback(self, space: dict, record: dict | None) -> tuple:
        slug = space["slug"]
        if not record or record.get("to") != space["to"] or record["phase"] in FINAL + ("restored",):
            return "skipped", "nothing to restore"
        if self.module.check_mode:
            return "done", "would restore"
        if record.get("upgrade_started") and record.get("dump"):
            env = self.pg_env(space)
            self.run(space, "restore database", ["psql", "-v", "ON_ERROR_STOP=1", "-qc",
                                                 "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], env=env)
            self.run(space, "restore database", ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                                 "--dbname", env["PGDATABASE"], record["dump"]], env=env)
        if record.get("config_kept") and os.path.exists(record["config_kept"]):
            kept = self.config_php(slug)
            stat = os.stat(kept)
            shutil.copy2(record["config_kept"], kept + ".nuagerie-restore")
            os.chown(kept + ".nuagerie-restore", stat.st_uid, stat.st_gid)
            os.chmod(kept + ".nuagerie-restore", stat.st_mode & 0o7777)
            os.replace(kept + ".nuagerie-restore", kept)
        record["phase"] = "restored"
        self.write(record)
        return "done", "database and config.php restored"

    def reopen(self, space: dict, record: dict | None) -> tuple:
        slug = space["slug"]
        if not record or record.get("to") != space["to"] or record["phase"] != "restored":
            return "skipped", "nothing to reopen"
        if self.module.check_mode:
            return "done", "would reopen"
        link = self.link(slug)
        if link != space["from"]:
            raise StepError("release link", f"points at {link}, not {space['from']}: the links were not switched back")
        self.occ(space, "maintenance off", "maintenance:mode", "--off")
        self.smoke(space, space["from"])
        off = now()
        record.update(phase="rolled_back", maintenance_off=off,
                      downtime_seconds=round(off - float(record.get("maintenance_on") or off), 3))
        record["history"] = record.get("history", []) + [
            {"from": space["from"], "to": space["to"], "outcome": "rolled back", "at": iso(off)}]
        self.write(record)
        return "done", f"working again on {space['from']}"

    def served(self, space: dict, record: dict | None) -> tuple:
        """Every frontend serves the space again: its downtime ends now, not at the occ host's reopening."""
        if not record or record.get("to") != space["to"] or record["phase"] not in FINAL:
            return "skipped", "not reopened"
        if float(record.get("served_at") or 0) >= float(record.get("maintenance_off") or 0) > 0:
            return "done", "already served"
        if self.module.check_mode:
            return "done", "would stamp"
        served = now()
        on = float(record.get("maintenance_on") or served)
        record.update(served_at=served, occ_host_downtime_seconds=record.get("downtime_seconds"),
                      downtime_seconds=round(served - on, 3))
        self.write(record)
        return "done", "served by every frontend"

    def one(self, phase: str, space: dict) -> tuple:
        slug = space["slug"]
        record = self.read(slug)
        try:
            outcome, note = getattr(self, phase)(space, record) if phase != "preflight" else self.preflight(space)
        except (StepError, ValueError, OSError) as exc:
            message = redact(str(exc), space.get("secrets", []))
            if phase in ("prepare", "upgrade") and not self.module.check_mode:
                record = self.read(slug) or {"slug": slug, "from": space["from"], "to": space["to"], "history": []}
                if record.get("to") == space["to"]:
                    record.update(phase="failed", error=message)
                    self.write(record)
            elif phase in ("rollback", "reopen") and not self.module.check_mode and record:
                record.update(error=f"{record.get('error', '')}; rollback: {message}".strip("; "))
                self.write(record)
            return slug, "failed", message
        return slug, outcome, note


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "phase": {"type": "str", "required": True,
                      "choices": ["preflight", "prepare", "upgrade", "rollback", "reopen", "served", "report"]},
            # Holds secrets: the tasks set no_log, and every message is redacted (redact()). Not
            # no_log here: Ansible would then mask any returned value equal to one of its numbers.
            "spaces": {"type": "list", "elements": "dict", "required": True},
            "chains": {"type": "dict", "default": {}},
            "occ": {"type": "path", "required": True},
            "spaces_root": {"type": "path", "required": True},
            "releases_dir": {"type": "path", "required": True},
            "pinned_apps_dir": {"type": "str", "default": "apps-pinned"},
            "state_dir": {"type": "path", "required": True},
            "dump_dir": {"type": "path", "required": True},
            "parallelism": {"type": "int", "default": 4},
            "timeout": {"type": "int", "default": 900},
            "retry_failed": {"type": "bool", "default": False},
            "db_ssl_mode": {"type": "str", "default": ""},
            "db_ssl_rootcert": {"type": "str", "default": ""},
            "ca_file": {"type": "path", "default": "/usr/local/share/ca-certificates/nuagerie-farm-ca.crt"},
        },
        supports_check_mode=True,
    )
    upgrade = Upgrade(module)
    phase = module.params["phase"]
    spaces = module.params["spaces"]
    result = {"changed": False, "done": [], "failed_spaces": {}, "blocked": {}, "records": {}, "free_mb": 0}
    if phase != "report":
        os.makedirs(upgrade.records_dir, 0o700, exist_ok=True)
        # One phase at a time on this host: a re-run after a killed controller waits for a
        # phase still running here instead of acting on the same spaces twice.
        lock = open(os.path.join(upgrade.records_dir, ".lock"), "w", encoding="utf-8")
        fcntl.flock(lock, fcntl.LOCK_EX)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, module.params["parallelism"])) as pool:
            for slug, outcome, note in pool.map(lambda s: upgrade.one(phase, s), spaces):
                if outcome == "failed":
                    result["failed_spaces"][slug] = note
                elif outcome == "blocked":
                    result["blocked"][slug] = note
                elif outcome == "done":
                    result["done"].append(slug)
                if phase != "preflight" and outcome != "skipped" and not module.check_mode \
                        and not note.startswith(("already", "nothing", "prepared earlier")):
                    result["changed"] = True
        lock.close()
    if phase == "preflight":
        target = module.params["dump_dir"]
        while not os.path.isdir(target):
            target = os.path.dirname(target) or "/"
        usage = shutil.disk_usage(target)
        result["free_mb"] = usage.free // (1024 * 1024)
    for space in spaces:
        record = upgrade.read(space["slug"])
        if record:
            result["records"][space["slug"]] = {k: v for k, v in record.items() if k not in ("apps_before",)}
    result["done"].sort()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
