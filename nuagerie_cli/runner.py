"""Run an invocation through ansible-runner: events to a callback, artifacts kept per run.

The run's directory ``<state dir>/runs/<run id>/`` is ansible-runner's private data dir: its
artifacts (``artifacts/<run id>/``: ``job_events/``, ``stdout``, ``command``, ``rc``, ``status``)
stay there beside ``report.json``. ansible-playbook runs from the repository root, so the
committed ``ansible.cfg`` applies; the environment keeps what ansible-runner would otherwise
change (host key checking stays on, the repository's callback directory stays on the path).
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .commands import Invocation

#: Set to 1 (or true, yes) to record runs in ARA (docs/cli.md).
ARA_SETTING = "NUAGERIE_ARA"


def state_dir(environ: Mapping) -> Path:
    """The CLI's state directory: locks and runs.

    :param environ: the process environment.
    :returns: ``$NUAGERIE_STATE_DIR``, else ``$XDG_STATE_HOME/nuagerie``, else ``~/.local/state/nuagerie``.
    """
    if environ.get("NUAGERIE_STATE_DIR"):
        return Path(environ["NUAGERIE_STATE_DIR"]).expanduser()
    base = environ.get("XDG_STATE_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "nuagerie"


def new_run_id(env: str, command: str, pid: int, now: datetime.datetime | None = None) -> str:
    """A run's id: sortable by time, naming environment and command.

    :param env: the environment.
    :param command: the CLI command.
    :param pid: the CLI's process id (two runs in the same second differ).
    :param now: the time (tests pass one).
    :returns: ``20261202T101500Z-lab-apply-4242``.
    """
    moment = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{env}-{command}-{pid}"


def ara_enabled(environ: Mapping) -> bool:
    """Whether the one ARA setting is on.

    :param environ: the process environment.
    :returns: true for ``NUAGERIE_ARA=1|true|yes``.
    """
    return str(environ.get(ARA_SETTING, "")).strip().lower() in ("1", "true", "yes")


def ara_callback_dir() -> str | None:
    """ARA's callback directory (``python -m ara.setup.callback_plugins``), if ara is installed.

    :returns: the directory, ``None`` when ara is not importable from this Python.
    """
    if importlib.util.find_spec("ara") is None:
        return None
    from ara import setup  # pylint: disable=import-outside-toplevel

    return str(setup.callback_plugins)


def run_environment(root: Path, environ: Mapping, ara_dir: str | None = None) -> dict:
    """The variables the CLI sets for ansible-playbook (on top of the caller's environment).

    :param root: the repository root.
    :param environ: the process environment (``PATH``, and host key checking if set).
    :param ara_dir: ARA's callback directory when recording.
    :returns: ``PATH`` with this Python's bin first (ansible-playbook of the same venv),
        ``ANSIBLE_CALLBACK_PLUGINS`` (the repository's, then ARA's: ansible-runner's own is
        appended), and ``ANSIBLE_HOST_KEY_CHECKING`` as ``ansible.cfg`` has it (ansible-runner
        would turn it off).
    """
    callbacks = [str(root / "plugins" / "callback")] + ([ara_dir] if ara_dir else [])
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), environ.get("PATH", os.defpath)]),
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(callbacks),
        "ANSIBLE_HOST_KEY_CHECKING": environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
    }


@dataclass(frozen=True)
class Outcome:
    """How ansible-runner ended.

    :ivar status: ``successful``, ``failed``, ``canceled``, ``timeout`` or ``error``.
    :ivar rc: ansible-playbook's return code.
    :ivar artifacts: the artifacts directory of the run.
    """

    status: str
    rc: int | None
    artifacts: Path


def run(root: Path, run_dir: Path, run_id: str, invocation: Invocation, env: Mapping,
        on_event: Callable[[dict], None], cancelled: Callable[[], bool]) -> Outcome:
    """Run the playbook through ansible-runner.

    :param root: the repository root (working directory of ansible-playbook).
    :param run_dir: the run's private data dir (created).
    :param run_id: the run's id (ansible-runner's ident: ``artifacts/<run id>``).
    :param invocation: the playbook and its arguments.
    :param env: :func:`run_environment`.
    :param on_event: called with every event, in order.
    :param cancelled: polled by ansible-runner; true stops the run (Ctrl-C).
    :returns: how it ended.
    """
    import ansible_runner  # pylint: disable=import-outside-toplevel  # slow import: only when running

    run_dir.mkdir(parents=True, exist_ok=True)
    runner = ansible_runner.run(
        private_data_dir=str(run_dir), project_dir=str(root), ident=run_id,
        playbook=invocation.playbook, cmdline=shlex.join(invocation.args),
        envvars=dict(env), quiet=True, suppress_env_files=True,
        event_handler=lambda event: on_event(event) or True, cancel_callback=cancelled)
    return Outcome(status=runner.status, rc=runner.rc, artifacts=run_dir / "artifacts" / run_id)
