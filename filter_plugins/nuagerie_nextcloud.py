"""Nuagerie web tier: everything rendered per space, as pure functions (no I/O, no Ansible state).

One ``settings`` mapping (built by the roles from their variables, see :data:`SETTINGS_KEYS`)
plus the space records of ``docs/space-record.md`` give:

* :func:`farm_config` / :func:`space_config`: the two ``*.config.php`` files Nextcloud merges over
  its own ``config.php`` (farm-wide file, identical for every space; the space's own file);
* :func:`fpm_pool`: the php-fpm pool of one space;
* :func:`nginx_spaces_map`: the one nginx file routing every Host to its space;
* :func:`web_bundle`: every per-space file of one kind for all spaces at once, as entries that
  the ``nuagerie_web_files`` action converges in a single task (set-based);
* :func:`check_config_keys`: config keys are checked against :data:`CONFIG_KEYS`, the keys of
  Nextcloud's ``config/config.sample.php`` the project uses. Nextcloud silently ignores a
  misspelt key, so rendering refuses it and names the closest known key.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
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


_php = _sibling("nuagerie_php")
_secrets = _sibling("nuagerie_secrets")
_names = _sibling("nuagerie_names")

#: Keys of Nextcloud's ``config/config.sample.php`` (checked against 33.x) that the project may
#: render. Anything else is refused at render time (a typo would be silently ignored).
CONFIG_KEYS = frozenset((
    # identity and state (config.php keys; ours override them, see docs/web.md)
    "instanceid", "passwordsalt", "secret", "version", "installed", "maintenance",
    "config_is_read_only", "serverid",
    # paths and URLs
    "datadirectory", "tempdirectory", "trusted_domains", "trusted_proxies",
    "forwarded_for_headers", "overwrite.cli.url", "overwriteprotocol", "overwritehost",
    "overwritewebroot", "apps_paths", "skeletondirectory", "templatedirectory",
    # database
    "dbtype", "dbhost", "dbname", "dbuser", "dbpassword", "dbtableprefix", "dbpersistent",
    "dbdriveroptions", "pgsql_ssl", "setup_create_db_user", "db.log_request_id",
    # caches and locking
    "memcache.local", "memcache.distributed", "memcache.locking", "memcache_customprefix",
    "redis", "filelocking.enabled", "filelocking.ttl",
    # storage
    "objectstore", "quota_include_external_storage", "trashbin_retention_obligation",
    "versions_retention_obligation",
    # logging
    "log_type", "log_type_audit", "syslog_tag", "syslog_tag_audit", "loglevel", "logtimezone",
    "log_query", "logdateformat",
    # apps, updates, maintenance
    "appstoreenabled", "appsallowlist", "upgrade.disable-web", "updatechecker",
    "has_internet_connection", "maintenance_window_start", "integrity.check.disabled",
    "check_for_working_wellknown_setup", "knowledgebaseenabled", "activity_expire_days",
    # mail
    "mail_smtpmode", "mail_smtphost", "mail_smtpport", "mail_smtpsecure", "mail_smtpauth",
    "mail_smtpname", "mail_smtppassword", "mail_from_address", "mail_domain",
    "mail_smtptimeout", "mail_sendmailmode", "mail_smtpstreamoptions",
    # previews, locale, security
    "preview_imaginary_url", "preview_imaginary_key", "enabledPreviewProviders",
    "preview_max_x", "preview_max_y", "default_language", "default_locale",
    "default_phone_region", "default_timezone", "auth.bruteforce.protection.enabled",
    "allow_local_remote_servers", "lost_password_link", "token_auth_enforced",
    "session_lifetime", "session_keepalive", "remember_login_cookie_lifetime",
    # hard limit of enabled accounts (lib/private/Support/Subscription/Registry.php)
    "one-click-instance", "one-click-instance.user-limit",
))

#: Keys of the ``settings`` mapping, with their meaning (the roles' variables feed them).
SETTINGS_KEYS = {
    "farm_name": "command prefix of the occ wrapper (<farm>-occ)",
    "spaces_root": "parent of <root>/<slug>/{config,data,tmp,sessions,release}",
    "releases_dir": "parent of <releases_dir>/<version>/ (one read-only code tree each)",
    "farm_config_file": "path of the farm-wide config file every space links to",
    "web_user": "nginx's Unix user: owner of every pool's socket (the pools, occ and jobs run as "
                "each space's own user, names.unix_user / names.unix_uid)",
    "web_group": "nginx's group: group of every pool's socket (mode 0660), nothing else of a space",
    "db": "{host, port, ssl_mode, ssl_rootcert}: the PostgreSQL primary",
    "redis": "{host, port, tls, cafile}",
    "s3": "{hostname, port, use_ssl, region}",
    "trusted_proxies": "list of addresses/CIDRs of the frontends' own proxies",
    "overwriteprotocol": "'https' behind the TLS frontends",
    "maintenance_hours": "UTC hours a space's maintenance window may start at (staggered)",
    "mail": "farm mail settings (mail_* keys without the prefix), may be {}",
    "farm_config_extra": "more farm-wide config.sample.php keys",
    "pool": "{max_children, idle_timeout, max_requests, memory_limit, upload_max_size, "
            "socket_dir, extra_open_basedir}",
    "tls_ca": "farm CA file PHP may read (Redis/PostgreSQL TLS)",
    "imaginary": "{urls, key, providers}: Imaginary base URLs (each space uses one, see "
                 "imaginary_url), its API key, enabledPreviewProviders; {} or no urls: none",
}

#: The preview provider that hands images to Imaginary (lib/private/Preview/Imaginary.php).
IMAGINARY_PROVIDER = "OC\\Preview\\Imaginary"

_STATES_SERVED = ("active",)

#: Directory of a release's code tree holding the apps the release pins (the apps upstream
#: does not ship), read-only; also its URL path (nginx serves it like ``/apps``).
PINNED_APPS_DIR = "apps-pinned"

#: Content upstream's installer and updater write into ``<datadirectory>/.ncdata`` (Setup.php,
#: Updater.php), byte for byte: the installer rewrites it, so any difference would flap.
NCDATA = "# Nextcloud data directory\n# Do not change this file"


def check_config_keys(config: Mapping, where: str = "config") -> Mapping:
    """Refuse keys Nextcloud does not know (of those the project uses).

    :param config: a config mapping (top-level keys are checked).
    :param where: what is checked, for the message.
    :returns: ``config`` unchanged.
    :raises AnsibleFilterError: naming every unknown key and its closest known key.
    """
    if not isinstance(config, Mapping):
        raise AnsibleFilterError(f"{where}: a Nextcloud config must be a mapping, "
                                 f"got {type(config).__name__}")
    problems = []
    for key in config:
        if key not in CONFIG_KEYS:
            close = difflib.get_close_matches(str(key), CONFIG_KEYS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "not a key of config.sample.php"
            problems.append(f"{key!r} ({hint})")
    if problems:
        raise AnsibleFilterError(f"{where}: unknown Nextcloud config key(s): {', '.join(problems)}. "
                                 "Nextcloud would silently ignore them; fix the spelling or add the "
                                 "key to CONFIG_KEYS in filter_plugins/nuagerie_nextcloud.py after "
                                 "checking config.sample.php")
    return config


def _need(settings: Mapping, key: str, kind: type | tuple = str) -> object:
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError(f"web settings must be a mapping, got {type(settings).__name__}")
    value = settings.get(key)
    if value is None or (kind is str and value == "") or not isinstance(value, kind):
        raise AnsibleFilterError(f"web settings: {key!r} is missing or not a "
                                 f"{getattr(kind, '__name__', kind)} ({SETTINGS_KEYS.get(key, '')})")
    return value


def _need_abs(settings: Mapping, key: str) -> str:
    value = _need(settings, key)
    if not value.startswith("/"):
        raise AnsibleFilterError(f"web settings: {key!r} must be an absolute path, got {value!r}")
    return value.rstrip("/")


def maintenance_window_start(slug: str, hours: object) -> int:
    """Staggered ``maintenance_window_start`` of a space: one of ``hours``, chosen by SHA-256 of
    the slug, so spaces spread evenly over the allowed hours and a space keeps its hour.

    :param slug: the space slug.
    :param hours: non-empty list of UTC hours 0..23.
    :returns: the hour.
    :raises AnsibleFilterError: on an empty or invalid hour list.
    """
    if (not isinstance(hours, (list, tuple)) or not hours
            or any(isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 23 for h in hours)):
        raise AnsibleFilterError(f"maintenance hours must be a non-empty list of integers 0..23, "
                                 f"got {hours!r}")
    index = int.from_bytes(hashlib.sha256(slug.encode("utf-8")).digest()[:8], "big") % len(hours)
    return hours[index]


def space_paths(space: Mapping, settings: Mapping) -> dict:
    """Directories of one space on a web host.

    :param space: a space record.
    :param settings: the web settings.
    :returns: ``{root, config, data, tmp, sessions, release_link, release}``.
    """
    root = _need_abs(settings, "spaces_root")
    slug = space["slug"]
    base = f"{root}/{slug}"
    return {
        "root": base,
        "config": space["names"]["config_dir"],
        "data": f"{base}/data",
        "tmp": f"{base}/tmp",
        "sessions": f"{base}/sessions",
        "release_link": f"{base}/release",
        "release": f"{_need_abs(settings, 'releases_dir')}/{space['nextcloud_release']}",
    }


def farm_config(settings: Mapping) -> dict:
    """The farm-wide config file (same for every space).

    :param settings: the web settings.
    :returns: a config mapping, keys checked.
    """
    config = {
        "memcache.local": "\\OC\\Memcache\\APCu",
        "memcache.distributed": "\\OC\\Memcache\\Redis",
        "memcache.locking": "\\OC\\Memcache\\Redis",
        "log_type": "syslog",
        "log_type_audit": "syslog",
        "logtimezone": "UTC",
        "loglevel": 2,
        "appstoreenabled": False,
        "upgrade.disable-web": True,
        "updatechecker": False,
        "setup_create_db_user": False,
        "dbtype": "pgsql",
        "dbtableprefix": "oc_",
        "overwriteprotocol": _need(settings, "overwriteprotocol"),
        "trusted_proxies": list(_need(settings, "trusted_proxies", (list, tuple))),
    }
    mail = settings.get("mail") or {}
    if not isinstance(mail, Mapping):
        raise AnsibleFilterError(f"web settings: 'mail' must be a mapping, got {mail!r}")
    for key, value in mail.items():
        config[f"mail_{key}"] = value
    imaginary = _imaginary(settings)
    if imaginary:
        config["enabledPreviewProviders"] = list(imaginary["providers"])
        config["preview_imaginary_key"] = imaginary["key"]
    extra = settings.get("farm_config_extra") or {}
    if not isinstance(extra, Mapping):
        raise AnsibleFilterError(f"web settings: 'farm_config_extra' must be a mapping, got {extra!r}")
    config.update(extra)
    return dict(check_config_keys(config, "farm config"))


def space_config(space: Mapping, settings: Mapping, master_key: str) -> dict:
    """The space's own config file: identity, database, object store, Redis, log tag, URLs.

    :param space: a space record; with ``secrets`` (``nuagerie_space_secrets``) or without (they
        are derived here from ``master_key``).
    :param settings: the web settings.
    :param master_key: the vaulted farm master key.
    :returns: a config mapping, keys checked.
    """
    if "secrets" not in space:
        space = _secrets.space_secrets(space, master_key)
    names, secrets, paths = space["names"], space["secrets"], space_paths(space, settings)
    db = _need(settings, "db", Mapping)
    redis = _need(settings, "redis", Mapping)
    s3 = _need(settings, "s3", Mapping)
    domains = list(space["domains"])
    config = dict(_secrets.space_nextcloud_identity(space, master_key))
    config.update({
        "datadirectory": paths["data"],
        "tempdirectory": paths["tmp"],
        "trusted_domains": domains,
        "overwrite.cli.url": f"https://{domains[0]}",
        "dbhost": f"{db['host']}:{db.get('port', 5432)}",
        "dbname": names["database"],
        "dbuser": names["db_role"],
        "dbpassword": secrets["db_password"],
    })
    if db.get("ssl_mode"):
        config["pgsql_ssl"] = {"mode": db["ssl_mode"], "rootcert": db.get("ssl_rootcert", "")}
    config["objectstore"] = {
        "class": "\\OC\\Files\\ObjectStore\\S3",
        "arguments": {
            "bucket": names["bucket"],
            "hostname": s3["hostname"],
            "port": int(s3.get("port", 9000)),
            "region": s3.get("region", "us-east-1"),
            "key": names["s3_access_key"],
            "secret": secrets["s3_secret_key"],
            "use_ssl": bool(s3.get("use_ssl", True)),
            "use_path_style": True,
            # The bucket exists before install (role minio): never created by Nextcloud. No
            # `autocreate`: that is a Swift option (ObjectStore/Swift.php), S3 ignores it.
            "verify_bucket_exists": False,
        },
    }
    redis_conf = {
        "host": ("tls://" if redis.get("tls", True) else "") + redis["host"],
        "port": int(redis.get("port", 6379)),
        "timeout": 1.5,
        "user": names["redis_user"],
        "password": secrets["redis_password"],
    }
    if redis.get("tls", True) and redis.get("cafile"):
        redis_conf["ssl_context"] = {"cafile": redis["cafile"], "verify_peer_name": True}
    config["redis"] = redis_conf
    config["memcache_customprefix"] = names["redis_prefix"]
    config["syslog_tag"] = names["syslog_tag"]
    config["syslog_tag_audit"] = names["syslog_tag_audit"]
    config["maintenance_window_start"] = maintenance_window_start(
        space["slug"], settings.get("maintenance_hours", [1, 2, 3, 4]))
    config["mail_domain"] = (settings.get("mail") or {}).get("domain") or domains[0]
    # The account limit is Nextcloud's own: with one-click-instance on, creating an account
    # beyond user-limit enabled accounts fails (web UI, provisioning API and occ alike).
    config["one-click-instance"] = True
    config["one-click-instance.user-limit"] = int(space["max_accounts"])
    config["apps_paths"] = apps_paths(paths["release"])
    imaginary = _imaginary(settings)
    if imaginary:
        config["preview_imaginary_url"] = imaginary_url(space["slug"], imaginary["urls"])
    return dict(check_config_keys(config, f"space {space['slug']}"))


def _imaginary(settings: Mapping) -> dict:
    """The ``imaginary`` settings checked, or ``{}`` when the farm has no Imaginary host."""
    imaginary = settings.get("imaginary") or {}
    if not isinstance(imaginary, Mapping):
        raise AnsibleFilterError(f"web settings: 'imaginary' must be a mapping, got {imaginary!r}")
    urls = imaginary.get("urls") or []
    if not urls:
        return {}
    if not isinstance(urls, (list, tuple)) or not all(
            isinstance(u, str) and u.startswith(("https://", "http://")) for u in urls):
        raise AnsibleFilterError(f"web settings: imaginary.urls must be a list of http(s) URLs, got {urls!r}")
    key, providers = imaginary.get("key"), imaginary.get("providers")
    if not isinstance(key, str) or len(key) < 16:
        raise AnsibleFilterError("web settings: imaginary.key must be a string of 16 characters or more "
                                 "(derive it: nuagerie_farm_secret('imaginary-key'))")
    if not isinstance(providers, (list, tuple)) or IMAGINARY_PROVIDER not in providers:
        raise AnsibleFilterError(f"web settings: imaginary.providers must list {IMAGINARY_PROVIDER!r}, "
                                 f"got {providers!r}")
    return {"urls": list(urls), "key": key, "providers": list(providers)}


def imaginary_url(slug: str, urls: list) -> str:
    """The Imaginary a space sends its previews to: one of ``urls``, chosen by SHA-256 of the
    slug (like :func:`cron_host`), so spaces spread evenly over the Imaginary hosts and a space
    keeps its host while the list is unchanged. Upstream takes one URL (preview_imaginary_url).

    :param slug: the space slug.
    :param urls: non-empty list of Imaginary base URLs (order does not matter: sorted here).
    :returns: the URL.
    :raises AnsibleFilterError: on an empty list.
    """
    if not isinstance(urls, (list, tuple)) or not urls:
        raise AnsibleFilterError(f"imaginary_url: need a non-empty list of URLs, got {urls!r}")
    ordered = sorted(urls)
    index = int.from_bytes(hashlib.sha256(slug.encode("utf-8")).digest()[:8], "big") % len(ordered)
    return ordered[index]


def apps_paths(release: str) -> list:
    """The ``apps_paths`` of a space on a release: the server's ``apps/`` and the release's
    pinned apps (``PINNED_APPS_DIR``), both read-only, so ``occ app:enable`` never reaches the
    app store (``Installer::downloadApp`` needs a writable root).

    Real paths of the release tree, not the space's ``release`` link: Nextcloud's code
    integrity check skips the apps roots by comparing them with paths under its server root,
    which PHP resolves (``__DIR__``). The space's config file changes with its release link,
    in the same task (``nuagerie_web_files``).

    :param release: absolute path of the release's code tree (``<releases_dir>/<version>``).
    :returns: ``[{path, url, writable}, …]`` in lookup order.
    """
    return [
        {"path": f"{release}/apps", "url": "/apps", "writable": False},
        {"path": f"{release}/{PINNED_APPS_DIR}", "url": f"/{PINNED_APPS_DIR}", "writable": False},
    ]


def _php_file(config: Mapping, header: str) -> str:
    return _php.to_php(config, header=header)


def farm_config_php(settings: Mapping) -> str:
    """The farm-wide file as PHP (``<?php $CONFIG = [...];``)."""
    return _php_file(farm_config(settings),
                     "Managed by Ansible (nextcloud role): farm-wide settings of every space.")


def space_config_php(space: Mapping, settings: Mapping, master_key: str) -> str:
    """The space's own file as PHP."""
    return _php_file(space_config(space, settings, master_key),
                     f"Managed by Ansible (nextcloud role): settings of space {space['slug']}.")


