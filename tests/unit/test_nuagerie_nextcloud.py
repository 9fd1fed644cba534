"""Unit tests of filter_plugins/nuagerie_nextcloud.py (web tier rendering) and the Nextcloud
identity derivation added to nuagerie_secrets.py."""

import collections
import os
import re
import subprocess
import shutil
from pathlib import Path

import yaml

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_nextcloud as nc
import nuagerie_names
import nuagerie_secrets

ROOT = Path(__file__).resolve().parents[2]

KEY = "unit-test-master-key-not-a-secret-0123456789"

SETTINGS = {
    "farm_name": "nuagerie",
    "spaces_root": "/srv/nextcloud/spaces",
    "releases_dir": "/srv/nextcloud/releases",
    "farm_config_file": "/etc/nextcloud/nuagerie-farm.config.php",
    "web_user": "www-data",
    "web_group": "www-data",
    "db": {"host": "pg1", "port": 5432, "ssl_mode": "verify-full",
           "ssl_rootcert": "/etc/nuagerie/tls/ca.crt"},
    "redis": {"host": "redis1", "port": 6379, "tls": True, "cafile": "/etc/nuagerie/tls/ca.crt"},
    "s3": {"hostname": "minio-a1", "port": 9000, "use_ssl": True, "region": "us-east-1"},
    "trusted_proxies": ["10.0.0.0/8"],
    "overwriteprotocol": "https",
    "maintenance_hours": [1, 2, 3, 4],
    "mail": {"smtpmode": "smtp", "smtphost": "smtp.example", "smtpport": 25,
             "from_address": "noreply"},
    "farm_config_extra": {"default_phone_region": "FR"},
    "pool": {"max_children": 8, "idle_timeout": "30s", "max_requests": 500,
             "memory_limit": "512M", "upload_max_size": "512M", "socket_dir": "/run/php"},
    "tls_ca": "/etc/nuagerie/tls/ca.crt",
}


def space(slug, state="active", release="33.0.8", aliases=()):
    return {
        "slug": slug, "state": state, "nextcloud_release": release, "quota_gb": 40, "max_accounts": 50,
        "office": "collabora", "admin_email": f"admin@{slug}.example.org",
        "domains": [f"{slug}.lab.nuagerie.test", *aliases],
        "rotation": {"db_password": 0, "s3_secret_key": 0, "redis_password": 0, "admin_password": 0},
        "names": nuagerie_names.space_names(slug),
    }


# ---------------------------------------------------------------- identity (nuagerie_secrets)

def test_identity_shapes_and_determinism():
    ident = nuagerie_secrets.space_nextcloud_identity("asso-velo", KEY)
    assert re.fullmatch(r"oc[a-z0-9]{10}", ident["instanceid"])
    assert re.fullmatch(r"[A-Za-z0-9]{30}", ident["passwordsalt"])
    assert re.fullmatch(r"[A-Za-z0-9]{48}", ident["secret"])
    assert ident == nuagerie_secrets.space_nextcloud_identity(space("asso-velo"), KEY)


def test_identity_differs_per_space_and_key_and_from_space_secrets():
    a = nuagerie_secrets.space_nextcloud_identity("asso-a", KEY)
    b = nuagerie_secrets.space_nextcloud_identity("asso-b", KEY)
    c = nuagerie_secrets.space_nextcloud_identity("asso-a", KEY + "x")
    assert not set(a.values()) & set(b.values())
    assert not set(a.values()) & set(c.values())
    secrets = nuagerie_secrets.space_secrets(space("asso-a"), KEY)["secrets"]
    assert not set(a.values()) & set(secrets.values())


def test_identity_unique_over_many_spaces():
    ids = [nuagerie_secrets.space_nextcloud_identity(f"s{i}", KEY)["instanceid"] for i in range(3000)]
    assert len(set(ids)) == len(ids)


