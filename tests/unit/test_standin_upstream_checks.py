"""Stand-in behaviours copied from upstream (php-cli only, no database): the data directory
check (.ncdata), config:import from stdin, app:list shape, the account limit rule, and the
office apps' connectivity checks against a local HTTP server. See docs/nextcloud-contract.yml.

Like test_nextcloud_standin.py: skipped without php-cli locally, FAILED when CI=true.
"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from test_nextcloud_standin import fixture_web  # noqa: F401 - the `web` fixture (php -S)

ROOT = Path(__file__).resolve().parents[2]
TREE = ROOT / "lab" / "nextcloud-standin" / "nextcloud"
PHP = shutil.which("php")

if PHP is None:
    if os.environ.get("CI") == "true":
        pytest.fail("php-cli is missing on CI (scripts/bootstrap installs it)", pytrace=False)
    pytest.skip("php-cli is not installed", allow_module_level=True)

INVALID = "Your data directory is invalid."
HINT = ('Ensure there is a file called ".ncdata" in the root of the data directory. '
        'It should have the content: "# Nextcloud data directory"')


def write_config(path: Path, values: dict) -> None:
    path.write_text("<?php\n$CONFIG = json_decode(" + json.dumps(json.dumps(values)) + ", true);\n")


def installed(confdir: Path, **extra) -> Path:
    write_config(confdir / "config.php", {"installed": True, "version": "33.0.8.0", **extra})
    return confdir


def occ(confdir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PHP, str(TREE / "occ"), *args], capture_output=True, text=True, input=stdin,
                          env={"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(confdir)},
                          timeout=30, check=False)


def php(code: str) -> str:
    prelude = ("spl_autoload_register(function ($c) { $f = '%s/lib/private/Standin/' . substr($c, 8) . '.php';"
               " if (is_file($f)) require_once $f; });" % TREE)
    return subprocess.run([PHP, "-r", prelude + code], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ data directory (.ncdata)

def test_occ_refuses_a_data_directory_without_ncdata(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    conf = tmp_path / "conf"
    conf.mkdir()
    installed(conf, datadirectory=str(data))
    result = occ(conf, "status")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{INVALID}\n{HINT}\n\n")
    assert "Environment not properly prepared." in result.stdout
    (data / ".ocdata").write_text("")                     # legacy marker: not accepted any more
    assert occ(conf, "status").returncode == 1
    (data / ".ncdata").write_text("# Nextcloud data directory\n# Do not change this file")
    assert occ(conf, "status").returncode == 0
    installed(conf, datadirectory="relative/data")
    assert "Your data directory must be an absolute path." in occ(conf, "status").stdout


def test_no_data_directory_check_before_install(tmp_path):
    write_config(tmp_path / "config.php", {"datadirectory": str(tmp_path / "nothere")})
    assert occ(tmp_path, "status").returncode == 0


def test_cron_php_exits_1_on_a_data_directory_without_ncdata(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    installed(tmp_path, datadirectory=str(data))
    result = subprocess.run([PHP, "-f", str(TREE / "cron.php")], capture_output=True, text=True, timeout=30,
                            env={"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(tmp_path)}, check=False)
    assert result.returncode == 1 and result.stdout.startswith(f"{INVALID}\n{HINT}\n\n")


def test_every_web_entry_point_answers_503_without_ncdata(web):
    confdir, get = web
    data = confdir / "data"
    data.mkdir(mode=0o750)
    installed(confdir, datadirectory=str(data), trusted_domains=["a.test"])
    for path in ("/status.php", "/index.php/login", "/remote.php/dav/files/a/x", "/status.php"):
        code, _, body = get(path, host="evil.test" if path == "/status.php" else "a.test")
        assert code == 503 and INVALID in body and ".ncdata" in body, path   # before the host check
    (data / ".ncdata").write_text("# Nextcloud data directory")
    code, _, body = get("/status.php")
    assert code == 200 and json.loads(body)["installed"] is True


# ------------------------------------------------------------------ config:import, app:list

def test_config_import_reads_stdin_like_upstream(tmp_path):
    installed(tmp_path)
    result = occ(tmp_path, "config:import", stdin=json.dumps({"system": {"loglevel": 1}}))
    assert (result.returncode, result.stdout) == (0, "Config successfully imported from: \n")
    assert occ(tmp_path, "config:system:get", "loglevel").stdout == "1\n"
    result = occ(tmp_path, "config:import", stdin=json.dumps({"other": {}}))
    assert (result.returncode, result.stdout) == (1, "Found invalid entries in root: other\n")
    result = occ(tmp_path, "config:import", stdin="")
    assert (result.returncode, result.stdout) == (1, "The file must contain a valid json array\n")
    result = occ(tmp_path, "config:import", stdin=json.dumps({"apps": {"files": {"x": True}}}))
    assert result.stdout == ('Invalid app config value for "files":"x". Only integers, strings and null '
                             "(delete) are allowed.\n")


def test_app_list_options_and_app_commands_exist_in_the_table():
    table = json.loads(php("echo json_encode(array_map(fn ($c) => [array_keys($c[2]), $c[4], $c[5] ?? null],"
                           " \\Standin\\Console::commands()));"))
    assert {"output", "shipped", "enabled", "disabled"} <= set(table["app:list"][0])
    assert table["richdocuments:activate-config"] == [["wopi-url", "callback-url"], "app",
                                                      "OCA\\Richdocuments\\Command\\ActivateConfig"]
    assert table["onlyoffice:documentserver"] == [["check"], "app", "OCA\\Onlyoffice\\Command\\DocumentServer"]


def test_app_commands_are_not_defined_without_their_app(tmp_path):
    installed(tmp_path)                 # no database: the enabled apps cannot be read
    assert occ(tmp_path, "richdocuments:activate-config").returncode == 1
    listed = json.loads(occ(tmp_path, "list", "--format=json").stdout)
    assert not {c["name"] for c in listed["commands"]} & {"richdocuments:activate-config",
                                                           "onlyoffice:documentserver"}


# ------------------------------------------------------------------ account limit

@pytest.mark.parametrize("one_click, limit, accounts, disabled, reached", [
    (False, 1, 10, 0, False),       # off: no limit
    (True, 50, 49, 0, False),
    (True, 50, 50, 0, True),        # >= limit
    (True, 50, 52, 3, False),       # disabled accounts do not count
    (True, "2", 2, 0, True),        # getSystemValueInt
])
def test_account_limit_rule(one_click, limit, accounts, disabled, reached):
    out = php("echo json_encode(\\Standin\\Console::userLimitReached(%s, %s, %d, %d));"
              % (json.dumps(one_click), json.dumps(limit), accounts, disabled))
    assert json.loads(out) is reached


# ------------------------------------------------------------------ office apps

DISCOVERY = """<?xml version="1.0" encoding="utf-8"?>
<wopi-discovery><net-zone name="external-http">
<app name="application/vnd.openxmlformats-officedocument.wordprocessingml.document">
<action default="true" ext="" name="edit" urlsrc="https://office.example:9443/browser/abc/cool.html?"/></app>
<app name="Capabilities"><action ext="" name="getinfo" urlsrc="https://office.example:9443/hosting/capabilities"/></app>
</net-zone></wopi-discovery>"""


@pytest.fixture(name="office_server")
def fixture_office_server():
    routes = {"/ok/hosting/discovery": DISCOVERY, "/bad/hosting/discovery": "not xml",
              "/ds/healthcheck": "true", "/sick/healthcheck": "false"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write((body or "nope").encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def office(call: str, values: dict, system: dict | None = None) -> dict:
    """Run an Office command with app values in memory; returns exit code, output, values."""
    code = (
        "\\Standin\\Server::$config = new class extends \\Standin\\Config { public array $v = [];"
        " public function __construct() {} public function get(string $k, mixed $d = null): mixed"
        " { return $this->v[$k] ?? $d; } };"
        "\\Standin\\Server::$config->v = json_decode(%s, true);"
        "$v = json_decode(%s, true); $out = [];"
        "$o = new \\Standin\\Office(function ($a, $k) use (&$v) { return $v[$a][$k] ?? null; },"
        " function ($a, $k, $x) use (&$v) { $v[$a][$k] = $x; }, function ($s) use (&$out) { $out[] = $s; });"
        "$rc = $o->%s; echo json_encode(['rc' => $rc, 'out' => $out, 'values' => $v]);"
    ) % (json.dumps(json.dumps(system or {})), json.dumps(json.dumps(values)), call)
    return json.loads(php("require_once '%s/lib/private/Standin/Config.php';" % TREE + code))


SIMPLEXML = "SimpleXML" in subprocess.run([PHP, "-m"], capture_output=True, text=True, check=True).stdout


def test_richdocuments_activate_config(office_server):
    got = office("activateConfig(null, null)", {"richdocuments": {"wopi_url": office_server + "/none"}})
    assert got["rc"] == 1 and f"<error>Failed to fetch discovery endpoint from {office_server}/none" in got["out"]
    assert any("resulted in a `404" in line for line in got["out"])
    got = office("activateConfig(null, null)", {"richdocuments": {"wopi_url": f"http://127.0.0.1:{free_port()}"}})
    assert got["rc"] == 1
    got = office("activateConfig(null, null)", {"richdocuments": {"wopi_url": office_server + "/bad"}})
    assert got["rc"] == 1 and f"<error>Failed to fetch discovery endpoint from {office_server}/bad" in got["out"]

    got = office("activateConfig(null, null)", {"richdocuments": {"wopi_url": office_server + "/ok"}})
    if not SIMPLEXML:   # php-xml is on the web hosts (Nextcloud needs it), maybe not here
        assert got["rc"] == 1 and got["out"][-1].endswith("simplexml_load_string()")
        pytest.skip("php-xml (SimpleXML) is not installed: discovery parsing not exercised")
    assert got["rc"] == 0
    assert got["out"][:3] == ["✓ Reset callback url autodetect", "Checking configuration",
                              f"🛈 Configured WOPI URL: {office_server}/ok"]
    assert "✓ Fetched /hosting/discovery endpoint" in got["out"]
    assert got["values"]["richdocuments"]["public_wopi_url"] == "https://office.example:9443"
    assert got["values"]["richdocuments"]["wopi_callback_url"] == ""


def test_onlyoffice_documentserver_check(office_server):
    got = office("documentServer(true)", {})
    assert (got["rc"], got["out"]) == (1, ["<info>Document server is not configured</info>"])
    got = office("documentServer(false)", {"onlyoffice": {"DocumentServerUrl": "https://ds.example"}})
    assert (got["rc"], got["out"]) == (0, ["<info>The current document server: https://ds.example/</info>"])
    got = office("documentServer(true)", {"onlyoffice": {"DocumentServerUrl": "https://ds.example/",
                                                         "DocumentServerInternalUrl": office_server + "/ds/"}})
    assert got["rc"] == 0 and got["values"]["onlyoffice"]["settings_error"] == ""
    got = office("documentServer(true)", {"onlyoffice": {"DocumentServerUrl": office_server + "/sick/"}})
    assert (got["rc"], got["out"]) == (1, ["<error>Error connection: Bad healthcheck status</error>"])
    got = office("documentServer(true)", {"onlyoffice": {"DocumentServerUrl": office_server + "/ds/"}},
                 system={"overwrite.cli.url": "https://cloud.example"})
    assert got["out"] == ["<error>Error connection: Mixed Active Content is not allowed. "
                          "HTTPS address for ONLYOFFICE Docs is required.</error>"]


# ------------------------------------------------------------------ apps: roots, compatibility, enable

def apps_php(code: str) -> object:
    """Run PHP with the stand-in's classes loadable; the code echoes JSON."""
    prelude = ("spl_autoload_register(function ($c) { $f = '%s/lib/private/Standin/' . substr($c, 8) . '.php';"
               " if (is_file($f)) require_once $f; }); require_once '%s/lib/private/Standin/Config.php';" % (TREE, TREE))
    out = subprocess.run([PHP, "-r", prelude + code], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def stub_app(root: Path, app_id: str, version: str = "1.0.0", low: str | None = "33", high: str | None = "33",
             name: str | None = None) -> None:
    (root / app_id / "appinfo").mkdir(parents=True)
    dep = "" if low is None else f'<dependencies><nextcloud min-version="{low}" max-version="{high}"/></dependencies>'
    (root / app_id / "appinfo" / "info.xml").write_text(
        f"<?xml version=\"1.0\"?><info><id>{app_id}</id><name>{name or app_id.title()}</name>"
        f"<version>{version}</version>{dep}</info>")


@pytest.mark.parametrize("server, low, high, ok", [
    ("33.0.8", "33", "33", True), ("33.0.8", "32", "34", True), ("33.0.8", "34", "35", False),
    ("33.0.8", "31", "32", False), ("33.0.8", "33.0.9", "33", False), ("33.0.8", "", "", True),
])
def test_app_compatibility_compares_on_the_bounds_parts(server, low, high, ok):
    # OC_App::isAppCompatible with adjustVersionParts: min=max="33" accepts every 33.x
    got = apps_php(f"echo json_encode(\\Standin\\Apps::isCompatible('{server}', ['min' => '{low}', 'max' => '{high}']));")
    assert got is ok


def test_enable_an_app_in_no_apps_root_fails_like_upstream_with_the_store_off(tmp_path):
    ro, rw = tmp_path / "apps", tmp_path / "custom"
    ro.mkdir(); rw.mkdir()
    read_only = [{"path": str(ro), "url": "/apps", "writable": False}]
    code = "echo json_encode(\\Standin\\Apps::enableError('calendar', null, json_decode('%s', true), '33.0.8', false));"
    # every root read-only (the farm): Installer::downloadApp() has nowhere to put it
    assert apps_php(code % json.dumps(read_only)) == "No application directories are marked as writable."
    writable = read_only + [{"path": str(rw), "url": "/custom", "writable": True}]
    assert apps_php(code % json.dumps(writable)) == "Could not download app calendar, it was not found on the appstore"


def test_enable_refuses_an_app_whose_info_xml_excludes_the_server(tmp_path):
    root = tmp_path / "apps-pinned"
    stub_app(root, "deck", low="34", high="35", name="Deck")
    stub_app(root, "forms", low="33", high="33")
    code = ("$apps = \\Standin\\Apps::all([['path' => '%s', 'url' => '/p', 'writable' => false]]);"
            " echo json_encode([\\Standin\\Apps::enableError('deck', $apps['deck'], [], '33.0.8', false),"
            " \\Standin\\Apps::enableError('forms', $apps['forms'], [], '33.0.8', false),"
            " \\Standin\\Apps::enableError('deck', $apps['deck'], [], '35.0.1', false)]);") % root
    assert apps_php(code) == [
        'App "Deck" cannot be installed because it is not compatible with this version of the server.', None, None]


def test_apps_roots_come_from_apps_paths_and_must_exist(tmp_path):
    (tmp_path / "apps").mkdir()
    installed(tmp_path, apps_paths=[{"path": str(tmp_path / "apps"), "url": "/apps", "writable": False},
                                    {"path": str(tmp_path / "missing"), "url": "/x", "writable": False}])
    result = occ(tmp_path, "status")
    assert result.returncode == 1
    assert f'App directory "{tmp_path / "missing"}" not found!' in result.stderr


def test_highest_version_wins_across_roots_and_shipped_json_is_read(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    stub_app(one, "text", version="5.0.0")
    stub_app(two, "text", version="6.1.0")
    code = ("$apps = \\Standin\\Apps::all([['path' => '%s'], ['path' => '%s']]);"
            " $s = \\Standin\\Apps::shipped('%s'); echo json_encode([$apps['text']['version'],"
            " in_array('calendar', $s['shippedApps']), in_array('text', $s['shippedApps']), in_array('files', $s['alwaysEnabled'])]);"
            ) % (one, two, TREE)
    assert apps_php(code) == ["6.1.0", False, True, True]


def test_upgrade_requirements_disable_incompatible_non_shipped_apps_and_stop_on_shipped_ones(tmp_path):
    root = tmp_path / "apps"
    stub_app(root, "calendar", low="32", high="32")
    stub_app(root, "deck")
    stub_app(root, "text", low="32", high="32")
    code = ("$apps = \\Standin\\Apps::all([['path' => '%s']]);"
            " echo json_encode([\\Standin\\Apps::requirements(%s, $apps, ['text'], '33.0.8')]);")
    # Updater::checkAppsRequirements: missing or incompatible and not shipped -> disabled
    got = apps_php(code % (root, "['calendar', 'deck', 'spreed']"))[0]
    assert got == {"disable": ["calendar", "spreed"], "error": None}
    got = apps_php(code % (root, "['calendar', 'text']"))[0]
    assert got["error"] == 'The files of the app "text" were not correctly replaced before running the update'


# ------------------------------------------------------------------ S3 client retries

def s3_server(answers: list[int]):
    """An HTTP server answering each request with the next status of `answers` (the last one
    repeats); it records the methods it saw."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", 0)))
            seen.append(self.command)
            status = answers[min(len(seen), len(answers)) - 1]
            body = b"" if status == 200 else b"<Error><Code>SlowDown</Code></Error>"
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def s3_put(port: int) -> str:
    return php(
        f"$s = new Standin\\S3('b', '127.0.0.1', {port}, false, true, 'us-east-1', 'k', 's');"
        " try { $s->put('urn:oid:1', 'x'); echo 'ok'; } catch (\\RuntimeException $e) { echo $e->getMessage(); }")


def test_s3_requests_are_retried_like_the_aws_sdk_default():
    # Aws\RetryMiddleware (legacy mode, 3 retries): 500/502/503/504 and no answer are retried
    server, seen = s3_server([503, 502, 200])
    try:
        assert s3_put(server.server_address[1]) == "ok" and seen == ["PUT"] * 3
    finally:
        server.shutdown()
    server, seen = s3_server([503])                                  # never better: 1 + 3 tries
    try:
        assert s3_put(server.server_address[1]) == "S3 PUT urn:oid:1 on bucket b: SlowDown"
        assert len(seen) == 4
    finally:
        server.shutdown()
    server, seen = s3_server([403])                                  # control: a 4xx is final
    try:
        assert s3_put(server.server_address[1]).endswith(": SlowDown") and len(seen) == 1
    finally:
        server.shutdown()
    port = free_port()                                               # nobody listens: 4 tries, then
    assert s3_put(port).startswith(f"S3 PUT http://127.0.0.1:{port}/b/urn%3Aoid%3A1 failed")
