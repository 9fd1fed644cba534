"""``nuagerie``: command-line entry point (``[project.scripts]`` in ``pyproject.toml``).

    nuagerie plan|apply|upgrade|drift|check-office|status|unlock [--env lab|staging|production]
             [--spaces a,b] [--check] [--site] [--explain] [--vault-id ID] [--confirm-delete-data a,b]

Exit codes: 0 every space and host fine, 1 a space or host failed (or the run did not finish),
2 usage error or refused (lock held, playbook missing). ``drift`` exits 1 when a space drifted
(``--fix``: the exit code of the converging run). See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from . import __version__
from .commands import COMMANDS, ENVIRONMENTS, Options, explain, fix_options, invocation, parse_spaces
from .events import RunFolder, conclude
from .live import LiveView
from .lock import LockError, acquire, describe, force_remove, holder_alive, lock_path, new_lock, read_lock, release
from .report import EXIT_OK, EXIT_REFUSED, RunMeta, build_report, latest_report, load_report, tables, write_report
from .runner import ARA_SETTING, ara_callback_dir, ara_enabled, new_run_id, run, run_environment, state_dir


def repository_root(environ: dict) -> Path:
    """The repository the playbooks are run from.

    :param environ: the process environment.
    :returns: ``$NUAGERIE_ROOT`` if set, else the checkout this package lives in (editable install).
    """
    if environ.get("NUAGERIE_ROOT"):
        return Path(environ["NUAGERIE_ROOT"]).resolve()
    return Path(__file__).resolve().parents[1]


def parser() -> argparse.ArgumentParser:
    """The argument parser.

    :returns: the parser (every command takes the same options).
    """
    top = argparse.ArgumentParser(prog="nuagerie", description="Run the Nuagerie playbooks with a live view, a "
                                  "per-space report and one run at a time per environment (docs/cli.md).")
    top.add_argument("--version", action="version", version=f"nuagerie {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="command")
    for command in COMMANDS.values():
        cmd = sub.add_parser(command.name, help=command.summary, description=command.summary)
        cmd.add_argument("--env", default="lab", choices=ENVIRONMENTS, help="inventories/<env>/hosts.yml (default: lab)")
        cmd.add_argument("--spaces", help="act on these slugs only (comma-separated): -e spaces=…")
        cmd.add_argument("--check", action="store_true", help="--check --diff: change nothing")
        cmd.add_argument("--site", action="store_true", help="plan and apply: playbooks/site.yml (the whole platform)")
        cmd.add_argument("--explain", action="store_true", help="print the ansible-playbook command line and exit")
        cmd.add_argument("--vault-id", action="append", default=[], help="passed to ansible-playbook (repeatable)")
        cmd.add_argument("--confirm-delete-data", help="-e confirm_delete_data=… (docs/spaces.md)")
        cmd.add_argument("--no-progress", action="store_true", help="no live bars (lines and the final table only)")
        cmd.add_argument("--force", action="store_true", help="unlock: remove the lock whatever holds it")
        cmd.add_argument("--inventory", action="append", default=[], metavar="SOURCE",
                         help="-i SOURCE instead of inventories/<env>/hosts.yml (repeatable; e.g. a molecule inventory)")
        cmd.add_argument("--catalogue", metavar="DIR", help="where the slugs of the table come from "
                         "(default inventories/<env>/spaces; the playbooks read the inventory's catalogue_dir)")
        cmd.add_argument("--fix", action="store_true", help="drift: then converge the drifted spaces "
                         "(apply -e spaces=<drifted> -e nextcloud_occ_verify=true)")
    return top


def catalogue_slugs(catalogue: Path) -> list:
    """The slugs of a catalogue (file stems of ``<dir>/*.yml``, e.g. ``inventories/<env>/spaces``).

    :param catalogue: the catalogue directory.
    :returns: sorted slugs.
    """
    return sorted(path.stem for path in catalogue.glob("*.yml"))


def print_lock_state(console: Console, path: Path) -> None:
    """Say who holds an environment's lock.

    :param console: where to print.
    :param path: the lock file.
    """
    try:
        info = read_lock(path)
    except LockError as exc:
        console.print(str(exc), markup=False, soft_wrap=True)
        return
    if info is None:
        console.print(f"lock: free ({path})", markup=False, soft_wrap=True)
        return
    alive = holder_alive(info, socket.gethostname())
    state = {True: "held", False: "STALE (holder gone)", None: "held on another controller"}[alive]
    console.print(f"lock: {state}: {describe(info)} ({path})", markup=False, soft_wrap=True)


def status(console: Console, base: Path, env: str) -> int:
    """``nuagerie status``: the lock and the last run's table.

    :param console: where to print.
    :param base: the state directory.
    :param env: the environment.
    :returns: 0.
    """
    print_lock_state(console, lock_path(base, env))
    last = latest_report(base / "runs", env)
    if last is None:
        console.print(f"no run of {env} recorded in {base / 'runs'}", markup=False)
        return EXIT_OK
    report = load_report(last)
    console.print(f"last run: {report['run_id']} ({report['holder']}, {report['started_at']}): "
                  f"{shlex.join(report['argv'])}", markup=False, soft_wrap=True)
    for table in tables(report):
        console.print(table)
    console.print(f"report: {last}", markup=False, soft_wrap=True)
    return EXIT_OK


def unlock(console: Console, base: Path, env: str, force: bool) -> int:
    """``nuagerie unlock``: remove the lock, only with ``--force``.

    :param console: where to print.
    :param base: the state directory.
    :param env: the environment.
    :param force: the operator checked that no run is acting.
    :returns: 0 when removed (or absent), 2 without ``--force``.
    """
    path = lock_path(base, env)
    print_lock_state(console, path)
    if not force:
        console.print("not removed: check that no run is acting on the hosts, then add --force", markup=False)
        return EXIT_REFUSED
    existed = path.exists()
    removed = force_remove(path)
    console.print((f"removed the lock of {env}" + (f" held by {describe(removed)}" if removed else ""))
                  if existed else f"no lock of {env} to remove", markup=False)
    return EXIT_OK


def now_iso() -> str:
    """The current UTC time, ISO with microseconds (as ansible-runner writes its events)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :returns: the exit code.
    """
    args = parser().parse_args(argv)
    environ = dict(os.environ)
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    root = repository_root(environ)
    base = state_dir(environ)
    command = COMMANDS[args.command]

    if command.name == "status":
        return status(console, base, args.env)
    if command.name == "unlock":
        return unlock(console, base, args.env, args.force)
    if not args.inventory and not (root / "inventories" / args.env / "hosts.yml").is_file():
        err.print(f"nuagerie: no inventory {root}/inventories/{args.env}/hosts.yml (set NUAGERIE_ROOT to the "
                  "repository)", markup=False)
        return EXIT_REFUSED

    options = Options(command=command.name, env=args.env, spaces=parse_spaces(args.spaces), check=args.check,
                      site=args.site, vault_ids=tuple(args.vault_id), confirm_delete_data=args.confirm_delete_data,
                      inventories=tuple(args.inventory))
    try:
        plan = invocation(options)
    except ValueError as exc:
        err.print(f"nuagerie: {exc}", markup=False)
        return EXIT_REFUSED

    ara_dir = None
    if ara_enabled(environ):
        ara_dir = ara_callback_dir()
        if ara_dir is None:
            err.print(f"nuagerie: {ARA_SETTING} is set but ara is not installed in {sys.prefix}: "
                      f"`{sys.executable} -m pip install -r {root}/requirements/ara.txt`, or unset {ARA_SETTING} "
                      "(docs/cli.md)", markup=False)
            return EXIT_REFUSED
    env = run_environment(root, environ, ara_dir)

    if not (root / plan.playbook).is_file():
        err.print(f"nuagerie {command.name}: {plan.playbook} does not exist: {command.missing or 'nothing to run'}",
                  markup=False)
        if args.explain:
            console.print(f"would run: {explain(root, plan)}", markup=False, soft_wrap=True)
        return EXIT_REFUSED
    if args.fix and command.name != "drift":
        err.print("nuagerie: --fix applies to drift only", markup=False)
        return EXIT_REFUSED
    if args.explain:
        console.print(explain(root, plan), markup=False, soft_wrap=True)
        if args.fix:
            console.print("# then, if spaces drifted, under the same lock: "
                          + explain(root, invocation(fix_options(options, ["<drifted>"]))), markup=False, soft_wrap=True)
        console.print(f"# through ansible-runner, with ANSIBLE_CALLBACK_PLUGINS={env['ANSIBLE_CALLBACK_PLUGINS']} "
                      f"ANSIBLE_HOST_KEY_CHECKING={env['ANSIBLE_HOST_KEY_CHECKING']}; lock {lock_path(base, args.env)}; "
                      f"artifacts and report in {base / 'runs'}/<run id>/", markup=False, soft_wrap=True)
        return EXIT_OK

    run_id = new_run_id(args.env, command.name, os.getpid())
    me = new_lock(args.env, "nuagerie " + shlex.join(list(argv) if argv is not None else sys.argv[1:]), run_id)
    # The playbooks' own lock on the occ host (roles/nextcloud/tasks/run-lock.yml) names this command.
    env["NUAGERIE_RUN_COMMAND"] = me.command
    path = lock_path(base, args.env)
    try:
        acquire(path, me)
    except LockError as exc:
        err.print(f"nuagerie: refused: {exc}", markup=False)
        return EXIT_REFUSED

    stop = {"asked": False}

    def ask_stop(signum: int, _frame: object) -> None:
        stop["asked"] = True
        err.print(f"nuagerie: {signal.Signals(signum).name}: stopping ansible-playbook (the report follows)",
                  markup=False)

    previous = {sig: signal.signal(sig, ask_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        catalogue = Path(args.catalogue) if args.catalogue else root / "inventories" / args.env / "spaces"
        report = _run_one(root, base, run_id, command.name, options, plan, env, console, me.holder,
                          args.no_progress, ara_dir is not None, lambda: stop["asked"], catalogue)
        drifted = [s["slug"] for s in report["spaces"] if s["outcome"] in ("drifted", "failed")]
        if command.name != "drift" or not args.fix or stop["asked"]:
            return report["exit_code"]
        if report["status"] != "successful":
            console.print("drift --fix: the drift run did not finish; nothing converged", markup=False)
            return report["exit_code"]
        if not drifted:
            console.print("drift --fix: no space drifted; nothing to converge", markup=False)
            return report["exit_code"]
        fix = fix_options(options, drifted)
        fix_run = new_run_id(args.env, "apply", os.getpid())
        console.print(f"drift --fix: converging {len(drifted)} space(s): {', '.join(drifted)}", markup=False,
                      soft_wrap=True)
        fixed = _run_one(root, base, fix_run, "apply", fix, invocation(fix), env, console, me.holder,
                         args.no_progress, ara_dir is not None, lambda: stop["asked"], catalogue)
        return fixed["exit_code"]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        release(path, me)


def _run_one(root: Path, base: Path, run_id: str, name: str, options: Options, plan, env: dict,
             console: Console, holder: str, no_progress: bool, ara: bool, stopped, catalogue: Path) -> dict:
    """Run one playbook through ansible-runner with the live view, then write and print its report.

    :returns: the report.
    """
    run_dir = base / "runs" / run_id
    slugs = list(options.spaces) or catalogue_slugs(catalogue)
    folder = RunFolder(slugs)
    started = now_iso()
    console.print(f"nuagerie {name} on {options.env}: {explain(root, plan)}", markup=False, soft_wrap=True)
    view = LiveView(folder, console if not no_progress else Console(file=open(os.devnull, "w")))
    with view:
        feed = view.feed if not no_progress else _plain_feed(view, console)
        outcome = run(root, run_dir, run_id, plan, env, feed, stopped)
        conclude(folder.state, outcome.status == "successful")
        view.finish()
    meta = RunMeta(run_id=run_id, command=name, env=options.env, playbook=plan.playbook,
                   argv=tuple(plan.argv), check=COMMANDS[name].check or options.check, selection=options.spaces,
                   status=outcome.status, rc=outcome.rc, started_at=started, finished_at=now_iso(),
                   artifacts=str(outcome.artifacts), holder=holder, ara=ara)
    report = build_report(folder.state, meta)
    write_report(report, run_dir / "report.json")
    for table in tables(report):
        console.print(table)
    if folder.state.summary_line:
        console.print(folder.state.summary_line, markup=False, soft_wrap=True)
    console.print(f"report: {run_dir / 'report.json'}\nartifacts: {outcome.artifacts} (stdout, job_events)",
                  markup=False, soft_wrap=True)
    return report


def _plain_feed(view: LiveView, console: Console):
    """An event callback that folds and prints lines but draws no bars (``--no-progress``).

    :param view: the (hidden) live view.
    :param console: where the lines go.
    :returns: the callback.
    """
    from .live import event_lines  # pylint: disable=import-outside-toplevel

    def feed(event: dict) -> None:
        view.folder.feed(event)
        for line in event_lines(event):
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    return feed


if __name__ == "__main__":
    sys.exit(main())