def test_identity_does_not_change_existing_secrets():
    # The pinned values of test_nuagerie_secrets stay; here: adding a purpose left the filter table.
    table = nuagerie_secrets.FilterModule().filters()
    assert table["nuagerie_space_secrets"] is nuagerie_secrets.space_secrets
    assert table["nuagerie_space_nextcloud_identity"] is nuagerie_secrets.space_nextcloud_identity


@pytest.mark.parametrize("bad", [None, 5, {"no": "slug"}, ""])
def test_identity_refuses_non_space(bad):
    with pytest.raises(AnsibleFilterError):
        nuagerie_secrets.space_nextcloud_identity(bad, KEY)


def test_identity_refuses_short_key():
    with pytest.raises(AnsibleFilterError, match="fewer than"):
        nuagerie_secrets.space_nextcloud_identity("a", "short")


# ---------------------------------------------------------------- config keys

def test_check_keys_names_closest_match():
    with pytest.raises(AnsibleFilterError) as err:
        nc.check_config_keys({"appstoreenabled ": False, "memcache.lokal": "x"}, "farm")
    message = str(err.value)
    assert "'appstoreenabled '" in message and "did you mean 'appstoreenabled'" in message
    assert "did you mean 'memcache.local'" in message


def test_check_keys_unknown_without_match():
    with pytest.raises(AnsibleFilterError, match="not a key of config.sample.php"):
        nc.check_config_keys({"zzzzzz": 1})


def test_check_keys_refuses_non_mapping():
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        nc.check_config_keys(["a"])


def test_farm_config_extra_is_checked():
    bad = dict(SETTINGS, farm_config_extra={"default_phone_regoin": "FR"})
    with pytest.raises(AnsibleFilterError, match="default_phone_region"):
        nc.farm_config(bad)


def test_mail_keys_are_checked():
    bad = dict(SETTINGS, mail={"smtphots": "x"})
    with pytest.raises(AnsibleFilterError, match="mail_smtphost"):
        nc.farm_config(bad)


# ---------------------------------------------------------------- farm and space config

def test_farm_config_values():
    farm = nc.farm_config(SETTINGS)
    assert farm["memcache.local"] == "\\OC\\Memcache\\APCu"
    assert farm["memcache.distributed"] == farm["memcache.locking"] == "\\OC\\Memcache\\Redis"
    assert farm["log_type"] == "syslog" and farm["appstoreenabled"] is False
    assert farm["setup_create_db_user"] is False and farm["dbtype"] == "pgsql"
    assert farm["trusted_proxies"] == ["10.0.0.0/8"] and farm["overwriteprotocol"] == "https"
    assert farm["mail_smtphost"] == "smtp.example" and farm["default_phone_region"] == "FR"
    php = nc.farm_config_php(SETTINGS)
    assert php.startswith("<?php\n// Managed by Ansible")
    assert "'memcache.local' => '\\\\OC\\\\Memcache\\\\APCu'," in php


def test_space_config_values():
    record = space("asso-velo", aliases=["cloud.asso-velo.org"])
    conf = nc.space_config(record, SETTINGS, KEY)
    secrets = nuagerie_secrets.space_secrets(record, KEY)["secrets"]
    names = record["names"]
    assert conf["dbhost"] == "pg1:5432" and conf["dbname"] == names["database"]
    assert conf["dbuser"] == names["db_role"] and conf["dbpassword"] == secrets["db_password"]
    assert conf["pgsql_ssl"] == {"mode": "verify-full", "rootcert": "/etc/nuagerie/tls/ca.crt"}
    args = conf["objectstore"]["arguments"]
    assert conf["objectstore"]["class"] == "\\OC\\Files\\ObjectStore\\S3"
    assert args["bucket"] == names["bucket"] and args["key"] == names["s3_access_key"]
    assert args["secret"] == secrets["s3_secret_key"] and args["use_path_style"] is True
    assert conf["redis"]["host"] == "tls://redis1" and conf["redis"]["user"] == names["redis_user"]
    assert conf["redis"]["password"] == secrets["redis_password"]
    assert conf["redis"]["ssl_context"]["cafile"] == "/etc/nuagerie/tls/ca.crt"
    assert "memcache_customprefix" not in conf["redis"]
    assert conf["memcache_customprefix"] == names["redis_prefix"]
    assert conf["syslog_tag"] == names["syslog_tag"]
    assert conf["trusted_domains"] == ["asso-velo.lab.nuagerie.test", "cloud.asso-velo.org"]
    assert conf["overwrite.cli.url"] == "https://asso-velo.lab.nuagerie.test"
    assert conf["datadirectory"] == "/srv/nextcloud/spaces/asso-velo/data"
    assert conf["tempdirectory"] == "/srv/nextcloud/spaces/asso-velo/tmp"
    assert conf["maintenance_window_start"] in (1, 2, 3, 4)
    ident = nuagerie_secrets.space_nextcloud_identity("asso-velo", KEY)
    assert {k: conf[k] for k in ident} == ident