def fpm_pool(space: Mapping, settings: Mapping) -> str:
    """The php-fpm pool of one space (``pm = ondemand``, own socket, temp, sessions, basedir).

    :param space: a space record.
    :param settings: the web settings.
    :returns: the pool file text.
    """
    pool = _need(settings, "pool", Mapping)
    paths = space_paths(space, settings)
    name = space["names"]["fpm_pool"]
    releases = _need_abs(settings, "releases_dir")
    basedir = [f"{releases}/", f"{paths['config']}/", f"{paths['data']}/", f"{paths['tmp']}/",
               f"{paths['sessions']}/", _need_abs(settings, "farm_config_file"),
               "/dev/urandom", "/proc/meminfo"]
    if settings.get("tls_ca"):
        basedir.append(settings["tls_ca"])
    basedir.extend(pool.get("extra_open_basedir") or [])
    web_user, web_group = _need(settings, "web_user"), _need(settings, "web_group")
    # The space's own user and group (initgroups adds the farm group that reads the farm file);
    # the socket belongs to nginx's user and group, so nginx, and no other pool, reaches it.
    user = space["names"]["unix_user"]
    lines = [
        "; Managed by Ansible (php_fpm role): pool of space " + space["slug"],
        f"[{name}]",
        f"user = {user}",
        f"group = {user}",
        f"listen = {pool.get('socket_dir', '/run/php')}/{name}.sock",
        f"listen.owner = {web_user}",
        f"listen.group = {web_group}",
        "listen.mode = 0660",
        "pm = ondemand",
        f"pm.max_children = {int(pool.get('max_children', 8))}",
        f"pm.process_idle_timeout = {pool.get('idle_timeout', '30s')}",
        f"pm.max_requests = {int(pool.get('max_requests', 500))}",
        "clear_env = yes",
        "env[PATH] = /usr/local/bin:/usr/bin:/bin",
        f"env[TMPDIR] = {paths['tmp']}",
        f"env[NEXTCLOUD_CONFIG_DIR] = {paths['config']}/",
        f"php_admin_value[open_basedir] = {':'.join(basedir)}",
        f"php_admin_value[sys_temp_dir] = {paths['tmp']}",
        f"php_admin_value[upload_tmp_dir] = {paths['tmp']}",
        f"php_admin_value[session.save_path] = {paths['sessions']}",
        f"php_admin_value[memory_limit] = {pool.get('memory_limit', '512M')}",
        f"php_admin_value[upload_max_filesize] = {pool.get('upload_max_size', '512M')}",
        f"php_admin_value[post_max_size] = {pool.get('upload_max_size', '512M')}",
        "php_admin_value[output_buffering] = 0",
        "php_admin_flag[expose_php] = off",
    ]
    if pool.get("disable_functions"):
        lines.append(f"php_admin_value[disable_functions] = {','.join(pool['disable_functions'])}")
    lines.append("")
    return "\n".join(lines)


