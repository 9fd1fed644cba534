"""The report of a run: a JSON document (``docs/schemas/run-report.schema.json``) and its tables.

:func:`build_report` turns a folded :class:`~nuagerie_cli.events.RunState` into the document,
:func:`exit_code` decides the process's status from it, :func:`space_rows` and
:func:`host_rows` are the rows the final tables print. All pure but :func:`write_report`,
:func:`load_report` and :func:`latest_report`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .events import OUTCOMES, RunState, seconds_between

SCHEMA_VERSION = 1
#: Exit codes: every space and host fine; a space or host failed (or the run did not finish);
#: usage error or refused (lock held, playbook missing, unknown environment).
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


@dataclass(frozen=True)
class RunMeta:
    """What the runner knows about a run, beside its events.

    :ivar run_id: the run's id (its directory name).
    :ivar command: the CLI command (``apply``…).
    :ivar env: the environment.
    :ivar playbook: the playbook, relative to the repository root.
    :ivar argv: the ansible-playbook command line.
    :ivar check: whether it ran in check mode.
    :ivar selection: the ``--spaces`` slugs, empty for the whole catalogue.
    :ivar status: ansible-runner's status (``successful``, ``failed``, ``canceled``, ``timeout``, ``error``).
    :ivar rc: ansible-playbook's return code (``None`` if it never ran).
    :ivar started_at: ISO time the CLI started the run.
    :ivar finished_at: ISO time it ended.
    :ivar artifacts: the runner's artifacts directory.
    :ivar holder: ``user@host`` that ran it.
    :ivar ara: whether ARA recorded the run.
    """

    run_id: str
    command: str
    env: str
    playbook: str
    argv: tuple
    check: bool
    selection: tuple
    status: str
    rc: int | None
    started_at: str
    finished_at: str
    artifacts: str
    holder: str
    ara: bool = False


def build_report(state: RunState, meta: RunMeta) -> dict:
    """The JSON report of a run.

    :param state: the concluded state (:func:`~nuagerie_cli.events.reduce_events`).
    :param meta: the run's facts.
    :returns: a document valid against ``run-report.schema.json``.
    """
    spaces = [{"slug": s.slug, "outcome": s.outcome or "not_reached", "duration_s": s.seconds,
               "steps": list(s.steps), "error": s.error} for s in state.spaces.values()]
    counts = {name: sum(1 for s in spaces if s["outcome"] == name) for name in OUTCOMES}
    tiers = [{"name": t.name, "started_at": t.started, "duration_s": seconds_between(t.started, t.ended) or 0.0,
              "tasks": t.tasks, "hosts": len(t.hosts), "results": dict(t.results),
              "outcome": "failed" if t.failed else "ok"} for t in state.tiers]
    report = {
        "schema_version": SCHEMA_VERSION,
        "run_id": meta.run_id,
        "command": meta.command,
        "environment": meta.env,
        "playbook": meta.playbook,
        "argv": list(meta.argv),
        "check": meta.check,
        "selection": list(meta.selection),
        "holder": meta.holder,
        "started_at": meta.started_at,
        "finished_at": meta.finished_at,
        "duration_s": seconds_between(meta.started_at, meta.finished_at) or 0.0,
        "status": meta.status,
        "rc": meta.rc,
        "artifacts": meta.artifacts,
        "ara": meta.ara,
        "tiers": tiers,
        "hosts": [{"tier": f.tier, "task": f.task, "host": f.host, "kind": f.kind, "message": f.message}
                  for f in state.host_failures],
        "spaces": spaces,
        "counts": counts,
        "playbook_counts": dict(state.playbook_counts),
        "summary_line": state.summary_line,
    }
    report["exit_code"] = exit_code(report)
    return report


def exit_code(report: Mapping) -> int:
    """The CLI's exit status for a finished run.

    :param report: the report (``status``, ``spaces``, ``hosts``).
    :returns: :data:`EXIT_OK` when the run succeeded and no space or host failed, else
        :data:`EXIT_FAILED` (a failed space, a failed or unreachable host, a run that did not finish).
    """
    # A drifted space is not converged: `nuagerie drift` exits 1 when it finds one (monitoring).
    failed_space = any(s["outcome"] in ("failed", "not_reached", "drifted") for s in report["spaces"])
    if report["status"] != "successful" or report["hosts"] or failed_space:
        return EXIT_FAILED
    return EXIT_OK


def format_seconds(seconds: float | None) -> str:
    """A duration for the tables: ``—``, ``0.4 s``, ``12 s``, ``3 min 05 s``, ``1 h 02 min``.

    :param seconds: the duration, or ``None``.
    :returns: the text.
    """
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def space_rows(report: Mapping, limit: int = 0) -> list:
    """The rows of the per-space table: space, outcome, duration, steps, error.

    Failed and unreached spaces come first, then the others in the selection's order.

    :param report: the report.
    :param limit: show at most this many rows (0: all); the caller prints how many were left out.
    :returns: tuples of five strings.
    """
    prefix = "would be " if report["check"] else ""
    order = {"failed": 0, "not_reached": 1}
    spaces = sorted(report["spaces"], key=lambda s: order.get(s["outcome"], 2))
    rows = []
    for space in spaces[:limit or None]:
        outcome = space["outcome"].replace("_", " ")
        if outcome in ("created", "changed", "enabled", "disabled", "deleted"):
            outcome = prefix + outcome
        rows.append((space["slug"], outcome, format_seconds(space["duration_s"]),
                     str(len(space["steps"])), space["error"] or ""))
    return rows


def host_rows(report: Mapping) -> list:
    """The rows of the host failures table: tier, task, host, kind, message.

    :param report: the report.
    :returns: tuples of five strings.
    """
    return [(h["tier"], h["task"], h["host"], h["kind"], h["message"]) for h in report["hosts"]]


def counts_line(report: Mapping) -> str:
    """One line of space counts: ``4 spaces: 1 failed, 1 created, 2 ok in 3.1 s; exit 1``.

    :param report: the report.
    :returns: the line (outcomes with no space are left out).
    """
    parts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in report["counts"].items() if n)
    return (f"{len(report['spaces'])} space(s){': ' + parts if parts else ''} in "
            f"{format_seconds(report['duration_s'])}; {report['status']}, exit {report['exit_code']}")


def tables(report: Mapping, limit: int = 50) -> list:
    """The final tables as rich renderables (spaces, then host failures when any).

    :param report: the report.
    :param limit: at most this many space rows (the JSON report has them all).
    :returns: a list of ``rich.table.Table``.
    """
    from rich.table import Table
    from rich.text import Text

    title = f"nuagerie {report['command']} on {report['environment']}{' (check mode)' if report['check'] else ''}"
    spaces = Table(title=Text(title), caption=Text(counts_line(report)), expand=False)
    for name, justify in (("space", "left"), ("outcome", "left"), ("duration", "right"), ("steps", "right"),
                          ("error", "left")):
        spaces.add_column(name, justify=justify, overflow="fold")
    styles = {"failed": "bold red", "not reached": "yellow", "drifted": "bold yellow"}
    rows = space_rows(report, limit)
    for row in rows:
        spaces.add_row(*(Text(cell) for cell in row), style=styles.get(row[1]))
    if len(report["spaces"]) > len(rows):
        spaces.add_row(f"… {len(report['spaces']) - len(rows)} more in the JSON report", "", "", "", "")
    out = [spaces]
    if report["hosts"]:
        hosts = Table(title="hosts that failed", expand=False)
        for name in ("tier", "task", "host", "kind", "message"):
            hosts.add_column(name, overflow="fold")
        for row in host_rows(report):
            hosts.add_row(*(Text(cell) for cell in row), style="red")
        out.append(hosts)
    return out


def write_report(report: Mapping, path: Path) -> None:
    """Write the report as JSON (atomically: a temporary file renamed).

    :param report: the report.
    :param path: ``<run dir>/report.json``.
    """
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def load_report(path: Path) -> dict:
    """Read a report.

    :param path: a ``report.json``.
    :returns: the document.
    """
    return json.loads(path.read_text())


def latest_report(runs_dir: Path, env: str) -> Path | None:
    """The newest report of an environment (run ids are ``<UTC time>-<env>-<command>-<pid>``).

    :param runs_dir: ``<state dir>/runs``.
    :param env: the environment.
    :returns: the path of its ``report.json``, ``None`` when it has none.
    """
    if not runs_dir.is_dir():
        return None
    candidates: Sequence = sorted((p for p in runs_dir.glob("*/report.json") if p.parent.name.split("-")[1:2] == [env]),
                                  reverse=True)
    return candidates[0] if candidates else None