def test_space_config_accepts_records_with_secrets():
    record = space("asso-velo")
    with_secrets = nuagerie_secrets.space_secrets(record, KEY)
    assert nc.space_config(record, SETTINGS, KEY) == nc.space_config(with_secrets, SETTINGS, KEY)


def test_space_config_without_tls():
    settings = dict(SETTINGS, redis={"host": "r", "tls": False}, db={"host": "pg"},
                    s3={"hostname": "m", "use_ssl": False})
    conf = nc.space_config(space("a"), settings, KEY)
    assert conf["redis"]["host"] == "r" and "ssl_context" not in conf["redis"]
    assert "pgsql_ssl" not in conf and conf["dbhost"] == "pg:5432"
    assert conf["objectstore"]["arguments"]["use_ssl"] is False


def test_space_config_php_round_trip():
    php = shutil.which("php")
    text = nc.space_config_php(space("asso-velo"), SETTINGS, KEY)
    assert text.startswith("<?php\n")
    if php is None:
        pytest.skip("php not installed")
    out = subprocess.run([php, "-r", "eval(substr(file_get_contents('php://stdin'), 5));"
                          "echo json_encode($CONFIG);"], input=text, capture_output=True,
                         text=True, check=True).stdout
    assert "asso-velo" in out


@pytest.mark.parametrize("missing", ["db", "redis", "s3", "spaces_root"])
def test_settings_missing(missing):
    settings = {k: v for k, v in SETTINGS.items() if k != missing}
    with pytest.raises(AnsibleFilterError, match=missing):
        nc.space_config(space("a"), settings, KEY)


def test_settings_relative_path():
    with pytest.raises(AnsibleFilterError, match="absolute"):
        nc.space_paths(space("a"), dict(SETTINGS, spaces_root="srv"))


def test_settings_not_mapping():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        nc.farm_config(["x"])


# ---------------------------------------------------------------- staggering

def test_maintenance_hours_spread_and_stable():
    hours = [nc.maintenance_window_start(f"s{i}", [1, 2, 3, 4]) for i in range(4000)]
    counts = collections.Counter(hours)
    assert set(counts) == {1, 2, 3, 4}
    assert min(counts.values()) > 850
    assert nc.maintenance_window_start("x", [1, 2, 3, 4]) == nc.maintenance_window_start("x", [1, 2, 3, 4])


@pytest.mark.parametrize("bad", [[], [24], [True], "1", None])
def test_maintenance_hours_invalid(bad):
    with pytest.raises(AnsibleFilterError):
        nc.maintenance_window_start("x", bad)


def test_cron_host_spread_and_order_independent():
    hosts = ["web2", "web1", "web3"]
    picks = collections.Counter(nc.cron_host(f"s{i}", hosts) for i in range(3000))
    assert set(picks) == set(hosts) and min(picks.values()) > 850
    assert nc.cron_host("x", hosts) == nc.cron_host("x", sorted(hosts))
    with pytest.raises(AnsibleFilterError):
        nc.cron_host("x", [])


