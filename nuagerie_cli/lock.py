"""One run at a time per environment: a lock file on the controller.

The lock is ``<state dir>/locks/<env>.lock``, a JSON record of its holder (``user@host``, pid,
the pid's start time, start time, command). It is created atomically: the record is written to
a private temporary file, then hard-linked to the lock's name, which fails if the name exists,
so a reader never sees a half-written lock. A lock whose holder process is gone (same host, pid
dead or reused) is **stale**: it is reported, never broken silently; ``nuagerie unlock --force``
removes it once the operator has checked.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class LockInfo:
    """The holder of an environment's lock.

    :ivar env: the environment.
    :ivar user: who runs.
    :ivar host: the controller's host name.
    :ivar pid: the holding process.
    :ivar pid_start: the process's start time in clock ticks since boot (``/proc/<pid>/stat``),
        ``None`` where unknown; tells a reused pid from the holder.
    :ivar started_at: ISO UTC time the lock was taken.
    :ivar command: the command line that holds it.
    :ivar run_id: the run's id (its artifacts directory).
    """

    env: str
    user: str
    host: str
    pid: int
    started_at: str
    command: str
    pid_start: int | None = None
    run_id: str | None = None

    @property
    def holder(self) -> str:
        """``user@host``."""
        return f"{self.user}@{self.host}"


class LockError(Exception):
    """The lock is held (or unreadable); the message names holder, start time and command.

    :ivar info: the holder, ``None`` when the lock file could not be read.
    :ivar stale: true when the holder process is gone.
    """

    def __init__(self, message: str, info: LockInfo | None, stale: bool) -> None:
        super().__init__(message)
        self.info = info
        self.stale = stale


def lock_path(state_dir: Path, env: str) -> Path:
    """Where an environment's lock lives.

    :param state_dir: the CLI's state directory.
    :param env: the environment.
    :returns: ``<state_dir>/locks/<env>.lock``.
    """
    return state_dir / "locks" / f"{env}.lock"


def process_start(pid: int, proc: Path = Path("/proc")) -> int | None:
    """A process's start time (field 22 of ``/proc/<pid>/stat``), ``None`` if unknown or gone.

    :param pid: the process.
    :param proc: the proc file system (tests pass another).
    :returns: clock ticks since boot.
    """
    try:
        text = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def pid_alive(pid: int) -> bool:
    """Whether a process exists on this host (signal 0).

    :param pid: the process.
    :returns: true if it exists, also when it belongs to another user.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_alive(info: LockInfo, this_host: str, alive: Callable[[int], bool] = pid_alive,
                 start_of: Callable[[int], int | None] = process_start) -> bool | None:
    """Whether the lock's holder still runs.

    :param info: the lock's record.
    :param this_host: this controller's host name.
    :param alive: the pid probe.
    :param start_of: the pid start-time probe.
    :returns: ``True`` or ``False`` on the same host; ``None`` for a holder on another host
        (a state directory shared between controllers): nobody here can tell.
    """
    if info.host != this_host:
        return None
    if not alive(info.pid):
        return False
    start = start_of(info.pid)
    return not (info.pid_start is not None and start is not None and start != info.pid_start)


def describe(info: LockInfo) -> str:
    """The holder in one phrase.

    :param info: the lock's record.
    :returns: ``root@ctl (pid 42) since 2026-12-02T10:15:00Z running `nuagerie apply --env lab```.
    """
    return f"{info.holder} (pid {info.pid}) since {info.started_at} running `{info.command}`"


def refusal(info: LockInfo, path: Path, alive: bool | None) -> str:
    """The message of a refused run.

    :param info: the holder.
    :param path: the lock file.
    :param alive: :func:`holder_alive`'s verdict.
    :returns: what is happening and what to do.
    """
    if alive is False:
        return (f"stale lock on {info.env}: held by {describe(info)}, but pid {info.pid} is gone on {info.host}. "
                f"A run may have been killed half-way: check the hosts (the occ host first), then remove it with "
                f"`nuagerie unlock --env {info.env} --force` ({path}).")
    where = "" if alive else " (on another controller: cannot tell from here whether it still runs)"
    return (f"{info.env} is busy: {describe(info)}{where}. Wait for it to end, or look with "
            f"`nuagerie status --env {info.env}` ({path}).")


def read_lock(path: Path) -> LockInfo | None:
    """The record of a lock file.

    :param path: the lock file.
    :returns: the record, ``None`` when there is no lock.
    :raises LockError: when the file exists but is not a lock record (never removed silently).
    """
    try:
        data = json.loads(path.read_text())
        return LockInfo(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise LockError(f"unreadable lock {path} ({exc}): inspect it, then remove it by hand", None, False) from exc


def new_lock(env: str, command: str, run_id: str | None = None, now: datetime.datetime | None = None) -> LockInfo:
    """The record for this process.

    :param env: the environment.
    :param command: the command line being run.
    :param run_id: the run's id.
    :param now: the time (tests pass one).
    :returns: the record.
    """
    moment = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    return LockInfo(env=env, user=getpass.getuser(), host=socket.gethostname(), pid=os.getpid(),
                    pid_start=process_start(os.getpid()), started_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    command=command, run_id=run_id)


def acquire(path: Path, info: LockInfo, this_host: str | None = None,
            alive: Callable[[int], bool] = pid_alive,
            start_of: Callable[[int], int | None] = process_start) -> None:
    """Take the lock, or refuse naming its holder.

    :param path: the lock file.
    :param info: this run's record.
    :param this_host: this controller (default: the host name).
    :param alive: the pid probe.
    :param start_of: the pid start-time probe.
    :raises LockError: when the lock is held (live, stale or on another controller).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(info), handle, indent=2)
            handle.write("\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            holder = read_lock(path)
            if holder is None:  # released between link and read: one more try
                os.link(tmp, path)
                return
            verdict = holder_alive(holder, this_host or socket.gethostname(), alive, start_of)
            raise LockError(refusal(holder, path, verdict), holder, verdict is False) from None
    finally:
        os.unlink(tmp)


def release(path: Path, info: LockInfo) -> bool:
    """Give the lock back, only if this run holds it.

    :param path: the lock file.
    :param info: this run's record.
    :returns: whether a lock was removed.
    """
    try:
        holder = read_lock(path)
    except LockError:
        return False
    if holder is None or (holder.host, holder.pid, holder.started_at) != (info.host, info.pid, info.started_at):
        return False
    path.unlink()
    return True


def force_remove(path: Path) -> LockInfo | None:
    """Remove a lock whatever holds it (``nuagerie unlock --force``).

    :param path: the lock file.
    :returns: the record removed (``None`` when there was none or it was unreadable).
    """
    try:
        holder = read_lock(path)
    except LockError:
        holder = None
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return holder
