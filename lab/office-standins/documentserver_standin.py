#!/usr/bin/env python3
"""ONLYOFFICE Docs STAND-IN (Nuagerie tests): NOT the Document Server.

It reads the configuration our role renders and enforces what the farm relies on, as upstream
does (ONLYOFFICE/server; each behaviour is listed in docs/nextcloud-contract.yml, section
office):

* Configuration: ``default.json`` (shipped, upstream's defaults: JWT off) with ``local.json``
  merged over it (node-config), then the runtime configuration file
  (``runtimeConfig.filePath``) merged over both and re-read when its mtime changes
  (``Common/sources/runtimeConfigManager.js`` watches it): no restart.
* Inbox (``services.CoAuthoring.token.enable.request.inbox``): ``POST
  /coauthoring/CommandService.ashx`` needs a valid HS256 token signed with ``secret.inbox``, in
  the body (``token``) or in the ``token.inbox.header`` header after its ``Bearer `` prefix;
  otherwise ``{"error": 6}`` (invalid token). ``{"c": "version"}`` answers the version.
* Browser (``token.enable.browser``): the editor's configuration must carry a token signed with
  ``secret.browser`` whose payload holds the same ``document.key``.
* Outbox (``token.enable.request.outbox``): every download and callback carries
  ``Authorization: Bearer <token>`` signed with ``secret.outbox``, payload ``{"payload": …}``
  (``utils.fillJwtForRequest``; ``token.outbox.inBody`` false).
* Private-address filter (``Common/sources/utils.js`` ``isAllowDirectRequest``,
  ``addExternalRequestOptions``): a URL starting with an entry of
  ``externalRequest.directIfIn.allowList`` is fetched directly; with an empty list a URL from a
  verified token is direct when ``directIfIn.jwtToken``; any other URL whose host resolves to a
  private, loopback, link-local or meta address is refused when
  ``externalRequest.action.blockPrivateIP`` (and ``request-filtering-agent.allowPrivateIPAddress``
  is false): the editor reports error -4 (download failed).
* Editing and saving (the stand-in's only editor): ``POST /doc/<key>/c/edit`` with
  ``{"config": <editor config with token>, "append": "<text>"}``: checks the browser token,
  downloads ``document.url`` (outbox token), appends the text, keeps the result under
  ``/cache/files/data/<key>/output.docx`` and POSTs the callback (``editorConfig.callbackUrl``,
  ``{"key", "status": 2, "url", "users"}``, outbox token). Answers the callback's status and
  body, and the server that did it.
* ``GET /healthcheck``: ``true`` when its PostgreSQL database answers (``services.CoAuthoring.sql``,
  TLS only as ``pgPoolExtraOptions.ssl`` says, like node-postgres;
  the tables of upstream's ``createdb.sql`` it creates at start: ``doc_changes``,
  ``task_result``) and its RabbitMQ accepts the login of ``rabbitmq.url``; ``false`` otherwise.
  Each save writes a ``task_result`` row.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_common import Handler, JwtError, http_call, jwt_sign, jwt_verify, log, serve  # noqa: E402

CONFIG_DIR = os.environ.get("DS_STANDIN_CONFIG_DIR", "/etc/onlyoffice/documentserver")
PORT = int(os.environ.get("DS_STANDIN_PORT", "0"))
CACHE_DIR = os.environ.get("DS_STANDIN_CACHE_DIR", "/var/lib/onlyoffice/documentserver/App_Data/cache/files/data")
VERSION = "9.0.4-standin"
LOCK = threading.Lock()
RUNTIME: dict = {"mtime": None, "doc": {}}


def merge(base: dict, over: dict) -> dict:
    """node-config's deep merge: objects merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def file_config() -> dict:
    return merge(read_json(os.path.join(CONFIG_DIR, "default.json")), read_json(os.path.join(CONFIG_DIR, "local.json")))


BASE = file_config()


def config() -> dict:
    """The file configuration with the runtime file merged over it, re-read when it changes."""
    path = BASE.get("runtimeConfig", {}).get("filePath", "")
    if not path:
        return BASE
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        mtime = None
    with LOCK:
        if mtime != RUNTIME["mtime"]:
            RUNTIME["mtime"], RUNTIME["doc"] = mtime, read_json(path) if mtime else {}
            log(f"handleConfigFileChange reloading config: {os.path.basename(path)}")
        return merge(BASE, RUNTIME["doc"])


def co(cfg: dict) -> dict:
    return cfg.get("services", {}).get("CoAuthoring", {})


def private_host(host: str) -> bool:
    """request-filtering-agent: does the host resolve to a private or meta address?"""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified \
                or address.is_reserved or address.is_multicast:
            return True
    return False