# ---------------------------------------------------------------- pools and nginx

def test_pool():
    text = nc.fpm_pool(space("asso-velo"), SETTINGS)
    assert "[nc-asso-velo]" in text and "pm = ondemand" in text
    assert "listen = /run/php/nc-asso-velo.sock" in text
    assert "env[NEXTCLOUD_CONFIG_DIR] = /srv/nextcloud/spaces/asso-velo/config/" in text
    basedir = re.search(r"open_basedir\] = (.*)", text).group(1).split(":")
    assert "/srv/nextcloud/spaces/asso-velo/config/" in basedir
    assert "/srv/nextcloud/spaces/asso-velo/tmp/" in basedir
    assert not any("spaces/" in p and "asso-velo" not in p for p in basedir)
    assert "/srv/nextcloud/releases/" in basedir and "/etc/nuagerie/tls/ca.crt" in basedir
    assert "php_admin_value[session.save_path] = /srv/nextcloud/spaces/asso-velo/sessions" in text
    # Issue 18: the pool runs as the space's own user and group; its socket is nginx's only.
    assert "user = nc-asso-velo\ngroup = nc-asso-velo\n" in text
    assert "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\n" in text
    assert "disable_functions" not in text
    hardened = nc.fpm_pool(space("asso-velo"), {**SETTINGS, "pool": {
        **SETTINGS["pool"], "disable_functions": ["pcntl_exec", "posix_kill"]}})
    assert "php_admin_value[disable_functions] = pcntl_exec,posix_kill\n" in hardened


def test_pools_of_two_spaces_never_share_a_user():
    a, b = (nc.fpm_pool(space(slug), SETTINGS) for slug in ("a", "b"))
    user = re.compile(r"^user = (.*)$", re.M)
    assert user.search(a).group(1) == "nc-a" != user.search(b).group(1) == "nc-b"


def test_nginx_map():
    spaces = [space("b-asso"), space("a-asso", aliases=["cloud.a.org"]), space("off", "disabled"),
              space("gone", "absent")]
    text = nc.nginx_spaces_map(spaces, SETTINGS)
    first, second = text.split("map $host $nc_disabled")
    assert "    a-asso.lab.nuagerie.test a-asso;" in first
    assert "    cloud.a.org a-asso;" in first
    assert first.index("a-asso.lab") < first.index("b-asso.lab")
    assert "off" not in first and "gone" not in text
    assert "    off.lab.nuagerie.test 1;" in second
    assert text == nc.nginx_spaces_map(list(reversed(spaces)), SETTINGS)


# ---------------------------------------------------------------- bundles

def test_bundle_config():
    entries = nc.web_bundle([space("a"), space("b", "disabled"), space("c", "absent")], "config",
                            SETTINGS, KEY)
    paths = {e["path"]: e for e in entries}
    assert "/srv/nextcloud/spaces/c/config" not in paths
    uid = nuagerie_names.space_names("a")["unix_uid"]
    assert (paths["/srv/nextcloud/spaces/a/config"]["mode"], paths["/srv/nextcloud/spaces/a/config"]["owner"],
            paths["/srv/nextcloud/spaces/a/config"]["group"]) == ("0710", uid, "www-data")   # nginx: stat only
    for sub in ("data", "tmp", "sessions"):   # the space's own user only (issue 18)
        assert (paths[f"/srv/nextcloud/spaces/a/{sub}"]["mode"], paths[f"/srv/nextcloud/spaces/a/{sub}"]["owner"],
                paths[f"/srv/nextcloud/spaces/a/{sub}"]["group"]) == ("0700", uid, uid)
    assert paths["/srv/nextcloud/spaces/a"]["owner"] == "root"
    assert paths["/srv/nextcloud/spaces/b/config"]["owner"] == nuagerie_names.space_names("b")["unix_uid"] != uid
    assert (paths["/srv/nextcloud/spaces/a/config/50-space.config.php"]["owner"],
            paths["/srv/nextcloud/spaces/a/config/50-space.config.php"]["group"]) == ("root", uid)
    assert paths["/srv/nextcloud/spaces/a/release"]["src"] == "/srv/nextcloud/releases/33.0.8"
    assert paths["/srv/nextcloud/spaces/b/config/00-farm.config.php"]["src"] == SETTINGS["farm_config_file"]
    assert paths["/srv/nextcloud/spaces/a/config/50-space.config.php"]["mode"] == "0640"


