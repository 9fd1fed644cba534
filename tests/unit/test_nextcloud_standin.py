"""Unit tests of the Nextcloud stand-in (lab/nextcloud-standin/), with php-cli only.

What needs PostgreSQL, MinIO and Redis (install, WebDAV to S3, locks) is tested by the
molecule `web` scenario; here: config loading and write-back, occ parsing, states and exit
codes, status.php / login page / trusted domains / maintenance through PHP's built-in web
server, SigV4 against AWS's published examples, and the release archive build.

Like test_nuagerie_php.py: skipped without php-cli locally, FAILED when CI=true.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "lab" / "nextcloud-standin"
TREE = STANDIN / "nextcloud"
PHP = shutil.which("php")

if PHP is None:
    if os.environ.get("CI") == "true":
        pytest.fail("php-cli is missing on CI (scripts/bootstrap installs it)", pytrace=False)
    pytest.skip("php-cli is not installed", allow_module_level=True)

STATUS_KEYS = ["installed", "version", "versionstring", "edition", "maintenance",
               "needsDbUpgrade", "productname", "extendedSupport"]


def write_config(path: Path, values: dict) -> None:
    """Write a PHP config file from JSON (keeps the test free of the to_php filter)."""
    path.write_text("<?php\n$CONFIG = json_decode(" + json.dumps(json.dumps(values))
                    + ", true);\n")


def occ(confdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(confdir), **(env or {})}
    return subprocess.run([PHP, str(TREE / "occ"), *args], capture_output=True, text=True,
                          env=full_env, timeout=30, check=False)


def installed(confdir: Path, **extra) -> Path:
    write_config(confdir / "config.php", {"installed": True, "version": "33.0.8.0",
                                          "instanceid": "ocstandin01", **extra})
    return confdir


def php_eval(code: str) -> str:
    """Run PHP code with the stand-in's classes loadable (no boot, no config)."""
    prelude = ("spl_autoload_register(function ($c) { $f = '%s/lib/private/Standin/' . substr($c, 8) . '.php';"
               " if (is_file($f)) require_once $f; });" % TREE)
    result = subprocess.run([PHP, "-r", prelude + code], capture_output=True, text=True,
                            timeout=30, check=True)
    return result.stdout


# ------------------------------------------------------------------ config loading

def test_config_php_then_star_config_php_in_natural_order(tmp_path):
    installed(tmp_path, a="config.php", b="config.php", c="config.php")
    write_config(tmp_path / "10-space.config.php", {"b": "10-space", "c": "10-space"})
    write_config(tmp_path / "2-farm.config.php", {"a": "2-farm", "b": "2-farm"})
    write_config(tmp_path / "backup.php", {"a": "ignored"})          # not *.config.php
    write_config(tmp_path / "old.config.php.bak", {"a": "ignored"})
    got = {k: occ(tmp_path, "config:system:get", k).stdout.strip() for k in "abc"}
    # natsort: 2-farm before 10-space; later files replace whole top-level keys
    assert got == {"a": "2-farm", "b": "10-space", "c": "10-space"}


def test_top_level_keys_are_replaced_not_deep_merged(tmp_path):
    installed(tmp_path, redis={"host": "a", "port": 1})
    write_config(tmp_path / "z.config.php", {"redis": {"host": "b"}})
    out = occ(tmp_path, "config:system:get", "redis", "--output=json").stdout
    assert json.loads(out) == {"host": "b"}


def test_nc_environment_variable_wins(tmp_path):
    installed(tmp_path, loglevel=2)
    write_config(tmp_path / "z.config.php", {"loglevel": 3})
    assert occ(tmp_path, "config:system:get", "loglevel", env={"NC_loglevel": "0"}).stdout.strip() == "0"


def test_writes_copy_the_merged_config_into_config_php(tmp_path):
    """Upstream writes its whole merged cache back: farm keys land in config.php."""
    installed(tmp_path)
    write_config(tmp_path / "10-space.config.php", {"dbname": "nc_x", "maintenance": False})
    assert occ(tmp_path, "maintenance:mode", "--on").returncode == 0
    text = (tmp_path / "config.php").read_text()
    assert "'dbname' => 'nc_x'" in text and "'maintenance' => true" in text
    # ... but the *.config.php file still wins when loading: the space stays out of maintenance.
    # (So `maintenance` must never be set in a farm file.)
    status = json.loads(occ(tmp_path, "status", "--output=json").stdout)
    assert status["maintenance"] is False
    assert oct((tmp_path / "config.php").stat().st_mode & 0o777) == "0o640"


