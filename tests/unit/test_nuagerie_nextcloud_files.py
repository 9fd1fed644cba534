"""Unit tests of the host side of the set-based web files (plugins/modules/nuagerie_web_files.py)."""

import grp
import os
import pwd

from modules import nuagerie_web_files as mod

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def entries(root, content="hello"):
    return [
        {"path": f"{root}/d", "type": "directory", "mode": "1770", "owner": USER, "group": GROUP},
        {"path": "d/f.conf", "type": "file", "content": content, "mode": "0640", "owner": USER,
         "group": GROUP},
        {"path": "d/l", "type": "link", "src": "/etc/hostname"},
    ]


def test_converge_then_nothing_to_do(tmp_path):
    root = str(tmp_path)
    first = mod.converge(entries(root), root, "", False)
    assert len(first.changed) == 3
    assert os.stat(f"{root}/d").st_mode & 0o7777 == 0o1770
    assert open(f"{root}/d/f.conf").read() == "hello"
    assert os.stat(f"{root}/d/f.conf").st_mode & 0o777 == 0o640
    assert os.readlink(f"{root}/d/l") == "/etc/hostname"
    assert mod.converge(entries(root), root, "", False).changed == []


def test_check_mode_reports_and_changes_nothing(tmp_path):
    root = str(tmp_path)
    mod.converge(entries(root), root, "", False)
    work = mod.converge(entries(root, "changed"), root, "", True)
    assert work.changed == ["d/f.conf"]
    assert open(f"{root}/d/f.conf").read() == "hello"


def test_prune_and_rollback(tmp_path):
    root = str(tmp_path)
    mod.converge(entries(root), root, "", False)
    (tmp_path / "d" / "stale.conf").write_text("old")
    (tmp_path / "d" / "other.txt").write_text("keep")
    work = mod.converge(entries(root, "new"), root, "d/*.conf", False)
    assert sorted(work.removed) == ["d/stale.conf"]
    assert not (tmp_path / "d" / "stale.conf").exists() and (tmp_path / "d" / "other.txt").exists()
    assert open(f"{root}/d/f.conf").read() == "new"
    work.rollback()
    assert (tmp_path / "d" / "stale.conf").read_text() == "old"
    assert open(f"{root}/d/f.conf").read() == "hello"


def test_rollback_of_created_entries(tmp_path):
    root = str(tmp_path)
    work = mod.converge(entries(root), root, "", False)
    work.rollback()
    assert not os.path.lexists(f"{root}/d")


def test_link_replaces_file(tmp_path):
    root = str(tmp_path)
    (tmp_path / "x").write_text("file")
    work = mod.converge([{"path": "x", "type": "link", "src": "/etc/hostname"}], root, "", False)
    assert work.changed == ["x"] and os.readlink(f"{root}/x") == "/etc/hostname"
    work.rollback()
    assert (tmp_path / "x").read_text() == "file"
