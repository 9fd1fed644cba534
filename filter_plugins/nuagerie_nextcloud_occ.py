"""Nuagerie: what ``occ`` must make true inside each space, as pure functions (no I/O).

The web tier renders files; what lives in a space's *database* (installation, enabled apps,
app values) can only be set through ``occ``. :func:`occ_spaces` turns the space records into
the desired state the ``nuagerie_nextcloud_spaces`` module converges on the first web host:

* ``install``: the ``occ maintenance:install`` inputs (database, first account, data dir);
* ``apps_enabled`` / ``apps_disabled``: the farm's app set plus the space's office app, and the
  other office app (switching suites disables the old one);
* ``app_values``: ``{app: {key: value}}`` for ``occ config:import`` — the default quota of
  accounts, the office wiring; ``None`` deletes a key (the other suite's wiring is removed);
* ``desired_hash``: fingerprint of all that (the module skips a space whose recorded hash
  matches), ``record_hash``: fingerprint of the catalogue record (the plan's "change").

The 50-account limit is NOT here: it is Nextcloud's own hard limit, ``one-click-instance`` and
``one-click-instance.user-limit`` in the space's config file (``nuagerie_nextcloud.space_config``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _sibling(name: str):
    """Import ``filter_plugins/<name>.py`` once, as module ``nuagerie_filter_<name>``."""
    module_name = f"nuagerie_filter_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module


_nc = _sibling("nuagerie_nextcloud")
_secrets = _sibling("nuagerie_secrets")

#: Office suite of the catalogue -> the Nextcloud app that wires it.
OFFICE_APPS = {"collabora": "richdocuments", "onlyoffice": "onlyoffice"}

#: Keys of the ``occ`` settings (on top of the web settings of ``nuagerie_nextcloud``).
OCC_SETTINGS_KEYS = {
    "apps": "the farm's app set, enabled in every space (office apps excluded)",
    "admin_user": "name of each space's first account",
    "collabora": "{url, wopi_allowlist}: Collabora Online as the spaces reach it",
    "onlyoffice": "{url, internal_url, jwt_header}: the OnlyOffice document server",
}

#: Catalogue fields that do not change a space (free text, file name).
_VOLATILE_FIELDS = ("notes", "source")


def _fingerprint(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"),
                                     default=str).encode("utf-8")).hexdigest()


def record_hash(space: Mapping) -> str:
    """Fingerprint of a catalogue record: changes whenever the operator edits the space.

    :param space: a space record (``secrets`` and free-text fields are ignored).
    :returns: 64 hex characters.
    """
    return _fingerprint({k: v for k, v in space.items()
                         if k not in _VOLATILE_FIELDS and k != "secrets"})


def _office(settings: Mapping, suite: str) -> Mapping:
    value = settings.get(suite)
    if not isinstance(value, Mapping) or not str(value.get("url", "")).startswith(("https://", "http://")):
        raise AnsibleFilterError(f"occ settings: '{suite}' must be a mapping with url: https://…, "
                                 f"got {value!r} (role nextcloud: nextcloud_{suite}_url)")
    return value


def office_app_values(space: Mapping, settings: Mapping, master_key: str) -> dict:
    """App values wiring the space's office suite, and deleting the other suite's.

    Collabora (app ``richdocuments``): ``wopi_url`` (server URL as Nextcloud calls it) and
    ``wopi_allowlist`` (addresses allowed to call Nextcloud's WOPI endpoints: the Collabora
    servers). ``public_wopi_url`` is left to upstream: ``richdocuments:activate-config``
    rewrites it from the server's discovery. OnlyOffice (app
    ``onlyoffice``): ``DocumentServerUrl``, ``DocumentServerInternalUrl`` (optional),
    ``jwt_secret`` (the document server's one secret, derived from the master key: a document
    server has a single secret, so it is a farm secret, not a space secret), ``jwt_header``.

    :param space: a space record (``office``: collabora | onlyoffice).
    :param settings: the occ settings.
    :param master_key: the farm master key.
    :returns: ``{"richdocuments": {...}, "onlyoffice": {...}}``; the unused suite's keys map to
        ``None`` (deleted by ``occ config:import``).
    :raises AnsibleFilterError: on an unknown suite or missing settings.
    """
    suite = space.get("office")
    if suite not in OFFICE_APPS:
        raise AnsibleFilterError(f"space {space.get('slug')!r}: office must be one of "
                                 f"{sorted(OFFICE_APPS)}, got {suite!r}")
    keys = {
        "richdocuments": ("wopi_url", "wopi_allowlist"),
        "onlyoffice": ("DocumentServerUrl", "DocumentServerInternalUrl", "jwt_secret", "jwt_header"),
    }
    values = {app: dict.fromkeys(names) for app, names in keys.items()}
    if suite == "collabora":
        collabora = _office(settings, "collabora")
        allow = collabora.get("wopi_allowlist") or []
        if not isinstance(allow, (list, tuple)):
            raise AnsibleFilterError(f"occ settings: collabora.wopi_allowlist must be a list, got {allow!r}")
        url = str(collabora["url"]).rstrip("/")
        values["richdocuments"] = {"wopi_url": url, "wopi_allowlist": ",".join(str(a) for a in allow)}
    else:
        onlyoffice = _office(settings, "onlyoffice")
        values["onlyoffice"] = {
            "DocumentServerUrl": str(onlyoffice["url"]).rstrip("/") + "/",
            "DocumentServerInternalUrl": (str(onlyoffice["internal_url"]).rstrip("/") + "/"
                                          if onlyoffice.get("internal_url") else None),
            "jwt_secret": _secrets.farm_secret(master_key, "onlyoffice-jwt-secret"),
            "jwt_header": str(onlyoffice.get("jwt_header") or "Authorization"),
        }
    return values


def space_app_values(space: Mapping, settings: Mapping, master_key: str) -> dict:
    """Every app value the farm sets in a space: default account quota and office wiring.

    :param space: a space record.
    :param settings: the occ settings.
    :param master_key: the farm master key.
    :returns: ``{app: {key: str | None}}``.
    """
    values = {"files": {"default_quota": f"{int(space['quota_gb'])} GB"}}
    values.update(office_app_values(space, settings, master_key))
    return values


def occ_space(space: Mapping, settings: Mapping, master_key: str) -> dict:
    """The desired occ state of one space (input of the ``nuagerie_nextcloud_spaces`` module).

    :param space: a space record, with or without ``secrets``.
    :param settings: web settings (``nuagerie_nextcloud.SETTINGS_KEYS``) + :data:`OCC_SETTINGS_KEYS`.
    :param master_key: the farm master key.
    :returns: ``{slug, state, release, domain, record_hash, desired_hash, install, apps_enabled,
        apps_disabled, app_values, secrets}`` (``secrets``: values the module redacts from
        every message it returns).
    """
    slug = space["slug"]
    apps = settings.get("apps")
    if not isinstance(apps, (list, tuple)) or not all(isinstance(a, str) and a for a in apps):
        raise AnsibleFilterError(f"occ settings: 'apps' must be a list of app ids, got {apps!r}")
    office_in_apps = sorted(set(apps) & set(OFFICE_APPS.values()))
    if office_in_apps:
        raise AnsibleFilterError(f"occ settings: 'apps' must not list office apps {office_in_apps}: "
                                 "each space's catalogue field `office` picks one")
    out = {"slug": slug, "state": space["state"], "release": space["nextcloud_release"],
           "domain": space["domains"][0], "record_hash": record_hash(space)}
    if space["state"] == "absent":
        return out
    if "secrets" not in space:
        space = _secrets.space_secrets(space, master_key)
    values = space_app_values(space, settings, master_key)  # refuses an unknown office suite
    config = _nc.space_config(space, settings, master_key)
    host, _, port = config["dbhost"].rpartition(":")
    office_app = OFFICE_APPS[space["office"]]
    enabled = sorted(set(apps) | {office_app})
    disabled = sorted(set(OFFICE_APPS.values()) - {office_app})
    secrets = space["secrets"]
    out.update({
        "install": {
            "db_host": host, "db_port": port, "db_name": config["dbname"],
            "db_user": config["dbuser"], "db_pass": secrets["db_password"],
            "admin_user": str(settings.get("admin_user") or "admin"),
            "admin_pass": secrets["admin_password"], "admin_email": space["admin_email"],
            "data_dir": config["datadirectory"],
        },
        "apps_enabled": enabled,
        "apps_disabled": disabled,
        "app_values": values,
        "secrets": sorted({secrets["db_password"], secrets["admin_password"],
                           *(v for v in values.get("onlyoffice", {}).values() if v)} - {""}),
    })
    out["desired_hash"] = _fingerprint({"release": out["release"], "apps_enabled": enabled,
                                        "apps_disabled": disabled, "app_values": values,
                                        "admin_user": out["install"]["admin_user"]})
    return out


def occ_spaces(spaces: object, settings: Mapping, master_key: str) -> list:
    """:func:`occ_space` of every record.

    :param spaces: space records (the catalogue fact ``nuagerie_spaces``).
    :param settings: the occ settings.
    :param master_key: the farm master key.
    :returns: a list of desired states, in the catalogue's order.
    :raises AnsibleFilterError: when ``spaces`` is not a list or settings are wrong.
    """
    if not isinstance(spaces, (list, tuple)):
        raise AnsibleFilterError(f"occ_spaces expects a list of space records, got {type(spaces).__name__}")
    return [occ_space(space, settings, master_key) for space in spaces]


def drift_space(space: Mapping, settings: Mapping, master_key: str) -> dict:
    """What drift detection compares in one space: :func:`occ_space` plus ``system``, the system
    config Nextcloud must read - the farm file merged with the space's own file (upstream
    ``lib/private/Config.php`` loads ``config.php``, then every ``*.config.php`` in natsort
    order over it, top-level keys replaced; ``00-farm`` comes before ``50-space``). Keys only
    ``config.php`` holds (written by Nextcloud itself) are not compared.

    :param space: a space record.
    :param settings: the occ settings.
    :param master_key: the farm master key.
    :returns: the desired state with ``system`` for a non-absent space.
    """
    out = occ_space(space, settings, master_key)
    if space["state"] != "absent":
        out["system"] = {**_nc.farm_config(settings), **_nc.space_config(space, settings, master_key)}
    return out


def drift_spaces(spaces: object, settings: Mapping, master_key: str) -> list:
    """:func:`drift_space` of every record (input of ``nuagerie_nextcloud_spaces`` ``mode=drift``).

    :param spaces: space records.
    :param settings: the occ settings.
    :param master_key: the farm master key.
    :returns: a list of desired states.
    :raises AnsibleFilterError: when ``spaces`` is not a list or settings are wrong.
    """
    if not isinstance(spaces, (list, tuple)):
        raise AnsibleFilterError(f"drift_spaces expects a list of space records, got {type(spaces).__name__}")
    return [drift_space(space, settings, master_key) for space in spaces]


def _slug_of_path(path: str, slugs: Mapping) -> str:
    """The space a web file belongs to (see :func:`drift_lines`), else ``"(farm)"``."""
    name = os.path.basename(path.rstrip("/"))
    for candidate in (name.removesuffix(".conf"), name.removesuffix(".timer")):
        if candidate in slugs:
            return slugs[candidate]
    for part in path.split("/"):
        if part in slugs:
            return slugs[part]
    return "(farm)"


def _route_entries(text: str) -> dict:
    """``{(block, host): value}`` of the nginx Host map (:func:`nuagerie_nextcloud.nginx_spaces_map`)."""
    entries, block = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith("map $host "):
            block = line.split()[2]
        elif block and line.endswith(";") and not line.startswith(("hostnames", "default")):
            host, _, value = line[:-1].partition(" ")
            entries[(block, host)] = value.strip()
    return entries


def route_drift(live: str, expected: str) -> dict:
    """Host map entries that differ, per Host name.

    :param live: the map file on a frontend ("" when missing).
    :param expected: the map the catalogue renders (``nuagerie_nextcloud_nginx_map``).
    :returns: ``{host name: ["route <host>: <live> (catalogue: <expected>)", …]}``.
    """
    have, want = _route_entries(live), _route_entries(expected)
    out: dict = {}
    for key in sorted(set(have) | set(want)):
        if have.get(key) != want.get(key):
            block, host = key
            label = "route" if block == "$nc_space" else "maintenance route"
            out.setdefault(host, []).append(
                f"{label} {host}: {have.get(key, 'missing')} (catalogue: {want.get(key, 'none')})")
    return out


def drift_lines(occ_result: Mapping, web: Mapping, spaces: object) -> list:
    """Per space, what differs from the catalogue: the occ host's reading of every space and each
    frontend's files (the web tier's own tasks run in check mode).

    :param occ_result: the result of ``nuagerie_nextcloud_spaces`` ``mode=drift`` (``drift``:
        slug -> differences, ``failed_spaces``, ``checked``, ``occ_calls``, ``seconds``).
    :param web: host -> ``{files: [changed paths of the config, pools and timers tasks],
        routes: route_drift(...) (Host name -> lines), config_php: [slugs whose config.php
        differs from the occ host's]}``.
    :param spaces: the selected space records (slugs; ``names`` map pool and timer files).
    :returns: ``drift: N of M space(s) differ …`` then ``<slug>: DRIFT: <what>; <what>`` per space
        (sorted), then ``<slug>: FAILED at drift: <why>``.
    """
    selected = [s for s in (spaces or []) if isinstance(s, Mapping)]
    index: dict = {}
    domains = {domain: space["slug"] for space in selected for domain in space.get("domains") or []}
    for space in selected:
        index[space["slug"]] = space["slug"]
        for name in (space.get("names") or {}).values():
            if isinstance(name, str) and name:
                index.setdefault(name, space["slug"])
    found: dict = {slug: list(what) for slug, what in (occ_result.get("drift") or {}).items()}
    for host in sorted(web or {}):
        report = web[host] or {}
        for path in report.get("files") or []:
            slug = _slug_of_path(str(path), index)
            found.setdefault(slug, []).append(f"{host}: {path} differs")
        for domain, what in sorted((report.get("routes") or {}).items()):
            slug = domains.get(domain, "(farm)")
            found.setdefault(slug, []).extend(f"{host}: {line}" for line in what)
        for slug in report.get("config_php") or []:
            found.setdefault(slug, []).append(f"{host}: config.php differs from the occ host's")
    wanted = {s["slug"] for s in selected}
    shown = {slug: what for slug, what in found.items() if slug in wanted or slug == "(farm)"}
    failed = occ_result.get("failed_spaces") or {}
    drifted = sorted(slug for slug in shown if slug != "(farm)")
    lines = [f"drift: {len(drifted)} of {len(wanted)} space(s) differ from the catalogue, "
             f"{len(failed)} unreadable; {occ_result.get('occ_calls', 0)} occ call(s) on the occ host "
             f"in {occ_result.get('seconds', 0)} s"]
    lines.extend(f"{slug}: DRIFT: {'; '.join(shown[slug])}" for slug in sorted(shown))
    lines.extend(f"{slug}: FAILED at drift: {why}" for slug, why in sorted(failed.items()))
    return lines


def drifted_slugs(lines: object) -> list:
    """The slugs :func:`drift_lines` reports as drifted or unreadable (what ``--fix`` converges).

    :param lines: the lines.
    :returns: sorted slugs (``(farm)`` excluded).
    """
    out = set()
    for line in lines or []:
        slug, sep, rest = str(line).partition(": ")
        if sep and rest.startswith(("DRIFT: ", "FAILED at drift")) and slug != "(farm)":
            out.add(slug)
    return sorted(out)


_PLAN_NOTES = {
    "create": "installed with occ after the tiers converge",
    "change": "catalogue record edited",
    "enable": "served again",
    "disable": "maintenance page, jobs stopped, data kept",
    "delete": "database and bucket kept unless confirmed (confirm_delete_data)",
    "pending": "disabled and never installed: installed when enabled",
    "unknown": "stamped on the occ host but not in the catalogue: delete through state absent",
}


def _slug_list(slugs: list, limit: int = 20) -> str:
    shown = ", ".join(slugs[:limit])
    return shown + (f" … and {len(slugs) - limit} more" if len(slugs) > limit else "")


def plan_lines(plan: Mapping, check_mode: bool = False) -> list:
    """The plan as short lines for the operator.

    :param plan: ``plan`` returned by ``nuagerie_nextcloud_spaces`` (class -> slugs).
    :param check_mode: whether the run is a check (said in the heading).
    :returns: lines; classes with no space are left out except the unchanged count.
    """
    heading = "Plan (check mode: nothing will change)" if check_mode else "Plan"
    lines = [f"{heading}: {sum(len(v) for v in plan.values())} space(s)"]
    for name in ("create", "change", "enable", "disable", "delete", "pending", "unknown"):
        slugs = list(plan.get(name) or [])
        if slugs:
            lines.append(f"{name} ({len(slugs)}): {_slug_list(slugs)} — {_PLAN_NOTES[name]}")
    lines.append(f"unchanged: {len(plan.get('unchanged') or [])}")
    return lines


def outcome_lines(result: Mapping, check_mode: bool = False) -> list:
    """The per-space summary of a run of ``nuagerie_nextcloud_spaces``.

    :param result: the registered result.
    :param check_mode: whether the run was a check.
    :returns: lines: counts per outcome, the slugs that changed, and each failure with its reason.
    """
    outcomes = result.get("outcomes") or {}
    steps = result.get("steps") or {}
    failed = result.get("failed_spaces") or {}
    verb = "would be" if check_mode else ""
    lines = [f"occ steps{' (check mode)' if check_mode else ''}: "
             + ", ".join(f"{name} {len(outcomes.get(name) or [])}" for name in
                         ("created", "changed", "enabled", "disabled", "deleted", "pending", "unchanged", "failed"))
             + f" in {result.get('seconds', 0)} s"]
    for name in ("created", "changed", "enabled", "disabled", "deleted"):
        for slug in list(outcomes.get(name) or [])[:50]:
            detail = f" ({', '.join(steps[slug])})" if slug in steps else ""
            lines.append(f"{slug}: {verb + ' ' if verb else ''}{name}{detail}")
    lines.extend(f"{slug}: FAILED at {why}" for slug, why in sorted(failed.items()))
    return lines


class FilterModule:
    """occ desired-state filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_nextcloud_occ_spaces": occ_spaces,
            "nuagerie_nextcloud_plan_lines": plan_lines,
            "nuagerie_nextcloud_outcome_lines": outcome_lines,
            "nuagerie_nextcloud_drift_spaces": drift_spaces,
            "nuagerie_nextcloud_route_drift": route_drift,
            "nuagerie_nextcloud_drift_lines": drift_lines,
            "nuagerie_nextcloud_drifted_slugs": drifted_slugs,
        }
