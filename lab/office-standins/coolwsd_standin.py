#!/usr/bin/env python3
"""Collabora Online STAND-IN (Nuagerie tests): NOT coolwsd.

It reads the coolwsd.xml our role renders and enforces what the farm relies on, as upstream
does (CollaboraOnline/online; each behaviour is listed in docs/nextcloud-contract.yml,
section office):

* ``storage.wopi.alias_groups`` (``wsd/HostUtil.cpp``): mode ``groups``; each group's ``host``
  and ``alias`` entries are regexes, matched exactly first and then as a full, caseless regex
  (``Util::matchRegex``). A WOPISrc is allowed only if its host name is an allowed WOPI host
  AND its ``host[:port]`` (Poco authority: the port only when not the scheme's default) is in
  the groups (``allowedAlias``). A document is keyed by its WOPISrc with an alias's authority
  replaced by its group's host (``getNewUri``): the same document through a space's alias and
  its primary domain is one document, two spaces never share a key.
* ``remote_config.remote_url`` (``wsd/RemoteConfig.cpp``): https only; fetched at start and then
  every 60 s (``RemoteJSONPoll::pollingThread``), with ``If-None-Match`` on the last ETag; a
  JSON whose ``kind`` is ``configuration`` and whose ``storage.wopi.alias_groups.groups`` is a
  non-empty array REPLACES the alias groups (``fetchAliasGroups`` + ``parseAliases``), without
  a restart. ``COOLWSD_STANDIN_POLL_SECONDS`` shortens the period for unit tests only.
* ``/hosting/discovery`` (WOPI discovery XML, ``net-zone/app[@name]/action[@urlsrc]``, a
  ``Capabilities`` app) and ``/hosting/capabilities`` (JSON).
* Opening a document: ``POST /browser/<hash>/cool.html?WOPISrc=<url>`` with form field
  ``access_token`` (what richdocuments' page posts): refused (403) unless the WOPI host is
  allowed; then ``CheckFileInfo`` (``GET <WOPISrc>?access_token=``) and ``GetFile``
  (``GET <WOPISrc>/contents?access_token=``) over https, checked against the system trust
  store. The answer is JSON (the stand-in has no editor): server, document key, file name,
  size, sha256 of the contents, sessions of the document on this server.
* ``GET /cool/<encoded WOPISrc>/ws?WOPISrc=`` (the editing websocket's URL, here a plain GET):
  where the document is loaded (``loaded``), to measure routing.
* ``net.post_allow``: ``POST /cool/convert-to`` only from an allowed client address (403 else).
* ``net.frame_ancestors``: the ``Content-Security-Policy`` of cool.html names them and the
  WOPI host.
* ``ssl.enable`` with ``ssl.cert_file_path`` / ``key_file_path``: TLS on port 9980.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_common import Handler, http_call, log, serve  # noqa: E402

CONFIG = os.environ.get("COOLWSD_STANDIN_CONFIG", "/etc/coolwsd/coolwsd.xml")
PORT = int(os.environ.get("COOLWSD_STANDIN_PORT", "9980"))
POLL_SECONDS = float(os.environ.get("COOLWSD_STANDIN_POLL_SECONDS", "60"))
VERSION = "24.04.13.2-standin"
DEFAULT_PORTS = {"http": 80, "https": 443}


def match_regex(patterns, subject: str) -> bool:
    """Util::matchRegex: an exact match, else a full caseless regex match of any pattern."""
    if subject in patterns:
        return True
    for pattern in patterns:
        try:
            if re.fullmatch(pattern, subject, re.IGNORECASE):
                return True
        except re.error:
            continue
    return False


def authority(uri: urllib.parse.SplitResult) -> str:
    """Poco::URI::getAuthority(): host, and :port unless it is the scheme's default."""
    host = uri.hostname or ""
    port = uri.port
    if port and port != DEFAULT_PORTS.get(uri.scheme):
        return f"{host}:{port}"
    return host


