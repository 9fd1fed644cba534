"""Unit tests of plugins/modules/nuagerie_nextcloud_config_php.py (config.php across frontends)."""

import base64
import grp
import hashlib
import os
import pwd

import pytest

from modules import nuagerie_nextcloud_config_php as m

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def params(root, **extra):
    base = {"root": str(root), "expected": {}, "read": [], "write": {}, "owner": ME, "group": MY_GROUP}
    base.update(extra)
    return base


@pytest.fixture()
def spaces(tmp_path):
    for slug, text in (("a", b"<?php $CONFIG = ['installed' => true];"), ("b", None)):
        (tmp_path / slug / "config").mkdir(parents=True)
        if text:
            (tmp_path / slug / "config" / "config.php").write_bytes(text)
            (tmp_path / slug / "config" / "config.php").chmod(0o640)
    (tmp_path / "not a slug").mkdir()
    return tmp_path


def test_hashes_and_stale(spaces):
    sha_a = hashlib.sha256((spaces / "a/config/config.php").read_bytes()).hexdigest()
    result = m.sync(params(spaces, expected={"a": sha_a, "b": "0" * 64}), check=False)
    assert result["hashes"] == {"a": sha_a}
    assert result["stale"] == ["b"]


def test_read_then_write_only_what_differs_and_check_mode(spaces):
    content = m.sync(params(spaces, read=["a"]), check=False)["contents"]["a"]
    assert m.sync(params(spaces, write={"a": content, "b": content}), check=True)["written"] == ["b"]
    assert not (spaces / "b/config/config.php").exists(), "check mode wrote"
    assert m.sync(params(spaces, write={"a": content, "b": content}), check=False)["written"] == ["b"]
    written = spaces / "b/config/config.php"
    assert written.read_bytes() == base64.b64decode(content)
    assert oct(written.stat().st_mode & 0o777) == "0o640"
    assert m.sync(params(spaces, write={"b": content}), check=False)["written"] == []


def test_refuses_bad_slugs_and_missing_space_dirs(spaces):
    with pytest.raises(ValueError, match="invalid slug"):
        m.sync(params(spaces, read=["../etc"]), check=False)
    with pytest.raises(OSError, match="converge the web tier first"):
        m.sync(params(spaces, write={"zz": base64.b64encode(b"x").decode()}), check=False)


def test_default_group_is_the_owners_own_and_metadata_is_repaired(spaces):
    # The config dir's group is nginx's: a written config.php must take the owner's own group.
    content = m.sync(params(spaces, read=["a"]), check=False)["contents"]["a"]
    other_gid = next(g.gr_gid for g in grp.getgrall() if g.gr_gid != pwd.getpwuid(os.getuid()).pw_gid)
    os.chown(spaces / "b/config", -1, other_gid)
    assert m.sync(params(spaces, write={"b": content}, group=""), check=False)["written"] == ["b"]
    written = spaces / "b/config/config.php"
    assert written.stat().st_gid == pwd.getpwuid(os.getuid()).pw_gid != other_gid
    # same content, wrong group and mode: repaired (check mode reports it, changes nothing)
    os.chown(written, -1, other_gid)
    written.chmod(0o644)
    assert m.sync(params(spaces, write={"b": content}, group=""), check=True)["written"] == ["b"]
    assert written.stat().st_gid == other_gid
    assert m.sync(params(spaces, write={"b": content}, group=""), check=False)["written"] == ["b"]
    assert (written.stat().st_gid, oct(written.stat().st_mode & 0o777)) == (pwd.getpwuid(os.getuid()).pw_gid, "0o640")
    assert m.sync(params(spaces, write={"b": content}, group=""), check=False)["written"] == []   # control