def served(space: Mapping) -> bool:
    """Whether a space is served (its pool runs, nginx routes to it)."""
    return space.get("state") in _STATES_SERVED


def nginx_spaces_map(spaces: list, settings: Mapping) -> str:
    """The one nginx file routing every Host: ``$nc_space`` (slug of an active space, else "")
    and ``$nc_disabled`` (1 for a disabled space's domains). Unknown hosts match neither.

    :param spaces: space records.
    :param settings: the web settings (unused today; kept for a stable signature).
    :returns: the file text (two ``map`` blocks, keys sorted).
    """
    active, disabled = [], []
    for space in spaces:
        state = space.get("state")
        target = active if state == "active" else disabled if state == "disabled" else None
        if target is None:
            continue
        for domain in space["domains"]:
            target.append((domain, space["slug"]))
    out = ["# Managed by Ansible (nginx role): Host -> space, from the catalogue.",
           "map $host $nc_space {", "    hostnames;", '    default "";']
    out.extend(f"    {domain} {slug};" for domain, slug in sorted(active))
    out += ["}", "map $host $nc_disabled {", "    hostnames;", "    default 0;"]
    out.extend(f"    {domain} 1;" for domain, _ in sorted(disabled))
    out += ["}", ""]
    return "\n".join(out)


def cron_host(slug: str, hosts: list) -> str:
    """The web host that runs a space's background jobs (SHA-256 of the slug over the sorted
    hosts), so each space's cron runs once, and spaces spread evenly over the hosts.

    :param slug: the space slug.
    :param hosts: inventory names of the web hosts.
    :returns: one of ``hosts``.
    """
    if not hosts:
        raise AnsibleFilterError("cron_host: the list of web hosts is empty")
    ordered = sorted(hosts)
    index = int.from_bytes(hashlib.sha256(slug.encode("utf-8")).digest()[:8], "big") % len(ordered)
    return ordered[index]