@dataclass
class HostTable:
    """HostUtil's WopiHosts, AllHosts and AliasHosts, built by parseAliases."""

    mode: str = "first"
    groups: list = field(default_factory=list)        # [(host, allow, [aliases])]
    wopi_allow: list = field(default_factory=list)    # host-name regexes allowed
    wopi_deny: list = field(default_factory=list)
    all_hosts: set = field(default_factory=set)       # authority regexes
    alias_hosts: dict = field(default_factory=dict)   # alias authority -> group host authority

    @classmethod
    def build(cls, mode: str, groups: list) -> "HostTable":
        table = cls(mode=mode, groups=groups)
        for host, allow, aliases in groups:
            if not host:
                continue
            real = urllib.parse.urlsplit(host)
            (table.wopi_allow if allow else table.wopi_deny).append(real.hostname or "")
            table.all_hosts.add(authority(real))
            for alias in aliases:
                if not alias:
                    continue
                alias_uri = urllib.parse.urlsplit(alias)
                table.alias_hosts[authority(alias_uri)] = authority(real)
                table.all_hosts.add(authority(alias_uri))
                (table.wopi_allow if allow else table.wopi_deny).append(alias_uri.hostname or "")
        return table

    def allowed(self, wopi_src: str) -> tuple[bool, str]:
        """HostUtil::allowedWopiHost + allowedAlias; (allowed, why)."""
        uri = urllib.parse.urlsplit(wopi_src)
        host = uri.hostname or ""
        if self.mode.lower() != "groups":
            return False, f"alias_groups mode is {self.mode!r}, not 'groups'"
        if match_regex(self.wopi_deny, host) or not match_regex(self.wopi_allow, host):
            return False, f"WOPI host {host} is not allowed"
        if not match_regex(self.all_hosts, authority(uri)):
            return False, f"Host: {authority(uri)} is not allowed, It is not part of alias_groups configuration"
        return True, ""

    def doc_key(self, wopi_src: str) -> str:
        """HostUtil::getNewUri: scheme://host:port/path, an alias replaced by its group's host."""
        uri = urllib.parse.urlsplit(wopi_src)
        key = authority(uri)
        if key in self.alias_hosts:
            new = self.alias_hosts[key]
        elif match_regex(self.alias_hosts, key):
            new = ""  # upstream indexes the map with the literal key: an empty authority
        else:
            new = key
        if not new:
            return uri.path
        new_uri = urllib.parse.urlsplit(f"{uri.scheme}://{new}")
        port = new_uri.port or DEFAULT_PORTS.get(uri.scheme, 0)
        return f"{uri.scheme}://{new_uri.hostname}:{port}{uri.path}"


def parse_config(path: str) -> dict:
    """The coolwsd.xml keys the stand-in uses."""
    root = ET.parse(path).getroot()

    def text(xpath: str, default: str = "") -> str:
        node = root.find(xpath)
        return (node.text or "").strip() if node is not None and node.text else default

    groups_node = root.find("storage/wopi/alias_groups")
    groups = []
    if groups_node is not None:
        for group in groups_node.findall("group"):
            host = group.find("host")
            groups.append(((host.text or "").strip() if host is not None else "",
                           host is not None and host.get("allow", "false").lower() == "true",
                           [(a.text or "").strip() for a in group.findall("alias")]))
    post_allow = root.find("net/post_allow")
    return {
        "server_name": text("server_name"),
        "ssl": text("ssl/enable", "true").lower() == "true",
        "cert": text("ssl/cert_file_path"), "key": text("ssl/key_file_path"),
        "wopi_allow": (root.find("storage/wopi") is not None
                       and root.find("storage/wopi").get("allow", "false").lower() == "true"),
        "table": HostTable.build(groups_node.get("mode", "first") if groups_node is not None else "compat", groups),
        "remote_url": text("remote_config/remote_url"),
        "post_allow": [(h.text or "").strip() for h in post_allow.findall("host")] if post_allow is not None else [],
        "frame_ancestors": text("net/frame_ancestors"),
    }


def load_remote_groups(doc: dict) -> HostTable | None:
    """RemoteConfigPoll::fetchAliasGroups + parseAliases: a new table, or None to keep the old."""
    if doc.get("kind") != "configuration":
        return None
    try:
        alias_groups = doc["storage"]["wopi"]["alias_groups"]
        groups = alias_groups["groups"]
    except (KeyError, TypeError):
        return None
    if not isinstance(groups, list) or not groups:
        return None
    return HostTable.build(str(alias_groups.get("mode", "first")),
                           [(str(g.get("host", "")), g.get("allow") is True or str(g.get("allow")).lower() == "true",
                             [str(a) for a in g.get("aliases") or []]) for g in groups])


STATE: dict = {"started": time.time(), "brokers": {}, "lock": threading.Lock()}


def poll_remote(url: str) -> None:
    """RemoteJSONPoll::pollingThread: fetch now, then every POLL_SECONDS."""
    etag = ""
    while True:
        if not url.lower().startswith("https://"):
            log(f"Remote config url should only use HTTPS protocol: {url}")
            return
        try:
            request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
            with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context()) as answer:
                etag = answer.headers.get("ETag", "")
                table = load_remote_groups(json.loads(answer.read()))
                if table is None:
                    log("remote config: no usable storage.wopi.alias_groups.groups, keeping the groups")
                else:
                    STATE["config"]["table"] = table
                    log(f"remote config: {len(table.groups)} alias groups loaded")
        except urllib.error.HTTPError as exc:
            if exc.code != 304:
                log(f"Remote config server has response status code: {exc.code}")
        except Exception as exc:  # noqa: BLE001 - upstream logs and keeps polling
            log(f"Failed to fetch remote config JSON: {exc}")
        time.sleep(POLL_SECONDS)