def direct_allowed(cfg: dict, url: str, in_jwt: bool) -> tuple[bool, str]:
    """isAllowDirectRequest, then the private-address filter for the others."""
    direct_if_in = cfg.get("externalRequest", {}).get("directIfIn", {})
    allow_list = direct_if_in.get("allowList") or []
    if allow_list:
        if any(url.startswith(prefix) for prefix in allow_list):
            return True, "allow list"
    elif direct_if_in.get("jwtToken", True) and in_jwt:
        return True, "url in a verified token"
    action = cfg.get("externalRequest", {}).get("action", {})
    agent = co(cfg).get("request-filtering-agent", {})
    allow_private = not action.get("blockPrivateIP", True) and agent.get("allowPrivateIPAddress", False)
    if not action.get("allow", True):
        return False, "external requests are not allowed"
    host = urllib.parse.urlsplit(url).hostname or ""
    if not allow_private and private_host(host):
        return False, f"DNS lookup {host} is not allowed. Because, It is private IP address."
    return True, "public address"


def outbox_headers(cfg: dict, payload: dict) -> dict:
    token_cfg = co(cfg).get("token", {})
    if not token_cfg.get("enable", {}).get("request", {}).get("outbox", False):
        return {}
    secret = co(cfg).get("secret", {}).get("outbox", {}).get("string", "")
    outbox = token_cfg.get("outbox", {})
    return {outbox.get("header", "Authorization"): outbox.get("prefix", "Bearer ") + jwt_sign({"payload": payload}, secret)}


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """A download or callback as the document server makes it (its user agent)."""
    return http_call(url, "Node.js/6.13 (stand-in)", data, headers)


def db_connect(cfg: dict):
    """postgreSqlBaseConnector.js: ``ssl: false`` unless pgPoolExtraOptions.ssl says otherwise
    (a CA in PEM: the server's certificate and name are checked against it)."""
    import psycopg2  # the package depends on python3-psycopg2
    sql = co(cfg).get("sql", {})
    tls = (sql.get("pgPoolExtraOptions") or {}).get("ssl", False)
    extra = {"sslmode": "disable"}
    if isinstance(tls, dict) and tls.get("ca"):
        path = os.path.join(os.environ.get("RUNTIME_DIRECTORY", "/tmp"), "ds-standin-db-ca.pem")
        with open(path, "w", encoding="ascii") as handle:
            handle.write(tls["ca"])
        extra = {"sslmode": "verify-full" if tls.get("rejectUnauthorized", True) else "require", "sslrootcert": path}
    elif tls:
        extra = {"sslmode": "require"}
    return psycopg2.connect(host=sql.get("dbHost"), port=sql.get("dbPort", 5432), dbname=sql.get("dbName"),
                            user=sql.get("dbUser"), password=sql.get("dbPass"), connect_timeout=5, **extra)


def db_setup(cfg: dict) -> None:
    """The tables of upstream's createdb.sql the stand-in uses."""
    with contextlib.closing(db_connect(cfg)) as conn, conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS doc_changes (tenant varchar(255) NOT NULL, id varchar(255) NOT NULL,"
                    " change_id integer NOT NULL, user_id varchar(255) NOT NULL, change_data text NOT NULL,"
                    " PRIMARY KEY (tenant, id, change_id))")
        cur.execute("CREATE TABLE IF NOT EXISTS task_result (tenant varchar(255) NOT NULL, id varchar(255) NOT NULL,"
                    " status smallint NOT NULL, last_open_date timestamp without time zone NOT NULL,"
                    " callback text NOT NULL DEFAULT '', PRIMARY KEY (tenant, id))")


def rabbitmq_ok(cfg: dict) -> bool:
    import pika  # the package depends on python3-pika
    try:
        connection = pika.BlockingConnection(pika.URLParameters(cfg.get("rabbitmq", {}).get("url", "")))
        channel = connection.channel()
        channel.queue_declare(queue="ds.converttask6", durable=True, arguments={"x-max-priority": 6})
        connection.close()
        return True
    except Exception as exc:  # noqa: BLE001
        log(f"rabbitmq: {exc}")
        return False


def healthy(cfg: dict) -> bool:
    try:
        with contextlib.closing(db_connect(cfg)) as conn, conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM task_result LIMIT 1")
    except Exception as exc:  # noqa: BLE001
        log(f"healthcheck: database: {exc}")
        return False
    return rabbitmq_ok(cfg)


