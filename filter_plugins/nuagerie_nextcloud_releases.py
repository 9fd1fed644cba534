"""Nuagerie: a Nextcloud release is the server archive AND the archives of the apps it pins.

Upstream ships some apps inside the server archive (``core/shipped.json``); the others
(calendar, contacts, deck, spreed, forms, tables, collectives, richdocuments, onlyoffice, …)
come from the app store, which the farm turns off (``appstoreenabled`` false): ``occ app:enable``
of such an app fails unless its code is already in an apps directory. So every item of the
role input ``nextcloud_releases`` lists the app archives it pins::

    {version, sha256, url | src, [signature],
     apps: [{name, version, sha256, url | src}, …]}

and the role unpacks them, read-only, into ``<release>/apps-pinned/<name>``.
:func:`release_problems` checks that data before anything changes: shapes, duplicates,
placeholders, and that every app a space enables (the farm's app set plus the space's office
app) is pinned by, or shipped with, the release the space uses. Pure functions, no I/O.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Mapping

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


_occ = _sibling("nuagerie_nextcloud_occ")
_nc = _sibling("nuagerie_nextcloud")

#: Keys an item of ``apps`` may have (a typo such as ``sha265`` is refused, not ignored).
APP_KEYS = frozenset(("name", "version", "sha256", "url", "src"))

_APP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_APP_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*([-+~][0-9A-Za-z.+~-]+)?$")
_SERVER_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://\S+$")
_EXAMPLES = 3


def _source_problem(where: str, item: Mapping) -> str | None:
    """Exactly one of url (http/https) or src (a controller path)."""
    has_url, has_src = "url" in item, "src" in item
    if has_url == has_src:
        return f"{where}: give exactly one of url (downloaded on the host) or src (a file on the controller)"
    if has_url and not _URL.match(str(item["url"])):
        return f"{where}: url must be an http(s) URL, got {item['url']!r}"
    if has_src and not str(item["src"]).strip():
        return f"{where}: src is empty"
    return None


def app_problems(release: Mapping, shipped: Iterable[str]) -> list[str]:
    """Shape problems of one release's ``apps`` list.

    :param release: an item of ``nextcloud_releases``.
    :param shipped: app ids shipped in the server archive (``core/shipped.json``).
    :returns: one message per problem (empty: fine).
    """
    version = release.get("version", "?")
    apps = release.get("apps", [])
    if not isinstance(apps, list):
        return [f"release {version}: apps must be a list of {{name, version, sha256, url | src}}, got {apps!r}"]
    shipped = set(shipped)
    problems, seen = [], set()
    for index, app in enumerate(apps):
        where = f"release {version}, apps[{index}]"
        if not isinstance(app, Mapping):
            problems.append(f"{where}: must be a mapping {{name, version, sha256, url | src}}, got {app!r}")
            continue
        name = str(app.get("name", ""))
        if name:
            where = f"release {version}, app {name}"
        unknown = sorted(set(app) - APP_KEYS)
        if unknown:
            problems.append(f"{where}: unknown keys {unknown} (allowed: {sorted(APP_KEYS)})")
        if not _APP_NAME.match(name):
            problems.append(f"{where}: name must be an app id (lower case letters, digits, _), got {name!r}")
        elif name in seen:
            problems.append(f"{where}: listed twice; keep one entry per app")
        elif name in shipped:
            problems.append(f"{where}: shipped with the server (core/shipped.json); pinning it too would "
                            "give two copies of the app: remove this entry")
        seen.add(name)
        if not _APP_VERSION.match(str(app.get("version", ""))):
            problems.append(f"{where}: version must be the app's version (as in its appinfo/info.xml), "
                            f"got {app.get('version')!r}")
        sha = str(app.get("sha256", ""))
        if not _SHA256.match(sha):
            hint = (" (still a placeholder: pin the archive's real sha256)"
                    if "TODO" in sha or "SET-ME" in sha else "")
            problems.append(f"{where}: sha256 must be 64 lower-case hex digits, got {sha!r}{hint}")
        source = _source_problem(where, app)
        if source:
            problems.append(source)
    return problems


def required_apps(spaces: Iterable[Mapping], farm_apps: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """The apps each release must provide: the farm's app set plus the office app of every
    space (not absent) that uses it.

    :param spaces: space records (``nextcloud_release``, ``office``, ``state``, ``slug``).
    :param farm_apps: the farm's app set (role input ``nextcloud_apps``).
    :returns: ``{release: {app: [slugs that enable it, sorted]}}``.
    """
    farm_apps = list(farm_apps)
    needed: dict[str, dict[str, list[str]]] = {}
    for space in spaces:
        if space.get("state") == "absent":
            continue
        apps = needed.setdefault(str(space["nextcloud_release"]), {})
        office = _occ.OFFICE_APPS.get(space.get("office"))
        for app in [*farm_apps, *([office] if office else [])]:
            apps.setdefault(app, []).append(str(space["slug"]))
    for apps in needed.values():
        for slugs in apps.values():
            slugs.sort()
    return needed


def release_problems(releases: object, shipped: Iterable[str], farm_apps: Iterable[str],
                     spaces: Iterable[Mapping]) -> list[str]:
    """Everything wrong with ``nextcloud_releases`` as a set of server + pinned apps.

    :param releases: the role input ``nextcloud_releases``.
    :param shipped: app ids shipped in the server archive (role input ``nextcloud_shipped_apps``).
    :param farm_apps: the farm's app set (role input ``nextcloud_apps``).
    :param spaces: the catalogue's space records (``nuagerie_spaces``).
    :returns: one actionable message per problem, naming the release, the app and the fix;
        empty when the releases are fine.
    :raises AnsibleFilterError: when ``releases`` is not a list of mappings.
    """
    if not isinstance(releases, list) or not all(isinstance(r, Mapping) for r in releases):
        raise AnsibleFilterError(f"nextcloud_releases must be a list of mappings, got {releases!r}")
    shipped = sorted(set(shipped))
    farm_apps = list(farm_apps)
    problems: list[str] = []
    by_version: dict[str, Mapping] = {}
    for release in releases:
        version = str(release.get("version", ""))
        if not _SERVER_VERSION.match(version):
            problems.append(f"release {version or '?'}: version must be MAJOR.MINOR.PATCH")
        elif version in by_version:
            problems.append(f"release {version}: listed twice in nextcloud_releases")
        by_version.setdefault(version, release)
        problems.extend(app_problems(release, shipped))
    office_apps = set(_occ.OFFICE_APPS.values())
    for version, apps in sorted(required_apps(spaces, farm_apps).items()):
        release = by_version.get(version)
        if release is None:
            continue  # "not installed at all": the role's own preflight names those spaces
        pinned = {str(a.get("name")) for a in release.get("apps", []) or [] if isinstance(a, Mapping)}
        for app, slugs in sorted(apps.items()):
            if app in pinned or app in shipped:
                continue
            why = ("the office app of spaces" if app in office_apps and app not in farm_apps
                   else "in nextcloud_apps, enabled in every space, e.g.")
            shown = ", ".join(slugs[:_EXAMPLES]) + (f" and {len(slugs) - _EXAMPLES} more" if len(slugs) > _EXAMPLES else "")
            problems.append(
                f"release {version}: app {app!r} is not in the server archive (core/shipped.json) and the "
                f"release does not pin it, so 'occ app:enable {app}' would fail (the app store is off). "
                f"It is {why} {shown}. Fix: add {{name: {app}, version: <its version>, sha256: <sha256>, "
                f"url: <archive URL> or src: <controller path>}} to the apps of release {version} in "
                "nextcloud_releases, or stop enabling it.")
    return problems


def unpinned_paths(found: Iterable[Mapping], releases_dir: str) -> list[str]:
    """What the releases no longer pin: app directories under ``<release>/apps-pinned/`` that
    the release does not list, and unpack marks (``<releases_dir>/.pinned/<version>/<name>.<sha256>``)
    of no current pin.

    :param found: the results of an ``ansible.builtin.find`` looped over ``nextcloud_releases``
        with ``loop_var: __nextcloud_item`` (paths: the release's pinned apps dir and its marks dir).
    :param releases_dir: the role input ``nextcloud_releases_dir``.
    :returns: sorted paths to remove.
    """
    out = []
    for result in found:
        release = result.get("__nextcloud_item") or {}
        version = str(release.get("version", ""))
        pins = {str(a.get("name")): str(a.get("sha256")) for a in release.get("apps") or []
                if isinstance(a, Mapping)}
        marks = {f"{name}.{sha}" for name, sha in pins.items()}
        apps_root = f"{releases_dir.rstrip('/')}/{version}/{_nc.PINNED_APPS_DIR}"
        marks_root = f"{releases_dir.rstrip('/')}/.pinned/{version}"
        for entry in result.get("files") or []:
            parent, name = os.path.split(str(entry.get("path", "")))
            if parent == apps_root and entry.get("isdir") and name not in pins:
                out.append(entry["path"])
            elif parent == marks_root and name not in marks:
                out.append(entry["path"])
    return sorted(out)


class FilterModule:
    """Release filters of the web tier."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_nextcloud_release_problems": release_problems,
            "nuagerie_nextcloud_required_apps": required_apps,
            "nuagerie_nextcloud_unpinned_paths": unpinned_paths,
        }