def discovery(base: str) -> str:
    """WOPI discovery as upstream serves it (reduced to the apps the farm opens)."""
    urlsrc = f"{base}/browser/standin/cool.html?"
    apps = [("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
            ("application/vnd.oasis.opendocument.text", "odt"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")]
    body = "".join(f'<app name="{name}"><action default="true" ext="{ext}" name="edit" urlsrc="{urlsrc}"/></app>'
                   for name, ext in apps)
    body += f'<app name="Capabilities"><action ext="" name="getinfo" urlsrc="{base}/hosting/capabilities"/></app>'
    return f'<?xml version="1.0" encoding="utf-8"?>\n<wopi-discovery><net-zone name="external-https">{body}</net-zone></wopi-discovery>\n'


def wopi_get(url: str) -> tuple[int, bytes]:
    """A WOPI call as coolwsd makes it (its user agent)."""
    return http_call(url, "COOLWSD HTTP Agent (stand-in)")


class Coolwsd(Handler):
    """The endpoints of the module docstring."""

    def base(self) -> str:
        host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host") or STATE["config"]["server_name"]
        return f"https://{host}"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path, _, query = self.path.partition("?")
        args = urllib.parse.parse_qs(query)
        if path == "/hosting/discovery":
            self.send(200, discovery(self.base()), "text/xml")
        elif path == "/hosting/capabilities":
            self.send_json(200, {"convert-to": {"available": False}, "hasMobileSupport": True,
                                 "hasTemplateSaveAs": False, "hasTemplateSource": True, "productName": "Collabora Online (stand-in)",
                                 "productVersion": VERSION, "hasWOPIExtendedData": True, "hasSettingIframeSupport": True,
                                 "standin": {"server": socket.gethostname(), "pid": os.getpid(), "started": STATE["started"]}})
        elif path.startswith("/cool/") and path.endswith("/ws"):
            wopi_src = (args.get("WOPISrc") or [urllib.parse.unquote(path[len("/cool/"):-len("/ws")]).split("?")[0]])[0]
            key = STATE["config"]["table"].doc_key(wopi_src)
            with STATE["lock"]:
                loaded = key in STATE["brokers"]
            self.send_json(200, {"server": socket.gethostname(), "docKey": key, "loaded": loaded})
        else:
            self.send(404, "Not found\n")

    def do_POST(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        args = urllib.parse.parse_qs(query)
        config = STATE["config"]
        if path == "/cool/convert-to":
            self.body()
            client = self.client_address[0]
            if not match_regex(config["post_allow"], client):
                log(f"convert-to: client {client} refused by net.post_allow")
                self.send(403, "Forbidden\n")
                return
            self.send(200, "stand-in: convert-to allowed (no conversion)\n")
            return
        if not (path.startswith("/browser/") and path.endswith("/cool.html")):
            self.send(404, "Not found\n")
            return
        form = urllib.parse.parse_qs(self.body().decode())
        wopi_src = (args.get("WOPISrc") or [""])[0]
        token = (form.get("access_token") or [""])[0]
        if not config["wopi_allow"]:
            self.send_json(403, {"error": "storage.wopi is not allowed"})
            return
        allowed, why = config["table"].allowed(wopi_src)
        if not allowed:
            log(f"open refused: {why}")
            self.send_json(403, {"error": "unauthorized WOPI host", "detail": why, "server": socket.gethostname()})
            return
        separator = "&" if "?" in wopi_src else "?"
        quoted = urllib.parse.quote(token, safe="")
        status, info = wopi_get(f"{wopi_src}{separator}access_token={quoted}")
        if status != 200:
            self.send_json(502, {"error": "CheckFileInfo failed", "status": status, "body": info.decode(errors="replace")[:300]})
            return
        parts = urllib.parse.urlsplit(wopi_src)
        contents_url = urllib.parse.urlunsplit(parts._replace(path=parts.path + "/contents"))
        status, contents = wopi_get(f"{contents_url}{separator}access_token={quoted}")
        if status != 200:
            self.send_json(502, {"error": "GetFile failed", "status": status})
            return
        info_doc = json.loads(info)
        key = config["table"].doc_key(wopi_src)
        with STATE["lock"]:
            STATE["brokers"][key] = STATE["brokers"].get(key, 0) + 1
            sessions = STATE["brokers"][key]
        origin = f"{parts.scheme}://{parts.netloc}"
        self.send_json(200, {"server": socket.gethostname(), "docKey": key, "BaseFileName": info_doc.get("BaseFileName"),
                             "Size": len(contents), "sha256": hashlib.sha256(contents).hexdigest(), "sessions": sessions},
                       headers={"Content-Security-Policy": f"frame-ancestors {origin} {config['frame_ancestors']}".strip()})


def main() -> int:
    STATE["config"] = parse_config(CONFIG)
    log(f"coolwsd stand-in {VERSION}: {len(STATE['config']['table'].groups)} alias groups from {CONFIG}")
    if STATE["config"]["remote_url"]:
        threading.Thread(target=poll_remote, args=(STATE["config"]["remote_url"],), daemon=True).start()
    config = STATE["config"]
    serve(Coolwsd, "0.0.0.0", PORT, config["cert"] if config["ssl"] else None, config["key"] if config["ssl"] else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
