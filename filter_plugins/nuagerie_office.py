"""Nuagerie office servers: what Collabora Online and OnlyOffice need, from the whole catalogue.

Pure functions (no I/O, no Ansible state), rendered from ``nuagerie_spaces`` (every space, never
a selection: a file rendered from ``-e spaces=`` would drop every other space from the server).

Collabora Online (``coolwsd``) admits a WOPI host only if it is in ``storage.wopi.alias_groups``
(mode ``groups``) and keys each open document by the group's ``host`` with an alias replaced by
it (CollaboraOnline/online ``wsd/HostUtil.cpp``: ``parseAliases``, ``allowedAlias``,
``getNewUri``). One group per space, its primary domain as ``host`` and its other domains as
``alias``: a space's documents are never keyed under another space's host, and a space on
OnlyOffice (or a disabled one) is in no group, so Collabora refuses its documents. The same
groups go to the remote configuration coolwsd polls (``remote_config.remote_url``, every 60 s,
``wsd/RemoteConfig.cpp``), so a new space is admitted without restarting coolwsd.

OnlyOffice Docs fetches documents and posts callbacks to URLs it reads from signed requests; its
private-address filter (``externalRequest.action.blockPrivateIP``) is bypassed only for URLs that
start with an entry of ``externalRequest.directIfIn.allowList`` (ONLYOFFICE/server
``Common/sources/utils.js`` ``isAllowDirectRequest``): the list holds ``https://<domain>/`` of
every active OnlyOffice space, so the server reaches the frontends for those spaces and nothing
else on a private network. It goes to the runtime configuration file the server re-reads when
it changes (``Common/sources/runtimeConfigManager.js``), so a new space needs no restart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

from ansible.errors import AnsibleFilterError

#: A domain as the catalogue stores it (lower case, punycode): labels of [a-z0-9-].
DOMAIN_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+\Z")

#: The states whose spaces an office server serves.
SERVED_STATES = ("active",)

#: ``kind`` coolwsd requires in a remote configuration (RemoteJSONPoll: ``_expectedKind``).
REMOTE_CONFIG_KIND = "configuration"


def _domains(space: Mapping) -> list[str]:
    if not isinstance(space, Mapping) or not isinstance(space.get("slug"), str):
        raise AnsibleFilterError(f"office filters expect space records (with a 'slug'), got {type(space).__name__}")
    domains = space.get("domains")
    if not isinstance(domains, list) or not domains:
        raise AnsibleFilterError(f"space {space['slug']}: 'domains' must be a non-empty list "
                                 f"(the catalogue role fills it), got {domains!r}")
    for domain in domains:
        if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
            raise AnsibleFilterError(f"space {space['slug']} ({space.get('source', 'catalogue')}): domain {domain!r} "
                                     "is not a lower-case DNS name (letters, digits, '-' and '.')")
    return domains


def served_spaces(spaces: Iterable[Mapping], suite: str) -> list[Mapping]:
    """The spaces an office suite serves: active, with ``office`` equal to ``suite``, by slug.

    :param spaces: the whole catalogue (``nuagerie_spaces``).
    :param suite: ``collabora`` or ``onlyoffice``.
    :returns: those records, sorted by slug.
    :raises AnsibleFilterError: on a record without slug or domains, or a domain used twice.
    """
    if not isinstance(spaces, (list, tuple)):
        raise AnsibleFilterError(f"office filters expect the list of space records, got {type(spaces).__name__}")
    owner: dict[str, str] = {}
    chosen = []
    for space in spaces:
        domains = _domains(space)
        for domain in domains:
            if owner.setdefault(domain, space["slug"]) != space["slug"]:
                raise AnsibleFilterError(f"domain {domain} belongs to spaces {owner[domain]} and {space['slug']}: "
                                         "each domain must name one space")
        if space.get("office") == suite and space.get("state") in SERVED_STATES:
            chosen.append(space)
    return sorted(chosen, key=lambda s: s["slug"])


def _origin(domain: str) -> str:
    # coolwsd compares scheme://host:port (HostUtil: Poco::URI authority); Nextcloud is https.
    return f"https://{domain}:443"


def collabora_alias_groups(spaces: Iterable[Mapping]) -> list[dict]:
    """One alias group per active Collabora space: its primary domain, then its aliases.

    :param spaces: the whole catalogue (``nuagerie_spaces``).
    :returns: ``[{"slug", "host", "aliases"}]`` sorted by slug; ``host`` and each alias are
        ``https://<domain>:443``.
    :raises AnsibleFilterError: on a malformed record or a domain shared by two spaces.
    """
    groups = []
    for space in served_spaces(spaces, "collabora"):
        domains = space["domains"]
        groups.append({"slug": space["slug"], "host": _origin(domains[0]),
                       "aliases": [_origin(d) for d in domains[1:]]})
    return groups


def coolwsd_alias_groups_xml(spaces: Iterable[Mapping], indent: str = "            ") -> str:
    """The ``<group>`` elements of ``storage.wopi.alias_groups`` for coolwsd.xml.

    One line per element; the template wraps them in ``<alias_groups mode="groups">``.

    :param spaces: the whole catalogue.
    :param indent: prefix of each line.
    :returns: the XML fragment (empty string when no space is on Collabora).
    """
    lines = []
    for group in collabora_alias_groups(spaces):
        lines.append(f"{indent}<group><!-- {escape(group['slug'])} -->")
        lines.append(f'{indent}    <host desc="hostname to allow or deny." allow="true">{escape(group["host"])}</host>')
        for alias in group["aliases"]:
            lines.append(f'{indent}    <alias desc="regex pattern of aliasname">{escape(alias)}</alias>')
        lines.append(f"{indent}</group>")
    return "\n".join(lines)


def collabora_remote_config(spaces: Iterable[Mapping]) -> dict:
    """The remote configuration coolwsd polls: the same alias groups, as JSON.

    Shape read by ``RemoteConfigPoll::fetchAliasGroups`` (CollaboraOnline/online
    ``wsd/RemoteConfig.cpp``): ``kind`` must be ``configuration``; ``storage.wopi.alias_groups``
    holds ``mode`` and ``groups`` (``host``, ``allow``, ``aliases``). An empty ``groups`` array is
    ignored by coolwsd (it keeps the groups of coolwsd.xml), so when no space is on Collabora the
    list holds one never-matching denied entry instead.

    :param spaces: the whole catalogue.
    :returns: the JSON document as a dict.
    """
    groups = [{"host": g["host"], "allow": True, "aliases": g["aliases"]} for g in collabora_alias_groups(spaces)]
    if not groups:
        groups = [{"host": "https://no-space.invalid:443", "allow": False, "aliases": []}]
    return {"kind": REMOTE_CONFIG_KIND,
            "storage": {"wopi": {"alias_groups": {"mode": "groups", "groups": groups}}}}


def onlyoffice_allow_list(spaces: Iterable[Mapping]) -> list[str]:
    """URL prefixes OnlyOffice may fetch from and call back directly: its spaces' origins.

    :param spaces: the whole catalogue.
    :returns: ``https://<domain>/`` for every domain of every active OnlyOffice space, sorted;
        the trailing ``/`` keeps ``https://a.example.org.evil.test/`` out (prefix match).
    """
    return sorted(f"https://{d}/" for s in served_spaces(spaces, "onlyoffice") for d in s["domains"])


def onlyoffice_runtime_config(spaces: Iterable[Mapping]) -> dict:
    """The OnlyOffice runtime configuration file: which URLs bypass the private-address filter.

    ``directIfIn.jwtToken`` is false: a signed request does not open the private network by
    itself (the default would let any URL in a valid token through); only the allow list does.
    With no OnlyOffice space the list holds one prefix that matches nothing (an empty list
    would fall back to the token rule).

    :param spaces: the whole catalogue.
    :returns: the JSON document as a dict.
    """
    allow = onlyoffice_allow_list(spaces) or ["https://no-space.invalid/"]
    return {"externalRequest": {"directIfIn": {"allowList": allow, "jwtToken": False},
                                "action": {"allow": True, "blockPrivateIP": True}}}


#: Inputs of :func:`onlyoffice_local_json`, with their meaning (checked, none may be missing).
LOCAL_JSON_SETTINGS = {
    "db_host": "PostgreSQL host (the farm's primary)",
    "db_port": "PostgreSQL port",
    "db_name": "database of OnlyOffice",
    "db_user": "its login role",
    "db_password": "its password (derived from the master key)",
    "rabbitmq_url": "amqp:// URL of the local RabbitMQ (own user and vhost)",
    "jwt_secret": "JWT secret of browser, inbox and outbox (derived from the master key)",
    "jwt_header": "HTTP header carrying the token",
    "runtime_config_path": "path of the runtime configuration file (allow list, re-read on change)",
}

#: Optional input of :func:`onlyoffice_local_json`: the farm CA (PEM) the database's certificate
#: is checked against; empty: no TLS to PostgreSQL (node-postgres' ``ssl: false`` default).
LOCAL_JSON_OPTIONAL = {"db_ca": "PEM of the CA that signed the database server's certificate"}


def onlyoffice_local_json(settings: Mapping) -> dict:
    """The ``local.json`` of OnlyOffice Docs (merged over its ``default.json`` by node-config).

    JWT on for the browser, inbox and outbox with one secret (``services.CoAuthoring.token``,
    ``.secret``); PostgreSQL (``services.CoAuthoring.sql``; with ``db_ca``, TLS checked against
    that CA through ``pgPoolExtraOptions.ssl``, which DocService/sources/postgreSqlBaseConnector.js
    merges over its ``ssl: false`` pool configuration); RabbitMQ (``rabbitmq.url``); the
    private-address filter on (``request-filtering-agent``, ``externalRequest.action``); the
    runtime configuration file that carries the allow list. Key names: ONLYOFFICE/server
    ``Common/config/default.json``.

    :param settings: the keys of :data:`LOCAL_JSON_SETTINGS` (and of :data:`LOCAL_JSON_OPTIONAL`).
    :returns: the JSON document as a dict.
    :raises AnsibleFilterError: when a setting is missing or empty.
    """
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError(f"onlyoffice local.json: settings must be a mapping, got {type(settings).__name__}")
    missing = sorted(k for k in LOCAL_JSON_SETTINGS if settings.get(k) is None or str(settings[k]) == "")
    if missing:
        raise AnsibleFilterError(f"onlyoffice local.json: missing settings {missing} "
                                 f"({'; '.join(f'{k}: {LOCAL_JSON_SETTINGS[k]}' for k in missing)})")
    secret = str(settings["jwt_secret"])
    header = str(settings["jwt_header"])
    sql = {"type": "postgres", "dbHost": str(settings["db_host"]), "dbPort": int(settings["db_port"]),
           "dbName": str(settings["db_name"]), "dbUser": str(settings["db_user"]), "dbPass": str(settings["db_password"])}
    if settings.get("db_ca"):
        sql["pgPoolExtraOptions"] = {"ssl": {"rejectUnauthorized": True, "ca": str(settings["db_ca"])}}
    return {
        "services": {
            "CoAuthoring": {
                "sql": sql,
                "token": {"enable": {"browser": True, "request": {"inbox": True, "outbox": True}},
                          "inbox": {"header": header}, "outbox": {"header": header}},
                "secret": {"browser": {"string": secret}, "inbox": {"string": secret},
                           "outbox": {"string": secret}, "session": {"string": secret}},
                "request-filtering-agent": {"allowPrivateIPAddress": False, "allowMetaIPAddress": False},
            },
        },
        "externalRequest": {"action": {"allow": True, "blockPrivateIP": True}},
        "rabbitmq": {"url": str(settings["rabbitmq_url"])},
        "runtimeConfig": {"filePath": str(settings["runtime_config_path"])},
    }


class FilterModule:
    """Office server filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_collabora_alias_groups": collabora_alias_groups,
            "nuagerie_coolwsd_alias_groups_xml": coolwsd_alias_groups_xml,
            "nuagerie_collabora_remote_config": collabora_remote_config,
            "nuagerie_onlyoffice_allow_list": onlyoffice_allow_list,
            "nuagerie_onlyoffice_runtime_config": onlyoffice_runtime_config,
            "nuagerie_onlyoffice_local_json": onlyoffice_local_json,
        }
