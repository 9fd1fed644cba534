"""Unit tests of the office stand-ins (lab/office-standins/) against what our filters render.

The stand-ins enforce upstream's rules on the files the roles write; these tests run them as
plain processes / threads with a fake WOPI host and a fake Nextcloud, and check the tokens
interoperate with the Nextcloud stand-in's PHP (php-cli).
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "lab" / "office-standins"
sys.path.insert(0, str(STANDINS))

import coolwsd_standin as cool  # noqa: E402
import nuagerie_office as office  # noqa: E402
import standin_common as common  # noqa: E402

PHP = "php"
OFFICE_PHP = ROOT / "lab/nextcloud-standin/nextcloud/lib/private/Standin/OfficeEndpoints.php"


def space(slug, suite="collabora", aliases=()):
    return {"slug": slug, "office": suite, "state": "active", "domains": [f"{slug}.farm.test", *aliases]}


CATALOGUE = [space("alpha", aliases=["cloud.alpha.example.org"]), space("bravo", "onlyoffice"), space("echo")]
WOPI = "/index.php/apps/richdocuments/wopi/files/42_ocabc123"


def table_from_xml(tmp_path, spaces):
    xml = tmp_path / "coolwsd.xml"
    xml.write_text('<config><storage><wopi allow="true"><alias_groups mode="groups">\n'
                   + office.coolwsd_alias_groups_xml(spaces) + "\n</alias_groups></wopi></storage></config>")
    return cool.parse_config(str(xml))["table"]


def test_alias_groups_admit_collabora_spaces_only(tmp_path):
    table = table_from_xml(tmp_path, CATALOGUE)
    assert table.allowed(f"https://alpha.farm.test{WOPI}") == (True, "")
    assert table.allowed(f"https://cloud.alpha.example.org{WOPI}")[0]
    assert table.allowed(f"https://echo.farm.test:443{WOPI}")[0]
    assert not table.allowed(f"https://bravo.farm.test{WOPI}")[0]      # OnlyOffice space
    assert not table.allowed(f"https://unknown.farm.test{WOPI}")[0]
    assert not table.allowed(f"https://alpha.farm.test:8443{WOPI}")[0]  # another port is another authority


def test_a_document_keeps_its_space_key_through_an_alias_and_never_another_space(tmp_path):
    table = table_from_xml(tmp_path, CATALOGUE)
    primary = table.doc_key(f"https://alpha.farm.test{WOPI}")
    assert primary == f"https://alpha.farm.test:443{WOPI}"
    assert table.doc_key(f"https://cloud.alpha.example.org{WOPI}") == primary
    assert table.doc_key(f"https://echo.farm.test{WOPI}") != primary
    # Entries are regexes upstream: a look-alike of a host or alias may match, but its documents
    # are never keyed as the space's (upstream keys them by their own authority or by the path).
    assert table.allowed(f"https://alphaxfarm.test{WOPI}")[0]
    assert table.doc_key(f"https://alphaxfarm.test{WOPI}") != primary
    assert table.doc_key(f"https://cloud-alpha.example.org{WOPI}") != primary


def test_remote_configuration_gives_the_same_table_and_bad_ones_keep_the_old(tmp_path):
    remote = cool.load_remote_groups(json.loads(json.dumps(office.collabora_remote_config(CATALOGUE))))
    xml = table_from_xml(tmp_path, CATALOGUE)
    assert (remote.all_hosts, remote.alias_hosts, sorted(remote.wopi_allow)) == \
        (xml.all_hosts, xml.alias_hosts, sorted(xml.wopi_allow))
    assert cool.load_remote_groups({"kind": "other", "storage": {}}) is None
    assert cool.load_remote_groups({"kind": "configuration", "storage": {"wopi": {"alias_groups": {"groups": []}}}}) is None
    denied = cool.load_remote_groups(office.collabora_remote_config([]))
    assert not denied.allowed(f"https://alpha.farm.test{WOPI}")[0]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder(http.server.BaseHTTPRequestHandler):
    """A fake WOPI host / Nextcloud: records every request, answers from ``routes``."""

    calls: list = []
    routes: dict = {}

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.calls.append((self.command, self.path, dict(self.headers), body))
        code, data = self.routes.get(self.path.split("?")[0], (404, b"no"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = handle_any


@pytest.fixture(name="fake")
def fixture_fake():
    Recorder.calls, Recorder.routes = [], {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], Recorder
    server.shutdown()


def wait_port(port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def post(url, data, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode()


def test_coolwsd_standin_opens_allowed_documents_through_wopi_and_refuses_others(tmp_path, fake):
    wopi_port, recorder = fake
    recorder.routes = {WOPI: (200, json.dumps({"BaseFileName": "a.docx"}).encode()), WOPI + "/contents": (200, b"hello")}
    xml = tmp_path / "coolwsd.xml"
    xml.write_text(f'<config><ssl><enable>false</enable></ssl><net><post_allow><host>10\\.9\\.9\\.9</host></post_allow></net>'
                   f'<storage><wopi allow="true"><alias_groups mode="groups"><group><host allow="true">'
                   f'http://127.0.0.1:{wopi_port}</host></group></alias_groups></wopi></storage></config>')
    port = free_port()
    env = {**os.environ, "COOLWSD_STANDIN_CONFIG": str(xml), "COOLWSD_STANDIN_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, str(STANDINS / "coolwsd_standin.py")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hosting/discovery", timeout=5) as answer:
            assert b"wopi-discovery" in answer.read()
        src = urllib.parse.quote(f"http://127.0.0.1:{wopi_port}{WOPI}", safe="")
        status, doc = post(f"http://127.0.0.1:{port}/browser/x/cool.html?WOPISrc={src}", b"access_token=T0K")
        assert status == 200 and doc["BaseFileName"] == "a.docx" and doc["Size"] == 5
        assert [c[1] for c in recorder.calls] == [f"{WOPI}?access_token=T0K", f"{WOPI}/contents?access_token=T0K"]
        recorder.calls.clear()
        other = urllib.parse.quote(f"http://localhost:{wopi_port}{WOPI}", safe="")   # same server, not in the groups
        status, doc = post(f"http://127.0.0.1:{port}/browser/x/cool.html?WOPISrc={other}", b"access_token=T0K")
        assert status == 403 and recorder.calls == []
        status, _ = post(f"http://127.0.0.1:{port}/cool/convert-to", b"x")
        assert status == 403   # 127.0.0.1 is not in this post_allow
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_jwt_round_trip_and_refusals():
    token = common.jwt_sign({"a": 1}, "s3cret")
    assert common.jwt_verify(token, "s3cret")["a"] == 1
    for bad in (common.jwt_sign({"a": 1}, "other"), token[:-2] + "xx", "a.b", common.jwt_sign({"a": 1}, "s3cret", -120)):
        with pytest.raises(common.JwtError):
            common.jwt_verify(bad, "s3cret")


def test_php_and_python_tokens_interoperate():
    """The Nextcloud stand-in's tokens verify in the OnlyOffice stand-in and back."""
    py_token = common.jwt_sign({"payload": {"k": "v"}}, "shared-secret")
    code = (f"require '{OFFICE_PHP}'; use Standin\\OfficeEndpoints as O;"
            f"echo json_encode(O::jwtDecode('{py_token}', 'shared-secret')), \"\\n\";"
            f"echo json_encode(O::jwtDecode('{py_token}', 'wrong')), \"\\n\";"
            "echo O::jwtEncode(['document' => ['key' => 'K']], 'shared-secret');")
    out = subprocess.run([PHP, "-r", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert json.loads(out[0])["payload"] == {"k": "v"}
    assert out[1] == "null"
    assert common.jwt_verify(out[2], "shared-secret", leeway=0)["document"]["key"] == "K"


@pytest.fixture(name="ds")
def fixture_ds(tmp_path, monkeypatch):
    import documentserver_standin as dsmod
    conf = tmp_path / "conf"
    conf.mkdir()
    subprocess.run(["bash", "-c", f"sed -n '/^cat >\"$p\\/etc\\/onlyoffice\\/documentserver\\/default.json\" <<.EOF.$/,/^EOF$/p' "
                    f"{STANDINS / 'build.sh'} | sed '1d;$d' > {conf / 'default.json'}"], check=True)
    runtime = tmp_path / "runtime.json"
    settings = {"db_host": "127.0.0.1", "db_port": 1, "db_name": "oo", "db_user": "oo", "db_password": "pw",
                "rabbitmq_url": "amqp://x:y@127.0.0.1:1/oo", "jwt_secret": "J" * 32, "jwt_header": "Authorization",
                "runtime_config_path": str(runtime)}
    (conf / "local.json").write_text(json.dumps(office.onlyoffice_local_json(settings)))
    monkeypatch.setattr(dsmod, "CONFIG_DIR", str(conf))
    monkeypatch.setattr(dsmod, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dsmod, "BASE", dsmod.file_config())
    monkeypatch.setattr(dsmod, "RUNTIME", {"mtime": None, "doc": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), dsmod.DocService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield dsmod, server.server_address[1], runtime
    server.shutdown()


def test_documentserver_inbox_needs_the_secret(ds):
    _, port, _ = ds
    url = f"http://127.0.0.1:{port}/coauthoring/CommandService.ashx"
    good = common.jwt_sign({"payload": {"c": "version"}}, "J" * 32)
    assert post(url, b'{"c": "version"}', {"Authorization": "Bearer " + good})[1]["version"].endswith("standin")
    assert post(url, json.dumps({"token": common.jwt_sign({"c": "version"}, "J" * 32)}).encode())[1]["error"] == 0
    assert post(url, b'{"c": "version"}')[1] == {"error": 6}
    wrong = common.jwt_sign({"payload": {"c": "version"}}, "W" * 32)
    assert post(url, b'{"c": "version"}', {"Authorization": "Bearer " + wrong})[1] == {"error": 6}


def test_documentserver_saves_through_a_signed_callback_to_allowed_origins_only(ds, fake):
    _, port, runtime = ds
    nc_port, recorder = fake
    origin = f"http://127.0.0.1:{nc_port}/"
    recorder.routes = {"/download": (200, b"doc:"), "/track": (200, b'{"error": 0}')}
    editor = {"document": {"key": "K1", "url": origin + "download"}, "editorConfig": {"callbackUrl": origin + "track"}}
    body = {"config": {**editor, "token": common.jwt_sign(editor, "J" * 32)}, "append": "edited"}
    url = f"http://127.0.0.1:{port}/doc/K1/c/edit"
    # No allow list yet (runtime file missing): 127.0.0.1 is private, the token does not open it.
    runtime.write_text(json.dumps(office.onlyoffice_runtime_config([space("other", "onlyoffice")])))
    status, doc = post(url, json.dumps(body).encode())
    assert (status, doc["error"]) == (400, -4) and recorder.calls == []
    # The space's origin in the runtime file (re-read, no restart): saved through the callback.
    runtime.write_text(json.dumps({"externalRequest": {"directIfIn": {"allowList": [origin], "jwtToken": False}}}))
    status, doc = post(url, json.dumps(body).encode())
    assert status == 200 and doc["callback"]["status"] == 200, doc
    (_, dl_path, dl_headers, _), (_, cb_path, cb_headers, cb_body) = recorder.calls
    assert common.jwt_verify(dl_headers["Authorization"][7:], "J" * 32)["payload"]["url"] == origin + "download"
    signed = common.jwt_verify(cb_headers["Authorization"][7:], "J" * 32)["payload"]
    assert signed == json.loads(cb_body) and signed["status"] == 2 and signed["key"] == "K1"
    # A browser token signed with another secret is refused before any request.
    recorder.calls.clear()
    forged = {"config": {**editor, "token": common.jwt_sign(editor, "W" * 32)}, "append": "x"}
    assert post(url, json.dumps(forged).encode())[0] == 403 and recorder.calls == []


def test_coolwsd_standin_takes_new_alias_groups_from_the_remote_configuration_without_restart(tmp_path):
    """remote_config.remote_url over https, polled (1 s here, 60 s upstream): same process, new groups."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem"), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    remote = tmp_path / "www" / "remote.json"
    remote.parent.mkdir()
    remote.write_text(json.dumps(office.collabora_remote_config([space("alpha")])))
    handler = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(remote.parent)))
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    web.socket = context.wrap_socket(web.socket, server_side=True)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    xml = tmp_path / "coolwsd.xml"
    xml.write_text(f"<config><ssl><enable>false</enable></ssl><remote_config><remote_url>https://localhost:{web.server_address[1]}"
                   "/remote.json</remote_url></remote_config><storage><wopi allow=\"true\"><alias_groups mode=\"groups\">"
                   + office.coolwsd_alias_groups_xml([space("old")]) + "</alias_groups></wopi></storage></config>")
    port = free_port()
    env = {**os.environ, "COOLWSD_STANDIN_CONFIG": str(xml), "COOLWSD_STANDIN_PORT": str(port),
           "COOLWSD_STANDIN_POLL_SECONDS": "1", "SSL_CERT_FILE": str(tmp_path / "cert.pem")}
    proc = subprocess.Popen([sys.executable, str(STANDINS / "coolwsd_standin.py")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def refused(domain):
        src = urllib.parse.quote(f"https://{domain}{WOPI}", safe="")
        return post(f"http://127.0.0.1:{port}/browser/x/cool.html?WOPISrc={src}", b"access_token=x")[0] == 403

    try:
        wait_port(port)
        deadline = time.monotonic() + 10
        while refused("alpha.farm.test") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not refused("alpha.farm.test") and refused("old.farm.test")   # the remote groups replaced the file's
        remote.write_text(json.dumps(office.collabora_remote_config([space("alpha"), space("new")])))
        deadline = time.monotonic() + 10
        while refused("new.farm.test") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not refused("new.farm.test") and proc.poll() is None   # admitted, same process
        remote.write_text(json.dumps({"kind": "configuration", "storage": {"wopi": {"alias_groups": {"groups": []}}}}))
        time.sleep(2.5)
        assert not refused("new.farm.test")   # an empty array is ignored: the groups stay
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        web.shutdown()