def _dir(path: str, mode: str, owner: str, group: str) -> dict:
    return {"path": path, "type": "directory", "mode": mode, "owner": owner, "group": group}


def _file(path: str, content: str, mode: str, owner: str, group: str) -> dict:
    return {"path": path, "type": "file", "content": content, "mode": mode, "owner": owner,
            "group": group}


def _absent(path: str) -> dict:
    return {"path": path, "type": "absent"}


def _link(path: str, target: str) -> dict:
    return {"path": path, "type": "link", "src": target}


def web_bundle(spaces: object, kind: str, settings: Mapping, master_key: str = "",
               host: str = "", hosts: object = None) -> list:
    """Every per-space entry of one kind, for all spaces (the input of ``nuagerie_web_files``).

    Kinds:

    * ``config``: per space (not absent): ``<root>/<slug>/`` (0755 root), ``config/`` (0710
      the space's own user: ``names.unix_uid``, as a number, and nginx's group, which may only
      stat ``config.php``), ``data``, ``tmp``, ``sessions`` (0700 the space's user), ``release`` → ``<releases_dir>/<version>``, ``config/00-farm.config.php`` → the
      farm file, ``config/50-space.config.php`` (0640 root:<the space's group>: readable by its
      pool only, never rewritten by Nextcloud), ``data/.ncdata``; an ``absent`` space's whole
      ``<root>/<slug>/`` is removed (its data dir holds no user data: files live in the bucket);
    * ``pools``: ``<slug>.conf`` per served space (root of the entries: php-fpm's pool dir);
    * ``nginx``: one ``spaces.map``;
    * ``timers``: ``nc-cron@<slug>.timer`` links (into ``timers.target.wants``) for the active
      spaces whose :func:`cron_host` is ``host``.

    Paths are relative to the root the caller converges (absolute for ``config``).

    :param spaces: space records.
    :param kind: ``config``, ``pools``, ``nginx`` or ``timers``.
    :param settings: the web settings.
    :param master_key: the farm master key (``config`` only).
    :param host: this web host (``timers`` only).
    :param hosts: all web hosts (``timers`` only).
    :returns: a list of entries ``{path, type, content|src, mode, owner, group}``.
    :raises AnsibleFilterError: on an unknown kind or bad settings.
    """
    if not isinstance(spaces, (list, tuple)):
        raise AnsibleFilterError(f"web_bundle expects a list of space records, got "
                                 f"{type(spaces).__name__}")
    entries: list = []
    if kind == "config":
        farm_file = _need_abs(settings, "farm_config_file")
        for space in spaces:
            paths = space_paths(space, settings)
            if space.get("state") == "absent":
                entries.append(_absent(paths["root"]))
                continue
            # The space's own user (numeric: no lookup per space, works in check mode). occ
            # runs as the owner of config.php (upstream console.php), i.e. as this user.
            uid = space["names"]["unix_uid"]
            entries += [
                _dir(paths["root"], "0755", "root", "root"),
                # 0710 to nginx's group: nginx may only stat config.php (its "installed yet?"
                # check), never list the dir nor read a file; other spaces cannot even traverse.
                _dir(paths["config"], "0710", uid, _need(settings, "web_group")),
                _dir(paths["data"], "0700", uid, uid),
                _dir(paths["tmp"], "0700", uid, uid),
                _dir(paths["sessions"], "0700", uid, uid),
                # Nextcloud (32+) refuses to serve a data dir without it (checkDataDirectoryValidity);
                # only the host that ran the installer would have it otherwise. Setup's content.
                _file(f"{paths['data']}/.ncdata", NCDATA, "0640", uid, uid),
                _link(paths["release_link"], paths["release"]),
                _link(f"{paths['config']}/00-farm.config.php", farm_file),
                _file(f"{paths['config']}/50-space.config.php",
                      space_config_php(space, settings, master_key), "0640", "root", uid),
            ]
    elif kind == "pools":
        entries = [_file(f"{space['names']['fpm_pool']}.conf", fpm_pool(space, settings), "0644",
                         "root", "root") for space in spaces if served(space)]
    elif kind == "nginx":
        entries = [_file("spaces.map", nginx_spaces_map(list(spaces), settings), "0644", "root",
                         "root")]
    elif kind == "timers":
        if not isinstance(hosts, (list, tuple)) or host not in hosts:
            raise AnsibleFilterError(f"web_bundle timers: host {host!r} is not in the web hosts "
                                     f"{hosts!r}")
        unit = "/etc/systemd/system/nc-cron@.timer"
        entries = [_link(f"{space['names']['timer']}.timer", unit) for space in spaces
                   if space.get("state") == "active" and cron_host(space["slug"], hosts) == host]
    else:
        raise AnsibleFilterError(f"web_bundle: unknown kind {kind!r}; known: config, pools, "
                                 "nginx, timers")
    return entries


