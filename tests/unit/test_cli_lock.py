"""Unit tests of nuagerie_cli/lock.py: one run at a time per environment, stale locks reported."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import socket
from pathlib import Path

import pytest

from nuagerie_cli import lock as lk

HOST = socket.gethostname()


def info(pid: int = 4242, host: str = HOST, pid_start: int | None = 777, command: str = "nuagerie apply --env lab") -> lk.LockInfo:
    return lk.LockInfo(env="lab", user="alice", host=host, pid=pid, pid_start=pid_start,
                       started_at="2026-12-02T10:15:00Z", command=command, run_id="20261202T101500Z-lab-apply-4242")


def alive(pid: int) -> bool:
    return pid == 4242


def start_of(pid: int) -> int | None:
    return 777 if pid == 4242 else None


def test_lock_path_is_per_environment(tmp_path: Path) -> None:
    assert lk.lock_path(tmp_path, "production") == tmp_path / "locks" / "production.lock"


def test_acquire_writes_the_holder_and_release_removes_it(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    mine = lk.new_lock("lab", "nuagerie apply --env lab", "run-1")
    lk.acquire(path, mine)
    assert lk.read_lock(path) == mine
    assert json.loads(path.read_text())["command"] == "nuagerie apply --env lab"
    assert [p.name for p in path.parent.iterdir()] == ["lab.lock"]  # no temporary file left
    assert lk.release(path, mine) and not path.exists()
    assert not lk.release(path, mine)


def test_second_run_is_refused_naming_holder_start_time_and_command(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    lk.acquire(path, info(), alive=alive, start_of=start_of)
    with pytest.raises(lk.LockError) as refused:
        lk.acquire(path, info(pid=5555, command="nuagerie plan --env lab"), alive=alive, start_of=start_of)
    message = str(refused.value)
    assert "lab is busy" in message
    for part in (f"alice@{HOST}", "pid 4242", "2026-12-02T10:15:00Z", "`nuagerie apply --env lab`"):
        assert part in message
    assert refused.value.info == info() and not refused.value.stale
    assert lk.read_lock(path) == info()  # untouched


def test_other_environments_are_independent(tmp_path: Path) -> None:
    lk.acquire(lk.lock_path(tmp_path, "lab"), info(), alive=alive, start_of=start_of)
    lk.acquire(lk.lock_path(tmp_path, "staging"), dataclasses.replace(info(), env="staging"))


@pytest.mark.parametrize(("holder", "verdict"), [
    (info(pid=9999), False),                  # pid gone
    (info(pid_start=778), False),             # pid reused by another process
    (info(pid_start=None), True),             # start unknown: trust the pid
    (info(), True),
    (info(host="other-controller"), None),    # cannot tell from here
])
def test_holder_alive(holder: lk.LockInfo, verdict: bool | None) -> None:
    assert lk.holder_alive(holder, HOST, alive, start_of) is verdict


def test_stale_lock_is_reported_never_broken(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    lk.acquire(path, info(pid=9999), alive=lambda pid: True)
    with pytest.raises(lk.LockError) as refused:
        lk.acquire(path, info(pid=5555), alive=alive, start_of=start_of)
    message = str(refused.value)
    assert refused.value.stale
    assert "stale lock on lab" in message and "pid 9999 is gone" in message
    assert "nuagerie unlock --env lab --force" in message
    assert lk.read_lock(path).pid == 9999  # still there


def test_lock_of_another_controller_says_it_cannot_tell(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    lk.acquire(path, info(host="ctl-2"))
    with pytest.raises(lk.LockError, match="another controller"):
        lk.acquire(path, info(pid=5555), alive=alive, start_of=start_of)


def test_release_leaves_someone_elses_lock(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    lk.acquire(path, info())
    assert not lk.release(path, info(pid=5555))
    assert path.exists()


def test_unreadable_lock_is_refused_and_kept(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    path.parent.mkdir(parents=True)
    path.write_text("garbage")
    with pytest.raises(lk.LockError, match="unreadable lock"):
        lk.acquire(path, info(pid=5555))
    assert path.read_text() == "garbage"
    assert lk.force_remove(path) is None and not path.exists()


def test_force_remove_returns_the_holder(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    lk.acquire(path, info())
    assert lk.force_remove(path) == info()
    assert lk.force_remove(path) is None


def test_this_process_is_alive_with_its_own_start_time() -> None:
    me = lk.new_lock("lab", "x")
    assert (me.pid, me.host) == (os.getpid(), HOST)
    assert lk.holder_alive(me, HOST) is True
    assert lk.process_start(os.getpid()) == me.pid_start


def _try(path: str, queue: multiprocessing.Queue) -> None:
    try:
        lk.acquire(Path(path), lk.new_lock("lab", f"worker {os.getpid()}"))
        queue.put("got it")
    except lk.LockError:
        queue.put("refused")


def test_concurrent_processes_get_the_lock_once(tmp_path: Path) -> None:
    path = lk.lock_path(tmp_path, "lab")
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_try, args=(str(path), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert sorted(queue.get(timeout=5) for _ in workers) == ["got it", "refused", "refused", "refused"]