def test_bundle_pools_nginx_timers():
    spaces = [space(f"s{i}") for i in range(20)] + [space("off", "disabled")]
    pools = nc.web_bundle(spaces, "pools", SETTINGS)
    assert len(pools) == 20 and all(e["path"].startswith("nc-s") for e in pools)
    assert len(nc.web_bundle(spaces, "nginx", SETTINGS)) == 1
    hosts = ["web1", "web2"]
    t1 = nc.web_bundle(spaces, "timers", SETTINGS, host="web1", hosts=hosts)
    t2 = nc.web_bundle(spaces, "timers", SETTINGS, host="web2", hosts=hosts)
    assert len(t1) + len(t2) == 20 and not {e["path"] for e in t1} & {e["path"] for e in t2}
    assert t1[0]["src"] == "/etc/systemd/system/nc-cron@.timer"


@pytest.mark.parametrize("kwargs,match", [
    ({"kind": "nope"}, "unknown kind"),
    ({"kind": "timers", "host": "x", "hosts": ["web1"]}, "not in the web hosts"),
])
def test_bundle_errors(kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        nc.web_bundle([space("a")], settings=SETTINGS, **kwargs)


def test_bundle_refuses_non_list():
    with pytest.raises(AnsibleFilterError, match="list"):
        nc.web_bundle({"slug": "a"}, "pools", SETTINGS)


def test_space_config_sets_the_account_limit():
    config = nc.space_config({**space("a"), "max_accounts": 12}, SETTINGS, KEY)
    assert config["one-click-instance"] is True
    assert config["one-click-instance.user-limit"] == 12


def test_bundle_config_marks_data_dir_and_removes_absent_spaces():
    entries = nc.web_bundle([space("a"), space("gone", state="absent")], "config", SETTINGS, KEY)
    paths = {e["path"]: e for e in entries}
    root = SETTINGS["spaces_root"]
    assert paths[f"{root}/a/data/.ncdata"]["content"].startswith("# Nextcloud data directory")
    assert paths[f"{root}/gone"] == {"path": f"{root}/gone", "type": "absent"}
    assert not [p for p in paths if p.startswith(f"{root}/gone/")]


def test_filters_registered():
    table = nc.FilterModule().filters()
    assert table["nuagerie_web_bundle"] is nc.web_bundle
    assert table["nuagerie_nextcloud_space_config"] is nc.space_config


# ---------------------------------------------------------------- Imaginary (issue 14)

IMAGINARY = {"urls": ["https://imaginary1:9443", "https://imaginary2:9443"],
             "key": "k" * 32, "providers": [nc.IMAGINARY_PROVIDER, "OC\\Preview\\TXT"]}


def test_imaginary_farm_and_space_config():
    settings = dict(SETTINGS, imaginary=IMAGINARY)
    farm = nc.farm_config(settings)
    assert farm["enabledPreviewProviders"] == IMAGINARY["providers"]
    assert farm["preview_imaginary_key"] == "k" * 32
    urls = {nc.space_config(space(f"s{i}"), settings, KEY)["preview_imaginary_url"] for i in range(40)}
    assert urls == set(IMAGINARY["urls"])   # every host serves some spaces


def test_imaginary_absent_renders_nothing():
    for settings in (SETTINGS, dict(SETTINGS, imaginary={}), dict(SETTINGS, imaginary={"urls": []})):
        assert "enabledPreviewProviders" not in nc.farm_config(settings)
        assert "preview_imaginary_url" not in nc.space_config(space("alpha"), settings, KEY)


def test_imaginary_url_stable_and_order_independent():
    urls = IMAGINARY["urls"]
    assert nc.imaginary_url("alpha", urls) == nc.imaginary_url("alpha", list(reversed(urls)))
    assert nc.imaginary_url("alpha", urls[:1]) == urls[0]
    with pytest.raises(AnsibleFilterError, match="non-empty"):
        nc.imaginary_url("alpha", [])


@pytest.mark.parametrize("bad, match", [
    ({"urls": ["imaginary1:9443"]}, "http"),
    ({"key": "short"}, "16 characters"),
    ({"providers": ["OC\\Preview\\PNG"]}, "must list"),
])
def test_imaginary_settings_refused(bad, match):
    with pytest.raises(AnsibleFilterError, match=match):
        nc.farm_config(dict(SETTINGS, imaginary=dict(IMAGINARY, **bad)))


# ---------------------------------------------------------------- Unix users (issue 18)

def test_unix_users_of_every_space_not_absent():
    spaces = [space("a"), space("b", "disabled"), space("c", "absent")]
    result = nc.unix_users(spaces, SETTINGS)
    assert [u["name"] for u in result["users"]] == ["nc-a", "nc-b"]
    assert result["users"][0] == {"name": "nc-a", "uid": int(space("a")["names"]["unix_uid"]),
                                  "home": "/srv/nextcloud/spaces/a"}
    assert (result["uid_min"], result["uid_count"]) == (nuagerie_names.UNIX_UID_MIN, nuagerie_names.UNIX_UID_COUNT)
    with pytest.raises(AnsibleFilterError):
        nc.unix_users({"slug": "a"}, SETTINGS)


def test_the_wrappers_range_is_the_names_range():
    role_vars = yaml.safe_load((ROOT / "roles/nextcloud/vars/main.yml").read_text())
    assert role_vars["__nextcloud_uid_min"] == nuagerie_names.UNIX_UID_MIN
    assert role_vars["__nextcloud_uid_count"] == nuagerie_names.UNIX_UID_COUNT


@pytest.mark.parametrize("template", ["occ.j2", "cron.j2"])
def test_the_wrappers_never_run_php_as_an_owner_outside_the_spaces_range(tmp_path, template):
    """The occ and cron wrappers drop root to the owner of the space's config dir; root (a farm
    not migrated yet, a mistake) or any account outside the range is refused, nothing runs."""
    import jinja2
    import shlex
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    role_vars = yaml.safe_load((ROOT / "roles/nextcloud/vars/main.yml").read_text())
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "# " + text
    env.filters["quote"] = shlex.quote
    text = env.from_string((ROOT / "roles/nextcloud/templates/usr/local/bin" / template).read_text()).render(
        ansible_managed="test", nextcloud_occ_command="nuagerie-occ", nextcloud_spaces_root=str(tmp_path),
        __nextcloud_uid_min=role_vars["__nextcloud_uid_min"], __nextcloud_uid_count=role_vars["__nextcloud_uid_count"])
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(text)
    (tmp_path / "a" / "release").mkdir(parents=True)
    (tmp_path / "a" / "config").mkdir()
    for entry in ("occ", "cron.php"):
        (tmp_path / "a" / "release" / entry).write_text("<?php echo 'RAN';\n")
    for owner in (0, 4242, nuagerie_names.UNIX_UID_MIN + nuagerie_names.UNIX_UID_COUNT):
        os.chown(tmp_path / "a" / "config", owner, owner)
        result = subprocess.run(["bash", str(wrapper), "a", "status"], capture_output=True, text=True, check=False)
        assert result.returncode == 77 and "RAN" not in result.stdout, (owner, result.stderr)
        assert f"owned by UID {owner}, not by the space's user" in result.stderr
    assert subprocess.run(["bash", str(wrapper), "Bad_Slug"], capture_output=True, check=False).returncode == 64
    assert subprocess.run(["bash", str(wrapper), "nope"], capture_output=True, check=False).returncode == 66
