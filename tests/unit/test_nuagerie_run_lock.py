"""Unit tests of the run lock on the occ host: plugins/modules/nuagerie_run_lock.py (take,
refuse, re-enter, give back, break on request) and plugins/lookup/nuagerie_run_holder.py
(this run's record, whether a recorded holder still runs)."""

import json
import multiprocessing
import os
import socket
import subprocess
import sys

import pytest

from lookup import nuagerie_run_holder as rh
from modules import nuagerie_run_lock as lk


def holder(run_id, **extra):
    return {"run_id": run_id, "user": "root", "controller": "ctl", "pid": 42, "pid_start": 7,
            "started_at": "2026-12-03T04:00:00Z", "command": "nuagerie apply --env lab", **extra}


def params(path, run_id, state="present", break_run=""):
    return {"path": str(path), "holder": holder(run_id), "state": state, "break_run": break_run}


def test_take_refuse_reenter_and_give_back(tmp_path):
    path = tmp_path / "sub" / "run.lock"
    assert lk.run(params(path, "A")) == {"changed": False, "acquired": True, "released": False}
    assert json.loads(path.read_text())["run_id"] == "A"
    # the same run again (spaces-occ.yml after spaces.yml): a no-op
    assert lk.run(params(path, "A"))["acquired"] is True
    # another run: refused, the holder's record returned, the lock untouched
    other = lk.run(params(path, "B"))
    assert other["acquired"] is False and other["held"]["run_id"] == "A"
    assert other["held"]["command"] == "nuagerie apply --env lab"
    # B cannot give back A's lock
    assert lk.run(params(path, "B", state="absent"))["released"] is False and path.exists()
    assert lk.run(params(path, "A", state="absent"))["released"] is True and not path.exists()
    assert not [p for p in path.parent.iterdir()], "no temporary file left behind"


def test_a_lock_is_broken_only_when_its_run_id_is_named(tmp_path):
    path = tmp_path / "run.lock"
    lk.run(params(path, "dead"))
    assert lk.run(params(path, "B", break_run="something-else"))["acquired"] is False
    result = lk.run(params(path, "B", break_run="dead"))
    assert result["acquired"] is True and result["broken"]["run_id"] == "dead"
    assert json.loads(path.read_text())["run_id"] == "B"


def test_unreadable_lock_is_held_not_broken(tmp_path):
    path = tmp_path / "run.lock"
    path.write_text("{half a rec")
    result = lk.run(params(path, "B"))
    assert result["acquired"] is False and "unreadable" in result["held"]
    assert path.read_text() == "{half a rec"


def _race(path, run_id, queue):
    queue.put((run_id, lk.run(params(path, run_id))["acquired"]))


def test_concurrent_takers_get_it_once(tmp_path):
    path = tmp_path / "run.lock"
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_race, args=(path, f"r{i}", queue)) for i in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    won = [run_id for run_id, acquired in (queue.get() for _ in procs) if acquired]
    assert len(won) == 1 and json.loads(path.read_text())["run_id"] == won[0]


def test_empty_run_id_is_refused(tmp_path):
    with pytest.raises(ValueError):
        lk.run(params(tmp_path / "run.lock", ""))


def test_holder_names_the_topmost_process_with_the_same_command_line():
    record = rh.holder({"NUAGERIE_RUN_COMMAND": "nuagerie apply --env lab"})
    assert record["controller"] == socket.gethostname()
    assert record["command"] == "nuagerie apply --env lab"
    assert record["run_id"] == f"{record['controller']}:{record['pid']}:{record['pid_start']}"
    assert rh.alive(record) is True
    # a child with another command line is its own holder; a fork keeps its parent's
    child = subprocess.run([sys.executable, "-c", "import os, sys; sys.path[:0] = [sys.argv[1]]; "
                            "from lookup import nuagerie_run_holder as rh; print(rh.playbook_process())",
                            os.path.join(os.path.dirname(rh.__file__), "..")],
                           capture_output=True, text=True, check=True)
    assert int(child.stdout) != os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, str(rh.playbook_process()).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert int(os.read(read, 64)) == rh.playbook_process()


def test_alive_says_gone_reused_or_cannot_tell():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        record = {"controller": socket.gethostname(), "pid": proc.pid, "pid_start": rh.process_start(proc.pid)}
        assert rh.alive(record) is True
        assert rh.alive({**record, "pid_start": record["pid_start"] - 1}) is False, "a reused pid is not the holder"
        assert rh.alive({**record, "controller": "elsewhere"}) is None
    finally:
        proc.kill()
        proc.wait()
    assert rh.alive(record) is False