def unix_users(spaces: object, settings: Mapping) -> dict:
    """The spaces' Unix users on a frontend (input of the ``nuagerie_unix_users`` module).

    Every space that is not absent gets ``names.unix_user`` with UID = GID ``names.unix_uid``
    and home ``<spaces_root>/<slug>`` (never created for it: the dir is root's, 0755).

    :param spaces: space records (the whole catalogue: a selection would remove the others).
    :param settings: the web settings (``spaces_root``).
    :returns: ``{users: [{name, uid, home}], uid_min, uid_count}``.
    """
    if not isinstance(spaces, (list, tuple)):
        raise AnsibleFilterError(f"unix_users expects a list of space records, got {type(spaces).__name__}")
    root = _need_abs(settings, "spaces_root")
    users = [{"name": space["names"]["unix_user"], "uid": int(space["names"]["unix_uid"]),
              "home": f"{root}/{space['slug']}"}
             for space in spaces if space.get("state") != "absent"]
    return {"users": users, "uid_min": _names.UNIX_UID_MIN, "uid_count": _names.UNIX_UID_COUNT}


class FilterModule:
    """Web-tier filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_nextcloud_farm_config": farm_config,
            "nuagerie_nextcloud_farm_config_php": farm_config_php,
            "nuagerie_nextcloud_space_config": space_config,
            "nuagerie_nextcloud_check_keys": check_config_keys,
            "nuagerie_nextcloud_fpm_pool": fpm_pool,
            "nuagerie_nextcloud_nginx_map": nginx_spaces_map,
            "nuagerie_nextcloud_cron_host": cron_host,
            "nuagerie_nextcloud_maintenance_hour": maintenance_window_start,
            "nuagerie_web_bundle": web_bundle,
            "nuagerie_nextcloud_unix_users": unix_users,
        }
