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
