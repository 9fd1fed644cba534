"""Unit tests of plugins/modules/nuagerie_unix_users.py (issue 18): the spaces' Unix users are
created, changed and removed by rewriting the account files once; a removed space loses its user
only once its files are gone; names held outside the range are refused; dirs owned by another
user are given back to their space, everything below them included."""

import os

import pytest

from modules import nuagerie_unix_users as uu

LOW, COUNT = 1073741824, 805306368
BASE = {
    "passwd": ["root:x:0:0:root:/root:/bin/bash", "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin"],
    "group": ["root:x:0:", "www-data:x:33:", "nc-spaces:x:998:"],
    "shadow": ["root:*:19000:0:99999:7:::", "www-data:*:19000:0:99999:7:::"],
    "gshadow": ["root:*::", "www-data:*::", "nc-spaces:!::"],
}


def user(slug, uid):
    return {"name": f"nc-{slug}", "uid": uid, "home": f"/srv/nextcloud/spaces/{slug}"}


def run(files, users, prune=False, homes=()):
    return uu.plan(files, users, "nc-spaces", LOW, COUNT, prune, lambda path: path in homes, 20000)


def test_create_then_unchanged_then_prune_after_the_files():
    users = [user("a", LOW + 5), user("b", LOW + 1)]
    first = run(BASE, users)
    assert first["added"] == ["nc-a", "nc-b"] and not first["changed_users"]
    files = first["accounts"]
    assert files["passwd"][:2] == BASE["passwd"]                       # other users untouched
    assert files["passwd"][2:] == [
        f"nc-b:x:{LOW + 1}:{LOW + 1}:Nuagerie space b:/srv/nextcloud/spaces/b:/usr/sbin/nologin",
        f"nc-a:x:{LOW + 5}:{LOW + 5}:Nuagerie space a:/srv/nextcloud/spaces/a:/usr/sbin/nologin"]
    assert f"nc-a:x:{LOW + 5}:" in files["group"] and "nc-spaces:x:998:nc-a,nc-b" in files["group"]
    assert "nc-a:!:20000::::::" in files["shadow"] and "nc-spaces:!::nc-a,nc-b" in files["gshadow"]
    again = run(files, users)                                          # idempotent
    assert again["accounts"] == files and not (again["added"] or again["changed_users"] or again["removed"])

    only_a = [user("a", LOW + 5)]
    kept = run(files, only_a, prune=True, homes={"/srv/nextcloud/spaces/b"})
    assert kept["kept"] == ["nc-b"] and not kept["removed"]            # its files are still there
    assert any(line.startswith("nc-b:") for line in kept["accounts"]["passwd"])
    assert "nc-spaces:x:998:nc-a" in kept["accounts"]["group"]
    gone = run(files, only_a, prune=True)
    assert gone["removed"] == ["nc-b"]
    for kind in ("passwd", "group", "shadow", "gshadow"):
        assert not any(line.startswith("nc-b:") for line in gone["accounts"][kind]), kind
    without_prune = run(files, only_a)                                 # the daily run keeps it
    assert not without_prune["removed"] and any(line.startswith("nc-b:") for line in without_prune["accounts"]["passwd"])


def test_a_changed_home_is_rewritten():
    files = run(BASE, [user("a", LOW)])["accounts"]
    moved = run(files, [{**user("a", LOW), "home": "/data/a"}])
    assert moved["changed_users"] == ["nc-a"] and f"nc-a:x:{LOW}:{LOW}:Nuagerie space a:/data/a:/usr/sbin/nologin" in moved["accounts"]["passwd"]


@pytest.mark.parametrize("users,files,match", [
    ([user("a", 1000)], BASE, "outside the spaces' range"),
    ([user("a", LOW), user("b", LOW)], BASE, "wanted twice"),
    ([{"name": "www-data", "uid": LOW, "home": "/x"}], BASE, "not a space's user"),
    ([user("a", LOW)], {**BASE, "group": BASE["group"] + ["nc-a:x:500:"]}, "not a space's group"),
])
def test_refusals(users, files, match):
    with pytest.raises(ValueError, match=match):
        run(files, users)


def test_a_uid_still_held_by_a_removed_space_with_files_is_refused():
    files = run(BASE, [user("old", LOW)])["accounts"]
    with pytest.raises(ValueError, match="remove that space's files first"):
        run(files, [user("new", LOW)], homes={"/srv/nextcloud/spaces/old"})
    reused = run(files, [user("new", LOW)])
    assert reused["removed"] == ["nc-old"] and reused["added"] == ["nc-new"]


def test_give_back_walks_only_wrongly_owned_dirs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    space = tmp_path / "config"
    (space / "sub").mkdir(parents=True)
    (space / "config.php").write_text("<?php\n")
    (space / "sub" / "f").write_text("x")
    os.symlink("/etc/passwd", space / "link")
    os.chown(space / "config.php", 33, 33)
    assert uu.give_back([{"path": str(space), "uid": 4242}], check=True) == [str(space)]
    assert os.stat(space / "config.php").st_uid == 33                  # check mode: nothing
    assert uu.give_back([{"path": str(space), "uid": 4242}, {"path": str(tmp_path / "none"), "uid": 1}],
                        check=False) == [str(space)]
    for path in (space, space / "sub", space / "sub" / "f", space / "config.php"):
        assert (os.lstat(path).st_uid, os.lstat(path).st_gid) == (4242, 4242), path
    assert os.lstat(space / "link").st_uid == 4242 and os.stat("/etc/passwd").st_uid == 0   # lchown
    assert uu.give_back([{"path": str(space), "uid": 4242}], check=False) == []


def test_a_system_user_added_after_ours_changes_nothing():
    users = [user("a", LOW)]
    accounts = run(BASE, users)["accounts"]
    later = {kind: lines + ([f"redis:x:101:103::/var/lib/redis:/usr/sbin/nologin"] if kind == "passwd" else [])
             for kind, lines in accounts.items()}
    again = run(later, users)
    assert again["accounts"] == later and not (again["added"] or again["changed_users"])