def test_config_is_read_only_refuses_writes(tmp_path):
    installed(tmp_path)
    write_config(tmp_path / "z.config.php", {"config_is_read_only": True})
    result = occ(tmp_path, "maintenance:mode", "--on")
    assert result.returncode == 1
    assert "read-only" in result.stderr


def test_occ_must_run_as_the_owner_of_config_php(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    installed(tmp_path)
    os.chown(tmp_path / "config.php", 12345, 12345)
    result = occ(tmp_path, "status")
    assert result.returncode == 1
    assert "Console has to be executed with the user that owns the file config/config.php" in result.stdout


# ------------------------------------------------------------------ occ: states and status

def test_status_json_shape_not_installed(tmp_path):
    result = occ(tmp_path, "status", "--output=json")
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert list(status) == STATUS_KEYS
    assert status["installed"] is False
    assert status["version"] == "33.0.8.0"
    assert status["versionstring"] == "33.0.8-standin"
    assert "stand-in" in status["productname"]


def test_status_plain_output(tmp_path):
    lines = occ(tmp_path, "status").stdout.splitlines()
    assert lines[0] == "  - installed: false"
    assert "  - versionstring: 33.0.8-standin" in lines


def test_status_exit_code_option(tmp_path):
    installed(tmp_path)
    result = occ(tmp_path, "status", "-e")
    assert (result.returncode, result.stdout) == (0, "")
    occ(tmp_path, "maintenance:mode", "--on")
    assert occ(tmp_path, "status", "--exit-code").returncode == 1
    occ(tmp_path, "maintenance:mode", "--off")
    installed(tmp_path, version="32.0.5.0")          # code 33.0.8 is newer: upgrade needed
    assert occ(tmp_path, "status", "-e").returncode == 2
    assert json.loads(occ(tmp_path, "status", "--output=json").stdout)["needsDbUpgrade"] is True


def test_downgrade_is_refused(tmp_path):
    installed(tmp_path, version="34.0.0.0")
    result = occ(tmp_path, "status")
    assert result.returncode == 1
    assert "Downgrading is not supported" in result.stderr


def test_commands_depend_on_the_installed_state(tmp_path):
    listed = json.loads(occ(tmp_path, "list", "--format=json").stdout)
    assert {c["name"] for c in listed["commands"]} == {"list", "status", "maintenance:install"}
    result = occ(tmp_path, "config:system:get", "x")
    assert result.returncode == 1
    assert 'Command "config:system:get" is not defined.' in result.stderr
    installed(tmp_path)
    names = {c["name"] for c in json.loads(occ(tmp_path, "list", "--format=json").stdout)["commands"]}
    assert "maintenance:install" not in names and "upgrade" in names
    assert occ(tmp_path, "maintenance:install").returncode == 1


def test_maintenance_mode_messages_and_exit_codes(tmp_path):
    installed(tmp_path)
    assert occ(tmp_path, "maintenance:mode").stdout == "Maintenance mode is currently disabled\n"
    assert occ(tmp_path, "maintenance:mode", "--on").stdout == "Maintenance mode enabled\n"
    assert occ(tmp_path, "maintenance:mode", "--on").stdout == "Maintenance mode already enabled\n"
    assert occ(tmp_path, "maintenance:mode", "--check-if-disabled").returncode == 1
    assert occ(tmp_path, "maintenance:mode", "--off").stdout == "Maintenance mode disabled\n"
    assert occ(tmp_path, "maintenance:mode", "--check-if-disabled").returncode == 0


def test_upgrade_exit_codes_without_database(tmp_path):
    installed(tmp_path)
    result = occ(tmp_path, "upgrade")
    # core/Command/Upgrade.php since server#49914 (was "Nextcloud is already latest version")
    assert (result.returncode, result.stdout) == (0, "No upgrade required.\n")
    occ(tmp_path, "maintenance:mode", "--on")
    assert occ(tmp_path, "upgrade").returncode == 2          # ERROR_MAINTENANCE_MODE


def test_upgrade_turns_maintenance_on_first_and_keeps_it_on_when_a_check_fails(tmp_path):
    # lib/private/Updater.php upgrade(): maintenance on, then doUpgrade()'s isUpgradePossible()
    installed(tmp_path, version="31.0.9.0")                  # two majors back
    result = occ(tmp_path, "upgrade")
    assert result.returncode == 5                            # ERROR_FAILURE
    assert result.stdout.splitlines() == [
        "Setting log level to debug",
        "Turned on maintenance mode",
        "Exception: Updates between multiple major versions and downgrades are unsupported.",
        "Update failed",
        "Maintenance mode is kept active",
        "Resetting log level",
    ]
    assert occ(tmp_path, "maintenance:mode", "--check-if-disabled").returncode == 1
    assert json.loads(occ(tmp_path, "status", "--output=json").stdout)["maintenance"] is True
    # already in maintenance before: kept on, never turned on
    assert "Turned on maintenance mode" not in occ(tmp_path, "upgrade").stdout


def test_upgrade_logs_its_steps_at_debug_level_then_restores_the_level(tmp_path):
    # Updater::upgrade(): loglevel read, set to debug for the run (logAllEvents() logs each step
    # at info), set back at the end even after a failure; setDebugLogLevel is logged before the
    # change, so it is dropped at warning. The farm's log test relies on these lines.
    log = tmp_path / "nextcloud.log"
    installed(tmp_path, version="31.0.9.0", loglevel=2, log_type="file", logfile=str(log))
    assert occ(tmp_path, "upgrade").returncode == 5
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    updater = [(e["level"], e["message"]) for e in entries if e["app"] == "updater"]
    assert updater == [
        (1, "\\OC\\Updater::maintenanceEnabled: Turned on maintenance mode"),
        (3, "\\OC\\Updater::failure: Exception: Updates between multiple major versions and downgrades are unsupported."),
        (3, "\\OC\\Updater::updateEnd: Update failed"),
        (1, "\\OC\\Updater::maintenanceActive: Maintenance mode is kept active"),
        (1, "\\OC\\Updater::resetLogLevel: Reset log level to Warning(2)"),
    ]
    config = json.loads(subprocess.run([PHP, "-r", f"include '{tmp_path}/config.php'; echo json_encode($CONFIG);"],
                                       capture_output=True, text=True, check=True, timeout=30).stdout)
    assert config["loglevel"] == 2 and config["maintenance"] is True   # written back, as upstream
    log.unlink()
    assert occ(tmp_path, "status").returncode == 0 and not log.exists()   # no upgrade: no line


def test_upgrade_refuses_an_older_code_tree_before_any_change(tmp_path):
    # OC_Util::needUpgrade() throws for a downgrade: occ stops before the command runs
    installed(tmp_path, version="34.0.1.0")
    result = occ(tmp_path, "upgrade")
    assert result.returncode == 1 and result.stdout == ""
    assert "Downgrading is not supported" in result.stderr
    assert occ(tmp_path, "config:system:get", "maintenance").returncode == 1


# ------------------------------------------------------------------ occ: parsing

@pytest.mark.parametrize("args, message", [
    (["status", "--bogus"], 'The "--bogus" option does not exist.'),
    (["status", "-x"], 'The "-x" option does not exist.'),
    (["status", "--exit-code=1"], 'The "--exit-code" option does not accept a value.'),
    (["config:system:set", "a", "--value"], 'The "--value" option requires a value.'),
    (["config:system:get"], 'Not enough arguments (missing: "name").'),
    (["config:app:get", "files"], 'Not enough arguments (missing: "app", "name").'),
    (["config:app:get", "a", "b", "c"], 'Too many arguments, expected arguments "app" "name".'),
    (["nope"], 'Command "nope" is not defined.'),
    (["config:system:set", "a", "--value=x", "--type=integer"], "Non-numeric value specified"),
    (["config:system:set", "a", "--value=maybe", "--type=boolean"], "Unable to parse value as boolean"),
    (["config:system:set", "a", "--value=x", "--type=blob"], "Invalid type"),
])
def test_usage_errors_exit_1(tmp_path, args, message):
    installed(tmp_path)
    result = occ(tmp_path, *args)
    assert result.returncode == 1
    assert message in result.stderr


def test_config_system_set_types_and_indices(tmp_path):
    installed(tmp_path)
    cases = [
        (["a", "--value=7", "--type=integer"], "System config value a set to integer 7", 7),
        (["b", "--value", "TRUE", "--type", "boolean"], "System config value b set to boolean true", True),
        (["c", "--value=1.5", "--type=float"], "System config value c set to double 1.5", 1.5),
        (["d", '--value={"x": [1]}', "--type=json"], 'System config value d set to json {"x":[1]}', {"x": [1]}),
        (["e", "--value="], "System config value e set to empty string", ""),
    ]
    for args, line, value in cases:
        result = occ(tmp_path, "config:system:set", *args)
        assert (result.returncode, result.stdout.strip()) == (0, line)
        assert json.loads(occ(tmp_path, "config:system:get", args[0], "--output=json").stdout) == value
    occ(tmp_path, "config:system:set", "trusted_domains", "0", "--value=a.test")
    result = occ(tmp_path, "config:system:set", "trusted_domains", "1", "--value=b.test")
    assert result.stdout.strip() == "System config value trusted_domains => 1 set to string b.test"
    assert occ(tmp_path, "config:system:get", "trusted_domains").stdout == "a.test\nb.test\n"
    assert occ(tmp_path, "config:system:get", "trusted_domains", "1").stdout == "b.test\n"
    result = occ(tmp_path, "config:system:set", "nothere", "--value=x", "--update-only")
    assert result.returncode == 1 and "Config parameter does not exist" in result.stderr


def test_config_system_get_missing_and_default(tmp_path):
    installed(tmp_path)
    assert (occ(tmp_path, "config:system:get", "nothere").returncode,
            occ(tmp_path, "config:system:get", "nothere").stdout) == (1, "")
    result = occ(tmp_path, "config:system:get", "nothere", "--default-value=fallback")
    assert (result.returncode, result.stdout) == (0, "fallback\n")
    assert occ(tmp_path, "config:system:get", "installed").stdout == "true\n"


def test_config_system_delete(tmp_path):
    installed(tmp_path, gone="x", arr={"k": 1, "j": 2})
    assert occ(tmp_path, "config:system:delete", "gone").stdout == "System config value gone deleted\n"
    assert occ(tmp_path, "config:system:get", "gone").returncode == 1
    assert occ(tmp_path, "config:system:delete", "gone", "--error-if-not-exists").returncode == 1
    occ(tmp_path, "config:system:delete", "arr", "k")
    assert json.loads(occ(tmp_path, "config:system:get", "arr", "--output=json").stdout) == {"j": 2}


def test_every_command_has_help(tmp_path):
    installed(tmp_path)
    for command in json.loads(occ(tmp_path, "list", "--format=json").stdout)["commands"]:
        result = occ(tmp_path, command["name"], "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command["name"]


def test_install_refuses_without_nextclouds_php_modules_or_database(tmp_path):
    result = occ(tmp_path, "maintenance:install", "--database=pgsql", "--database-name=nc",
                 "--database-user=nc", "--database-pass=x", "--database-host=127.0.0.1",
                 "--database-port=1", "--admin-user=admin", "--admin-pass=x",
                 f"--data-dir={tmp_path / 'data'}")
    assert result.returncode == 1
    # Upstream lib/base.php creates an empty config.php (as the caller) before anything else.
    assert (tmp_path / "config.php").read_text() == ""


def test_occ_and_cron_refuse_anyone_but_the_owner_of_config_php(tmp_path):
    """Upstream console.php and cron.php: posix_getuid() must be fileowner(config.php)."""
    installed(tmp_path)
    assert occ(tmp_path, "status", "--output=json").returncode == 0   # positive control: owner
    if os.geteuid() != 0:
        pytest.skip("changing the owner of config.php needs root")
    os.chown(tmp_path / "config.php", 4242, 4242)
    for result in (occ(tmp_path, "status", "--output=json"),
                   subprocess.run([PHP, str(TREE / "cron.php")], capture_output=True, text=True,
                                  env={"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(tmp_path)},
                                  timeout=30, check=False)):
        assert result.returncode == 1
        assert "Console has to be executed with the user that owns the file config/config.php" in result.stdout
        assert "Owner id of config.php: 4242" in result.stdout


# ------------------------------------------------------------------ pure parts

def test_sigv4_aws_test_suite_get_vanilla():
    """AWS SigV4 test suite, get-vanilla (docs: "Signature Version 4 test suite")."""
    out = php_eval(r"""
        $s = Standin\S3::sign('GET', '/', [], ['Host' => 'example.amazonaws.com', 'X-Amz-Date' => '20150830T123600Z'],
            Standin\S3::EMPTY_SHA256, 'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'us-east-1', 'service');
        echo json_encode($s);""")
    sig = json.loads(out)
    assert sig["signature"] == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    assert sig["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


def test_sigv4_s3_get_object_example():
    """The GET Object example of the S3 "Signature Calculations for the Authorization Header" page."""
    out = php_eval(r"""
        $s = Standin\S3::sign('GET', '/test.txt', [], [
            'Host' => 'examplebucket.s3.amazonaws.com', 'Range' => 'bytes=0-9',
            'x-amz-content-sha256' => Standin\S3::EMPTY_SHA256, 'x-amz-date' => '20130524T000000Z'],
            Standin\S3::EMPTY_SHA256, 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'us-east-1', 's3');
        echo $s['signature'];""")
    assert out == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


def test_s3_arguments_and_object_names():
    out = php_eval(r"""
        $a = Standin\S3::fromArguments(['bucket' => 'nc-x', 'key' => 'k', 'secret' => 's', 'hostname' => 'minio1', 'port' => 9000, 'use_path_style' => true]);
        $b = Standin\S3::fromArguments(['bucket' => 'nc-x', 'key' => 'k', 'secret' => 's', 'use_ssl' => false]);
        echo json_encode([$a->urn(42), $a->ssl, $a->port, $a->region, $a->pathStyle, $b->port, $b->host,
            Standin\S3::uriEncode('urn:oid:42', true), Standin\S3::canonicalQuery(['b' => '1 2', 'a' => '~x'])]);""")
    assert json.loads(out) == ["urn:oid:42", True, 9000, "eu-west-1", True, 80,
                               "s3.eu-west-1.amazonaws.com", "urn%3Aoid%3A42", "a=~x&b=1%202"]


@pytest.mark.parametrize("config, dsn", [
    ({"dbhost": "pg1:5433", "dbname": "nc_x"}, "pgsql:host=pg1;port=5433;dbname=nc_x"),
    ({"dbhost": "pg1", "dbport": "5432", "dbname": "d"}, "pgsql:host=pg1;port=5432;dbname=d"),
    ({"dbhost": "[::1]:5432", "dbname": "d"}, "pgsql:host=::1;port=5432;dbname=d"),
    ({"dbhost": "localhost:/run/postgresql", "dbname": "d"}, "pgsql:host=/run/postgresql;dbname=d"),
    ({"dbhost": "pg1", "dbname": "d", "pgsql_ssl": {"mode": "verify-full", "rootcert": "/ca.crt"}},
     "pgsql:host=pg1;dbname=d;sslmode=verify-full;sslrootcert=/ca.crt"),
])
def test_database_dsn(config, dsn):
    assert php_eval("echo Standin\\Db::dsn(json_decode('%s', true));" % json.dumps(config)) == dsn


# ------------------------------------------------------------------ HTTP through php -S

@pytest.fixture(name="web")
def fixture_web(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(tmp_path)}
    server = subprocess.Popen([PHP, "-S", f"127.0.0.1:{port}", "-t", str(TREE)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)

    def get(path, host="a.test"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    yield tmp_path, get
    server.terminate()
    server.wait(timeout=10)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D102 - keep 3xx as responses
        return None


def test_http_status_login_trusted_domains_and_maintenance(web):
    confdir, get = web
    installed(confdir)
    write_config(confdir / "10-space.config.php", {"trusted_domains": ["a.test", "*.b.test"]})

    code, headers, body = get("/status.php")
    assert code == 200 and headers["Content-Type"].startswith("application/json")
    assert list(json.loads(body)) == STATUS_KEYS

    code, _, body = get("/status.php", host="evil.test")
    assert (code, json.loads(body)) == (400, {"error": "Trusted domain error.", "code": 15})
    code, _, body = get("/index.php/login", host="evil.test")
    assert code == 400 and "Access through untrusted domain" in body
    assert get("/status.php", host="x.b.test:8443")[0] == 200   # wildcard, port ignored

    code, _, body = get("/index.php/login")
    assert code == 200 and 'name="password"' in body and 'name="user"' in body
    code, headers, _ = get("/index.php")
    assert code == 302 and headers["Location"] == "http://a.test/index.php/login"

    code, headers, body = get("/remote.php/dav/files/admin/x.txt")
    assert code == 500 or code == 401  # no database here; never a 200

    occ(confdir, "maintenance:mode", "--on")
    code, headers, body = get("/index.php/login")
    assert code == 503 and headers.get("X-Nextcloud-Maintenance-Mode") == "1"
    code, _, body = get("/remote.php/webdav/x.txt")
    assert code == 503 and "ServiceUnavailable" in body
    code, _, body = get("/status.php")
    assert code == 200 and json.loads(body)["maintenance"] is True


# ------------------------------------------------------------------ the release archive

def test_build_is_deterministic_and_registers_the_artifact(tmp_path):
    env = dict(os.environ)
    shas = []
    for run in ("one", "two"):
        artifacts = tmp_path / run
        artifacts.mkdir()
        env["NUAGERIE_ARTIFACT_DIR"] = str(artifacts)
        subprocess.run([str(STANDIN / "build.sh"), "32.0.5"], env=env, check=True,
                       capture_output=True, timeout=120)
        manifest = yaml.safe_load((artifacts / "lab-artifacts.yml").read_text())
        entry = manifest["nuagerie_lab_artifacts"]["nextcloud-32.0.5"]
        archive = Path(entry["path"])
        assert archive == artifacts / "nextcloud-standin/32.0.5/nextcloud-standin-32.0.5.tar.bz2"
        assert (Path(str(archive) + ".sha256").read_text()
                == f"{entry['sha256']}  {archive.name}\n")
        assert entry["version"] == "32.0.5" and entry["standin"] is True
        shas.append(entry["sha256"])
    assert shas[0] == shas[1]
    listing = subprocess.run(["tar", "-tvjf", str(archive)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    names = [line.split()[-1] for line in listing]
    assert names == sorted(names) and all(n.startswith("nextcloud/") for n in names)
    assert "nextcloud/config/" in names and not any(n.startswith("nextcloud/config/") and n != "nextcloud/config/" for n in names)
    assert all(" 0/0 " in line for line in listing)
    version_php = subprocess.run(["tar", "-xOjf", str(archive), "nextcloud/version.php"],
                                 capture_output=True, text=True, check=True).stdout
    assert "$OC_Version = [32, 0, 5, 0];" in version_php
    assert "$OC_VersionString = '32.0.5-standin';" in version_php
    # the apps upstream does not ship are not in the server archive, but beside it, one archive
    # each (top dir = app id), built for this major, in the role's nextcloud_releases[].apps shape
    assert not any(n.startswith(("nextcloud/apps/calendar/", "nextcloud/apps/richdocuments/")) for n in names)
    assert "nextcloud/core/shipped.json" in names
    apps = {a["name"]: a for a in entry["apps"]}
    assert sorted(apps) == sorted(p.name for p in (STANDIN / "apps").iterdir())
    assert all(set(a) == {"name", "version", "src", "sha256"} for a in apps.values())
    calendar = Path(apps["calendar"]["src"])
    assert calendar.name == f"calendar-{apps['calendar']['version']}.tar.gz"
    assert (Path(str(calendar) + ".sha256").read_text().split()[0] == apps["calendar"]["sha256"])
    listing = subprocess.run(["tar", "-tzvf", str(calendar)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert {line.split()[-1].split("/")[0] for line in listing} == {"calendar"}
    assert all(" 0/0 " in line for line in listing)
    info = subprocess.run(["tar", "-xOzf", str(calendar), "calendar/appinfo/info.xml"],
                          capture_output=True, text=True, check=True).stdout
    assert '<nextcloud min-version="32" max-version="32"/>' in info
    pinned = yaml.safe_load((artifacts / "lab-artifacts.yml").read_text())["nuagerie_lab_artifacts"]
    assert [a["sha256"] for a in pinned["nextcloud-32.0.5"]["apps"]] == [a["sha256"] for a in entry["apps"]]


def test_config_import_system_values(tmp_path):
    installed(tmp_path)
    (tmp_path / "in.json").write_text(json.dumps({"system": {"loglevel": 1, "trusted_domains": ["a.test"]}}))
    result = occ(tmp_path, "config:import", str(tmp_path / "in.json"))
    assert (result.returncode, result.stdout) == (0, f"Config successfully imported from: {tmp_path / 'in.json'}\n")
    assert occ(tmp_path, "config:system:get", "loglevel").stdout == "1\n"
    (tmp_path / "bad.json").write_text(json.dumps({"other": {}}))
    assert occ(tmp_path, "config:import", str(tmp_path / "bad.json")).returncode == 1


def test_configured_caches_must_be_available(tmp_path):
    """Upstream: "Memcache \\OC\\Memcache\\APCu not available for local cache" (occ without apc.enable_cli)."""
    installed(tmp_path, **{"memcache.local": "\\OC\\Memcache\\APCu"})
    result = occ(tmp_path, "status")
    assert result.returncode == 1
    assert "Memcache \\OC\\Memcache\\APCu not available for local cache" in result.stderr
    installed(tmp_path, **{"memcache.local": "\\OC\\Memcache\\Nope"})
    assert occ(tmp_path, "status").returncode == 1