class DocService(Handler):
    """The endpoints of the module docstring."""

    def base(self) -> str:
        proto = self.headers.get("X-Forwarded-Proto", "https")
        host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host", "localhost")
        return f"{proto}://{host}"

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.partition("?")[0]
        if path == "/healthcheck":
            self.send(200, "true" if healthy(config()) else "false")
        elif path.startswith("/cache/files/data/"):
            rel = path[len("/cache/files/data/"):]
            key, _, name = rel.partition("/")
            file = os.path.join(CACHE_DIR, key, "output.docx")
            if "/" in key or ".." in key or name != "output.docx" or not os.path.isfile(file):
                self.send(404, "Not found\n")
                return
            with open(file, "rb") as handle:
                self.send(200, handle.read(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        else:
            self.send(404, "Not found\n")

    def inbox_token(self, cfg: dict, body: dict) -> dict | None:
        """The verified command (body token first, else the header's), or None."""
        secret = co(cfg).get("secret", {}).get("inbox", {}).get("string", "")
        inbox = co(cfg).get("token", {}).get("inbox", {})
        try:
            if body.get("token"):
                return jwt_verify(str(body["token"]), secret)
            header = self.headers.get(inbox.get("header", "Authorization"), "")
            prefix = inbox.get("prefix", "Bearer ")
            if header.startswith(prefix):
                return jwt_verify(header[len(prefix):], secret).get("payload", {})
        except JwtError as exc:
            log(f"inbox: {exc}")
        return None

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.partition("?")[0]
        cfg = config()
        try:
            body = json.loads(self.body() or b"{}")
        except json.JSONDecodeError:
            self.send_json(400, {"error": 1})
            return
        if path == "/coauthoring/CommandService.ashx":
            command = body
            if co(cfg).get("token", {}).get("enable", {}).get("request", {}).get("inbox", False):
                command = self.inbox_token(cfg, body)
                if command is None:
                    self.send_json(200, {"error": 6})
                    return
            if command.get("c") == "version":
                self.send_json(200, {"error": 0, "version": VERSION})
            else:
                self.send_json(200, {"error": 0, "key": command.get("key", "")})
            return
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "doc" and parts[2] == "c" and parts[3] == "edit":
            self.edit(cfg, parts[1], body)
            return
        self.send(404, "Not found\n")

    def edit(self, cfg: dict, key: str, body: dict) -> None:
        editor = body.get("config") or {}
        in_jwt = False
        if co(cfg).get("token", {}).get("enable", {}).get("browser", False):
            secret = co(cfg).get("secret", {}).get("browser", {}).get("string", "")
            try:
                editor = jwt_verify(str(editor.get("token", "")), secret)
                in_jwt = True
            except JwtError as exc:
                log(f"browser token refused: {exc}")
                self.send_json(403, {"error": "token", "detail": str(exc), "server": socket.gethostname()})
                return
        document = editor.get("document") or {}
        if document.get("key") != key:
            self.send_json(403, {"error": "key", "detail": "the token is for another document"})
            return
        url = str(document.get("url", ""))
        callback = str((editor.get("editorConfig") or {}).get("callbackUrl", ""))
        for target in (url, callback):
            ok, why = direct_allowed(cfg, target, in_jwt)
            if not ok:
                log(f"request to {target} refused: {why}")
                self.send_json(400, {"error": -4, "detail": why, "server": socket.gethostname()})
                return
        status, contents = fetch(url, headers=outbox_headers(cfg, {"url": url}))
        if status != 200:
            self.send_json(502, {"error": -4, "detail": f"download answered {status}", "server": socket.gethostname()})
            return
        result = contents + str(body.get("append", "")).encode()
        os.makedirs(os.path.join(CACHE_DIR, key), exist_ok=True)
        with open(os.path.join(CACHE_DIR, key, "output.docx"), "wb") as handle:
            handle.write(result)
        payload = {"key": key, "status": 2, "url": f"{self.base()}/cache/files/data/{key}/output.docx",
                   "users": ["standin"], "actions": [{"type": 0, "userid": "standin"}]}
        cb_status, cb_body = fetch(callback, json.dumps(payload).encode(),
                                   {"Content-Type": "application/json", **outbox_headers(cfg, payload)})
        try:
            with contextlib.closing(db_connect(cfg)) as conn, conn, conn.cursor() as cur:
                cur.execute("INSERT INTO task_result (tenant, id, status, last_open_date, callback) VALUES"
                            " ('localhost', %s, %s, now(), %s) ON CONFLICT (tenant, id) DO UPDATE SET status = EXCLUDED.status,"
                            " last_open_date = now()", (key, 2 if cb_status == 200 else 3, callback))
        except Exception as exc:  # noqa: BLE001
            log(f"task_result: {exc}")
        self.send_json(200, {"server": socket.gethostname(), "key": key, "size": len(result),
                             "callback": {"status": cb_status, "body": cb_body.decode(errors="replace")[:500]}})


def main() -> int:
    port = PORT or int(read_json(os.path.join(CONFIG_DIR, "standin-ds-port.json")).get("port", 8080))
    cfg = config()
    try:
        db_setup(cfg)
    except Exception as exc:  # noqa: BLE001 - the health check reports it
        log(f"database setup failed: {exc}")
    log(f"documentserver stand-in {VERSION}, JWT browser/inbox/outbox: "
        f"{co(cfg).get('token', {}).get('enable', {})}")
    serve(DocService, "127.0.0.1", port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
